//! CSS selection over HTML. Selector mistakes are errors, not panics.
//!
//! Inside the host (wasm32) a [`Document`] is parsed by the host's `html`
//! capability (contract 0.3): the page is parsed natively, once, and every
//! query is a call that returns element handles, so the plugin carries no
//! parser and extraction runs at native speed. Natively (a plugin's unit
//! tests), and in a component built with the `guest-parser` feature (a plugin
//! for hosts without the capability), the same API runs on `scraper` in
//! process. Both are html5ever with the same selector engine, so they select
//! the same elements in the same order.

use crate::CrawlError;

#[cfg(all(target_arch = "wasm32", not(feature = "guest-parser")))]
use host as backend;
#[cfg(any(not(target_arch = "wasm32"), feature = "guest-parser"))]
use in_process as backend;

/// A parsed HTML document (or fragment: the parser accepts both).
pub struct Document(backend::Document);

/// One element of a [`Document`]; it keeps its document alive.
pub struct Element(backend::Element);

impl Document {
    /// Parse HTML; malformed markup is repaired the way browsers do. A
    /// document the host refuses (over one of its `[html]` caps) makes every
    /// query on it fail with the host's reason.
    pub fn parse(text: &str) -> Self {
        Self(backend::Document::parse(text))
    }

    /// Every element matching `css`, in document order.
    pub fn select(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
        Ok(self.0.select(css)?.into_iter().map(Element).collect())
    }

    /// The first element matching `css`.
    pub fn first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
        Ok(self.0.first(css)?.map(Element))
    }

    /// The text of every element matching `css` (as [`Element::text`]), in
    /// one call: cheaper than selecting and reading each.
    pub fn texts(&self, css: &str) -> Result<Vec<String>, CrawlError> {
        self.0.texts(css, false)
    }

    /// The own text of every element matching `css` (as
    /// [`Element::own_text`]), in one call.
    pub fn own_texts(&self, css: &str) -> Result<Vec<String>, CrawlError> {
        self.0.texts(css, true)
    }

    /// Attribute `name` of every element matching `css` (none where it is
    /// absent), in one call.
    pub fn attr_values(&self, css: &str, name: &str) -> Result<Vec<Option<String>>, CrawlError> {
        self.0.attr_values(css, name)
    }
}

impl Element {
    /// The tag name, lower case.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Attribute `name`, as written.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.0.attr(name)
    }

    /// Every attribute as (name, value), in name order.
    pub fn attrs(&self) -> Vec<(String, String)> {
        self.0.attrs()
    }

    /// All text below the element, as written (`textContent`).
    pub fn text(&self) -> String {
        self.0.text()
    }

    /// The text of the element's own text children only.
    pub fn own_text(&self) -> String {
        self.0.own_text()
    }

    /// The element's content as HTML.
    pub fn inner_html(&self) -> String {
        self.0.inner_html()
    }

    /// The element and its content as HTML.
    pub fn outer_html(&self) -> String {
        self.0.outer_html()
    }

    /// Whether the element itself matches `css`.
    pub fn matches(&self, css: &str) -> Result<bool, CrawlError> {
        self.0.matches(css)
    }

    /// The text of every element below this one matching `css`, in one call.
    pub fn texts(&self, css: &str) -> Result<Vec<String>, CrawlError> {
        self.0.texts(css, false)
    }

    /// The own text of every element below this one matching `css`, in one
    /// call.
    pub fn own_texts(&self, css: &str) -> Result<Vec<String>, CrawlError> {
        self.0.texts(css, true)
    }

    /// Attribute `name` of every element below this one matching `css`
    /// (none where it is absent), in one call.
    pub fn attr_values(&self, css: &str, name: &str) -> Result<Vec<Option<String>>, CrawlError> {
        self.0.attr_values(css, name)
    }
}

/// Queries below an element, and trimmed reads.
pub trait ElementExt {
    /// Elements below this one matching `css`.
    fn select_all(&self, css: &str) -> Result<Vec<Element>, CrawlError>;
    /// The first element below this one matching `css`.
    fn select_first(&self, css: &str) -> Result<Option<Element>, CrawlError>;
    /// All text below the element, whitespace collapsed and trimmed.
    fn text_trimmed(&self) -> String;
    /// An attribute value, trimmed.
    fn attr_trimmed(&self, name: &str) -> Option<String>;
}

impl ElementExt for Element {
    fn select_all(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
        Ok(self.0.select(css)?.into_iter().map(Element).collect())
    }

    fn select_first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
        Ok(self.0.first(css)?.map(Element))
    }

    fn text_trimmed(&self) -> String {
        collapse_whitespace(&self.0.text())
    }

    fn attr_trimmed(&self, name: &str) -> Option<String> {
        self.0.attr(name).map(|v| v.trim().to_string())
    }
}

/// Collapse runs of whitespace to one space and trim the ends.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The host's `html` capability: handles into a document the host parsed.
#[cfg(all(target_arch = "wasm32", not(feature = "guest-parser")))]
mod host {
    use crate::CrawlError;
    use crate::bindings::crawlhost::plugin::html as raw;

    pub struct Document(Result<raw::Document, CrawlError>);
    pub struct Element(raw::Element);

    impl Document {
        pub fn parse(text: &str) -> Self {
            Self(raw::Document::parse(text))
        }

        fn doc(&self) -> Result<&raw::Document, CrawlError> {
            self.0.as_ref().map_err(Clone::clone)
        }

        pub fn select(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
            Ok(self.doc()?.select(css)?.into_iter().map(Element).collect())
        }

        pub fn first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
            Ok(self.doc()?.select_first(css)?.map(Element))
        }

        pub fn texts(&self, css: &str, own: bool) -> Result<Vec<String>, CrawlError> {
            match own {
                false => self.doc()?.texts(css),
                true => self.doc()?.own_texts(css),
            }
        }

        pub fn attr_values(
            &self,
            css: &str,
            name: &str,
        ) -> Result<Vec<Option<String>>, CrawlError> {
            self.doc()?.attr_values(css, name)
        }
    }

    impl Element {
        pub fn name(&self) -> String {
            self.0.name()
        }
        pub fn attr(&self, name: &str) -> Option<String> {
            self.0.attr(name)
        }
        pub fn attrs(&self) -> Vec<(String, String)> {
            self.0.attrs()
        }
        pub fn text(&self) -> String {
            self.0.text()
        }
        pub fn own_text(&self) -> String {
            self.0.own_text()
        }
        pub fn inner_html(&self) -> String {
            self.0.inner_html()
        }
        pub fn outer_html(&self) -> String {
            self.0.outer_html()
        }
        pub fn matches(&self, css: &str) -> Result<bool, CrawlError> {
            self.0.matches(css)
        }
        pub fn select(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
            Ok(self.0.select(css)?.into_iter().map(Element).collect())
        }
        pub fn first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
            Ok(self.0.select_first(css)?.map(Element))
        }
        pub fn texts(&self, css: &str, own: bool) -> Result<Vec<String>, CrawlError> {
            match own {
                false => self.0.texts(css),
                true => self.0.own_texts(css),
            }
        }
        pub fn attr_values(
            &self,
            css: &str,
            name: &str,
        ) -> Result<Vec<Option<String>>, CrawlError> {
            self.0.attr_values(css, name)
        }
    }
}

/// `scraper` in this process: native unit tests, and components built with
/// the `guest-parser` feature.
#[cfg(any(not(target_arch = "wasm32"), feature = "guest-parser"))]
mod in_process {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use ego_tree::NodeId;
    use scraper::{ElementRef, Html, Selector};

    use crate::CrawlError;

    thread_local! {
        /// Compiled selectors by source text: a plugin selects the same few
        /// selectors on every card of a page.
        static COMPILED: RefCell<HashMap<String, Selector>> = RefCell::new(HashMap::new());
    }

    fn selector(css: &str) -> Result<Selector, CrawlError> {
        if let Some(hit) = COMPILED.with(|c| c.borrow().get(css).cloned()) {
            return Ok(hit);
        }
        // The host's wording, so errors read the same either way.
        let compiled = Selector::parse(css)
            .map_err(|e| CrawlError::Parse(format!("invalid CSS selector `{css}`: {e}")))?;
        COMPILED.with(|c| c.borrow_mut().insert(css.to_string(), compiled.clone()));
        Ok(compiled)
    }

    pub struct Document(Rc<Html>);
    pub struct Element {
        html: Rc<Html>,
        id: NodeId,
    }

    impl Document {
        pub fn parse(text: &str) -> Self {
            Self(Rc::new(Html::parse_document(text)))
        }

        fn wrap(&self, e: ElementRef<'_>) -> Element {
            Element {
                html: self.0.clone(),
                id: e.id(),
            }
        }

        pub fn select(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
            let sel = selector(css)?;
            Ok(self.0.select(&sel).map(|e| self.wrap(e)).collect())
        }

        pub fn first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
            let sel = selector(css)?;
            Ok(self.0.select(&sel).next().map(|e| self.wrap(e)))
        }

        pub fn texts(&self, css: &str, own: bool) -> Result<Vec<String>, CrawlError> {
            Ok(self.select(css)?.iter().map(|e| e.text_of(own)).collect())
        }

        pub fn attr_values(
            &self,
            css: &str,
            name: &str,
        ) -> Result<Vec<Option<String>>, CrawlError> {
            Ok(self.select(css)?.iter().map(|e| e.attr(name)).collect())
        }
    }

    impl Element {
        fn get(&self) -> ElementRef<'_> {
            ElementRef::wrap(self.html.tree.get(self.id).expect("node of its own tree"))
                .expect("an element")
        }

        fn wrap(&self, e: ElementRef<'_>) -> Element {
            Element {
                html: self.html.clone(),
                id: e.id(),
            }
        }

        pub fn name(&self) -> String {
            self.get().value().name().to_string()
        }
        pub fn attr(&self, name: &str) -> Option<String> {
            let e = self.get();
            match e.value().attr(name) {
                Some(v) => Some(v.to_string()),
                None => e
                    .value()
                    .attr(&name.to_ascii_lowercase())
                    .map(str::to_string),
            }
        }
        pub fn attrs(&self) -> Vec<(String, String)> {
            self.get()
                .value()
                .attrs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }
        pub fn text(&self) -> String {
            self.get().text().collect()
        }
        pub fn own_text(&self) -> String {
            self.get()
                .children()
                .filter_map(|c| c.value().as_text().map(|t| &**t))
                .collect()
        }
        pub fn inner_html(&self) -> String {
            self.get().inner_html()
        }
        pub fn outer_html(&self) -> String {
            self.get().html()
        }
        pub fn matches(&self, css: &str) -> Result<bool, CrawlError> {
            Ok(selector(css)?.matches(&self.get()))
        }
        pub fn select(&self, css: &str) -> Result<Vec<Element>, CrawlError> {
            let sel = selector(css)?;
            Ok(self.get().select(&sel).map(|e| self.wrap(e)).collect())
        }
        pub fn first(&self, css: &str) -> Result<Option<Element>, CrawlError> {
            let sel = selector(css)?;
            Ok(self.get().select(&sel).next().map(|e| self.wrap(e)))
        }
        fn text_of(&self, own: bool) -> String {
            if own { self.own_text() } else { self.text() }
        }
        pub fn texts(&self, css: &str, own: bool) -> Result<Vec<String>, CrawlError> {
            Ok(self.select(css)?.iter().map(|e| e.text_of(own)).collect())
        }
        pub fn attr_values(
            &self,
            css: &str,
            name: &str,
        ) -> Result<Vec<Option<String>>, CrawlError> {
            Ok(self.select(css)?.iter().map(|e| e.attr(name)).collect())
        }
    }
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
        assert_eq!(items[0].attr("DATA-X").as_deref(), Some(" a "));
        let err = doc.select("li[").err().unwrap();
        assert!(
            matches!(&err, CrawlError::Parse(m) if m.contains("`li[`")),
            "{err:?}"
        );
    }

    #[test]
    fn elements_outlive_their_document_value_and_read_the_same_tree() {
        let items = {
            let doc = Document::parse("<p class=a>1 <b>x</b></p><p class=b>2</p><p class=a>3</p>");
            doc.select("p").unwrap()
        };
        assert_eq!(items.len(), 3);
        assert!(items[0].matches("p.a").unwrap());
        assert!(!items[1].matches("p.a").unwrap());
        assert_eq!(items[0].own_text(), "1 ");
        assert_eq!(items[0].text(), "1 x");
        assert_eq!(items[0].select_all("b").unwrap()[0].name(), "b");
        assert_eq!(items[0].inner_html(), "1 <b>x</b>");
        assert_eq!(items[2].outer_html(), "<p class=\"a\">3</p>");
        assert_eq!(items[1].attrs(), vec![("class".into(), "b".into())]);
    }

    #[test]
    fn batch_reads_equal_one_by_one_reads() {
        let doc = Document::parse(
            "<div><p class=a>1 <b>x</b></p><p>2</p><p class=a data-n=3>3</p></div>",
        );
        let one_by_one: Vec<String> = doc.select("p").unwrap().iter().map(Element::text).collect();
        assert_eq!(doc.texts("p").unwrap(), one_by_one);
        assert_eq!(doc.own_texts("p.a").unwrap(), vec!["1 ", "3"]);
        assert_eq!(
            doc.attr_values("p", "data-n").unwrap(),
            vec![None, None, Some("3".into())]
        );
        let div = doc.first("div").unwrap().unwrap();
        assert_eq!(div.texts("b").unwrap(), vec!["x"]);
        assert_eq!(div.own_texts("p").unwrap(), vec!["1 ", "2", "3"]);
        assert_eq!(div.attr_values("p", "class").unwrap().len(), 3);
    }
}
