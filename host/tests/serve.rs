//! `crawlhost serve`: hot swap under load, refusal of a corrupt file while
//! the good version keeps serving, cron firing without overlap, `/metrics`
//! in the Prometheus format, admin token rules, graceful shutdown.

mod common;

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
