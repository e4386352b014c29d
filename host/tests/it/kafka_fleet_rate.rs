//! Issue 20, item 5: politeness holds for the workers group, not per
//! process. Workers of one `--distributed` group crawl one site whose
//! `[http.politeness]` allows `RATE` requests per second; the site counts
//! the requests it gets in every one-second window. With one worker it sees
//! `RATE`; with three it must still see `RATE` (within 10%), not three times
//! it: each worker owns a third of the tasks topic's partitions and enforces
//! a third of the rate.
//!
//! The workers run in this process (`run_worker`, as `crawlhost worker`
//! does), each with its own host (HTTP client, politeness gates, engine),
//! so they share nothing but the broker and the site. The tasks are
//! published straight to the tasks topic, evenly over its partitions (as the
//! coordinator spreads its attempts), once the group has settled. The
//! tests measure pacing against the wall clock, so they take the CPU alone
//! ([`crate::cpu::alone`]), as `http_rate` does.

use crate::http_common::{Site, text};
use crate::kafka_support::{Tansu, install_echo, wait_for};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crawlhost::bus::ProduceRecord;
use crawlhost::bus::partition::partition_for;
use crawlhost::config::{Config, Settings};
use crawlhost::distributed::{TaskMessage, ensure_topics, kafka_settings, run_worker};
use crawlhost::http::politeness::Share;
use crawlhost::run::TaskSpec;

/// The site's configured rate: the whole group's.
const RATE: f64 = 20.0;
const PARTITIONS: u32 = 6;
/// Tasks per partition: 150 tasks, each one request, about 7.5 s at `RATE`.
const PER_PARTITION: usize = 25;

fn settings(dir: &Path, name: &str, brokers: &str, site: &str) -> Settings {
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\ncache_dir = \"{cache}\"\n\
         [http]\nallow_private_addresses = true\nuser_agent = \"{name}\"\n\
         [http.politeness]\nrequests_per_second = {RATE}\nburst = 1\nconcurrency = 4\njitter_ms = 0\n\
         [http.robots]\nobey = false\n\
         [run]\nconcurrency = 8\nretry_base_ms = 50\nretry_max_ms = 500\n\
         [kafka]\nbootstrap_servers = \"{brokers}\"\nsession_timeout_ms = 6000\n\
         tasks_partitions = {PARTITIONS}\n\
         [plugins.echo]\nconfig = {{ fetch = \"true\", base_url = \"{site}\", records_per_task = \"0\" }}\n",
        plugins = dir.join("plugins").display(),
        data = dir.join(format!("data-{name}")).display(),
        cache = dir.join("cache").display(),
    );
    Config::parse(&text, Path::new("fleet.toml"))
        .unwrap()
        .validate()
        .unwrap()
}

/// What the site saw.
struct Observed {
    /// Requests per one-second window from the first request (the last,
    /// partial window left out).
    windows: Vec<usize>,
    /// Requests over the whole crawl divided by its span.
    mean: f64,
    /// The busiest window.
    max: usize,
    /// Requests per worker (by user agent).
    per_worker: Vec<usize>,
}

impl Observed {
    /// Mean of the full windows.
    fn steady_mean(&self) -> f64 {
        self.windows.iter().sum::<usize>() as f64 / self.windows.len().max(1) as f64
    }
}

/// `workers` workers in one group crawl `PARTITIONS * PER_PARTITION` tasks,
/// one request each, from one site.
async fn crawl_with(workers: usize) -> Observed {
    let tansu = Arc::new(tokio::task::spawn_blocking(Tansu::start).await.unwrap());
    let site = Site::start(|_, _| text(200, "ok")).await;
    let dir = tempfile::tempdir().unwrap();
    install_echo(&dir.path().join("plugins"));
    let brokers = tansu.brokers();

    let mut hosts = Vec::new();
    let mut running = Vec::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for i in 0..workers {
        let name = format!("worker-{i}");
        let host =
            crawlhost::host::Host::open(settings(dir.path(), &name, &brokers, &site.url)).unwrap();
        let plugins = host.scan_plugins().await.unwrap().plugins;
        if i == 0 {
            ensure_topics(
                host.bus.as_ref(),
                &kafka_settings(&host.run_context()).unwrap(),
            )
            .await
            .unwrap();
        }
        running.push(tokio::spawn(run_worker(
            host.run_context(),
            plugins,
            name,
            stopped.clone(),
        )));
        hosts.push(host);
    }
    // The group has settled when every worker enforces an equal share.
    let equal = Share::of_partitions(PARTITIONS as usize / workers, PARTITIONS as usize);
    wait_for(
        "every worker to own its share of the tasks topic",
        Duration::from_secs(60),
        || {
            hosts
                .iter()
                .all(|h| h.settings.http.politeness.fleet.get() == equal)
        },
    )
    .await;
    eprintln!("{workers} worker(s) settled at a share of {equal} each");

    // Tasks spread evenly over the partitions.
    let host = &hosts[0];
    let ctx = host.run_context();
    let kafka = kafka_settings(&ctx).unwrap();
    let plugins = host.scan_plugins().await.unwrap().plugins;
    let echo = &plugins["echo"];
    let config: Vec<(String, String)> =
        crawlhost::manifest::effective_config(&echo.manifest, &host.settings.plugin_values("echo"))
            .unwrap()
            .into_iter()
            .collect();
    let mut per_partition = vec![0; PARTITIONS as usize];
    let mut records = Vec::new();
    for i in 0.. {
        if records.len() == PARTITIONS as usize * PER_PARTITION {
            break;
        }
        let attempt = format!("attempt-{i}");
        let p = partition_for(attempt.as_bytes(), PARTITIONS) as usize;
        if per_partition[p] == PER_PARTITION {
            continue;
        }
        per_partition[p] += 1;
        let message = TaskMessage {
            attempt_id: attempt.clone(),
            coordinator: "fleet-test".into(),
            plugin: "echo".into(),
            plugin_version: echo.manifest.version.clone(),
            run_id: "fleet-run".into(),
            started_at_ms: 1_700_000_000_000,
            config: config.clone(),
            task: TaskSpec {
                key: format!("t{i}"),
                kind: "seed".into(),
                payload: format!("{{\"index\":{i}}}"),
                phase: 0,
            },
            expires_at_ms: None,
        };
        records.push(ProduceRecord {
            topic: kafka.tasks_topic.clone(),
            key: Some(attempt.into_bytes()),
            value: serde_json::to_vec(&message).unwrap(),
            headers: vec![],
            timestamp_ms: 1_700_000_000_000,
        });
    }
    let tasks = records.len();
    host.bus.produce(records).await.unwrap();
    host.bus.flush().await.unwrap();

    wait_for(
        "every task's request to reach the site",
        Duration::from_secs(60),
        || site.hits().len() >= tasks,
    )
    .await;
    stop.send(true).unwrap();
    for r in running {
        r.await.unwrap().unwrap();
    }
    // The group's shares are gone with the group.
    for h in &hosts {
        assert_eq!(h.settings.http.politeness.fleet.get(), Share::WHOLE);
    }

    // A rebalance during the crawl would run some tasks again; the rate
    // counts every request all the same.
    let hits = site.hits();
    let first = hits.iter().map(|h| h.at).min().unwrap();
    let last = hits.iter().map(|h| h.at).max().unwrap();
    let full = (last - first).as_secs() as usize;
    let mut windows = vec![0; full + 1];
    for h in &hits {
        windows[(h.at - first).as_secs() as usize] += 1;
    }
    let max = *windows.iter().max().unwrap();
    windows.truncate(full);
    let per_worker = (0..workers)
        .map(|i| {
            let agent = format!("worker-{i}");
            hits.iter()
                .filter(|h| h.header("user-agent") == Some(agent.as_str()))
                .count()
        })
        .collect();
    Observed {
        windows,
        mean: (tasks - 1) as f64 / (last - first).as_secs_f64(),
        max,
        per_worker,
    }
}

fn report(workers: usize, seen: &Observed) {
    eprintln!(
        "{workers} worker(s) at {RATE}/s for the group: steady windows {:?}, \
         mean of steady windows {:.1}/s, mean over the crawl {:.1}/s, busiest window {}; \
         requests per worker {:?}",
        seen.windows,
        seen.steady_mean(),
        seen.mean,
        seen.max,
        seen.per_worker
    );
}

fn assert_group_rate(seen: &Observed) {
    let (low, high) = (RATE * 0.9, RATE * 1.1);
    assert!(
        seen.max as f64 <= high,
        "{} requests in one second, the group's limit is {RATE}/s",
        seen.max
    );
    for mean in [seen.mean, seen.steady_mean()] {
        assert!(
            (low..=high).contains(&mean),
            "the group ran at {mean:.1}/s for a limit of {RATE}/s"
        );
    }
}

/// The baseline: one worker alone gets the whole rate.
#[tokio::test(flavor = "multi_thread")]
async fn one_worker_crawls_at_the_configured_rate() {
    let _cpu = crate::cpu::alone().await;
    let seen = crawl_with(1).await;
    report(1, &seen);
    assert_group_rate(&seen);
}

/// Three workers together still send the configured rate, each a third.
#[tokio::test(flavor = "multi_thread")]
async fn three_workers_hold_the_configured_rate_together() {
    let _cpu = crate::cpu::alone().await;
    let seen = crawl_with(3).await;
    report(3, &seen);
    assert_group_rate(&seen);
    // Each did its third (its partitions' tasks).
    let third = (PARTITIONS as usize * PER_PARTITION / 3) as f64;
    for (i, n) in seen.per_worker.iter().enumerate() {
        assert!(
            (*n as f64 - third).abs() <= third * 0.2,
            "worker-{i} fetched {n}, a third is {third}"
        );
    }
}
