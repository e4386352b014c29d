//! The `browser` import (contracts 0.2 and 0.3): page handles of one instance and
//! the calls on them, forwarded to the host's browser service
//! ([`super::Browser`]) with the instance's plugin and allow-list. Pages left
//! open are closed with the instance (their sessions go back to the pool).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use super::{Browser, Page};
use crate::contract::crawlhost::plugin::browser;
use crate::contract::{CrawlError, v0_2};
use crate::http::allow::AllowList;

type Res<T> = wasmtime::Result<Result<T, CrawlError>>;

/// Pages one instance may have open at once.
const MAX_PAGES_PER_INSTANCE: usize = 4;

/// The browser pages of one plugin instance.
pub struct Instance {
    /// The host's browser; `None` without `[browser]`.
    service: Option<Arc<Browser>>,
    plugin: String,
    /// The plugin's allow-list, which pages are held to.
    allow: Arc<AllowList>,
    /// Pages this instance opened, by handle; closed (their sessions back
    /// in the pool) when the instance ends.
    pages: BTreeMap<u32, Page>,
    next_page: u32,
    /// `browser` is refused during `manifest()`.
    allowed: bool,
}

impl Instance {
    /// The `browser` state of one instance of `plugin`.
    pub fn new(
        service: Option<Arc<Browser>>,
        plugin: String,
        allow: Arc<AllowList>,
        allowed: bool,
    ) -> Self {
        Self {
            service,
            plugin,
            allow,
            pages: BTreeMap::new(),
            next_page: 1,
            allowed,
        }
    }

    fn page(&mut self, id: browser::Page) -> Result<&mut Page, CrawlError> {
        self.pages
            .get_mut(&id)
            .ok_or_else(|| CrawlError::Other(format!("browser page {id} is not open")))
    }
}

/// Link `browser` of contracts 0.2 and 0.3; `get` finds the instance in the
/// store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    browser::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_2::crawlhost::plugin::browser::add_to_linker::<T, HasSelf<Instance>>(linker, get)
}

/// Run `f` on page `id`, or report the missing page.
macro_rules! on_page {
    ($self:ident, $id:expr, |$p:ident| $body:expr) => {{
        match $self.page($id) {
            Ok($p) => Ok($body.await),
            Err(e) => Ok(Err(e)),
        }
    }};
}

impl browser::Host for Instance {
    async fn open(&mut self, url: String, deadline_ms: Option<u32>) -> Res<browser::Page> {
        if !self.allowed {
            return Ok(Err(CrawlError::Other(
                "browser is not available in manifest()".to_string(),
            )));
        }
        let Some(service) = self.service.clone() else {
            return Ok(Err(CrawlError::Other(
                "the host has no browser configured (add a [browser] section)".to_string(),
            )));
        };
        if self.pages.len() >= MAX_PAGES_PER_INSTANCE {
            return Ok(Err(CrawlError::Other(format!(
                "at most {MAX_PAGES_PER_INSTANCE} browser pages may be open at once; close one first"
            ))));
        }
        let deadline = deadline_ms.map(|ms| Duration::from_millis(ms.max(1) as u64));
        let page = Page::open(&service, &self.plugin, self.allow.clone(), &url, deadline).await;
        match page {
            Ok(page) => {
                let id = self.next_page;
                self.next_page = self.next_page.wrapping_add(1).max(1);
                self.pages.insert(id, page);
                tracing::debug!(plugin = %self.plugin, url = %url, page = id, "Browser page opened.");
                Ok(Ok(id))
            }
            Err(e) => {
                tracing::debug!(plugin = %self.plugin, url = %url, error = ?e, "Browser page refused.");
                Ok(Err(e))
            }
        }
    }

    async fn navigate(&mut self, page: browser::Page, url: String) -> Res<()> {
        on_page!(self, page, |p| p.navigate(&url))
    }

    async fn current_url(&mut self, page: browser::Page) -> Res<String> {
        on_page!(self, page, |p| p.current_url())
    }

    async fn wait_for(
        &mut self,
        page: browser::Page,
        selector: String,
        min_count: u32,
        timeout_ms: u32,
    ) -> Res<u32> {
        on_page!(self, page, |p| p.wait_for(&selector, min_count, timeout_ms))
    }

    async fn scroll(&mut self, page: browser::Page, dy: i32) -> Res<i32> {
        on_page!(self, page, |p| p.scroll(dy))
    }

    async fn click(&mut self, page: browser::Page, selector: String) -> Res<()> {
        on_page!(self, page, |p| p.click(&selector))
    }

    async fn type_text(&mut self, page: browser::Page, selector: String, text: String) -> Res<()> {
        on_page!(self, page, |p| p.type_text(&selector, &text))
    }

    async fn type_secret(
        &mut self,
        page: browser::Page,
        selector: String,
        secret_name: String,
    ) -> Res<()> {
        on_page!(self, page, |p| p.type_secret(&selector, &secret_name))
    }

    async fn outer_html(
        &mut self,
        page: browser::Page,
        selector: Option<String>,
    ) -> Res<Vec<String>> {
        on_page!(self, page, |p| p.outer_html(selector.as_deref()))
    }

    async fn attributes(
        &mut self,
        page: browser::Page,
        selector: String,
        names: Vec<String>,
    ) -> Res<Vec<Vec<Option<String>>>> {
        on_page!(self, page, |p| p.attributes(&selector, &names))
    }

    async fn close(&mut self, page: browser::Page) -> wasmtime::Result<()> {
        self.pages.remove(&page);
        Ok(())
    }
}

// The frozen 0.2 contract's `browser`: the same calls (the page handle is a
// `u32` in both, the error type is shared).
impl v0_2::crawlhost::plugin::browser::Host for Instance {
    async fn open(&mut self, url: String, deadline_ms: Option<u32>) -> Res<browser::Page> {
        <Self as browser::Host>::open(self, url, deadline_ms).await
    }

    async fn navigate(&mut self, page: browser::Page, url: String) -> Res<()> {
        <Self as browser::Host>::navigate(self, page, url).await
    }

    async fn current_url(&mut self, page: browser::Page) -> Res<String> {
        <Self as browser::Host>::current_url(self, page).await
    }

    async fn wait_for(
        &mut self,
        page: browser::Page,
        selector: String,
        min_count: u32,
        timeout_ms: u32,
    ) -> Res<u32> {
        <Self as browser::Host>::wait_for(self, page, selector, min_count, timeout_ms).await
    }

    async fn scroll(&mut self, page: browser::Page, dy: i32) -> Res<i32> {
        <Self as browser::Host>::scroll(self, page, dy).await
    }

    async fn click(&mut self, page: browser::Page, selector: String) -> Res<()> {
        <Self as browser::Host>::click(self, page, selector).await
    }

    async fn type_text(&mut self, page: browser::Page, selector: String, text: String) -> Res<()> {
        <Self as browser::Host>::type_text(self, page, selector, text).await
    }

    async fn type_secret(
        &mut self,
        page: browser::Page,
        selector: String,
        secret_name: String,
    ) -> Res<()> {
        <Self as browser::Host>::type_secret(self, page, selector, secret_name).await
    }

    async fn outer_html(
        &mut self,
        page: browser::Page,
        selector: Option<String>,
    ) -> Res<Vec<String>> {
        <Self as browser::Host>::outer_html(self, page, selector).await
    }

    async fn attributes(
        &mut self,
        page: browser::Page,
        selector: String,
        names: Vec<String>,
    ) -> Res<Vec<Vec<Option<String>>>> {
        <Self as browser::Host>::attributes(self, page, selector, names).await
    }

    async fn close(&mut self, page: browser::Page) -> wasmtime::Result<()> {
        <Self as browser::Host>::close(self, page).await
    }
}
