//! One parsed document and the queries on it, under the caps and a deadline.
//! Pure: no wasmtime, so the caps are unit tested here.
//!
//! Parsing feeds html5ever in chunks and checks the node count and the
//! deadline between them, so a hostile document stops within one chunk of a
//! cap. Selection walks the nodes itself (in the order `scraper` does: the
//! document in parse order, an element's subtree in tree order, so results
//! equal what plugins got from `scraper` inside the guest) and checks the
//! deadline every few nodes, so a selector that is slow on a deep tree ends
//! with the task.

use std::borrow::Cow;
use std::cell::Cell;
use std::time::Instant;

use ego_tree::NodeId;
use html5ever::driver;
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::html::HtmlTreeSink;
use scraper::{ElementRef, Html};
use selectors::context::{
    MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, SelectorCaches,
};
use selectors::matching::matches_selector_list;

use super::{HtmlError, SelectorList};

/// Bytes fed to the parser between two checks of the caps and the deadline.
/// Small, because html5ever spends time proportional to the depth of open
/// elements on each tag: a chunk of nested tags past the depth cap costs
/// about `CHUNK / 5 * (max_depth + CHUNK / 5)` steps before the check.
const CHUNK: usize = 16 * 1024;
/// Nodes visited by a query between two checks of the deadline.
const NODES_PER_CHECK: usize = 64;

/// Caps one parse or query works under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_document_bytes: u64,
    pub max_nodes: u64,
    /// Nodes this parse may still create: `max_nodes` less the nodes of the
    /// documents the instance already holds.
    pub node_budget: u64,
    pub max_depth: u32,
    pub max_results: u32,
    /// When the task's deadline passes.
    pub deadline: Instant,
}

fn check_deadline(deadline: Instant) -> Result<(), HtmlError> {
    if Instant::now() >= deadline {
        Err(HtmlError::Deadline)
    } else {
        Ok(())
    }
}

/// A parsed document, movable to another thread together with the instance
/// that holds it.
///
/// `scraper`'s tree holds non-atomic tendrils: reference-counted string
/// buffers that html5ever shares between the tendrils it cuts from one
/// input chunk, so `Html` is not `Send`. (scraper's `atomic` feature makes
/// it `Send` by copying every string into an atomic tendril, 10-12% of a
/// parse.) Every tendril that shares a buffer with another lives in this one
/// tree: the parser that held the input is dropped before [`parse`] returns,
/// and nothing in this module hands a tendril out (readers copy into
/// `String` or borrow `&str` for the length of a call). Moving the tree
/// moves every holder of every count at once, so no count is touched by two
/// threads; the type is deliberately not `Sync`.
#[derive(Debug)]
pub struct Parsed(Html);

// SAFETY: see the type's documentation: all sharers of each non-atomic
// count move together, and `&Parsed` is never shared between threads
// (`Parsed` is not `Sync`).
unsafe impl Send for Parsed {}

impl std::ops::Deref for Parsed {
    type Target = Html;
    fn deref(&self) -> &Html {
        &self.0
    }
}

/// Parse `text` as a document (a fragment becomes the body of one).
pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, HtmlError> {
    let bytes = text.len() as u64;
    if bytes > limits.max_document_bytes {
        return Err(HtmlError::DocumentTooLarge {
            bytes,
            limit: limits.max_document_bytes,
        });
    }
    let sink = DepthSink {
        inner: HtmlTreeSink::new(Html::new_document()),
        max_depth: limits.max_depth as usize,
        too_deep: Cell::new(false),
    };
    let mut parser = driver::parse_document(sink, Default::default());
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        parser.process(StrTendril::from_slice(chunk));
        rest = tail;
        let sink = &parser.tokenizer.sink.sink;
        if sink.too_deep.get() {
            return Err(HtmlError::TooDeep {
                limit: limits.max_depth,
            });
        }
        let nodes = sink.inner.0.borrow().tree.nodes().len() as u64;
        if nodes > limits.node_budget {
            return Err(HtmlError::TooManyNodes {
                limit: limits.max_nodes,
            });
        }
        check_deadline(limits.deadline)?;
    }
    let html = parser.finish();
    if html.tree.nodes().len() as u64 > limits.node_budget {
        return Err(HtmlError::TooManyNodes {
            limit: limits.max_nodes,
        });
    }
    Ok(Parsed(html))
}

/// scraper's tree sink, watching how deep elements nest: html5ever walks
/// the stack of open elements on most tags, so a document of endlessly nested
/// tags costs time quadratic in its size. Browsers cap the depth (Blink at
/// 512); here passing the cap fails the parse.
struct DepthSink {
    inner: HtmlTreeSink,
    max_depth: usize,
    too_deep: Cell<bool>,
}

impl DepthSink {
    fn note_depth(&self, parent: &NodeId, child: &NodeOrText<NodeId>) {
        if matches!(child, NodeOrText::AppendNode(_)) && !self.too_deep.get() {
            let html = self.inner.0.borrow();
            let depth = html
                .tree
                .get(*parent)
                .map_or(0, |p| p.ancestors().take(self.max_depth).count() + 1);
            if depth >= self.max_depth {
                self.too_deep.set(true);
            }
        }
    }
}

impl TreeSink for DepthSink {
    type Handle = NodeId;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }
    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg)
    }
    fn get_document(&self) -> NodeId {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }
    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        self.inner.create_element(name, attrs, flags)
    }
    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.inner.create_pi(target, data)
    }
    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.note_depth(parent, &child);
        self.inner.append(parent, child)
    }
    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        self.inner
            .append_based_on_parent_node(element, prev_element, child)
    }
    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id)
    }
    fn mark_script_already_started(&self, node: &NodeId) {
        self.inner.mark_script_already_started(node)
    }
    fn pop(&self, node: &NodeId) {
        self.inner.pop(node)
    }
    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }
    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        self.inner.append_before_sibling(sibling, new_node)
    }
    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }
    fn associate_with_form(
        &self,
        target: &NodeId,
        form: &NodeId,
        nodes: (&NodeId, Option<&NodeId>),
    ) {
        self.inner.associate_with_form(target, form, nodes)
    }
    fn remove_from_parent(&self, target: &NodeId) {
        self.inner.remove_from_parent(target)
    }
    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        self.inner.reparent_children(node, new_parent)
    }
    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }
    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number)
    }
    fn allow_declarative_shadow_roots(&self, intended_parent: &NodeId) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }
    fn attach_declarative_shadow(
        &self,
        location: &NodeId,
        template: &NodeId,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }
}

/// Where a query looks: the whole document, or below one element.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Document,
    Below(NodeId),
}

/// One query's matching state: the caches `selectors` keeps across the
/// elements of a query (nth-child indices, `:has` results).
struct Matcher<'s> {
    selector: &'s SelectorList,
    caches: SelectorCaches,
}

impl<'s> Matcher<'s> {
    fn new(selector: &'s SelectorList) -> Self {
        Self {
            selector,
            caches: SelectorCaches::default(),
        }
    }

    fn matches(&mut self, element: &ElementRef<'_>, scope: Option<ElementRef<'_>>) -> bool {
        let mut context = MatchingContext::new(
            MatchingMode::Normal,
            None,
            &mut self.caches,
            selectors::context::QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        context.scope_element = scope.map(|s| selectors::Element::opaque(&s));
        matches_selector_list(self.selector, element, &mut context)
    }
}

/// Whether `element` itself matches `selector`.
pub fn matches(element: ElementRef<'_>, selector: &SelectorList) -> bool {
    Matcher::new(selector).matches(&element, None)
}

/// Elements matching `selector` in `scope`, at most `first_only ? 1 :
/// max_results` of them (more is an error naming `css`).
pub fn select(
    html: &Html,
    scope: Scope,
    selector: &SelectorList,
    css: &str,
    first_only: bool,
    limits: &Limits,
) -> Result<Vec<NodeId>, HtmlError> {
    let mut found = Vec::new();
    let mut matcher = Matcher::new(selector);
    let mut visit = |element: ElementRef<'_>, scope: Option<ElementRef<'_>>| {
        if !matcher.matches(&element, scope) {
            return Ok(false);
        }
        if found.len() >= limits.max_results as usize {
            return Err(HtmlError::TooManyResults {
                selector: css.to_string(),
                limit: limits.max_results,
            });
        }
        found.push(element.id());
        Ok(first_only)
    };
    match scope {
        Scope::Document => {
            for (i, node) in html.tree.nodes().enumerate() {
                if i % NODES_PER_CHECK == 0 {
                    check_deadline(limits.deadline)?;
                }
                if let Some(element) = ElementRef::wrap(node)
                    && element.parent().is_some()
                    && visit(element, None)?
                {
                    break;
                }
            }
        }
        Scope::Below(id) => {
            let Some(top) = html.tree.get(id).and_then(ElementRef::wrap) else {
                return Ok(found);
            };
            for (i, node) in top.descendants().skip(1).enumerate() {
                if i % NODES_PER_CHECK == 0 {
                    check_deadline(limits.deadline)?;
                }
                if let Some(element) = ElementRef::wrap(node)
                    && visit(element, Some(top))?
                {
                    break;
                }
            }
        }
    }
    Ok(found)
}

/// The element `id` of `html`, if it is one.
pub fn element(html: &Html, id: NodeId) -> Option<ElementRef<'_>> {
    html.tree.get(id).and_then(ElementRef::wrap)
}

/// Text of the element's own text children, concatenated.
pub fn own_text(element: ElementRef<'_>) -> String {
    element
        .children()
        .filter_map(|c| c.value().as_text().map(|t| &**t))
        .collect()
}

/// Attribute `name`, matched ASCII case-insensitively (names are lower case
/// after parsing, so only an upper-case request needs folding).
pub fn attr<'a>(element: ElementRef<'a>, name: &str) -> Option<&'a str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        element.value().attr(&name.to_ascii_lowercase())
    } else {
        element.value().attr(name)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> Limits {
        Limits {
            max_document_bytes: 1 << 20,
            max_nodes: 100_000,
            node_budget: 100_000,
            max_depth: 512,
            max_results: 100,
            deadline: Instant::now() + Duration::from_secs(60),
        }
    }

    fn sel(css: &str) -> SelectorList {
        super::super::compile(css).unwrap()
    }

    fn scraper_sel(css: &str) -> scraper::Selector {
        scraper::Selector::parse(css).unwrap()
    }

    /// What `scraper` selects on its own, for comparison.
    fn scraper_ids(html: &Html, css: &str) -> Vec<NodeId> {
        html.select(&scraper_sel(css)).map(|e| e.id()).collect()
    }

    #[test]
    fn selects_what_scraper_selects_in_the_same_order() {
        // Misnested markup: the tree builder moves nodes, so parse order and
        // tree order differ; both orders are kept as scraper has them.
        let page = "<table><tr><td>1</td></tr><b>moved</b></table>\
                    <ul><li class=a>x<li class=b>y <b>z</b><li class=a>w</ul><p><i>a<b>b</i>c</b>";
        let html = parse(page, &limits()).unwrap();
        for css in [
            "li",
            "li.a",
            "b",
            "ul > li:nth-child(2) b",
            "*",
            "i, b",
            "li:has(b)",
            ":scope > li",
        ] {
            let ours = select(&html, Scope::Document, &sel(css), css, false, &limits()).unwrap();
            assert_eq!(ours, scraper_ids(&html, css), "{css}");
        }
        let ul = select(&html, Scope::Document, &sel("ul"), "ul", true, &limits()).unwrap()[0];
        let below = select(&html, Scope::Below(ul), &sel("b"), "b", false, &limits()).unwrap();
        let expected: Vec<NodeId> = element(&html, ul)
            .unwrap()
            .select(&scraper_sel("b"))
            .map(|e| e.id())
            .collect();
        assert_eq!(below, expected);
        // `first_only` stops at the first match.
        let first = select(&html, Scope::Document, &sel("li"), "li", true, &limits()).unwrap();
        assert_eq!(first, scraper_ids(&html, "li")[..1]);
    }

    #[test]
    fn texts_and_attributes() {
        let html = parse(
            "<div data-X=' 7 ' id=d>own <span>child</span> text</div>",
            &limits(),
        )
        .unwrap();
        let id = select(&html, Scope::Document, &sel("div"), "div", true, &limits()).unwrap()[0];
        let div = element(&html, id).unwrap();
        assert_eq!(own_text(div), "own  text");
        assert_eq!(div.text().collect::<String>(), "own child text");
        assert_eq!(attr(div, "data-x"), Some(" 7 "));
        assert_eq!(attr(div, "DATA-X"), Some(" 7 "));
        assert_eq!(attr(div, "missing"), None);
    }

    #[test]
    fn a_document_over_the_byte_cap_is_refused_before_parsing() {
        let limits = Limits {
            max_document_bytes: 10,
            ..limits()
        };
        let err = parse("<p>eleven b</p>", &limits).unwrap_err();
        assert!(matches!(
            err,
            HtmlError::DocumentTooLarge {
                bytes: 15,
                limit: 10
            }
        ));
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_cap_within_a_chunk() {
        // 10 MB of nested tags: quadratic for the tree builder (hours), so
        // only stopping early keeps this test short.
        let page = "<div>".repeat(2 << 20);
        let limits = Limits {
            max_document_bytes: 16 << 20,
            ..limits()
        };
        let started = Instant::now();
        let err = parse(&page, &limits).unwrap_err();
        assert_eq!(err, HtmlError::TooDeep { limit: 512 });
        println!("refused after {:?}", started.elapsed());
        // Just under the cap parses.
        let page = "<div>".repeat(500);
        assert!(parse(&page, &limits).is_ok());
    }

    #[test]
    fn many_flat_nodes_stop_at_the_node_cap() {
        let page = "<p>x</p>".repeat(100_000);
        let limits = Limits {
            max_nodes: 50_000,
            node_budget: 50_000,
            max_document_bytes: 10 << 20,
            ..limits()
        };
        let err = parse(&page, &limits).unwrap_err();
        assert_eq!(err, HtmlError::TooManyNodes { limit: 50_000 });
    }

    #[test]
    fn a_selector_matching_everything_stops_at_the_result_cap() {
        let page = "<p>x</p>".repeat(500);
        let html = parse(&page, &limits()).unwrap();
        let err = select(&html, Scope::Document, &sel("*"), "*", false, &limits()).unwrap_err();
        assert_eq!(
            err,
            HtmlError::TooManyResults {
                selector: "*".into(),
                limit: 100
            }
        );
    }

    #[test]
    fn a_passed_deadline_ends_parse_and_select() {
        let past = Limits {
            deadline: Instant::now(),
            ..limits()
        };
        assert_eq!(parse("<p>x</p>", &past).unwrap_err(), HtmlError::Deadline);
        let html = parse("<p>x</p>", &limits()).unwrap();
        let err = select(&html, Scope::Document, &sel("p"), "p", false, &past).unwrap_err();
        assert_eq!(err, HtmlError::Deadline);
    }

    #[test]
    fn multibyte_text_split_across_chunks_parses_whole() {
        let word = "올리브영";
        let page = format!("<p>{}</p>", word.repeat(CHUNK / 5));
        let html = parse(&page, &limits()).unwrap();
        let id = select(&html, Scope::Document, &sel("p"), "p", true, &limits()).unwrap()[0];
        let text: String = element(&html, id).unwrap().text().collect();
        assert_eq!(text, word.repeat(CHUNK / 5));
    }
}
