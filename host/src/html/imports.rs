//! The `html` import (contract 0.3): the document and element handles of one
//! instance, and the calls on them.
//!
//! Handles are indices into two tables of this instance. A document stays
//! alive while its own handle or any element handle into it does, and counts
//! against `html.max_documents` until then; element handles count against
//! `html.max_elements`. Everything is freed with the instance. Calls are
//! synchronous (the work is CPU, not I/O) and check the task's deadline
//! themselves; a passed deadline traps the call as an interrupt, which the
//! engine reports as the task's deadline.

use std::time::Instant;

use ego_tree::NodeId;
use scraper::ElementRef;
use wasmtime::component::{HasSelf, Linker, Resource};

use super::document::{self, Limits, Scope};
use super::{HtmlConfig, HtmlError, Selectors};
use crate::contract::CrawlError;
use crate::contract::crawlhost::plugin::html::{self, Document, Element};

type Res<T> = wasmtime::Result<Result<T, CrawlError>>;

/// A document and the handles that keep it alive.
struct DocEntry {
    html: document::Parsed,
    /// Its nodes, counted against `html.max_nodes` while it lives.
    nodes: u64,
    /// The document handle (0 or 1) plus the element handles into it.
    refs: u32,
}

/// A table of values addressed by handle, reusing freed slots.
struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    live: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    fn insert(&mut self, value: T) -> u32 {
        self.live += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn get(&self, i: u32) -> Option<&T> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.slots.get_mut(i as usize).and_then(Option::as_mut)
    }

    fn remove(&mut self, i: u32) -> Option<T> {
        let taken = self.slots.get_mut(i as usize).and_then(Option::take);
        if taken.is_some() {
            self.live -= 1;
            self.free.push(i);
        }
        taken
    }
}

/// The `html` state of one plugin instance.
pub struct Instance {
    caps: HtmlConfig,
    selectors: Selectors,
    deadline: Instant,
    docs: Slab<DocEntry>,
    /// Nodes of the documents held, together.
    nodes_held: u64,
    /// Element handles: (document index, node).
    elements: Slab<(u32, NodeId)>,
}

impl Instance {
    /// The `html` state of one instance whose task ends at `deadline`.
    pub fn new(caps: HtmlConfig, selectors: Selectors, deadline: Instant) -> Self {
        Self {
            caps,
            selectors,
            deadline,
            docs: Slab::default(),
            nodes_held: 0,
            elements: Slab::default(),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_document_bytes: self.caps.max_document_bytes,
            max_nodes: self.caps.max_nodes,
            node_budget: self.caps.max_nodes.saturating_sub(self.nodes_held),
            max_depth: self.caps.max_depth,
            max_results: self.caps.max_results,
            deadline: self.deadline,
        }
    }

    /// Release one reference to document `doc`, freeing it at the last.
    fn unref(&mut self, doc: u32) {
        if let Some(entry) = self.docs.get_mut(doc) {
            entry.refs -= 1;
            if entry.refs == 0
                && let Some(freed) = self.docs.remove(doc)
            {
                self.nodes_held -= freed.nodes;
            }
        }
    }

    /// The nodes a query in `scope` of document `doc` finds.
    fn query(
        &self,
        doc: u32,
        scope: Scope,
        css: &str,
        first_only: bool,
    ) -> Result<Vec<NodeId>, HtmlError> {
        let selector = self.selectors.get(css)?;
        // Callers resolved `doc` from a live handle, so it is there.
        let Some(entry) = self.docs.get(doc) else {
            return Ok(Vec::new());
        };
        document::select(
            &entry.html,
            scope,
            &selector,
            css,
            first_only,
            &self.limits(),
        )
    }

    /// Run a query in `scope` of document `doc` and read each element found
    /// with `read`, without handles.
    fn read_all<R>(
        &self,
        doc: u32,
        scope: Scope,
        css: &str,
        first_only: bool,
        read: impl Fn(ElementRef<'_>) -> R,
    ) -> Result<Vec<R>, HtmlError> {
        let found = self.query(doc, scope, css, first_only)?;
        let Some(entry) = self.docs.get(doc) else {
            return Ok(Vec::new());
        };
        Ok(found
            .into_iter()
            .filter_map(|id| document::element(&entry.html, id))
            .map(read)
            .collect())
    }

    /// Run a query in `scope` of document `doc` and hand out element handles
    /// for what it found.
    fn select_in(
        &mut self,
        doc: u32,
        scope: Scope,
        css: &str,
        first_only: bool,
    ) -> Result<Vec<Resource<Element>>, HtmlError> {
        let found = self.query(doc, scope, css, first_only)?;
        if self.elements.live as usize + found.len() > self.caps.max_elements as usize {
            return Err(HtmlError::TooManyElements {
                limit: self.caps.max_elements,
            });
        }
        if let Some(entry) = self.docs.get_mut(doc) {
            entry.refs += found.len() as u32;
        }
        Ok(found
            .into_iter()
            .map(|node| Resource::new_own(self.elements.insert((doc, node))))
            .collect())
    }

    /// Read element `handle` with `f`; a stale handle traps (the guest's
    /// bindings never hand one over).
    fn read<R>(
        &self,
        handle: &Resource<Element>,
        f: impl FnOnce(ElementRef<'_>) -> R,
    ) -> wasmtime::Result<R> {
        let (doc, node) = self.element_of(handle)?;
        let entry = self
            .docs
            .get(doc)
            .ok_or_else(|| wasmtime::format_err!("html element of a freed document"))?;
        let element = document::element(&entry.html, node)
            .ok_or_else(|| wasmtime::format_err!("html element handle is not an element"))?;
        Ok(f(element))
    }

    fn doc_of(&self, handle: &Resource<Document>) -> wasmtime::Result<u32> {
        let doc = handle.rep();
        match self.docs.get(doc) {
            Some(_) => Ok(doc),
            None => Err(wasmtime::format_err!("unknown html document handle")),
        }
    }

    fn element_of(&self, handle: &Resource<Element>) -> wasmtime::Result<(u32, NodeId)> {
        self.elements
            .get(handle.rep())
            .copied()
            .ok_or_else(|| wasmtime::format_err!("unknown html element handle"))
    }
}

/// The text of an element: all of it, or its own text children only.
fn text_of(own: bool) -> impl Fn(ElementRef<'_>) -> String {
    move |e| {
        if own {
            document::own_text(e)
        } else {
            e.text().collect()
        }
    }
}

/// The outcome of an `html` call for the guest: a cap or a bad selector is
/// its error to handle, a passed deadline ends the call.
fn answer<T>(result: Result<T, HtmlError>) -> Res<T> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(HtmlError::Deadline) => Err(wasmtime::Trap::Interrupt.into()),
        Err(e) => Ok(Err(e.to_crawl_error())),
    }
}

/// Link `html` (contract 0.3 only); `get` finds the instance in the store
/// data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    html::add_to_linker::<T, HasSelf<Instance>>(linker, get)
}

impl html::Host for Instance {}

impl html::HostDocument for Instance {
    fn parse(&mut self, text: String) -> Res<Resource<Document>> {
        if self.docs.live >= self.caps.max_documents {
            return answer(Err(HtmlError::TooManyDocuments {
                limit: self.caps.max_documents,
            }));
        }
        let parsed = document::parse(&text, &self.limits());
        answer(parsed.map(|html| {
            let nodes = html.tree.nodes().len() as u64;
            self.nodes_held += nodes;
            Resource::new_own(self.docs.insert(DocEntry {
                html,
                nodes,
                refs: 1,
            }))
        }))
    }

    fn select(&mut self, doc: Resource<Document>, css: String) -> Res<Vec<Resource<Element>>> {
        let doc = self.doc_of(&doc)?;
        answer(self.select_in(doc, Scope::Document, &css, false))
    }

    fn select_first(
        &mut self,
        doc: Resource<Document>,
        css: String,
    ) -> Res<Option<Resource<Element>>> {
        let doc = self.doc_of(&doc)?;
        answer(
            self.select_in(doc, Scope::Document, &css, true)
                .map(|found| found.into_iter().next()),
        )
    }

    fn texts(&mut self, doc: Resource<Document>, css: String) -> Res<Vec<String>> {
        let doc = self.doc_of(&doc)?;
        answer(self.read_all(doc, Scope::Document, &css, false, text_of(false)))
    }

    fn own_texts(&mut self, doc: Resource<Document>, css: String) -> Res<Vec<String>> {
        let doc = self.doc_of(&doc)?;
        answer(self.read_all(doc, Scope::Document, &css, false, text_of(true)))
    }

    fn attr_values(
        &mut self,
        doc: Resource<Document>,
        css: String,
        name: String,
    ) -> Res<Vec<Option<String>>> {
        let doc = self.doc_of(&doc)?;
        answer(self.read_all(doc, Scope::Document, &css, false, |e| {
            document::attr(e, &name).map(str::to_string)
        }))
    }

    fn drop(&mut self, doc: Resource<Document>) -> wasmtime::Result<()> {
        let doc = self.doc_of(&doc)?;
        self.unref(doc);
        Ok(())
    }
}

impl html::HostElement for Instance {
    fn name(&mut self, e: Resource<Element>) -> wasmtime::Result<String> {
        self.read(&e, |e| e.value().name().to_string())
    }

    fn attr(&mut self, e: Resource<Element>, name: String) -> wasmtime::Result<Option<String>> {
        self.read(&e, |e| document::attr(e, &name).map(str::to_string))
    }

    fn attrs(&mut self, e: Resource<Element>) -> wasmtime::Result<Vec<(String, String)>> {
        self.read(&e, |e| {
            e.value()
                .attrs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
    }

    fn text(&mut self, e: Resource<Element>) -> wasmtime::Result<String> {
        self.read(&e, |e| e.text().collect())
    }

    fn own_text(&mut self, e: Resource<Element>) -> wasmtime::Result<String> {
        self.read(&e, document::own_text)
    }

    fn inner_html(&mut self, e: Resource<Element>) -> wasmtime::Result<String> {
        self.read(&e, |e| e.inner_html())
    }

    fn outer_html(&mut self, e: Resource<Element>) -> wasmtime::Result<String> {
        self.read(&e, |e| e.html())
    }

    fn select(&mut self, e: Resource<Element>, css: String) -> Res<Vec<Resource<Element>>> {
        let (doc, node) = self.element_of(&e)?;
        answer(self.select_in(doc, Scope::Below(node), &css, false))
    }

    fn select_first(
        &mut self,
        e: Resource<Element>,
        css: String,
    ) -> Res<Option<Resource<Element>>> {
        let (doc, node) = self.element_of(&e)?;
        answer(
            self.select_in(doc, Scope::Below(node), &css, true)
                .map(|found| found.into_iter().next()),
        )
    }

    fn matches(&mut self, e: Resource<Element>, css: String) -> Res<bool> {
        let selector = match self.selectors.get(&css) {
            Ok(s) => s,
            Err(err) => return answer(Err(err)),
        };
        self.read(&e, |e| Ok(document::matches(e, &selector)))
    }

    fn texts(&mut self, e: Resource<Element>, css: String) -> Res<Vec<String>> {
        let (doc, node) = self.element_of(&e)?;
        answer(self.read_all(doc, Scope::Below(node), &css, false, text_of(false)))
    }

    fn own_texts(&mut self, e: Resource<Element>, css: String) -> Res<Vec<String>> {
        let (doc, node) = self.element_of(&e)?;
        answer(self.read_all(doc, Scope::Below(node), &css, false, text_of(true)))
    }

    fn attr_values(
        &mut self,
        e: Resource<Element>,
        css: String,
        name: String,
    ) -> Res<Vec<Option<String>>> {
        let (doc, node) = self.element_of(&e)?;
        answer(self.read_all(doc, Scope::Below(node), &css, false, |e| {
            document::attr(e, &name).map(str::to_string)
        }))
    }

    fn drop(&mut self, e: Resource<Element>) -> wasmtime::Result<()> {
        let (doc, _) = self.element_of(&e)?;
        self.elements.remove(e.rep());
        self.unref(doc);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use html::{HostDocument, HostElement};

    use super::*;

    fn instance(caps: HtmlConfig) -> Instance {
        Instance::new(
            caps,
            Selectors::default(),
            Instant::now() + Duration::from_secs(60),
        )
    }

    fn parse(i: &mut Instance, text: &str) -> Result<Resource<Document>, CrawlError> {
        HostDocument::parse(i, text.to_string()).unwrap()
    }

    fn again<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_own(r.rep())
    }

    #[test]
    fn an_element_keeps_its_document_until_both_are_dropped() {
        let mut i = instance(HtmlConfig::default());
        let doc = parse(&mut i, "<p class=a>one</p><p>two</p>").unwrap();
        let found = HostDocument::select(&mut i, again(&doc), "p.a".into())
            .unwrap()
            .unwrap();
        assert_eq!(found.len(), 1);
        HostDocument::drop(&mut i, doc).unwrap();
        // The document lives on through its element.
        assert_eq!(HostElement::text(&mut i, again(&found[0])).unwrap(), "one");
        assert_eq!((i.docs.live, i.elements.live), (1, 1));
        HostElement::drop(&mut i, again(&found[0])).unwrap();
        assert_eq!((i.docs.live, i.elements.live, i.nodes_held), (0, 0, 0));
    }

    #[test]
    fn the_node_cap_counts_every_document_held() {
        let mut i = instance(HtmlConfig {
            max_nodes: 2_500,
            ..HtmlConfig::default()
        });
        let page = "<p>x</p>".repeat(1_000); // about 2,000 nodes
        let first = parse(&mut i, &page).unwrap();
        let err = parse(&mut i, &page).unwrap_err();
        assert!(
            matches!(&err, CrawlError::Other(m) if m.contains("html.max_nodes")),
            "{err:?}"
        );
        // Dropping the first gives its nodes back.
        HostDocument::drop(&mut i, first).unwrap();
        assert!(parse(&mut i, &page).is_ok());
    }

    #[test]
    fn handles_past_the_cap_are_refused_and_the_held_ones_still_work() {
        let mut i = instance(HtmlConfig {
            max_elements: 150,
            ..HtmlConfig::default()
        });
        let doc = parse(&mut i, &"<p>x</p>".repeat(100)).unwrap();
        let held = HostDocument::select(&mut i, again(&doc), "p".into())
            .unwrap()
            .unwrap();
        let err = HostDocument::select(&mut i, again(&doc), "p".into())
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, CrawlError::Other(m) if m.contains("html.max_elements")),
            "{err:?}"
        );
        assert_eq!(i.elements.live, 100);
        // Batch reads make no handles, so they still answer.
        let texts = HostDocument::texts(&mut i, again(&doc), "p".into())
            .unwrap()
            .unwrap();
        assert_eq!(texts.len(), 100);
        assert_eq!(HostElement::name(&mut i, again(&held[99])).unwrap(), "p");
    }
}
