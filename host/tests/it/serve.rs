//! `crawlhost serve`: hot swap under load, refusal of a corrupt file while
//! the good version keeps serving, cron firing without overlap, `/metrics`
//! in the Prometheus format, admin token rules and the status page's
//! sign-in, graceful shutdown; field
//! coverage and drift alarms from run to run (`run_plugin`, `serve`'s health,
//! metrics and admin API, `run --once` exit code 3, `coverage show|reset`).

use crate::common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::bus::Bus;
use crawlhost::host::Host;
use crawlhost::serve::{self, Service, admin};
use tokio::sync::oneshot;

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

/// Reads a topic incrementally.
struct Reader {
    bus: Arc<dyn Bus>,
    topic: String,
    offset: u64,
}

impl Reader {
    async fn next_batch(&mut self) -> Vec<serde_json::Value> {
        let topics = self.bus.topics().await.unwrap();
        if !topics.iter().any(|(t, _)| *t == self.topic) {
            return Vec::new();
        }
        let batch = self
            .bus
            .fetch(&self.topic, 0, self.offset, 10_000)
            .await
            .unwrap();
        if let Some(last) = batch.last() {
            self.offset = last.offset + 1;
        }
        batch
            .iter()
            .map(|r| serde_json::from_slice(&r.value).unwrap())
            .collect()
    }
}

async fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn copy_plugin(from: &Path, to: &Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_then_refuse_a_corrupt_file() {
    let _cpu = crate::cpu::busy().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        dir.path(),
        "[plugins.ticker]\nconcurrency = 4\nconfig = { chains = \"4\" }\n",
    );
    let plugin_path = dir.path().join("plugins/ticker.wasm");
    copy_plugin(&common::wasm("ticker-1.0.0"), &plugin_path);
    let service = Service::new(Host::open(settings).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), Some(listener), async {
        let _ = stop_rx.await;
    }));
    wait_for(Duration::from_secs(30), "ticker to load", || {
        service.plugins().iter().any(|p| p.name == "ticker")
    })
    .await;
    let (status, body) = http(addr, "POST", "/plugins/ticker/run", None).await;
    assert_eq!(status, 202, "{body}");
    // A second start while the run is active is refused: runs never overlap.
    let (status, _) = http(addr, "POST", "/plugins/ticker/run", None).await;
    assert_eq!(status, 409);

    let mut reader = Reader {
        bus: service.host().bus.clone(),
        topic: "ticks".into(),
        offset: 0,
    };
    let mut v1 = 0usize;
    let start = Instant::now();
    while v1 < 200 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "only {v1} ticks from v1"
        );
        v1 += reader.next_batch().await.len();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Replace the file the way `cp` does (truncate, then write).
    let swapped_at = Instant::now();
    copy_plugin(&common::wasm("ticker-2.0.0"), &plugin_path);
    let swap_time;
    loop {
        let batch = reader.next_batch().await;
        if batch.iter().any(|v| v["version"] == "2.0.0") {
            swap_time = swapped_at.elapsed();
            break;
        }
        assert!(
            swapped_at.elapsed() < Duration::from_secs(10),
            "v2 never served"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "hot swap: new version serving {} ms after the file was replaced",
        swap_time.as_millis()
    );
    assert!(
        swap_time < Duration::from_secs(1),
        "swap took {swap_time:?}"
    );
    let info = service
        .plugins()
        .into_iter()
        .find(|p| p.name == "ticker")
        .unwrap();
    assert_eq!(info.version, "2.0.0");
    assert!(info.active_run.is_some(), "the run went on across the swap");

    // A corrupt file is refused; version 2 keeps serving.
    std::fs::write(&plugin_path, b"\0asm garbage, not a component").unwrap();
    wait_for(
        Duration::from_secs(10),
        "the corrupt file to be refused",
        || !service.refused().is_empty(),
    )
    .await;
    let (status, body) = http(addr, "GET", "/plugins/refused", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("ticker.wasm"), "{body}");
    let mut after_refusal = 0;
    let start = Instant::now();
    while after_refusal < 100 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serving stopped after the refusal"
        );
        for v in reader.next_batch().await {
            assert_eq!(v["version"], "2.0.0");
            after_refusal += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let info = service
        .plugins()
        .into_iter()
        .find(|p| p.name == "ticker")
        .unwrap();
    assert_eq!(info.version, "2.0.0");

    // /metrics parses as Prometheus text and shows no failed task.
    let (status, body) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let sample = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("plugin") == Some("ticker"))
            .unwrap_or_else(|| panic!("{name} missing"))
            .value
            .clone()
    };
    assert!(
        matches!(sample("crawlhost_tasks_failed_total"), prometheus_parse::Value::Counter(v) if v == 0.0)
    );
    assert!(
        matches!(sample("crawlhost_tasks_done_total"), prometheus_parse::Value::Counter(v) if v > 300.0)
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "crawlhost_plugin_swaps_total")
    );

    // Graceful stop: the run is interrupted, nothing failed.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve stopped")
        .unwrap()
        .unwrap();
    let m = service.metrics.plugin("ticker");
    assert_eq!(m.tasks_failed.load(std::sync::atomic::Ordering::Relaxed), 0);
    let runs = service
        .host()
        .journal
        .recent_runs(Some("ticker"), 5)
        .unwrap();
    assert_eq!(runs[0].status, "interrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_fires_each_tick_once_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        dir.path(),
        "[plugins.ticker]\nschedule = \"* * * * * *\"\ntimezone = \"Asia/Seoul\"\n\
         config = { chains = \"1\", limit = \"3\" }\n",
    );
    copy_plugin(
        &common::wasm("ticker-1.0.0"),
        &dir.path().join("plugins/ticker.wasm"),
    );
    let service = Service::new(Host::open(settings).unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), None, async {
        let _ = stop_rx.await;
    }));
    wait_for(Duration::from_secs(20), "three scheduled runs", || {
        service
            .plugins()
            .iter()
            .find(|p| p.name == "ticker")
            .is_some_and(|p| p.last_runs.len() >= 3)
    })
    .await;
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    let info = service
        .plugins()
        .into_iter()
        .find(|p| p.name == "ticker")
        .unwrap();
    // Newest first; each run did its 3 tasks, and runs did not overlap.
    let runs: Vec<_> = info.last_runs.iter().rev().collect();
    for r in &runs {
        if !r.interrupted {
            assert_eq!(r.tasks_done, 3, "{r:?}");
        }
    }
    for pair in runs.windows(2) {
        let end_of_first = pair[0].started_at_ms + pair[0].duration_ms as i64;
        assert!(
            pair[1].started_at_ms >= end_of_first,
            "runs overlapped: {pair:?}"
        );
        // One tick each: at least ~1 s apart, never two in one second.
        assert!(
            pair[1].started_at_ms - pair[0].started_at_ms >= 900,
            "{pair:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_needs_a_token_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::new(Host::open(common::settings(dir.path(), "")).unwrap());
    let public: SocketAddr = "0.0.0.0:7878".parse().unwrap();
    let err = admin::router_with(service.clone(), None, public).unwrap_err();
    assert!(err.contains("without a token"), "{err}");

    let router = admin::router_with(service.clone(), Some("s3cret".into()), public).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    assert_eq!(http(addr, "GET", "/plugins", None).await.0, 401);
    assert_eq!(http(addr, "GET", "/metrics", Some("wrong")).await.0, 401);
    assert_eq!(http(addr, "POST", "/plugins/x/run", None).await.0, 401);
    assert_eq!(http(addr, "GET", "/plugins", Some("s3cret")).await.0, 200);
    assert_eq!(
        http(addr, "POST", "/plugins/x/run", Some("s3cret")).await.0,
        404
    );
    // Liveness stays open for orchestrators.
    assert_eq!(http(addr, "GET", "/healthz", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_gracefully_with_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let _ = common::settings(dir.path(), "");
    copy_plugin(
        &common::wasm("ticker-1.0.0"),
        &dir.path().join("plugins/ticker.wasm"),
    );
    let config = dir.path().join("crawlhost.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n[admin]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("plugins").display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The admin address is printed on stderr.
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr: SocketAddr = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("admin address printed")
            .unwrap()
            .expect("stderr open");
        if let Some(rest) = line.strip_prefix("admin API on http://") {
            break rest.trim().parse().unwrap();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let start = Instant::now();
    loop {
        let (status, _) = http(addr, "POST", "/plugins/ticker/run", None).await;
        if status == 202 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run never started ({status})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc_kill(pid, 15) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("serve exits after SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let journal =
        crawlhost::run::journal::Journal::open(&dir.path().join("data/frontier.db")).unwrap();
    let runs = journal.recent_runs(Some("ticker"), 1).unwrap();
    assert_eq!(runs[0].status, "interrupted", "{runs:?}");
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// With `[sink]` configured, `serve` also runs the sink: records a plugin
/// produces end up as objects in the Confluent layout without a separate
/// `crawlhost sink` process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_sink_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("objects");
    let settings = common::settings(
        dir.path(),
        &format!(
            "[plugins.ticker]\nconfig = {{ chains = \"2\", limit = \"5\" }}\n\
             [sink]\ntopics = [\"ticks\"]\nflush_size = 5\nidle_flush_ms = 500\npoll_interval_ms = 50\n\
             [sink.store]\nkind = \"local\"\npath = \"{}\"\n",
            out.display()
        ),
    );
    copy_plugin(
        &common::wasm("ticker-1.0.0"),
        &dir.path().join("plugins/ticker.wasm"),
    );
    let service = Service::new(Host::open(settings).unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), None, async {
        let _ = stop_rx.await;
    }));
    wait_for(Duration::from_secs(30), "ticker to load", || {
        service.plugins().iter().any(|p| p.name == "ticker")
    })
    .await;
    service.start_run("ticker").await.unwrap();
    // 2 chains x 5 tasks = 10 records, flush.size 5: two objects of 5 lines.
    let listed = || -> Vec<(String, usize)> {
        let mut found = Vec::new();
        let mut stack = vec![out.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let lines = std::fs::read_to_string(&p)
                        .unwrap_or_default()
                        .lines()
                        .count();
                    found.push((p.strip_prefix(&out).unwrap().display().to_string(), lines));
                }
            }
        }
        found.sort();
        found
    };
    wait_for(
        Duration::from_secs(30),
        "the sink to write the ticks",
        || listed().iter().map(|(_, n)| n).sum::<usize>() == 10,
    )
    .await;
    assert_eq!(
        listed(),
        vec![
            (
                "topics/ticks/partition=0/ticks+0+0000000000.json".to_string(),
                5
            ),
            (
                "topics/ticks/partition=0/ticks+0+0000000005.json".to_string(),
                5
            ),
        ]
    );
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The echo guest's plugin config as TOML.
fn echo_config(pairs: &[(&str, &str)]) -> String {
    let mut out = String::from("[plugins.echo.config]\n");
    for (k, v) in pairs {
        out.push_str(&format!("{k} = \"{v}\"\n"));
    }
    out
}

/// `run_plugin` measures coverage and skipped items exactly, and a second
/// call with the same `data_dir` is compared with the first: a field that
/// empties, a flag that is never true any more, a topic that shrinks by more
/// than half each alarm; records land all the same; a run with alarms does
/// not become the baseline, a good one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_plugin_measures_coverage_and_compares_with_the_last_good_run() {
    use crawlhost::contract::PlanInput;
    use crawlhost::coverage::{DriftCheck, DriftKind};
    use crawlhost::run::{RunContext, run_plugin};

    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), "")).unwrap();
    let plugin = Arc::new(host.engine.load(&common::wasm("guest_echo")).await.unwrap());
    let run = |pairs: &[(&str, &str)]| {
        let mut settings = (*host.settings).clone();
        settings.plugins.entry("echo".into()).or_default().config = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ctx = RunContext {
            settings: Arc::new(settings),
            ..host.run_context()
        };
        let plugin = plugin.clone();
        async move { run_plugin(ctx, plugin, PlanInput::Scheduled, &mut |_| {}).await }
    };
    let good = [
        ("tasks", "40"),
        ("records_per_task", "1"),
        ("extra", "filled"),
        ("flag", "2"),
        ("skipped", "3"),
    ];

    let first = run(&good).await;
    assert!(first.is_clean(), "{:?}", first.tasks_failed);
    let echo = &first.coverage.topics["echo"];
    assert_eq!(echo.records, 40);
    for field in ["task", "record", "run", "extra", "flag"] {
        assert_eq!(echo.fields[field].filled, 40, "{field}");
    }
    assert_eq!(echo.fields["flag"].true_count, 20);
    assert_eq!(echo.fields["extra"].true_count, 0);
    assert_eq!(echo.skipped["id"], 120);
    assert_eq!(first.drift_check, DriftCheck::BaselineSet);
    assert!(first.drift.is_empty());
    assert_eq!(crawlhost::cli::run_exit_code(&first), 0);
    assert!(dir.path().join("data/coverage/echo.json").is_file());

    // The site "changed": `extra` empty, `flag` never true.
    let drifted = run(&[
        ("tasks", "40"),
        ("records_per_task", "1"),
        ("extra", "null"),
        ("flag", "never"),
    ])
    .await;
    assert!(drifted.is_clean());
    let found: Vec<_> = drifted
        .drift
        .iter()
        .map(|a| (a.kind, a.field.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        found,
        vec![
            (DriftKind::Coverage, "extra".to_string()),
            (DriftKind::VanishedFlag, "flag".to_string())
        ]
    );
    let extra = &drifted.drift[0];
    assert_eq!((extra.before, extra.now), (1.0, 0.0));
    assert_eq!(extra.baseline_run, first.run_id);
    assert!(
        extra.message.starts_with(
            "echo/echo: field extra filled in 0.0% of 40 records, was 100.0% of 40 (baseline run "
        ),
        "{}",
        extra.message
    );
    assert_eq!(
        drifted.drift_check,
        DriftCheck::Compared {
            baseline_run: first.run_id.clone(),
            baseline_started_at_ms: first.started_at_ms,
            replaced: false
        }
    );
    assert!(drifted.coverage.topics["echo"].skipped.is_empty());
    assert_eq!(crawlhost::cli::run_exit_code(&drifted), 3);
    // The records landed anyway.
    assert_eq!(
        common::read_topic(host.bus.as_ref(), "echo").await.len(),
        80
    );

    // Fewer records than half the baseline's (still against the first run).
    let small = run(&[
        ("tasks", "19"),
        ("records_per_task", "1"),
        ("extra", "filled"),
        ("flag", "2"),
    ])
    .await;
    let kinds: Vec<_> = small.drift.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec![DriftKind::Volume], "{:?}", small.drift);
    assert_eq!((small.drift[0].before, small.drift[0].now), (40.0, 19.0));
    assert!(matches!(
        &small.drift_check,
        DriftCheck::Compared { baseline_run, replaced: false, .. } if *baseline_run == first.run_id
    ));

    // Fixed: no alarm, and this run is the new baseline.
    let fixed = run(&good).await;
    assert!(fixed.drift.is_empty(), "{:?}", fixed.drift);
    assert!(matches!(
        &fixed.drift_check,
        DriftCheck::Compared { baseline_run, replaced: true, .. } if *baseline_run == first.run_id
    ));
    let again = run(&good).await;
    assert!(matches!(
        &again.drift_check,
        DriftCheck::Compared { baseline_run, .. } if *baseline_run == fixed.run_id
    ));
}

/// In `serve`: coverage and skipped items in the admin API's runs and in
/// `/metrics`; a drift alarm makes the plugin `degraded` (also after a
/// restart, from the file under `data_dir`), counted in metrics; an
/// operator resets the baseline over the API and the next run clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_degrades_health_in_serve_until_reset_and_a_good_run() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_path = dir.path().join("plugins/echo.wasm");
    let base = [("tasks", "4"), ("records_per_task", "3"), ("skipped", "2")];
    let start = |extra: &'static str| {
        let mut pairs = base.to_vec();
        pairs.push(("extra", extra));
        let settings = common::settings(dir.path(), &echo_config(&pairs));
        copy_plugin(&common::wasm("guest_echo"), &plugin_path);
        let plugin_path = plugin_path.clone();
        async move {
            let service = Service::new(Host::open(settings).unwrap());
            service.apply_file(&plugin_path).await;
            let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let router = admin::router_with(service.clone(), None, local).unwrap();
            let listener = tokio::net::TcpListener::bind(local).await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
            (service, addr)
        }
    };
    let run_once = |service: Arc<Service>| async move {
        let before = service.plugins()[0].last_runs.len();
        service.start_run("echo").await.unwrap();
        wait_for(Duration::from_secs(30), "the run to finish", || {
            let p = &service.plugins()[0];
            p.active_run.is_none() && p.last_runs.len() > before
        })
        .await;
        service.plugins()[0].clone()
    };
    let json = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();

    // A good first run: the baseline.
    let (service, addr) = start("filled").await;
    let info = run_once(service.clone()).await;
    assert_eq!(info.health, "healthy");
    assert_eq!(info.last_runs[0].skipped_items, 8);
    assert!(info.last_runs[0].drift.is_empty());
    let (_, metrics) = http(addr, "GET", "/metrics", None).await;
    for line in [
        "crawlhost_field_coverage_ratio{plugin=\"echo\",topic=\"echo\",field=\"extra\"} 1",
        "crawlhost_topic_records_total{plugin=\"echo\",topic=\"echo\"} 12",
        "crawlhost_skipped_items_total{plugin=\"echo\",topic=\"echo\",field=\"id\"} 8",
        "crawlhost_plugin_degraded{plugin=\"echo\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    let (status, body) = http(addr, "GET", "/plugins/echo/coverage", None).await;
    assert_eq!(status, 200, "{body}");
    let stored = json(body);
    let baseline_run = stored["baseline"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        stored["baseline"]["coverage"]["topics"]["echo"]["skipped"]["id"],
        8
    );
    assert_eq!(
        http(addr, "GET", "/plugins/nope/coverage", None).await.0,
        404
    );
    drop(service);

    // The site changed: `extra` empty in every record.
    let (service, addr) = start("null").await;
    assert_eq!(service.plugins()[0].health, "healthy");
    let info = run_once(service.clone()).await;
    assert!(info.health.starts_with("degraded: run "), "{}", info.health);
    assert!(
        info.health.contains(
            "1 drift alarm(s); first: echo/echo: field extra filled in 0.0% of 12 records, \
             was 100.0% of 12 (baseline run "
        ),
        "{}",
        info.health
    );
    assert!(info.health.contains(&baseline_run), "{}", info.health);
    assert_eq!(info.last_runs[0].drift.len(), 1);
    let (_, metrics) = http(addr, "GET", "/metrics", None).await;
    for line in [
        "crawlhost_field_coverage_ratio{plugin=\"echo\",topic=\"echo\",field=\"extra\"} 0",
        "crawlhost_drift_alarms_total{plugin=\"echo\",topic=\"echo\",field=\"extra\",kind=\"coverage\"} 1",
        "crawlhost_plugin_degraded{plugin=\"echo\"} 1",
        "crawlhost_plugin_healthy{plugin=\"echo\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in\n{metrics}");
    }
    // The admin API's runs carry the summary with coverage and alarms.
    let (_, body) = http(addr, "GET", "/runs?plugin=echo&limit=1", None).await;
    let runs = json(body);
    let summary = &runs[0]["summary"];
    assert_eq!(summary["drift"][0]["field"], "extra", "{summary}");
    assert_eq!(summary["drift"][0]["kind"], "coverage");
    assert_eq!(summary["coverage"]["topics"]["echo"]["records"], 12);
    assert_eq!(summary["drift_check"]["status"], "compared");
    drop(service);

    // A restart remembers the alarm; the operator accepts the change.
    let (service, addr) = start("null").await;
    assert!(
        service.plugins()[0].health.starts_with("degraded: "),
        "{}",
        service.plugins()[0].health
    );
    let (status, body) = http(addr, "POST", "/plugins/echo/coverage/reset", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(body)["had_baseline"], true);
    let info = run_once(service.clone()).await;
    assert_eq!(info.health, "healthy");
    assert!(info.last_runs[0].drift.is_empty());
    let (_, body) = http(addr, "GET", "/plugins/echo/coverage", None).await;
    assert_eq!(
        json(body)["baseline"]["run_id"],
        info.last_runs[0].run_id.as_str()
    );
}

/// `run --once` exits 3 on drift and prints the alarm and the coverage
/// lines; `coverage show` and `coverage reset` work on the stored file.
#[test]
fn run_once_exits_3_on_drift_and_coverage_commands_reset_it() {
    let dir = tempfile::tempdir().unwrap();
    let _ = common::settings(dir.path(), "");
    copy_plugin(
        &common::wasm("guest_echo"),
        &dir.path().join("plugins/echo.wasm"),
    );
    let config = dir.path().join("crawlhost.toml");
    let write_config = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n{}",
                dir.path().join("plugins").display(),
                dir.path().join("data").display(),
                echo_config(&[("tasks", "4"), ("extra", extra), ("skipped", "1")])
            ),
        )
        .unwrap();
    };
    let crawlhost = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let run = ["run", "--once", "--plugin", "echo", "--quiet"];

    write_config("filled");
    let (code, out, err) = crawlhost(&run);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("coverage baseline: this run"), "{out}");
    assert!(out.contains("echo  extra   12/12  100.0%"), "{out}");
    assert!(
        out.contains("echo  id      4 item(s) skipped without it"),
        "{out}"
    );

    write_config("null");
    let (code, out, err) = crawlhost(&run);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(
        out.contains(
            "DRIFT echo/echo: field extra filled in 0.0% of 12 records, was 100.0% of 12 \
             (baseline run echo-"
        ),
        "{out}"
    );
    assert!(out.contains("echo  extra    0/12    0.0%"), "{out}");
    assert!(out.contains("crawlhost coverage reset echo"), "{out}");
    // Still drifting: the alarm fires again, also in the JSON summary.
    let mut json_run = run.to_vec();
    json_run.push("--json");
    let (code, out, _) = crawlhost(&json_run);
    assert_eq!(code, Some(3));
    let summaries: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summaries[0]["drift"][0]["kind"], "coverage");
    assert_eq!(
        summaries[0]["coverage"]["topics"]["echo"]["fields"]["extra"]["filled"],
        0
    );

    let (code, out, _) = crawlhost(&["coverage", "show", "echo"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("baseline (runs are compared with it"),
        "{out}"
    );
    assert!(out.contains("DRIFT echo/echo: field extra"), "{out}");
    let (code, out, _) = crawlhost(&["coverage", "reset", "echo"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("baseline of `echo` forgotten"), "{out}");
    let (code, out, err) = crawlhost(&run);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("coverage baseline: this run"), "{out}");
    let (code, _, err) = crawlhost(&["coverage", "show", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no coverage kept for `nope`"), "{err}");

    let (_, help, _) = crawlhost(&["run", "--help"]);
    assert!(help.contains("3 drift"), "{help}");
}

/// Issue 15 item 14: processes started at the same moment on a fresh
/// `data_dir` (a cron crawl beside a sink service, as docker compose starts
/// them) all open the bus, the plugin state and the run journal: none fails
/// with `database is locked`.
#[test]
fn simultaneous_starts_on_a_fresh_data_dir_all_open_their_files() {
    let _cpu = crate::cpu::busy_blocking();
    let rounds = 6;
    let per_round = 6;
    let mut failures = Vec::new();
    for round in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let _ = common::settings(dir.path(), "");
        copy_plugin(
            &common::wasm("guest_echo"),
            &dir.path().join("plugins/echo.wasm"),
        );
        let config = dir.path().join("crawlhost.toml");
        std::fs::write(
            &config,
            format!(
                "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n{}\
                 [sink]\ntopics = [\"echo\"]\n[sink.store]\nkind = \"local\"\npath = \"{}\"\n",
                dir.path().join("plugins").display(),
                dir.path().join("data").display(),
                echo_config(&[("tasks", "2")]),
                dir.path().join("out").display(),
            ),
        )
        .unwrap();
        let children: Vec<_> = (0..per_round)
            .map(|i| {
                let args: &[&str] = match i % 3 {
                    0 => &["sink", "--once"],
                    1 => &["run", "--once", "--quiet"],
                    _ => &["tail", "echo", "--last", "1"],
                };
                std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
                    .arg("--config")
                    .arg(&config)
                    .args(args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("locked") {
                failures.push(format!("round {round}: {err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Issue 15 item 4: `config check` prints the effective configuration as
/// TOML, and no secret, whether it comes from the file or the environment.
#[test]
fn config_check_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crawlhost.toml");
    std::fs::write(
        &config,
        r#"
[http]
proxy = "http://proxyuser:MARKER-proxy-pw@127.0.0.1:3128"
[[http.secrets]]
hosts = ["api.x.com"]
header = "authorization"
prefix = "Bearer "
value_env = "CRAWLHOST_TEST_HTTP_SECRET"
[http.plugins.p]
proxies = ["http://u:MARKER-plugin-proxy-pw@127.0.0.1:3129"]
[kafka]
bootstrap_servers = "127.0.0.1:9092"
security_protocol = "sasl_ssl"
sasl_username = "user"
sasl_password = "MARKER-sasl-file"
ssl_key_password = "MARKER-ssl-key-file"
[kafka.properties]
"sasl.oauthbearer.client.secret" = "MARKER-kafka-prop"
[sink]
topics = ["t"]
[sink.store]
kind = "s3"
bucket = "bronze"
endpoint = "http://127.0.0.1:9000"
access_key_id = "MARKER-s3-access"
secret_access_key = "MARKER-s3-secret"
session_token = "MARKER-s3-session"
[browser]
webdriver_url = "http://127.0.0.1:4444"
[[browser.secrets]]
name = "pw"
hosts = ["login.example"]
value_env = "CRAWLHOST_TEST_BROWSER_SECRET"
"#,
    )
    .unwrap();
    let check = |env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .arg("--config")
            .arg(&config)
            .args(["config", "check"])
            .env("CRAWLHOST_TEST_HTTP_SECRET", "MARKER-http-secret")
            .env("CRAWLHOST_TEST_BROWSER_SECRET", "MARKER-browser-secret")
            .env("CRAWLHOST_ADMIN_TOKEN", "MARKER-admin-token")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(!text.contains("MARKER"), "a secret was printed:\n{text}");
        text
    };
    let text = check(&[]);
    // A readable summary: TOML, not a Rust debug dump.
    assert!(!text.contains("Settings {"), "{text}");
    assert!(text.contains("[sink.store]"), "{text}");
    assert!(text.contains("secret_access_key = \"***\""), "{text}");
    assert!(text.contains("sasl_password = \"***\""), "{text}");
    assert!(text.contains("bucket = \"bronze\""), "{text}");
    assert!(text.contains("ssl_key_password = \"***\""), "{text}");
    // Environment overrides of the Kafka passwords.
    let text = check(&[
        ("CRAWLHOST_KAFKA_SASL_PASSWORD", "MARKER-sasl-env"),
        ("CRAWLHOST_KAFKA_SSL_KEY_PASSWORD", "MARKER-ssl-key-env"),
    ]);
    assert!(
        text.contains("CRAWLHOST_KAFKA_SASL_PASSWORD (set)")
            && text.contains("CRAWLHOST_KAFKA_SSL_KEY_PASSWORD (set)"),
        "{text}"
    );
}

/// One raw HTTP/1.1 request with exactly these header lines and `body`;
/// the status and the whole response as text.
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// [`raw`] without a body; the status.
async fn raw_status(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> u16 {
    raw(addr, method, path, headers, "").await.0
}

/// Issue 15 item 10: the admin API on loopback without a token answers only
/// requests addressed to itself. A web page in the operator's browser may
/// not POST to it (foreign `Origin`, or a cross-site fetch without one), and
/// a page on a DNS-rebound name may not read it (foreign `Host`). Tools
/// without these headers (curl) keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_refuses_foreign_origins_and_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::new(Host::open(common::settings(dir.path(), "")).unwrap());
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let router = admin::router_with(service.clone(), None, local).unwrap();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let own = format!("Host: 127.0.0.1:{port}");

    // curl-like requests: allowed (404: no plugin `x`, but not refused).
    assert_eq!(
        raw_status(addr, "POST", "/plugins/x/run", &[&own]).await,
        404
    );
    assert_eq!(raw_status(addr, "GET", "/runs", &[&own]).await, 200);
    for host in [
        format!("Host: localhost:{port}"),
        format!("Host: [::1]:{port}"),
        "Host: 127.0.0.1".to_string(),
    ] {
        assert_eq!(
            raw_status(addr, "GET", "/runs", &[&host]).await,
            200,
            "{host}"
        );
    }
    // The API's own origin may POST (a page served by the API itself).
    let origin = format!("Origin: http://127.0.0.1:{port}");
    assert_eq!(
        raw_status(addr, "POST", "/plugins/x/pause", &[&own, &origin]).await,
        404
    );

    // Cross-site requests from a browser: refused before they act.
    for extra in [
        "Origin: http://evil.example",
        "Origin: https://evil.example",
        "Origin: null",
        // Another local server's page (same site, other origin).
        "Origin: http://localhost:3000",
        "Origin: http://127.0.0.1:1",
        // No Origin, but the browser says where the request comes from.
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: same-site",
    ] {
        for path in [
            "/plugins/x/run",
            "/plugins/x/pause",
            "/plugins/x/coverage/reset",
        ] {
            assert_eq!(
                raw_status(addr, "POST", path, &[&own, extra]).await,
                403,
                "POST {path} with {extra}"
            );
        }
    }
    // DNS rebinding: a page on attacker.example (resolving to 127.0.0.1)
    // reads the API with its own name in Host.
    for host in [
        format!("Host: attacker.example:{port}"),
        "Host: attacker.example".to_string(),
        format!("Host: 127.0.0.1.attacker.example:{port}"),
        format!("Host: localhost.:{port}evil"),
    ] {
        for path in ["/runs", "/plugins", "/metrics", "/plugins/refused"] {
            assert_eq!(
                raw_status(addr, "GET", path, &[&host]).await,
                403,
                "GET {path} with {host}"
            );
        }
        assert_eq!(
            raw_status(addr, "POST", "/plugins/x/run", &[&host]).await,
            403,
            "{host}"
        );
    }
    // Liveness answers whatever the name (it reveals nothing).
    assert_eq!(
        raw_status(addr, "GET", "/healthz", &["Host: attacker.example"]).await,
        200
    );

    // Names the operator lists in admin.hosts are accepted.
    let router =
        admin::router_for(service.clone(), None, local, &["Crawler.Local".to_string()]).unwrap();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let named = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let host = format!("Host: crawler.local:{}", named.port());
    assert_eq!(raw_status(named, "GET", "/runs", &[&host]).await, 200);
    let origin = format!("Origin: http://crawler.local:{}", named.port());
    assert_eq!(
        raw_status(named, "POST", "/plugins/x/run", &[&host, &origin]).await,
        404
    );
    assert_eq!(
        raw_status(named, "GET", "/runs", &["Host: other.local"]).await,
        403
    );

    // With a token any name may be used (a public bind): a browser's session
    // cookie goes only to the name it signed in at. A foreign Origin is
    // still refused.
    let public: SocketAddr = "0.0.0.0:7878".parse().unwrap();
    let router = admin::router_with(service.clone(), Some("s3cret".into()), public).unwrap();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let tokened = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let bearer = "Authorization: Bearer s3cret";
    assert_eq!(
        raw_status(
            tokened,
            "GET",
            "/runs",
            &["Host: crawler.example.com", bearer]
        )
        .await,
        200
    );
    assert_eq!(
        raw_status(
            tokened,
            "POST",
            "/plugins/x/run",
            &[
                "Host: crawler.example.com",
                bearer,
                "Origin: http://evil.example"
            ]
        )
        .await,
        403
    );
}

/// Issue 18: with a token, the status page asks a browser for it once
/// (`/login`) and then accepts the session cookie, on the page, the JSON
/// endpoints and the buttons' POSTs; the cookie is not the token, and a
/// wrong one, a foreign Origin or no cookie at all still get nothing. A
/// button posted as a plain form (no script) answers with a redirect back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_signs_a_browser_in_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(dir.path(), "");
    copy_plugin(
        &common::wasm("ticker-1.0.0"),
        &dir.path().join("plugins/ticker.wasm"),
    );
    let service = Service::new(Host::open(settings).unwrap());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), None, async {
        let _ = stop_rx.await;
    }));
    wait_for(Duration::from_secs(30), "ticker to load", || {
        service.plugins().iter().any(|p| p.name == "ticker")
    })
    .await;
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let router = admin::router_with(service.clone(), Some("s3cret".into()), local).unwrap();
    let listener = tokio::net::TcpListener::bind(local).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let host = format!("Host: 127.0.0.1:{}", addr.port());
    let origin = format!("Origin: http://127.0.0.1:{}", addr.port());
    let form = "Content-Type: application/x-www-form-urlencoded";

    // Not signed in: the sign-in form, not the page; the assets are public.
    let (status, page) = raw(addr, "GET", "/", &[&host], "").await;
    assert_eq!(status, 401);
    assert!(page.contains("name=\"token\"") && !page.contains("data-plugin"));
    let (status, css) = raw(addr, "GET", "/assets/page.js", &[&host], "").await;
    assert_eq!(status, 200);
    assert!(
        css.to_ascii_lowercase()
            .contains("content-type: text/javascript")
    );
    // A wrong token signs nothing in.
    let (status, wrong) = raw(
        addr,
        "POST",
        "/login",
        &[&host, &origin, form],
        "token=nope",
    )
    .await;
    assert_eq!(status, 401);
    assert!(wrong.contains("That is not the token.") && !wrong.contains("set-cookie"));
    // Sign-in from another origin is refused before it is checked.
    assert_eq!(
        raw(
            addr,
            "POST",
            "/login",
            &[&host, "Origin: http://evil.example", form],
            "token=s3cret"
        )
        .await
        .0,
        403
    );
    // The right one: a session cookie, not the token, HttpOnly, SameSite=Strict.
    let (status, signed) = raw(
        addr,
        "POST",
        "/login",
        &[&host, &origin, form],
        "token=s3cret",
    )
    .await;
    assert_eq!(status, 303, "{signed}");
    let set_cookie = signed
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie in {signed}"));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    assert!(!set_cookie.contains("s3cret"));
    let pair = set_cookie
        .split_once(':')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let cookie = format!("Cookie: {pair}");

    let (status, page) = raw(addr, "GET", "/", &[&host, &cookie], "").await;
    assert_eq!(status, 200);
    assert!(page.contains("data-plugin=\"ticker\""));
    let lower = page.to_ascii_lowercase();
    assert!(lower.contains("content-security-policy: default-src 'none'"));
    assert!(lower.contains("x-frame-options: deny"));
    assert_eq!(
        raw_status(addr, "GET", "/metrics", &[&host, &cookie]).await,
        200
    );
    assert_eq!(
        raw_status(
            addr,
            "GET",
            "/metrics",
            &[&host, "Cookie: crawlhost_session=forged"]
        )
        .await,
        401
    );
    // The buttons: the page's script asks for JSON, a plain form for HTML.
    let html = "Accept: text/html,application/xhtml+xml";
    let (status, paused) = raw(
        addr,
        "POST",
        "/plugins/ticker/pause",
        &[&host, &origin, &cookie, html],
        "",
    )
    .await;
    assert_eq!(status, 303, "{paused}");
    assert!(paused.to_ascii_lowercase().contains("location: /\r\n"));
    assert!(service.plugins()[0].paused);
    let (status, resumed) = raw(
        addr,
        "POST",
        "/plugins/ticker/resume",
        &[&host, &origin, &cookie, "Accept: application/json"],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(resumed.contains("{\"resumed\":\"ticker\"}"));
    // A plain form for a plugin that is not there: the reason, as a page.
    let (status, missing) = raw(
        addr,
        "POST",
        "/plugins/nope/run",
        &[&host, &origin, &cookie, html],
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert!(missing.contains("no plugin named `nope` is loaded"));
    // The cookie does not make a foreign page's POST acceptable.
    assert_eq!(
        raw_status(
            addr,
            "POST",
            "/plugins/ticker/run",
            &[&host, "Origin: http://evil.example", &cookie]
        )
        .await,
        403
    );
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
