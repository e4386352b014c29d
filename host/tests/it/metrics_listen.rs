//! `--metrics-listen` on the roles without an admin API (issue 20, item 6):
//! the `crawlhost sink`, `triggers` and `worker` processes serve `/metrics`
//! with their share of their consumer groups, the lag of what they hold,
//! and the process series; `/healthz` answers; the endpoint goes away with
//! the process.
//!
//! The sink runs over the embedded bus and a local directory (its lag is
//! checked exactly: records stay in open batches); the trigger consumer and
//! the worker run on tansu, where they are members of Kafka consumer groups.

use crate::common;
use crate::kafka_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crawlhost::bus::ProduceRecord;
use crawlhost::config::Config;
use crawlhost::host::Host;
use kafka_support::{Tansu, install_echo, kafka_section};

/// `GET path` over a fresh connection: status and body, or `None` when
/// nothing listens.
fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of the samples of family `name` whose labels contain `having`.
fn sum(text: &str, name: &str, having: &str) -> (usize, f64) {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(having))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .fold((0, 0.0), |(n, s), v| (n + 1, s + v))
}

/// Scrape until `done` holds for the exposition (or panic after `limit`,
/// showing the last one and the process's log).
fn scrape_until(
    addr: SocketAddr,
    limit: Duration,
    log: &Path,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        if let Some((200, text)) = http_get(addr, "/metrics") {
            if done(&text) {
                prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
                    .expect("valid Prometheus text");
                return text;
            }
            last = text;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}; last scrape:\n{last}\nlog:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn(config: &Path, log: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--log",
            "crawlhost=info",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Wait for the process to end (killing it after `limit`).
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn record(topic: &str, key: String) -> ProduceRecord {
    ProduceRecord {
        topic: topic.into(),
        value: serde_json::json!({ "brand_code": key, "name": format!("Brand {key}") })
            .to_string()
            .into_bytes(),
        key: Some(key.into_bytes()),
        headers: vec![],
        timestamp_ms: 1_700_000_000_000,
    }
}

fn free_addr() -> SocketAddr {
    format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap()
}

/// `crawlhost sink --metrics-listen` over the embedded bus: the sink series
/// `serve` exports, the group series and the process series, with the lag
/// of each partition equal to what is in its log and not yet durable.
#[test]
fn the_sink_process_exports_its_partitions_lag_and_group() {
    let dir = tempfile::tempdir().unwrap();
    let config_text = format!(
        "[host]\ndata_dir = \"{d}/data\"\nplugins_dir = \"{d}/plugins\"\n[bus]\npartitions = 3\n\
         [sink]\ntopics = [\"items\"]\ngroup = \"metrics-sink\"\nflush_size = 1000\npoll_interval_ms = 50\n\
         [sink.store]\nkind = \"local\"\npath = \"{d}/objects\"\n",
        d = dir.path().display()
    );
    let config = dir.path().join("crawlhost.toml");
    std::fs::write(&config, &config_text).unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    let settings = Config::parse(&config_text, &config)
        .unwrap()
        .validate()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host = Host::open(settings).unwrap();
    let produce = |from: usize, to: usize| {
        rt.block_on(async {
            host.bus.ensure_topic("items", 3).await.unwrap();
            host.bus
                .produce(
                    (from..to)
                        .map(|i| record("items", format!("k{i}")))
                        .collect(),
                )
                .await
                .unwrap();
        })
    };
    produce(0, 30);

    let addr = free_addr();
    let log = dir.path().join("sink.log");
    let mut sink = spawn(
        &config,
        &log,
        &["sink", "--metrics-listen", &addr.to_string()],
    );
    let started = Instant::now();
    // All 30 records read into open batches (flush_size is 1000): each
    // partition's lag is its record count.
    let text = scrape_until(
        addr,
        Duration::from_secs(60),
        &log,
        "30 open records",
        |t| sum(t, "crawlhost_sink_open_records", "items").1 == 30.0,
    );
    eprintln!(
        "sink /metrics with 30 open records after {:?}",
        started.elapsed()
    );
    assert_eq!(sample(&text, "crawlhost_sink_partitions"), Some(3.0));
    assert_eq!(
        sum(&text, "crawlhost_sink_lag_records", "topic=\"items\""),
        (3, 30.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "crawlhost_sink_records_written_total"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "crawlhost_group_assigned_partitions{group=\"metrics-sink\"}"
        ),
        Some(3.0)
    );
    // The embedded bus has no group protocol: no rebalance, ever.
    assert_eq!(
        sample(
            &text,
            "crawlhost_group_rebalances_total{group=\"metrics-sink\"}"
        ),
        Some(0.0)
    );
    assert_eq!(sample(&text, "crawlhost_forward_backlog_bytes"), Some(0.0));
    assert!(
        sample(&text, "process_resident_memory_bytes").is_some_and(|v| v > 0.0),
        "{text}"
    );
    assert!(sample(&text, "process_cpu_seconds_total").is_some());

    // More records: the lag follows the log.
    produce(30, 50);
    let scrape_started = Instant::now();
    scrape_until(addr, Duration::from_secs(30), &log, "a lag of 50", |t| {
        sum(t, "crawlhost_sink_lag_records", "items").1 == 50.0
    });
    let timed = Instant::now();
    let _ = http_get(addr, "/metrics").unwrap();
    eprintln!(
        "lag 50 seen {:?} after producing; one scrape {:?}",
        scrape_started.elapsed(),
        timed.elapsed()
    );

    let (status, health) = http_get(addr, "/healthz").unwrap();
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health, serde_json::json!({"status": "ok", "role": "sink"}));

    sigterm(&sink);
    let status = wait_exit(&mut sink, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert!(
        http_get(addr, "/metrics").is_none(),
        "nothing listens once the sink stopped"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains(&format!("metrics on http://{addr}/metrics")),
        "{log}"
    );
}

/// Config files of two hosts on tansu (own data directories): one runs
/// `triggers`, the other `worker`.
fn kafka_host(dir: &Path, name: &str, kafka: &str) -> (PathBuf, PathBuf) {
    let d = dir.join(name);
    let plugins = d.join("plugins");
    install_echo(&plugins);
    let config = d.join("crawlhost.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n[http]\nallow_private_addresses = true\n\
             {kafka}[plugins.echo]\nallow_triggers = [\"oliveyoung\"]\n",
            plugins.display(),
            d.join("data").display()
        ),
    )
    .unwrap();
    (config, d.join(format!("{name}.log")))
}

/// On tansu: `crawlhost triggers --metrics-listen` shows the echo plugin's
/// trigger partitions (all 4: it is alone in the group), a rebalance, a
/// lag sample per partition that reaches 0 once the records are planned,
/// and the triggered runs' counters; `crawlhost worker --metrics-listen`
/// shows the tasks topic's partitions, its rebalance and its politeness
/// share (the whole: alone in the group).
#[test]
fn trigger_and_worker_processes_export_their_group_share_on_kafka() {
    let tansu = Tansu::start();
    let dir = tempfile::tempdir().unwrap();
    let kafka = kafka_section(
        &tansu.brokers(),
        "partitions = 4\nsession_timeout_ms = 6000",
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt.block_on(async {
        let settings = common::settings(&dir.path().join("producer"), &kafka);
        Host::open(settings).unwrap()
    });
    rt.block_on(producer.bus.ensure_topic("oliveyoung", 4))
        .unwrap();

    let (triggers_config, triggers_log) = kafka_host(dir.path(), "triggers", &kafka);
    let (worker_config, worker_log) = kafka_host(dir.path(), "worker", &kafka);
    let (triggers_addr, worker_addr) = (free_addr(), free_addr());
    let started = Instant::now();
    let mut triggers = spawn(
        &triggers_config,
        &triggers_log,
        &["triggers", "--metrics-listen", &triggers_addr.to_string()],
    );
    let mut worker = spawn(
        &worker_config,
        &worker_log,
        &["worker", "--metrics-listen", &worker_addr.to_string()],
    );

    // The trigger consumer joined its group and holds every partition.
    let assigned = "crawlhost_trigger_assigned_partitions{plugin=\"echo\"}";
    scrape_until(
        triggers_addr,
        Duration::from_secs(60),
        &triggers_log,
        "the trigger partitions",
        |t| sample(t, assigned) == Some(4.0),
    );
    eprintln!("triggers hold 4 partitions after {:?}", started.elapsed());
    rt.block_on(
        producer.bus.produce(
            (0..8)
                .map(|i| record("oliveyoung", format!("M{i:03}")))
                .collect(),
        ),
    )
    .unwrap();
    rt.block_on(producer.bus.flush()).unwrap();
    let runs = "crawlhost_runs_finished_total{plugin=\"echo\"}";
    let text = scrape_until(
        triggers_addr,
        Duration::from_secs(90),
        &triggers_log,
        "8 triggered runs and no lag",
        |t| {
            sample(t, runs) == Some(8.0)
                && sum(t, "crawlhost_trigger_lag_records", "plugin=\"echo\"") == (4, 0.0)
        },
    );
    eprintln!(
        "8 trigger records planned, lag 0, after {:?}",
        started.elapsed()
    );
    assert!(
        sample(
            &text,
            "crawlhost_group_rebalances_total{group=\"crawlhost.trigger.echo\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "crawlhost_group_assigned_partitions{group=\"crawlhost.trigger.echo\"}"
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(&text, "crawlhost_tasks_done_total{plugin=\"echo\"}"),
        Some(8.0)
    );
    assert!(sample(&text, "process_open_fds").is_some_and(|n| n > 0.0));

    // The worker holds the tasks topic and enforces the whole politeness
    // limits (its share of a group of one).
    let text = scrape_until(
        worker_addr,
        Duration::from_secs(60),
        &worker_log,
        "the worker's task partitions",
        |t| {
            sample(t, "crawlhost_worker_assigned_partitions").is_some_and(|n| n > 0.0)
                && sample(
                    t,
                    "crawlhost_group_rebalances_total{group=\"crawlhost.workers\"}",
                )
                .is_some_and(|n| n >= 1.0)
        },
    );
    eprintln!(
        "worker holds {:?} task partitions after {:?}",
        sample(&text, "crawlhost_worker_assigned_partitions"),
        started.elapsed()
    );
    assert_eq!(sample(&text, "crawlhost_politeness_share"), Some(1.0));
    assert_eq!(
        sample(&text, "crawlhost_worker_tasks_done_total{plugin=\"echo\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "crawlhost_group_assigned_partitions{group=\"crawlhost.workers\"}"
        ),
        sample(&text, "crawlhost_worker_assigned_partitions")
    );
    let (status, health) = http_get(worker_addr, "/healthz").unwrap();
    assert_eq!(status, 200);
    assert!(health.contains("\"worker\""), "{health}");

    // The worker stops gracefully and its endpoint with it; the trigger
    // consumer has no graceful stop (a signal ends it, as before).
    sigterm(&worker);
    sigterm(&triggers);
    let status = wait_exit(&mut worker, Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    wait_exit(&mut triggers, Duration::from_secs(30));
    assert!(http_get(worker_addr, "/metrics").is_none());
    assert!(http_get(triggers_addr, "/metrics").is_none());
}
