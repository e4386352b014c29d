//! Tests that keep the configuration documentation true to the code.
//!
//! `crawlhost.example.toml` at the repository root is the field reference:
//! every setting with its default and a one-line comment. Its active lines are
//! the defaults; a setting whose default is "absent" (or a section that
//! switches a feature on by being present, such as `[kafka]`) is written
//! commented out, `# key = value`. These tests parse the file with the host's
//! own loader ([`Config::parse`], unknown fields denied), once as written and
//! once with every such line switched on, and compare the effective
//! configuration that `crawlhost config check` prints ([`Config::summary`])
//! with the keys the file names, so a field added to the code without an
//! entry here fails. Every ```` ```toml ```` block of `README.md` and
//! `docs/*.md` must parse as a configuration too, and `docs/sink.md` must map
//! every Kafka Connect property the sink implements.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The example configuration, relative to the repository root.
const EXAMPLE: &str = "crawlhost.example.toml";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str, origin: &str) -> Config {
    Config::parse(text, Path::new(origin)).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether `rest` (a line after its leading `# `) is a commented-out setting:
/// a table header or `key = value` with a bare or quoted key. Prose
/// comments do not match (a word followed by another word, not by `=`).
fn is_commented_setting(rest: &str) -> bool {
    if rest.starts_with('[') {
        return true;
    }
    let key_len = if let Some(quoted) = rest.strip_prefix('"') {
        match quoted.find('"') {
            Some(end) => end + 2,
            None => return false,
        }
    } else {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len())
    };
    key_len > 0 && rest[key_len..].trim_start().starts_with('=')
}

/// The example with every commented-out setting (`# key = value`,
/// `# [table]`) switched on.
fn switched_on(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_commented_setting(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every value in `value` with its dotted path (`sink.store.kind`,
/// `http.secrets[].hosts`); arrays of tables are entered, other arrays are
/// values.
fn leaves(value: &toml::Value, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                leaves(v, &join(key), out);
            }
        }
        toml::Value::Array(items) if !items.is_empty() && items.iter().all(|v| v.is_table()) => {
            for item in items {
                leaves(item, &format!("{prefix}[]"), out);
            }
        }
        _ => out.push((prefix.to_string(), value.clone())),
    }
}

/// The dotted paths of [`leaves`].
fn key_paths(value: &toml::Value) -> BTreeSet<String> {
    let mut out = Vec::new();
    leaves(value, "", &mut out);
    out.into_iter().map(|(path, _)| path).collect()
}

/// The effective configuration `crawlhost config check` prints, parsed back.
fn effective(config: &Config) -> toml::Value {
    let summary = config.summary(&no_env);
    toml::from_str(&summary).unwrap_or_else(|e| panic!("summary is not TOML: {e}\n{summary}"))
}

#[test]
fn example_config_parses_and_checks_with_unknown_fields_denied() {
    let text = read(EXAMPLE);
    parse(&text, EXAMPLE)
        .validate_with(&no_env)
        .unwrap_or_else(|e| panic!("{EXAMPLE} does not check: {e}"));
    let on = switched_on(&text);
    assert_ne!(on, text, "no commented-out setting found in {EXAMPLE}");
    // Switched on, the example is a full configuration with every optional
    // section; it must still parse (unknown fields denied, types right).
    let all = parse(&on, "crawlhost.example.toml (every setting on)");
    assert!(all.kafka.is_some() && all.sink.is_some() && all.browser.is_some());
    assert!(!all.http.secrets.is_empty() && !all.http.politeness.hosts.is_empty());
    assert!(!all.http.plugins.is_empty() && !all.plugins.is_empty());
    assert!(all.browser.as_ref().is_some_and(|b| !b.secrets.is_empty()));
}

#[test]
fn example_config_active_lines_are_the_defaults() {
    let example = parse(&read(EXAMPLE), EXAMPLE);
    // `[admin]` is written out; absent, it means the same defaults.
    let mut defaults = parse("", "empty.toml");
    defaults.admin.get_or_insert_with(Default::default);
    assert_eq!(
        effective(&example),
        effective(&defaults),
        "an active line of {EXAMPLE} is not the default (comment it out, or fix the value)"
    );
}

#[test]
fn example_config_commented_sections_show_the_defaults() {
    // `[kafka]`, `[sink]` and `[browser]` are commented out in the example
    // (present, they switch a feature on); their fields that have a default
    // (not `Option`) must still show it. Only the required fields are set
    // here, to the example's values.
    let minimal = parse(
        "[kafka]\nbootstrap_servers = \"k1:9092,k2:9092\"\n\
         [sink]\ntopics = [\"oliveyoung\"]\n[browser]\n",
        "minimal.toml",
    );
    let example = parse(&switched_on(&read(EXAMPLE)), EXAMPLE);
    let mut shown = Vec::new();
    leaves(&effective(&example), "", &mut shown);
    let mut defaults = Vec::new();
    leaves(&effective(&minimal), "", &mut defaults);
    let sections = ["kafka.", "sink.", "browser."];
    let mut wrong = Vec::new();
    for (path, default) in defaults {
        let entries = path.contains("[]") || default.as_array().is_some_and(|a| a.is_empty());
        if entries || !sections.iter().any(|s| path.starts_with(s)) {
            // Arrays of tables (`[[browser.secrets]]`) hold example entries.
            continue;
        }
        match shown.iter().find(|(p, _)| *p == path) {
            Some((_, value)) if *value == default => {}
            other => wrong.push(format!(
                "{path}: example {:?}, default {default}",
                other.map(|(_, v)| v.to_string())
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "commented-out settings of {EXAMPLE} that are not the default: {wrong:#?}"
    );
}

#[test]
fn example_config_names_every_field() {
    let on = switched_on(&read(EXAMPLE));
    let config = parse(&on, EXAMPLE);
    let named = key_paths(&toml::from_str(&on).expect("the example is TOML"));
    let printed = key_paths(&effective(&config));
    let missing: Vec<_> = printed.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "fields the host accepts (and `config check` prints) that {EXAMPLE} does not name: {missing:?}"
    );
    // Sanity: the walk saw the whole file, nested sections included.
    for path in [
        "sandbox.pooling",
        "http.secrets[].value_env",
        "kafka.properties.\"socket.keepalive.enable\"",
        "sink.store.connect_timeout_ms",
        "browser.secrets[].allow_http",
        "plugins.oliveyoung.config.base_url",
    ] {
        let path = path.replace('"', "");
        assert!(printed.contains(&path), "{path} not in {printed:?}");
    }
}

/// The fenced ```` ```toml ```` blocks of a Markdown text, with the line each
/// starts on. A block whose first line is a comment naming a `Cargo.toml`
/// (a plugin crate's manifest) is not a crawlhost configuration and is left
/// out.
fn toml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```") && fence.trim_start_matches('`').trim() == "toml" => {
                current = Some((i + 2, Vec::new()));
            }
            Some(_) if fence.starts_with("```") => {
                let (start, lines) = current.take().unwrap();
                let indent = line.len() - fence.len();
                let body: Vec<&str> = lines
                    .iter()
                    .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                    .collect();
                let first = body.first().copied().unwrap_or_default().trim();
                if !(first.starts_with('#') && first.ends_with("Cargo.toml")) {
                    blocks.push((start, body.join("\n")));
                }
            }
            Some((_, lines)) => lines.push(line),
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ``` block");
    blocks
}

/// `README.md` and `docs/*.md`, relative to the repository root.
fn doc_files() -> Vec<String> {
    let docs = repo_path("docs");
    let mut pages: Vec<String> = std::fs::read_dir(&docs)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", docs.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    let mut files = vec!["README.md".to_string()];
    files.extend(pages);
    files
}

/// `markdown` without its fenced code blocks.
fn prose(markdown: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The anchors GitHub gives the headings of `markdown`: lower case,
/// punctuation dropped, spaces as `-`.
fn anchors(markdown: &str) -> BTreeSet<String> {
    prose(markdown)
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| {
            heading
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn example_config_doc_links_resolve() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = prose(&read(&file));
        let dir = Path::new(&file).parent().unwrap_or(Path::new(""));
        for link in text.split("](").skip(1) {
            let target = link.split([')', ' ']).next().unwrap_or_default();
            if target.contains(':') {
                continue; // https://, mailto:
            }
            checked += 1;
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let dest = if path.is_empty() {
                PathBuf::from(&file)
            } else {
                dir.join(path)
            };
            let full = repo_path(&dest.to_string_lossy());
            if !full.exists() {
                broken.push(format!("{file}: {target}: no such file"));
            } else if !anchor.is_empty()
                && full.extension().is_some_and(|e| e == "md")
                && !anchors(&std::fs::read_to_string(&full).unwrap()).contains(anchor)
            {
                broken.push(format!("{file}: {target}: no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 20, "only {checked} relative links found");
}

#[test]
fn example_config_toml_blocks_in_readme_and_docs_parse() {
    let files = doc_files();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        for (line, block) in toml_blocks(&read(file)) {
            checked += 1;
            if let Err(e) = Config::parse(&block, Path::new(&format!("{file}:{line}"))) {
                failures.push(e.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        checked >= 5,
        "only {checked} toml blocks found in {files:?}"
    );
}

#[test]
fn example_config_deploy_config_parses_and_checks() {
    let file = "deploy/crawlhost.docker.toml";
    parse(&read(file), file)
        .validate_with(&no_env)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
}

#[test]
fn example_config_sink_doc_maps_every_connect_property() {
    let doc = read("docs/sink.md");
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with('|')).collect();
    for (property, field) in crate::sink::connect_config::PROPERTIES {
        let (property, field) = (format!("`{property}`"), format!("`{field}`"));
        assert!(
            rows.iter()
                .any(|row| row.contains(&property) && row.contains(&field)),
            "docs/sink.md has no table row mapping {property} to {field}"
        );
    }
}

#[test]
fn example_config_commented_settings_are_told_from_prose() {
    assert!(is_commented_setting("proxy = \"http://p:3128\""));
    assert!(is_commented_setting("[[http.secrets]]"));
    assert!(is_commented_setting("\"fetch.max.bytes\" = \"1\""));
    assert!(!is_commented_setting("Copy what you need = no"));
    assert!(!is_commented_setting(
        "crawlhost.example.toml: every setting"
    ));
    assert!(!is_commented_setting("  key = value  an active setting"));
}

/// The `<name>.toml: |` literal blocks of a YAML text (a Kubernetes
/// ConfigMap's files), with their key: the lines after the key indented
/// deeper than it, blank lines kept, the block's own indentation removed.
/// Enough YAML for manifests this repository writes, with no YAML parser.
fn yaml_toml_blocks(yaml: &str) -> Vec<(String, String)> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(key) = line.trim().strip_suffix(": |") else {
            continue;
        };
        if !key.ends_with(".toml") {
            continue;
        }
        let body: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || indent(l) > indent(line))
            .copied()
            .collect();
        let depth = body
            .iter()
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| indent(l));
        let text: Vec<&str> = body.iter().map(|l| l.get(depth..).unwrap_or("")).collect();
        blocks.push((key.to_string(), text.join("\n")));
    }
    blocks
}

/// Every crawlhost configuration under `deploy/`, with where it is: the
/// `*.toml` files, and the `*.toml` entries of the Kubernetes manifests in
/// `deploy/kubernetes/` (`file:key`).
fn deploy_configs() -> Vec<(String, String)> {
    let mut configs = Vec::new();
    for dir in ["deploy", "deploy/kubernetes"] {
        let mut names: Vec<String> = std::fs::read_dir(repo_path(dir))
            .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let file = format!("{dir}/{name}");
            if name.ends_with(".toml") {
                configs.push((file.clone(), read(&file)));
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                for (key, text) in yaml_toml_blocks(&read(&file)) {
                    configs.push((format!("{file}:{key}"), text));
                }
            }
        }
    }
    configs
}

#[test]
fn example_config_every_deploy_config_parses_and_checks() {
    let configs = deploy_configs();
    for (origin, text) in &configs {
        let settings = parse(text, origin)
            .validate_with(&no_env)
            .unwrap_or_else(|e| panic!("{origin} does not check: {e}"));
        if let Some(sink) = &settings.sink {
            sink.validate(&settings.data_dir)
                .unwrap_or_else(|e| panic!("{origin}: [sink] does not check: {e}"));
        }
    }
    // The walk found every kind of file (a renamed file or ConfigMap key
    // must not silently leave the test with nothing to check).
    let origins: Vec<&str> = configs.iter().map(|(o, _)| o.as_str()).collect();
    for expected in [
        "deploy/crawlhost.docker.toml",
        "deploy/crawlhost.compose.toml",
        "deploy/crawlhost.compose-sink.toml",
        "deploy/kubernetes/01-configmap.yaml:crawlhost.toml",
        "deploy/kubernetes/01-configmap.yaml:crawlhost-sink.toml",
    ] {
        assert!(origins.contains(&expected), "{expected} not in {origins:?}");
    }
}

#[test]
fn example_config_deploy_files_name_configs_that_exist() {
    // docker-compose.yml mounts `./<config>.toml` files; with a tansu broker
    // every one that talks to Kafka needs eager assignment (tansu's
    // cooperative-sticky rebalancing hands a partition to two members at
    // once: /tmp/tansu-groups/REPORT.md, and `group_assignment`'s doc).
    let compose = read("deploy/docker-compose.yml");
    let mounted: BTreeSet<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ./"))
        .filter_map(|l| l.split_once(':').map(|(file, _)| file))
        .filter(|file| file.ends_with(".toml"))
        .collect();
    assert!(mounted.len() >= 2, "compose mounts only {mounted:?}");
    let tansu = compose.contains("tansu");
    for file in mounted {
        let path = format!("deploy/{file}");
        let config = parse(&read(&path), &path);
        if let (true, Some(kafka)) = (tansu, &config.kafka) {
            assert_eq!(
                kafka.group_assignment, "range",
                "{path}: the compose broker is tansu, which needs group_assignment = \"range\""
            );
        }
    }
    // Every ConfigMap key a Kubernetes manifest mounts is one of the
    // checked configurations.
    let keys: BTreeSet<String> = deploy_configs()
        .into_iter()
        .filter_map(|(origin, _)| Some(origin.split_once(".yaml:")?.1.to_string()))
        .collect();
    let mut mounts = 0;
    for name in std::fs::read_dir(repo_path("deploy/kubernetes")).unwrap() {
        let name = name.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") {
            continue;
        }
        let text = read(&format!("deploy/kubernetes/{name}"));
        for key in text
            .split("key: ")
            .skip(1)
            .filter_map(|rest| rest.split([',', '}', '\n']).next())
            .filter(|key| key.ends_with(".toml"))
        {
            mounts += 1;
            assert!(
                keys.contains(key),
                "deploy/kubernetes/{name} mounts ConfigMap key {key}, which is not in {keys:?}"
            );
        }
    }
    assert!(mounts >= 4, "only {mounts} ConfigMap keys mounted");
}

#[test]
fn example_config_yaml_toml_blocks_end_at_the_next_key() {
    let yaml = "data:\n  a.toml: |\n    [host]\n\n    x = 1\n  b.txt: |\n    no\n  c.toml: |\n    y = \"z\"\nkind: X\n";
    assert_eq!(
        yaml_toml_blocks(yaml),
        vec![
            ("a.toml".to_string(), "[host]\n\nx = 1".to_string()),
            ("c.toml".to_string(), "y = \"z\"".to_string()),
        ]
    );
}
