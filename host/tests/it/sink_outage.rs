//! S3 down mid-stream: the moto server process is stopped (SIGSTOP: it
//! keeps its port and its objects but answers nothing) for 20 s while
//! records keep arriving, then continued. The sink must wait, commit
//! nothing while no batch can be made durable, and afterwards have every
//! record in S3 exactly once.

use crate::sink_support;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crawlhost::bus::embedded::EmbeddedBus;
use crawlhost::bus::{Bus, ProduceRecord};
use sink_support::{Moto, read_all, wait_for};

const PARTITIONS: u32 = 2;
const OUTAGE: Duration = Duration::from_secs(20);

async fn committed(bus: &EmbeddedBus) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        out.push(bus.committed("outage", "s", p).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_stopped_for_20_seconds_loses_nothing_and_commits_nothing_early() {
    let moto = Moto::start();
    moto.create_bucket("outage");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let bus = Arc::new(EmbeddedBus::open(&dir.join("bus.db"), PARTITIONS).unwrap());
    bus.ensure_topic("s", PARTITIONS).await.unwrap();
    let config = dir.join("crawlhost.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\ndata_dir = \"{d}\"\nplugins_dir = \"{d}/plugins\"\n[bus]\npartitions = {PARTITIONS}\n\
             [sink]\ntopics = [\"s\"]\ngroup = \"outage\"\nflush_size = 200\nidle_flush_ms = 500\npoll_interval_ms = 50\n\
             retry_backoff_ms = 100\nretry_max_backoff_ms = 1000\n{store}",
            d = dir.display(),
            store = moto.store_toml("outage"),
        ),
    )
    .unwrap();
    let log = dir.join("sink.log");
    let mut sink = Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--log",
            "crawlhost=info",
            "sink",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    // 100 records every 100 ms, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let bus = bus.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut id = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let records = (0..100)
                    .map(|_| {
                        id += 1;
                        ProduceRecord {
                            topic: "s".into(),
                            key: Some(format!("k{}", id % 13).into_bytes()),
                            value: format!("{{\"id\":{id}}}").into_bytes(),
                            headers: vec![],
                            timestamp_ms: 1_724_198_400_000 + id as i64,
                        }
                    })
                    .collect();
                bus.produce(records).await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            id
        })
    };

    // The sink is writing before the outage.
    wait_for("first commits", Duration::from_secs(30), || {
        let bus = bus.clone();
        async move {
            committed(&bus)
                .await
                .iter()
                .all(|c| c.is_some_and(|c| c > 0))
        }
    })
    .await;

    moto.freeze();
    let frozen_at = Instant::now();
    // A batch whose objects were durable just before the freeze may still
    // commit; give it a moment, then nothing may move until S3 is back.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during = committed(&bus).await;
    let mut end_during = Vec::new();
    for p in 0..PARTITIONS {
        end_during.push(bus.end_offset("s", p).await.unwrap());
    }
    let log_tail = |log: &std::path::Path| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    while frozen_at.elapsed() < OUTAGE {
        let now = committed(&bus).await;
        assert_eq!(
            now,
            during,
            "committed while S3 was down; sink log:\n{}",
            log_tail(&log)
        );
        assert!(
            sink.try_wait().unwrap().is_none(),
            "the sink exited during the outage"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Records kept arriving during the outage and are not committed.
    for p in 0..PARTITIONS as usize {
        assert!(
            during[p].unwrap() < end_during[p],
            "partition {p}: nothing was pending during the outage"
        );
    }
    moto.resume();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    let produced = producer.await.unwrap();

    // Catches up: everything committed.
    wait_for(
        "all records committed after the outage",
        Duration::from_secs(60),
        || {
            let bus = bus.clone();
            async move {
                let mut all = true;
                for p in 0..PARTITIONS {
                    let end = bus.end_offset("s", p).await.unwrap();
                    all &= bus.committed("outage", "s", p).await.unwrap() == Some(end);
                }
                all
            }
        },
    )
    .await;
    sink.kill().unwrap();
    sink.wait().unwrap();

    let objects = read_all(&moto.client("outage"), "topics").await;
    let mut seen: HashMap<u64, &str> = HashMap::new();
    for (key, bytes) in &objects {
        for line in std::str::from_utf8(bytes).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v["id"].as_u64().unwrap();
            if let Some(other) = seen.insert(id, key) {
                panic!("record {id} is in {other} and in {key}");
            }
        }
    }
    for id in 1..=produced {
        assert!(seen.contains_key(&id), "record {id} is missing");
    }
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let retries = log.matches("retrying").count();
    eprintln!(
        "outage: {produced} records exactly once in {} objects; {retries} store retries logged during the 20 s outage",
        objects.len()
    );
    assert!(retries > 0, "the sink never noticed the outage");
}

/// Issue 15, low: a store error that waiting cannot fix (here a bucket that
/// does not exist) used to be retried forever, so the sink hung with
/// warnings only. It must stop within seconds, name the bucket and the
/// cause, and exit non-zero; nothing is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_stops_the_sink_within_seconds() {
    let moto = Moto::shared();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let bus = EmbeddedBus::open(&dir.join("bus.db"), 1).unwrap();
    bus.produce(vec![ProduceRecord {
        topic: "s".into(),
        key: None,
        value: b"{\"id\":1}".to_vec(),
        headers: vec![],
        timestamp_ms: 0,
    }])
    .await
    .unwrap();
    let config = dir.join("crawlhost.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\ndata_dir = \"{d}\"\nplugins_dir = \"{d}/plugins\"\n\
             [sink]\ntopics = [\"s\"]\ngroup = \"fatal\"\nflush_size = 1\n\
             retry_backoff_ms = 100\nretry_max_backoff_ms = 1000\n{store}",
            d = dir.display(),
            store = moto.store_toml("no-such-bucket"),
        ),
    )
    .unwrap();
    let mut sink = Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args(["--config", config.to_str().unwrap(), "sink", "--once"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = sink.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = sink.kill();
            let _ = sink.wait();
            panic!("the sink was still retrying a missing bucket after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut sink.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("no-such-bucket"), "{stderr}");
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    assert!(stderr.contains("Retrying cannot fix"), "{stderr}");
    assert_eq!(bus.committed("fatal", "s", 0).await.unwrap(), None);
}
