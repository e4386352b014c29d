//! The broker goes away for 30 seconds in the middle of a crawl: the
//! `crawlhost` process keeps crawling into its store-and-forward log, never
//! exits, and once the broker is back (same port, same SQLite data) every
//! record reaches the topic exactly once.

use crate::kafka_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_support::{Gate, GateRule, Tansu, install_echo, read_topic, wait_for};

const TASKS: usize = 40;
const PER_TASK: usize = 5;
/// Tasks that run (and are acknowledged) before the broker stops.
const BEFORE: usize = 10;
const OUTAGE: Duration = Duration::from_secs(30);
/// The gate is a local test server: no politeness delays, no robots.txt.
const HTTP_FAST: &str = "[http.politeness]\nrequests_per_second = 1000.0\nburst = 1000\nconcurrency = 64\n[http.robots]\nobey = false\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_thirty_second_broker_outage_loses_and_duplicates_nothing() {
    let tansu = Arc::new(tokio::task::spawn_blocking(Tansu::start).await.unwrap());
    tansu.create_topic("echo", 3).await;
    // The first BEFORE tasks pass the gate; the rest wait for the outage.
    let gate = Gate::start(|_, path, _| {
        let before = path
            .strip_prefix("/task/t")
            .and_then(|n| n.parse::<usize>().ok())
            .is_none_or(|n| n < BEFORE);
        if before {
            GateRule::Pass
        } else {
            GateRule::Hold
        }
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\n{HTTP_FAST}\
         [run]\nconcurrency = 4\nretry_base_ms = 50\nretry_max_ms = 500\n\
         [kafka]\nbootstrap_servers = \"{brokers}\"\ndelivery_timeout_ms = 3000\nrequest_timeout_ms = 2000\n\
         [plugins.echo]\nconfig = {{ tasks = \"{TASKS}\", records_per_task = \"{PER_TASK}\", fetch = \"true\", base_url = \"{gate}\" }}\n",
        plugins = dir.path().join("plugins").display(),
        data = dir.path().join("data").display(),
        brokers = tansu.brokers(),
        gate = gate.base_url,
    );
    let config_path = dir.path().join("crawlhost.toml");
    std::fs::write(&config_path, config).unwrap();
    install_echo(&dir.path().join("plugins"));
    let stderr = std::fs::File::create(dir.path().join("host.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .arg("--config")
        .arg(&config_path)
        .args([
            "--log",
            "crawlhost=info",
            "run",
            "--once",
            "--plugin",
            "echo",
            "--json",
            "--quiet",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let host_log = || std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();

    // The first tasks' records are acknowledged before the broker stops, so
    // no record is in flight when it dies.
    let brokers = tansu.brokers();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = brokers.clone();
        let n = tokio::task::spawn_blocking(move || read_topic(&b, "echo").len())
            .await
            .unwrap();
        if n >= BEFORE * PER_TASK && gate.held() > 0 {
            assert_eq!(n, BEFORE * PER_TASK);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the crawl did not start; host log:\n{}",
            host_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let t = tansu.clone();
    tokio::task::spawn_blocking(move || t.stop()).await.unwrap();
    let stopped = Instant::now();
    gate.release();

    // The host keeps crawling while the broker is away.
    wait_for("every task to fetch during the outage", OUTAGE, || {
        gate.served() >= TASKS
    })
    .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the host exited during the outage:\n{}",
        host_log()
    );
    let remaining = OUTAGE.saturating_sub(stopped.elapsed());
    tokio::time::sleep(remaining).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the host exited during the outage:\n{}",
        host_log()
    );
    assert!(
        host_log().contains("storing records locally"),
        "{}",
        host_log()
    );

    let t = tansu.clone();
    tokio::task::spawn_blocking(move || t.restart())
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the host did not finish after the broker came back:\n{}\nbroker log (tail):\n{}",
            host_log(),
            tansu
                .log()
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "exit {status}:\n{out}\n{}", host_log());
    let summaries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let summary = &summaries[0];
    assert_eq!(summary["tasks_done"], TASKS as u64, "{summary:#}");
    assert_eq!(summary["records"], (TASKS * PER_TASK) as u64);
    let run_id = summary["run_id"].as_str().unwrap().to_string();

    let read = tokio::task::spawn_blocking(move || read_topic(&brokers, "echo"))
        .await
        .unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &read {
        *counts.entry(r.key.clone().unwrap()).or_default() += 1;
        assert_eq!(r.headers["crawlhost-run"], run_id);
    }
    let expected: Vec<String> = (0..TASKS)
        .flat_map(|i| (0..PER_TASK).map(move |j| format!("t{i}-r{j}")))
        .collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|k| !counts.contains_key(*k))
        .collect();
    assert!(missing.is_empty(), "lost records: {missing:?}");
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated records: {duplicated:?}");
    assert_eq!(read.len(), TASKS * PER_TASK);
}
