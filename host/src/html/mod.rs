//! The `html` capability (contract 0.3): the host parses a plugin's HTML
//! natively and answers CSS queries through handles, so no plugin carries a
//! parser of its own and extraction runs at native speed.
//!
//! This module owns the `[html]` section ([`HtmlConfig`]: the caps), the
//! errors a query can end in ([`HtmlError`]) and the selector cache every
//! instance shares ([`Selectors`]). [`document`] parses and queries one
//! document under the caps and the task deadline (pure: no wasmtime);
//! [`imports`] is the import itself, the per-instance tables of document and
//! element handles.
//!
//! The parser is html5ever with `selectors` through `scraper`, the same
//! engine plugins compiled into themselves before, so a plugin that moves to
//! the capability reads the same elements (BENCHMARKS.md has the
//! measurements that chose it).

pub mod document;
pub mod imports;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::contract::CrawlError;

/// `[html]`: caps on what one plugin instance may ask the `html` capability
/// for. A call that would pass one fails with a `crawl-error` that names the
/// field. A field left out takes its value from [`HtmlConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HtmlConfig {
    /// Largest document `parse` accepts, in bytes of UTF-8. Default 16 MiB
    /// (the default of `http.max_response_bytes`, so whatever a fetch can
    /// return can be parsed).
    pub max_document_bytes: u64,
    /// Nodes (elements, text, comments) the documents one instance holds
    /// may have together; a parse stops once it would pass it. Default
    /// 1,000,000 (a large real page has tens of thousands). This bounds the
    /// host memory one instance's documents take: about 100-200 bytes a
    /// node, so 100-200 MiB at the default.
    pub max_nodes: u64,
    /// How deep elements may nest; a deeper document is refused. Default
    /// 512 (where Blink stops nesting). html5ever's work per tag grows with
    /// the depth, so without a cap a few megabytes of nested tags would take
    /// minutes to parse.
    pub max_depth: u32,
    /// Documents one instance may hold at once (a document lives while its
    /// handle or any of its elements does). Default 32.
    pub max_documents: u32,
    /// Elements one query may return. Default 100,000 (a brand list of
    /// 24,000 links is a real page).
    pub max_results: u32,
    /// Element handles one instance may hold at once. Default 200,000
    /// (about 10 MiB of host memory).
    pub max_elements: u32,
}

impl Default for HtmlConfig {
    fn default() -> Self {
        Self {
            max_document_bytes: 16 * 1024 * 1024,
            max_nodes: 1_000_000,
            max_depth: 512,
            max_documents: 32,
            max_results: 100_000,
            max_elements: 200_000,
        }
    }
}

/// A bad `[html]` value: the field, by its full name, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value `{field}`: {reason}")]
pub struct HtmlConfigError {
    /// The field, e.g. `html.max_nodes`.
    pub field: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl HtmlConfig {
    /// Check every cap; each must be at least 1.
    pub fn validate(&self) -> Result<(), HtmlConfigError> {
        let caps = [
            ("html.max_document_bytes", self.max_document_bytes),
            ("html.max_nodes", self.max_nodes),
            ("html.max_depth", u64::from(self.max_depth)),
            ("html.max_documents", u64::from(self.max_documents)),
            ("html.max_results", u64::from(self.max_results)),
            ("html.max_elements", u64::from(self.max_elements)),
        ];
        match caps.iter().find(|(_, v)| *v == 0) {
            Some((field, _)) => Err(HtmlConfigError {
                field: field.to_string(),
                reason: "must be at least 1".into(),
            }),
            None => Ok(()),
        }
    }
}

/// Why an `html` call failed. All but [`HtmlError::Deadline`] reach the
/// plugin as a `crawl-error` ([`HtmlError::to_crawl_error`]); the deadline
/// ends the call like any other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtmlError {
    /// The selector does not parse.
    #[error("invalid CSS selector `{selector}`: {reason}")]
    Selector { selector: String, reason: String },
    #[error(
        "html: a document of {bytes} bytes is over the cap of {limit} bytes \
         (html.max_document_bytes)"
    )]
    DocumentTooLarge { bytes: u64, limit: u64 },
    #[error(
        "html: the documents of this instance would have more than {limit} nodes together \
         (html.max_nodes)"
    )]
    TooManyNodes { limit: u64 },
    #[error("html: the document nests elements deeper than {limit} (html.max_depth)")]
    TooDeep { limit: u32 },
    #[error(
        "html: the instance already holds {limit} documents (html.max_documents); \
         drop one before parsing another"
    )]
    TooManyDocuments { limit: u32 },
    #[error("html: `{selector}` matches more than {limit} elements (html.max_results)")]
    TooManyResults { selector: String, limit: u32 },
    #[error(
        "html: the instance would hold more than {limit} element handles \
         (html.max_elements); drop elements it no longer needs"
    )]
    TooManyElements { limit: u32 },
    /// The task's deadline passed during the call.
    #[error("html: the task's deadline passed")]
    Deadline,
}

impl HtmlError {
    /// What the plugin sees: a bad selector is `parse` (the same selector
    /// fails the same way), a cap is `other`.
    pub fn to_crawl_error(&self) -> CrawlError {
        match self {
            HtmlError::Selector { .. } => CrawlError::Parse(self.to_string()),
            _ => CrawlError::Other(self.to_string()),
        }
    }
}

/// Longest selector the cache keeps; a longer one is compiled on every call.
const MAX_CACHED_SELECTOR: usize = 1024;
/// Selectors the cache keeps; when full it starts over, so a plugin that
/// builds endless distinct selectors costs compile time, not memory.
const MAX_CACHED_SELECTORS: usize = 4096;

/// A compiled selector list, in the form `selectors` matches.
pub type SelectorList = selectors::SelectorList<scraper::selector::Simple>;

/// Compile `css` as scraper does (the same parser, so the same selectors
/// are accepted and mean the same).
pub fn compile(css: &str) -> Result<SelectorList, HtmlError> {
    let mut input = cssparser::ParserInput::new(css);
    let mut parser = cssparser::Parser::new(&mut input);
    selectors::SelectorList::parse(
        &scraper::selector::Parser,
        &mut parser,
        selectors::parser::ParseRelative::No,
    )
    .map_err(|e| HtmlError::Selector {
        selector: css.to_string(),
        reason: scraper::error::SelectorErrorKind::from(e).to_string(),
    })
}

/// Compiled selectors by source text, shared by every instance of the
/// process: a plugin selects the same few selectors on every page of every
/// task, and compiling them was a visible share of a small page's cost.
#[derive(Default, Clone)]
pub struct Selectors {
    compiled: Arc<Mutex<HashMap<String, Arc<SelectorList>>>>,
}

impl Selectors {
    /// The compiled form of `css`, or why it does not parse.
    pub fn get(&self, css: &str) -> Result<Arc<SelectorList>, HtmlError> {
        let cache = || self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = cache().get(css) {
            return Ok(hit.clone());
        }
        let compiled = Arc::new(compile(css)?);
        if css.len() <= MAX_CACHED_SELECTOR {
            let mut cache = cache();
            if cache.len() >= MAX_CACHED_SELECTORS {
                cache.clear();
            }
            cache.insert(css.to_string(), compiled.clone());
        }
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_cap_is_refused_by_name() {
        assert!(HtmlConfig::default().validate().is_ok());
        let config = HtmlConfig {
            max_results: 0,
            ..HtmlConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.field, "html.max_results");
    }

    #[test]
    fn a_bad_selector_is_a_parse_error_naming_it_and_never_cached() {
        let selectors = Selectors::default();
        for _ in 0..2 {
            let err = selectors.get("li[").unwrap_err();
            let CrawlError::Parse(text) = err.to_crawl_error() else {
                panic!("{err:?}")
            };
            assert!(text.contains("`li[`"), "{text}");
        }
        assert!(selectors.get("li.a > b").is_ok());
        assert_eq!(selectors.compiled.lock().unwrap().len(), 1);
    }

    #[test]
    fn caps_are_other_errors_naming_their_key() {
        let err = HtmlError::TooManyResults {
            selector: "*".into(),
            limit: 5,
        };
        let CrawlError::Other(text) = err.to_crawl_error() else {
            panic!()
        };
        assert!(text.contains("html.max_results"), "{text}");
    }
}
