//! Sandbox cost, with criterion (`make bench` runs it; BENCHMARKS.md has the
//! figures).
//!
//! - `task_overhead/pooling_{on,off}`: one `crawl` of the `ticker` test
//!   guest through [`PluginEngine::crawl`], the path every task takes: a
//!   fresh store, instantiation from the pre-instantiated component, the
//!   call, lifting the output. The guest's own work is a few JSON values, so
//!   this is the per-task overhead. Pre-instantiation (`InstancePre`) is
//!   always on in the engine; there is no setting to turn it off.
//! - `task_overhead/{python,js}_pooling_{on,off}`: the same guest written in
//!   Python (componentize-py, `tests/script-guests/ticker-py`) and in
//!   JavaScript (componentize-js, `tests/script-guests/ticker-js`): what a
//!   20 MB interpreter component costs per task, instantiated from its
//!   build-time snapshot. `BENCH_KEEP_RESIDENT_MB` sets
//!   `sandbox.keep_resident_mb` (default 16, the host's default); this loop
//!   runs one task at a time on one thread, where the kernel's page-fault
//!   path is cheap, so it does not show what keeping pages resident saves
//!   when tasks run on several threads at once (the crawl benchmark does).
//! - `extraction/native_<page>` vs `extraction/wasm_<page>` vs
//!   `extraction/guest_parser_<page>`: the oliveyoung plugin's parser on a
//!   fixture page, called natively (the plugin crate's rlib), inside a
//!   component through the host's `html` capability (the `parsebench`
//!   guest, compiled from the same `parse.rs`), and inside a component with
//!   html5ever compiled in (the same guest built with the SDK's
//!   `guest-parser` feature, as plugins were before the capability). The
//!   wasm sides parse the page `iters` times in one call, so one
//!   instantiation is spread over the batch; `extraction/wasm_<page>_one_call`
//!   is a single parse per task, overhead and the page's copy into the guest
//!   included.
//!
//! Needs the guests: `make guests script-plugins` (scripts/bench.sh builds
//! them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::config::{Config, Settings};
use crawlhost::contract::{RunInfo, Task};
use crawlhost::engine::{CallContext, LoadedPlugin, PluginEngine};
use crawlhost::host::Host;
use crawlhost::http::FetchScope;
use crawlhost_tests::oliveyoung::Site;
use criterion::{Criterion, criterion_group, criterion_main};

/// Seed of the fixture site the pages come from (the crawl benchmark's).
const SEED: u64 = 7;

fn wasm(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    if !path.exists() {
        panic!("{} is missing: build it with `make guests`", path.display());
    }
    path
}

fn settings(dir: &Path, pooling: &str) -> Settings {
    let keep = std::env::var("BENCH_KEEP_RESIDENT_MB").unwrap_or_else(|_| "16".into());
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n[sandbox]\npooling = \"{pooling}\"\nkeep_resident_mb = {keep}\n",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
    );
    std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
    Config::parse(&text, Path::new("bench.toml"))
        .expect("bench config parses")
        .validate()
        .expect("bench config is valid")
}

/// An engine with `pooling` and a loaded plugin. The host is kept alive
/// alongside (it owns the bus and the state store the engine's services use).
struct Loaded {
    _dir: tempfile::TempDir,
    _host: Host,
    engine: Arc<PluginEngine>,
    plugin: LoadedPlugin,
}

fn load(rt: &tokio::runtime::Runtime, pooling: &str, guest: &str) -> Loaded {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = rt
        .block_on(async { Host::open(settings(dir.path(), pooling)) })
        .expect("host opens");
    let engine = host.engine.clone();
    assert_eq!(
        engine.pooling(),
        pooling == "on",
        "pooling = {pooling} was not applied"
    );
    let plugin = rt.block_on(engine.load(&wasm(guest))).expect("guest loads");
    Loaded {
        _dir: dir,
        _host: host,
        engine,
        plugin,
    }
}

fn ctx(plugin: &str) -> CallContext {
    CallContext {
        scope: FetchScope::new(plugin, Default::default(), Default::default()),
        label: "bench".into(),
        started_at_ms: 0,
        seed: 1,
    }
}

fn info() -> RunInfo {
    RunInfo {
        run_id: "bench".into(),
        started_at_ms: 0,
        config: Vec::new(),
    }
}

fn task(kind: &str, payload: String) -> Task {
    Task {
        key: "bench".into(),
        kind: kind.into(),
        payload,
        phase: 0,
    }
}

/// Run one crawl and return the number of records (panics on any failure:
/// a benchmark of a failing call measures nothing).
async fn crawl(l: &Loaded, plugin: &str, t: &Task) -> Vec<String> {
    let out = l
        .engine
        .crawl(&l.plugin, ctx(plugin), &info(), t)
        .await
        .expect("sandbox ok")
        .result
        .expect("crawl ok");
    out.records.into_iter().map(|r| r.value).collect()
}

fn task_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("task_overhead");
    // (benchmark name prefix, guest file, manifest name): the Rust guest,
    // and the same guest written in Python and in JavaScript.
    let guests = [
        ("", "ticker-1.0.0", "ticker"),
        ("python_", "ticker-py", "ticker-py"),
        ("js_", "ticker-js", "ticker-js"),
    ];
    for (prefix, file, name) in guests {
        for pooling in ["on", "off"] {
            let l = load(&rt, pooling, file);
            let t = task("tick", r#"{"chain":0,"n":0}"#.into());
            // The guest answers: one record, one follow-up.
            assert_eq!(rt.block_on(crawl(&l, name, &t)).len(), 1);
            group.bench_function(format!("{prefix}pooling_{pooling}"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            std::hint::black_box(crawl(&l, name, &t).await);
                        }
                        start.elapsed()
                    })
                })
            });
        }
    }
    group.finish();
}

/// Fixture pages: a full product page (24 cards, the page the crawl reads
/// most) and the brand list (the largest page).
fn pages() -> Vec<(&'static str, String)> {
    let site = Site::generate(SEED);
    let brand = site
        .brands()
        .iter()
        .filter(|b| !site.faults().is_broken(&b.code))
        .find(|b| b.products.len() >= 24)
        .expect("a brand with a full product page");
    vec![
        (
            "goods",
            site.goods_page_html(&brand.code, 1).expect("goods page"),
        ),
        ("brand-list", site.brand_list_html()),
    ]
}

fn native_items(page: &str, html: &str) -> usize {
    use oliveyoung::parse;
    match page {
        "goods" => parse::parse_goods_page(html)
            .expect("parses")
            .products
            .len(),
        "brand-list" => parse::parse_brand_list(html).expect("parses").brands.len(),
        other => unreachable!("no page kind {other}"),
    }
}

fn extraction(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let l = load(&rt, "on", "guest_parsebench");
    let own = load(&rt, "on", "guest_parsebench-guest-parser");
    let mut group = c.benchmark_group("extraction");
    group.measurement_time(Duration::from_secs(5));
    for (page, html) in pages() {
        let payload = |repeat: u64| {
            serde_json::json!({ "page": page, "html": html, "repeat": repeat }).to_string()
        };
        // Both sides must extract the same number of items.
        let native = native_items(page, &html);
        for side in [&l, &own] {
            let values = rt.block_on(crawl(side, "parsebench", &task("parse", payload(1))));
            let wasm: serde_json::Value = serde_json::from_str(&values[0]).expect("record is JSON");
            assert_eq!(
                wasm["items"].as_u64(),
                Some(native as u64),
                "{page}: the component and native code disagree"
            );
        }
        let page_name = page.replace('-', "_");
        group.bench_function(format!("native_{page_name}"), |b| {
            b.iter(|| native_items(page, std::hint::black_box(&html)))
        });
        group.bench_function(format!("wasm_{page_name}"), |b| {
            b.iter_custom(|iters| {
                let t = task("parse", payload(iters));
                rt.block_on(async {
                    let start = Instant::now();
                    std::hint::black_box(crawl(&l, "parsebench", &t).await);
                    start.elapsed()
                })
            })
        });
        group.bench_function(format!("guest_parser_{page_name}"), |b| {
            b.iter_custom(|iters| {
                let t = task("parse", payload(iters));
                rt.block_on(async {
                    let start = Instant::now();
                    std::hint::black_box(crawl(&own, "parsebench", &t).await);
                    start.elapsed()
                })
            })
        });
        let one = task("parse", payload(1));
        group.bench_function(format!("wasm_{page_name}_one_call"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        std::hint::black_box(crawl(&l, "parsebench", &one).await);
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, task_overhead, extraction);
criterion_main!(benches);
