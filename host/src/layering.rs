//! The module layering check: no cycles between the crate's modules.
//!
//! Reads every `.rs` file under `host/src`, collects the `crate::…` and
//! `super::…` paths it names outside its `#[cfg(test)]` tail and outside
//! comments (grouped imports such as `use crate::a::{b, c::d}` included), and
//! turns them into edges between modules. Two levels are checked:
//! - the top-level modules (`engine -> http`), and
//! - sibling files inside one folder (`bus/kafka -> bus/kafka_config`).
//!
//! An edge between a module and its own descendant (a folder's `mod.rs`
//! using its children, or a child using `super::`) is not a cycle risk and
//! is left out. A cycle (a strongly connected component of more than one
//! module) fails the test, naming the modules and the edges that close it.
//!
//! This is a text scan, not name resolution: a path is attributed to the
//! longest module prefix that exists as a file. That is enough for a crate
//! that names other modules by absolute or `super::` paths, as this one does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path, e.g. `["bus", "kafka"]`; the crate root is empty.
type ModPath = Vec<String>;
/// Edges from a module to the modules it names, at the level where the two
/// paths diverge (siblings under one parent).
type Graph = BTreeMap<ModPath, BTreeSet<ModPath>>;

/// The top-level modules, bottom-up: a module may use modules of its own
/// layer or of layers before it, never of a later one (so, for one, nothing
/// below `config` reads the configuration: each section's owner defines it
/// and `config` only composes). A new top-level module must be placed here.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "contract",
            "secret",
            "error_text",
            "sqlite",
            "schedule",
            "malloc_tuning",
            "layering",
            // Leaves added on other branches of issue 19 (plumbing, commands).
            "any_case",
            "backoff",
            "time",
            "shutdown",
            "topic_name",
        ],
    ),
    (
        "capabilities",
        &["state", "http", "html", "browser", "guest_log"],
    ),
    ("sandbox", &["manifest", "engine", "registry"]),
    ("plumbing", &["bus", "sink", "coverage", "metrics"]),
    ("configuration", &["config"]),
    ("runs", &["run", "health", "trigger", "host"]),
    ("services", &["distributed", "serve", "kit", "template"]),
    ("command line", &["cli"]),
    // Test-only modules that read the whole configuration surface.
    ("tests", &["example_config_tests"]),
];

/// Edges between top-level modules that go up the [`LAYERS`], and modules
/// placed in no layer, as lines of text.
fn layer_violations(g: &Graph, modules: &BTreeSet<String>) -> Vec<String> {
    let layer_of = |m: &str| LAYERS.iter().position(|(_, ms)| ms.contains(&m));
    let mut out = Vec::new();
    for m in modules {
        if layer_of(m).is_none() {
            out.push(format!(
                "top-level module `{m}` is in no layer: add it to LAYERS"
            ));
        }
    }
    for (from, tos) in g {
        let [from] = from.as_slice() else { continue };
        for to in tos {
            let [to] = to.as_slice() else { continue };
            if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
                && b > a
            {
                out.push(format!(
                    "`{from}` ({}) uses `{to}` ({}), a later layer",
                    LAYERS[a].0, LAYERS[b].0
                ));
            }
        }
    }
    out
}

/// The module path of a file relative to `src` (`bus/mod.rs` is `bus`).
fn mod_path(rel: &Path) -> ModPath {
    let mut parts: ModPath = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without `//` comments and without its test tail: everything
/// from the first `#[cfg(test)]` that opens an inline module (`mod tests {`).
/// A `#[cfg(test)]` on anything else (`mod layering;`, a helper function)
/// does not end the production code.
fn production_code(src: &str) -> String {
    let code: Vec<&str> = src
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect();
    let code = code.join("\n");
    let mut from = 0;
    while let Some(i) = code[from..].find("#[cfg(test)]").map(|i| from + i) {
        let after = code[i + "#[cfg(test)]".len()..].trim_start();
        let inline_module = after
            .strip_prefix("mod ")
            .map(|rest| ident(rest.trim_start()).1.trim_start().starts_with('{'))
            .unwrap_or(false);
        if inline_module {
            return code[..i].to_string();
        }
        from = i + 1;
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Read an identifier at the start of `s`; returns it and the rest.
fn ident(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Expand the path that follows a `crate` or `super` keyword: segments
/// joined by `::`, with `{a, b::c}` groups expanded (nested ones too).
/// Each result is the segments after `prefix`.
fn expand(prefix: &[String], rest: &str, out: &mut Vec<ModPath>) {
    let mut path = prefix.to_vec();
    let mut s = rest;
    while let Some(after) = s.trim_start().strip_prefix("::") {
        let after = after.trim_start();
        if let Some(group) = after.strip_prefix('{') {
            // Split the group at its top-level commas.
            let mut depth = 0usize;
            let mut start = 0usize;
            let mut items = Vec::new();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        items.push(&group[start..i]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            for item in items {
                let (first, tail) = ident(item.trim_start());
                if first.is_empty() || first == "self" {
                    continue;
                }
                let mut p = path.clone();
                p.push(first.to_string());
                expand(&p, tail, out);
            }
            return;
        }
        let (seg, tail) = ident(after);
        if seg.is_empty() {
            break;
        }
        path.push(seg.to_string());
        s = tail;
    }
    out.push(path);
}

/// The absolute module paths `code` (of module `me`, a `mod.rs` or not) names.
fn references(me: &[String], code: &str) -> Vec<ModPath> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary = code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c) && c != '$' && c != ':');
        if boundary && rest.starts_with("crate::") {
            expand(&[], &rest["crate".len()..], &mut out);
            i += "crate::".len();
        } else if boundary && rest.starts_with("super::") {
            let mut base = me.to_vec();
            let mut s = rest;
            while let Some(t) = s.strip_prefix("super::") {
                base.pop();
                s = t;
            }
            // `expand` wants the text from the `::` on.
            expand(&base, &rest[rest.len() - s.len() - 2..], &mut out);
            i += rest.len() - s.len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The graph of `files` (module path, source), with edges at the level where
/// the two module paths diverge; edges to ancestors or descendants dropped.
fn graph(files: &[(ModPath, String)]) -> Graph {
    let modules: BTreeSet<&ModPath> = files.iter().map(|(m, _)| m).collect();
    let mut edges = Graph::new();
    for (me, src) in files {
        for r in references(me, &production_code(src)) {
            let Some(target) = (1..=r.len())
                .rev()
                .map(|k| r[..k].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == me.len() || common == target.len() {
                continue;
            }
            edges
                .entry(me[..=common].to_vec())
                .or_default()
                .insert(target[..=common].to_vec());
        }
    }
    edges
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles(g: &Graph) -> Vec<BTreeSet<ModPath>> {
    struct Tarjan<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<BTreeSet<ModPath>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.g.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    comp.insert(w.clone());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    self.found.push(comp);
                }
            }
        }
    }
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.found
}

fn name(m: &ModPath) -> String {
    m.join("/")
}

/// A cycle as text: its modules, then each module's edges inside it.
fn describe(g: &Graph, comp: &BTreeSet<ModPath>) -> String {
    let mut text = format!(
        "cycle: {}\n",
        comp.iter().map(name).collect::<Vec<_>>().join(" ")
    );
    for m in comp {
        let inside: Vec<String> = g
            .get(m)
            .into_iter()
            .flatten()
            .filter(|t| comp.contains(*t))
            .map(name)
            .collect();
        text.push_str(&format!("    {} -> {}\n", name(m), inside.join(", ")));
    }
    text
}

/// Every `.rs` file under `dir`, as (module path, source).
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(ModPath, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let src = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let rel = path.strip_prefix(root).expect("under the root");
            out.push((mod_path(rel), src));
        }
    }
}

#[test]
fn host_src_has_no_module_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&root, &root, &mut files);
    let g = graph(&files);
    let found = cycles(&g);
    let mut report = String::new();
    for comp in &found {
        report.push_str(&describe(&g, comp));
    }
    assert!(
        report.is_empty(),
        "module cycles in host/src (a module may not, through others, depend on itself):\n{report}"
    );
}

#[test]
fn host_src_top_level_modules_keep_their_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&root, &root, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|(m, _)| m.first().cloned())
        .collect();
    let problems = layer_violations(&graph(&files), &modules);
    assert!(
        problems.is_empty(),
        "host/src breaks its layering (see LAYERS in layering.rs):\n{}",
        problems.join("\n")
    );
}

#[cfg(test)]
mod graph_tests {
    use super::*;

    fn p(s: &str) -> ModPath {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split('/').map(str::to_string).collect()
        }
    }

    #[test]
    fn paths_are_read_from_uses_groups_and_super() {
        let code = "use crate::a::{b, c::d, self};\nuse super::e::f;\nfn x() { crate::g::h(); $crate::no(); }";
        let refs = references(&p("x/y"), code);
        assert_eq!(refs, vec![p("a/b"), p("a/c/d"), p("x/e/f"), p("g/h"),]);
        let refs = references(&p("x"), "use super::super::z;");
        assert_eq!(refs, vec![p("z")]);
    }

    #[test]
    fn comments_and_the_test_tail_are_ignored() {
        let code =
            "use crate::a; // crate::b\n//! crate::c\n#[cfg(test)]\nmod tests { use crate::d; }";
        assert_eq!(references(&[], &production_code(code)), vec![p("a")]);
        // A test-only item that is not an inline module ends nothing.
        let code = "#[cfg(test)]\nmod layering;\n#[cfg(test)]\nfn helper() {}\nuse crate::e;";
        assert_eq!(references(&[], &production_code(code)), vec![p("e")]);
    }

    #[test]
    fn a_cycle_between_top_level_modules_is_found() {
        let files = vec![
            (p("a"), "use crate::b::Thing;".to_string()),
            (p("b"), "fn f() { crate::c::g(); }".to_string()),
            (p("b/inner"), "use crate::c::X;".to_string()),
            (p("c"), "use crate::a::{Y, z::W};".to_string()),
            (p("d"), "use crate::a::Y;".to_string()),
        ];
        let g = graph(&files);
        let found = cycles(&g);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0], [p("a"), p("b"), p("c")].into_iter().collect());
        assert!(describe(&g, &found[0]).contains("b -> c"));
    }

    #[test]
    fn an_edge_up_the_layers_and_an_unplaced_module_are_reported() {
        let files = vec![
            (
                p("http"),
                "use crate::config::X; use crate::secret::S;".to_string(),
            ),
            (p("config"), "use crate::http::Y;".to_string()),
            (p("newcomer"), String::new()),
        ];
        let modules = ["http", "config", "newcomer"].map(String::from).into();
        let problems = layer_violations(&graph(&files), &modules);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("`newcomer` is in no layer"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("`http` (capabilities) uses `config` (configuration)"),
            "{problems:?}"
        );
    }

    #[test]
    fn sibling_files_form_a_cycle_but_a_folder_and_its_children_do_not() {
        let files = vec![
            (
                p("bus"),
                "use self::kafka::K; use crate::bus::kafka::K2;".to_string(),
            ),
            (
                p("bus/kafka"),
                "use super::config::C; use super::Bus;".to_string(),
            ),
            (p("bus/config"), "use crate::bus::kafka::K;".to_string()),
            (p("bus/other"), "use super::kafka::K;".to_string()),
        ];
        let g = graph(&files);
        let found = cycles(&g);
        assert_eq!(
            found,
            vec![[p("bus/config"), p("bus/kafka")].into_iter().collect()]
        );
        // Without the back edge, no cycle.
        let files = vec![
            (p("bus"), "use crate::bus::kafka::K;".to_string()),
            (
                p("bus/kafka"),
                "use super::config::C; use super::Bus;".to_string(),
            ),
            (p("bus/config"), "use super::Bus;".to_string()),
        ];
        assert!(cycles(&graph(&files)).is_empty());
    }
}
