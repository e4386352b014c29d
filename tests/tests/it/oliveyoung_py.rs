//! The Oliveyoung crawler ported to Python (`plugins/oliveyoung-py`, built
//! by componentize-py with the Python SDK) against the Rust plugin: both
//! crawl the same site at the same time, each into its own bus, and must
//! land the same records, field by field, with the same tasks failed. Not
//! only on the fixture the plugins were written against: on every markup
//! drift and on the three independent renditions of the site, so the port's
//! tolerance is the Rust plugin's, not just its happy path. Also: the
//! original crawler's BeautifulSoup code runs inside a plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crawlhost::config::{Config, Settings};
use crawlhost::contract::PlanInput;
use crawlhost::host::Host;
use crawlhost::run::{RunSummary, run_plugin};
use crawlhost_tests::oliveyoung::{Mutation, Site, spawn};
use serde_json::Value;

use super::oliveyoung_e2e::{by_key, read_topic};

const SEED: u64 = 7;
const TOPICS: [&str; 2] = ["oliveyoung", "oliveyoung-products"];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn wasm(file: &str) -> PathBuf {
    let path = target_dir().join("wasm32-wasip2/release").join(file);
    assert!(
        path.exists(),
        "{} is missing: `make plugins python-plugins` builds it (make test does)",
        path.display()
    );
    path
}

/// Settings for plugin `name` against `base_url` under `dir`; the compile
/// cache is shared by every test of the run, so the 20 MB Python component
/// is compiled once, not once per site.
fn settings(dir: &Path, name: &str, base_url: &str) -> Settings {
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\ncache_dir = \"{cache}\"\n\
         [http]\nallow_private_addresses = true\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n[http.retry]\nmax_attempts = 2\nbase_ms = 5\nmax_ms = 10\n[http.circuit]\nfailure_threshold = 0\n\
         [run]\nconcurrency = 8\nretry_base_ms = 20\nretry_max_ms = 200\n\
         [plugins.{name}]\nconfig = {{ base_url = \"{base_url}\" }}\n",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
        cache = target_dir().join("test-compile-cache").display(),
    );
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    Config::parse(&text, Path::new("py.toml"))
        .unwrap()
        .validate()
        .unwrap()
}

/// What one plugin's run landed: records per topic by key, with the crawl
/// time (each run's own start) checked and taken out.
struct Landed {
    summary: RunSummary,
    topics: BTreeMap<&'static str, BTreeMap<String, Value>>,
}

/// One scheduled run of plugin `name` (file `file`) against `base_url` in
/// a fresh data directory; the host is returned open so its bus can be
/// read. The run must not be fatal.
async fn run_once(file: &str, name: &str, base_url: &str) -> (tempfile::TempDir, Host, RunSummary) {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(dir.path(), name, base_url)).unwrap();
    let plugin = host.run_context().engine.load(&wasm(file)).await.unwrap();
    assert_eq!(plugin.manifest.name, name);
    let summary = run_plugin(
        host.run_context(),
        Arc::new(plugin),
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert!(summary.fatal.is_none(), "{name}: {:?}", summary.fatal);
    (dir, host, summary)
}

async fn crawl(file: &str, name: &str, base_url: &str) -> Landed {
    let (_dir, host, summary) = run_once(file, name, base_url).await;
    let mut topics = BTreeMap::new();
    for topic in TOPICS {
        let mut records = by_key(&read_topic(host.bus.as_ref(), topic).await);
        for (key, value) in records.iter_mut() {
            let crawled = value
                .as_object_mut()
                .and_then(|o| o.remove("crawled_at_ms"));
            assert_eq!(
                crawled,
                Some(Value::from(summary.started_at_ms)),
                "{name}: {topic} {key}: crawled_at_ms is not the run's start"
            );
        }
        topics.insert(topic, records);
    }
    Landed { summary, topics }
}

/// Both plugins against the site at `base_url`, at the same time; every
/// record equal. Returns (brands, products) landed, for the table.
async fn compare(what: &str, base_url: &str) -> (usize, usize) {
    let (rust, python) = tokio::join!(
        crawl("oliveyoung.wasm", "oliveyoung", base_url),
        crawl("oliveyoung-py.wasm", "oliveyoung-py", base_url),
    );
    let failed = |s: &RunSummary| {
        let mut keys: Vec<String> = s.tasks_failed.iter().map(|f| f.key.clone()).collect();
        keys.sort();
        keys
    };
    assert_eq!(
        failed(&python.summary),
        failed(&rust.summary),
        "{what}: different tasks failed"
    );
    for topic in TOPICS {
        let (r, p) = (&rust.topics[topic], &python.topics[topic]);
        let missing: Vec<_> = r.keys().filter(|k| !p.contains_key(*k)).take(5).collect();
        let extra: Vec<_> = p.keys().filter(|k| !r.contains_key(*k)).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}: {topic}: Rust {} records, Python {}; missing from Python {missing:?}, only in Python {extra:?}",
            r.len(),
            p.len()
        );
        for (key, value) in r {
            assert_eq!(
                &p[key], value,
                "{what}: {topic} {key}: Python (left) differs from Rust (right)"
            );
        }
    }
    assert_eq!(
        python.summary.coverage.topics, rust.summary.coverage.topics,
        "{what}: per-field coverage differs"
    );
    (
        rust.topics["oliveyoung"].len(),
        rust.topics["oliveyoung-products"].len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_port_lands_what_the_rust_plugin_lands_on_every_rendition() {
    use crawlhost_tests::oliveyoung::alt::spawn_alt;
    use crawlhost_tests::oliveyoung::fourth::spawn_fourth;
    use crawlhost_tests::oliveyoung::third::spawn_third;

    let mut table = Vec::new();
    let (url, server) = spawn(Site::generate(SEED)).await.unwrap();
    let (brands, products) = compare("fixture", &url).await;
    server.abort();
    // The fixture's scale: the comparison is not vacuous.
    assert!(brands >= 300 && products >= 5000, "{brands} / {products}");
    table.push(("fixture".to_string(), brands, products));
    for mutation in Mutation::ALL {
        let (url, server) = spawn(Site::generate(SEED).with_mutation(Some(mutation)))
            .await
            .unwrap();
        let what = format!("drift {mutation}");
        let counts = compare(&what, &url).await;
        server.abort();
        table.push((what, counts.0, counts.1));
    }
    let (url, server) = spawn_alt(Site::generate(SEED)).await.unwrap();
    let counts = compare("second rendition", &url).await;
    server.abort();
    table.push(("second rendition".into(), counts.0, counts.1));
    let (url, server) = spawn_third(Site::generate(SEED)).await.unwrap();
    let counts = compare("third rendition", &url).await;
    server.abort();
    table.push(("third rendition".into(), counts.0, counts.1));
    let (url, server) = spawn_fourth(Site::generate(SEED)).await;
    let counts = compare("fourth rendition", &url).await;
    server.abort();
    table.push(("fourth rendition".into(), counts.0, counts.1));
    eprintln!(
        "{:<32} {:>7} {:>9}  (equal in Rust and Python)",
        "site", "brands", "products"
    );
    for (what, b, p) in table {
        eprintln!("{what:<32} {b:>7} {p:>9}");
    }
}

/// The original crawler's BeautifulSoup code inside a plugin
/// (`plugins/oliveyoung-bs4`: beautifulsoup4 with the pure-Python
/// `html.parser`, bundled by componentize-py): against the fixture it reads
/// every brand of the brand list with the names the ground truth gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_crawlers_beautifulsoup_code_runs_inside_a_plugin() {
    let (url, _server) = spawn(Site::generate(SEED)).await.unwrap();
    let (_dir, host, summary) = run_once("oliveyoung-bs4.wasm", "oliveyoung-bs4", &url).await;
    assert!(
        summary.tasks_failed.is_empty(),
        "{:?}",
        summary.tasks_failed
    );
    let got = by_key(&read_topic(host.bus.as_ref(), "oliveyoung-bs4-brands").await);
    let truth = Site::generate(SEED).ground_truth(&url, summary.started_at_ms);
    assert_eq!(got.len(), truth.brands.len());
    for (code, brand) in &truth.brands {
        let want = serde_json::json!({
            "code": code,
            "name_ko": brand["brand"],
            "name_en": brand["brand_name_en"],
        });
        assert_eq!(got.get(code), Some(&want), "brand {code}");
    }
}
