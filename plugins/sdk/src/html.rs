//! CSS selection over HTML, a thin layer over `scraper` that turns selector
//! mistakes into errors instead of panics and compiles each selector string
//! once per instance (a plugin selects the same few selectors on every card
//! of a page; compiling them was a visible share of a page's parse time).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::CrawlError;
pub use scraper::ElementRef;
use scraper::{Html, Selector};

thread_local! {
    /// Compiled selectors by source text. A plugin instance lives for one
    /// task, so this holds the few selectors of one page kind; a native
    /// caller (unit tests) keeps them per thread. Clones share the compiled
    /// form (reference counted), so a hit costs a lookup and a count bump.
    static COMPILED: RefCell<HashMap<String, Selector>> = RefCell::new(HashMap::new());
}

/// A parsed HTML document (or fragment: the parser accepts both).
pub struct Document {
    html: Html,
}

/// Compile a CSS selector (or reuse its compiled form: see [`COMPILED`]).
pub fn selector(css: &str) -> Result<Selector, CrawlError> {
    if let Some(hit) = COMPILED.with(|c| c.borrow().get(css).cloned()) {
        return Ok(hit);
    }
    let compiled = Selector::parse(css)
        .map_err(|e| CrawlError::Other(format!("bad selector `{css}`: {e}")))?;
    COMPILED.with(|c| c.borrow_mut().insert(css.to_string(), compiled.clone()));
    Ok(compiled)
}

impl Document {
    /// Parse HTML; malformed markup is repaired the way browsers do.
    pub fn parse(text: &str) -> Self {
        Self {
            html: Html::parse_document(text),
        }
    }

    /// Every element matching `css`, in document order.
    pub fn select(&self, css: &str) -> Result<Vec<ElementRef<'_>>, CrawlError> {
        let sel = selector(css)?;
        Ok(self.html.select(&sel).collect())
    }

    /// The first element matching `css`.
    pub fn first(&self, css: &str) -> Result<Option<ElementRef<'_>>, CrawlError> {
        let sel = selector(css)?;
        Ok(self.html.select(&sel).next())
    }
}

/// Helpers on elements.
pub trait ElementExt<'a> {
    /// Elements below this one matching `css`.
    fn select_all(&self, css: &str) -> Result<Vec<ElementRef<'a>>, CrawlError>;
    /// The first element below this one matching `css`.
    fn select_first(&self, css: &str) -> Result<Option<ElementRef<'a>>, CrawlError>;
    /// All text below the element, whitespace collapsed and trimmed.
    fn text_trimmed(&self) -> String;
    /// An attribute value, trimmed.
    fn attr_trimmed(&self, name: &str) -> Option<String>;
}

impl<'a> ElementExt<'a> for ElementRef<'a> {
    fn select_all(&self, css: &str) -> Result<Vec<ElementRef<'a>>, CrawlError> {
        let sel = selector(css)?;
        Ok(self.select(&sel).collect())
    }

    fn select_first(&self, css: &str) -> Result<Option<ElementRef<'a>>, CrawlError> {
        let sel = selector(css)?;
        Ok(self.select(&sel).next())
    }

    fn text_trimmed(&self) -> String {
        collapse_whitespace(&self.text().collect::<String>())
    }

    fn attr_trimmed(&self, name: &str) -> Option<String> {
        self.value().attr(name).map(|v| v.trim().to_string())
    }
}

/// Collapse runs of whitespace to one space and trim the ends.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_and_trims() {
        let doc = Document::parse("<ul><li data-x=' a '> one\n two </li><li>three</li></ul>");
        let items = doc.select("li").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].text_trimmed(), "one two");
        assert_eq!(items[0].attr_trimmed("data-x").as_deref(), Some("a"));
        assert!(doc.select("li[").is_err());
    }

    #[test]
    fn cached_selectors_match_like_fresh_ones() {
        let doc = Document::parse("<p class=a>1</p><p class=b>2</p><p class=a>3</p>");
        for _ in 0..3 {
            assert_eq!(doc.select("p.a").unwrap().len(), 2);
            assert_eq!(doc.select("p.b").unwrap().len(), 1);
        }
        // A bad selector is refused every time, not cached as something.
        assert!(selector("p[").is_err());
        assert!(selector("p[").is_err());
    }
}
