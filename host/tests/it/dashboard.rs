//! The Grafana dashboard (`deploy/grafana/dashboards/crawlhost.json`) asks
//! only for series `serve` exports: every metric name in a panel query or a
//! template variable has at least one sample line in `/metrics` (a `# HELP`
//! line alone draws nothing), scraped from a real `serve` with the sink on,
//! after runs that produce records, skipped items and a drift alarm.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::host::Host;
use crawlhost::serve::{self, Service};
use tokio::sync::oneshot;

const DASHBOARD: &str = include_str!("../../../deploy/grafana/dashboards/crawlhost.json");

/// The families issue 18 names for the dashboard (runs, tasks, records,
/// failures, fetch statuses, retries, politeness wait, sink lag, memory) and
/// the forward backlog: the dashboard must query each, so the test cannot
/// pass on a dashboard that lost its panels.
const REQUIRED: [&str; 13] = [
    "crawlhost_runs_finished_total",
    "crawlhost_runs_failed_total",
    "crawlhost_tasks_done_total",
    "crawlhost_tasks_failed_total",
    "crawlhost_records_total",
    "crawlhost_dead_letters_total",
    "crawlhost_fetch_responses_total",
    "crawlhost_task_retries_total",
    "crawlhost_fetch_retries_total",
    "crawlhost_politeness_wait_seconds_total",
    "crawlhost_sink_lag_records",
    "crawlhost_forward_backlog_bytes",
    "process_resident_memory_bytes",
];

/// The metric names in a PromQL expression or a Grafana variable query:
/// identifiers starting `crawlhost_` or `process_`, outside string literals
/// (a label value such as `plugin=~"crawlhost_x"` is not a metric).
fn metric_names(expr: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '"' | '\'' | '`') {
            while let Some(d) = chars.next() {
                if d == '\\' && c != '`' {
                    chars.next();
                } else if d == c {
                    break;
                }
            }
        } else if is_ident(c) {
            let mut word = String::from(c);
            while let Some(&d) = chars.peek().filter(|d| is_ident(**d)) {
                word.push(d);
                chars.next();
            }
            if word.starts_with("crawlhost_") || word.starts_with("process_") {
                names.push(word);
            }
        }
    }
    names
}

/// Every query of the dashboard: panel target `expr`s (rows' nested panels
/// included) and template variable queries.
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => exprs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    exprs(&dashboard["panels"], &mut out);
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if var["type"] != "query" {
            continue;
        }
        for q in [&var["query"], &var["query"]["query"], &var["definition"]] {
            if let Some(s) = q.as_str() {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// What one `/metrics` exposition holds: the `# TYPE` of each family and
/// the names that have sample lines.
struct Exposition {
    types: BTreeMap<String, String>,
    sampled: BTreeSet<String>,
}

impl Exposition {
    fn parse(text: &str) -> Self {
        let mut types = BTreeMap::new();
        let mut sampled = BTreeSet::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut it = rest.split_whitespace();
                if let (Some(name), Some(kind)) = (it.next(), it.next()) {
                    types.insert(name.to_string(), kind.to_string());
                }
            } else if !line.starts_with('#') {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                sampled.insert(line[..end].to_string());
            }
        }
        Exposition { types, sampled }
    }

    /// The family a queried name belongs to: a histogram's `_bucket`,
    /// `_sum` and `_count` series belong to the histogram; any other name
    /// is its own family.
    fn family<'a>(&self, name: &'a str) -> &'a str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self.types.get(base).is_some_and(|t| t == "histogram")
            {
                return base;
            }
        }
        name
    }

    /// The queried names without a sample line.
    fn missing<'a>(&self, names: &'a BTreeSet<String>) -> Vec<&'a str> {
        names
            .iter()
            .filter(|n| !self.sampled.contains(n.as_str()))
            .map(String::as_str)
            .collect()
    }
}

async fn scrape(addr: SocketAddr) -> String {
    let resp = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap()
}

/// Poll `cond` every 20 ms until it holds or `limit` passes.
async fn wait_for<F: FnMut() -> bool>(limit: Duration, what: &str, mut cond: F) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One run of the echo plugin, to its end.
async fn run_once(service: &Arc<Service>) {
    let before = service.plugins()[0].last_runs.len();
    service.start_run("echo").await.unwrap();
    wait_for(Duration::from_secs(30), "the echo run to finish", || {
        let p = &service.plugins()[0];
        p.active_run.is_none() && p.last_runs.len() > before
    })
    .await;
}

/// Settings with the echo plugin (`extra` as given, skipped items) and the
/// sink writing the `echo` topic to a local directory.
fn settings(dir: &std::path::Path, extra: &str) -> crawlhost::config::Settings {
    common::settings(
        dir,
        &format!(
            "[plugins.echo.config]\ntasks = \"4\"\nrecords_per_task = \"3\"\nskipped = \"2\"\n\
             extra = \"{extra}\"\n\
             [sink]\ntopics = [\"echo\"]\nflush_size = 5\nidle_flush_ms = 300\npoll_interval_ms = 50\n\
             [sink.store]\nkind = \"local\"\npath = \"{}\"\n",
            dir.join("objects").display()
        ),
    )
}

#[test]
fn metric_names_are_the_identifiers_outside_strings() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.95, sum by (le) (rate(crawlhost_run_duration_seconds_bucket{plugin=~"crawlhost_x|$plugin",a='process_y'}[1h]))) / process_open_fds"#
        ),
        ["crawlhost_run_duration_seconds_bucket", "process_open_fds"]
    );
    assert_eq!(
        metric_names(r#"label_values(crawlhost_tasks_done_total{instance=~"$instance"}, plugin)"#),
        ["crawlhost_tasks_done_total"]
    );
    assert!(metric_names("my_crawlhost_total + rate(x[5m]) + $__rate_interval").is_empty());
    let e = Exposition::parse(
        "# HELP h Seconds.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n\
         # TYPE c_count counter\nc_count 3\n# TYPE g gauge\n",
    );
    assert_eq!(e.family("h_bucket"), "h");
    assert_eq!(e.family("c_count"), "c_count", "not a histogram's series");
    let names: BTreeSet<String> = ["h_sum", "h", "c_count", "g"].map(String::from).into();
    assert_eq!(
        e.missing(&names),
        ["g", "h"],
        "HELP/TYPE alone is no sample"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboard_queries_is_exported() {
    let dashboard: serde_json::Value =
        serde_json::from_str(DASHBOARD).expect("the dashboard is valid JSON");
    assert_eq!(dashboard["title"], "crawlhost");
    assert_eq!(dashboard["uid"], "crawlhost");
    let mut ids = BTreeSet::new();
    for p in dashboard["panels"].as_array().unwrap() {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "panel id {} twice",
            p["id"]
        );
    }
    let queries = dashboard_queries(&dashboard);
    let names: BTreeSet<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    assert!(
        !names.is_empty(),
        "no metric names in the dashboard's queries"
    );
    let not_queried: Vec<&str> = REQUIRED
        .iter()
        .filter(|r| !names.contains(**r))
        .copied()
        .collect();
    assert!(
        not_queried.is_empty(),
        "the dashboard queries none of {not_queried:?}; it uses {names:?}"
    );

    // A baseline run, then `serve` (admin API and sink) with a run in which
    // `extra` emptied: records, skipped items, a drift alarm, sink offsets.
    let dir = tempfile::tempdir().unwrap();
    let plugin_path = dir.path().join("plugins/echo.wasm");
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(common::wasm("guest_echo"), &plugin_path).unwrap();
    {
        let service = Service::new(Host::open(settings(dir.path(), "filled")).unwrap());
        service.apply_file(&plugin_path).await;
        run_once(&service).await;
    }
    let service = Service::new(Host::open(settings(dir.path(), "null")).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), Some(listener), async {
        let _ = stop_rx.await;
    }));
    wait_for(Duration::from_secs(30), "echo to load", || {
        service.plugins().iter().any(|p| p.name == "echo")
    })
    .await;
    run_once(&service).await;
    assert_eq!(
        service.plugins()[0].last_runs[0].drift.len(),
        1,
        "the second run raises the drift alarm the dashboard shows"
    );

    // The sink's series come once it has polled: scrape until nothing is
    // missing or 15 s passed, then report what is still missing.
    let start = Instant::now();
    let (text, exposition) = loop {
        let text = scrape(addr).await;
        let e = Exposition::parse(&text);
        if e.missing(&names).is_empty() || start.elapsed() > Duration::from_secs(15) {
            break (text, e);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("/metrics is valid Prometheus text");
    let families: BTreeSet<&str> = names.iter().map(|n| exposition.family(n)).collect();
    println!(
        "The dashboard queries {} metric names ({} families):\n{}",
        names.len(),
        families.len(),
        names.iter().cloned().collect::<Vec<_>>().join("\n")
    );
    let missing = exposition.missing(&names);
    assert!(
        missing.is_empty(),
        "the dashboard queries {} name(s) without a sample in /metrics: {missing:?}\n\
         (families exported: {:?})",
        missing.len(),
        exposition.types.keys().collect::<Vec<_>>()
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve stopped")
        .unwrap()
        .unwrap();
}
