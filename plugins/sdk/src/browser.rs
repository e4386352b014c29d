//! A host-driven browser page (contract 0.2 `browser`), for sites that render
//! their content with JavaScript. The host checks every navigation against
//! the plugin's allow-list, types credentials it never shows the plugin
//! ([`Page::type_secret`]) and closes pages the plugin forgets when the call
//! ends; a [`Page`] also closes itself when dropped.
//!
//! ```ignore
//! let page = browser::Page::open("https://example.com/tag/x")?;
//! page.wait_for("article", 1, 10_000)?;
//! let links = page.attributes("article a", &["href"])?;
//! ```

use crate::CrawlError;
use crate::bindings::crawlhost::plugin::browser as raw;
use crate::html::Document;

/// An open page; closed on drop.
pub struct Page {
    id: raw::Page,
}

impl Page {
    /// Open `url` in a pooled browser session and wait for it to load, within
    /// the host's page deadline.
    pub fn open(url: &str) -> Result<Self, CrawlError> {
        Ok(Self {
            id: raw::open(url, None)?,
        })
    }

    /// [`Page::open`] with its own load deadline in milliseconds.
    pub fn open_with_deadline(url: &str, deadline_ms: u32) -> Result<Self, CrawlError> {
        Ok(Self {
            id: raw::open(url, Some(deadline_ms))?,
        })
    }

    /// Navigate to another URL (same checks as `open`).
    pub fn navigate(&self, url: &str) -> Result<(), CrawlError> {
        raw::navigate(self.id, url)
    }

    /// The URL the page shows now.
    pub fn url(&self) -> Result<String, CrawlError> {
        raw::current_url(self.id)
    }

    /// Wait until `min_count` elements match `selector` or `timeout_ms`
    /// passes; how many match (fewer than `min_count` on timeout).
    pub fn wait_for(
        &self,
        selector: &str,
        min_count: u32,
        timeout_ms: u32,
    ) -> Result<u32, CrawlError> {
        raw::wait_for(self.id, selector, min_count, timeout_ms)
    }

    /// Whether at least one element matches `selector` within `timeout_ms`.
    pub fn appears(&self, selector: &str, timeout_ms: u32) -> Result<bool, CrawlError> {
        Ok(self.wait_for(selector, 1, timeout_ms)? >= 1)
    }

    /// How many elements match `selector` now.
    pub fn count(&self, selector: &str) -> Result<u32, CrawlError> {
        self.wait_for(selector, 0, 0)
    }

    /// Scroll by `dy` pixels; the new vertical offset.
    pub fn scroll(&self, dy: i32) -> Result<i32, CrawlError> {
        raw::scroll(self.id, dy)
    }

    /// Click the first element matching `selector`.
    pub fn click(&self, selector: &str) -> Result<(), CrawlError> {
        raw::click(self.id, selector)
    }

    /// Type `text` into the first element matching `selector`.
    pub fn type_text(&self, selector: &str, text: &str) -> Result<(), CrawlError> {
        raw::type_text(self.id, selector, text)
    }

    /// Have the host type the operator's secret `name` into `selector`.
    pub fn type_secret(&self, selector: &str, name: &str) -> Result<(), CrawlError> {
        raw::type_secret(self.id, selector, name)
    }

    /// Outer HTML of every element matching `selector`.
    pub fn outer_html(&self, selector: &str) -> Result<Vec<String>, CrawlError> {
        raw::outer_html(self.id, Some(selector))
    }

    /// The whole rendered document, parsed for CSS selection.
    pub fn document(&self) -> Result<Document, CrawlError> {
        let html = raw::outer_html(self.id, None)?;
        Ok(Document::parse(&html.concat()))
    }

    /// The attributes `names` of every element matching `selector` (the name
    /// `textContent` reads the text).
    pub fn attributes(
        &self,
        selector: &str,
        names: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>, CrawlError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        raw::attributes(self.id, selector, &names)
    }

    /// One attribute of every element matching `selector` (elements without
    /// it are skipped).
    pub fn attribute(&self, selector: &str, name: &str) -> Result<Vec<String>, CrawlError> {
        Ok(self
            .attributes(selector, &[name])?
            .into_iter()
            .filter_map(|mut v| v.pop().flatten())
            .collect())
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        raw::close(self.id);
    }
}
