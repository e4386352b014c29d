//! `serve` on several hosts: two services (own data dirs, same `[kafka]`,
//! same plugin and per-2-second schedule) against one tansu broker. Every
//! tick runs exactly once across the two, the ticks split between them, the
//! host that skipped a tick logs who claimed it, and each host's `/plugins`
//! lists only the runs it ran.
//!
//! Both services run on this test's single-threaded runtime so that one
//! thread-local log subscriber sees all their lines (nothing process-wide).

use crate::common;
use crate::kafka_support::{Tansu, wait_for};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crawlhost::distributed::claims::claim_delay;
use crawlhost::host::Host;
use crawlhost::serve::{self, Service};
use tokio::sync::oneshot;

/// Ticks of the schedule below are this far apart.
const TICK_MS: i64 = 2000;
/// The claim delays' spread for that interval (a quarter of it).
const SPREAD: Duration = Duration::from_millis(500);
/// Claim delays this far apart decide the winner (the broker's latency,
/// tens of milliseconds here, cannot reverse them).
const CLEAR: Duration = Duration::from_millis(150);
/// Ticks the test watches.
const TICKS: usize = 10;

/// Log lines, as the JSON the subscriber writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

impl Log {
    /// The `fields` of every line whose message starts with `message`.
    fn lines(&self, message: &str) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["fields"].clone())
            .filter(|f| {
                f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .collect()
    }
}

fn field(v: &serde_json::Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

/// The claim key of ticker's tick at `ms`.
fn tick_key(ms: i64) -> String {
    crawlhost::distributed::claims::tick_key(
        "ticker",
        chrono::DateTime::from_timestamp_millis(ms).unwrap(),
    )
}

fn start_service(dir: &Path, brokers: &str) -> Arc<Service> {
    let settings = common::settings(
        dir,
        &format!(
            "[kafka]\nbootstrap_servers = \"{brokers}\"\ndelivery_timeout_ms = 5000\n\
             [plugins.ticker]\nschedule = \"*/2 * * * * *\"\n\
             config = {{ chains = \"1\", limit = \"3\" }}\n"
        ),
    );
    std::fs::write(
        dir.join("plugins/ticker.wasm"),
        std::fs::read(common::wasm("ticker-1.0.0")).unwrap(),
    )
    .unwrap();
    Service::new(Host::open(settings).unwrap())
}

async fn get_plugins(addr: std::net::SocketAddr) -> Vec<serde_json::Value> {
    let body = reqwest::get(format!("http://{addr}/plugins"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// The ticks of `ticker`'s runs in a `/plugins` answer.
fn run_ticks(plugins: &[serde_json::Value]) -> Vec<(i64, i64)> {
    let ticker = plugins.iter().find(|p| p["name"] == "ticker").unwrap();
    ticker["last_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["tasks_done"], 3, "{r}");
            let started = r["started_at_ms"].as_i64().unwrap();
            (started - started.rem_euclid(TICK_MS), started)
        })
        .collect()
}

#[tokio::test]
async fn two_serve_hosts_run_each_tick_once_and_share_the_ticks() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _log_guard = tracing::subscriber::set_default(subscriber);

    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut services = Vec::new();
    let mut addrs = Vec::new();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    for dir in &dirs {
        let service = start_service(dir.path(), &tansu.brokers());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        servers.push(tokio::spawn(serve::serve(
            service.clone(),
            Some(listener),
            async {
                let _ = stop_rx.await;
            },
        )));
        stops.push(stop_tx);
        services.push(service);
    }
    wait_for("both hosts to load ticker", Duration::from_secs(30), || {
        services
            .iter()
            .all(|s| s.plugins().iter().any(|p| p.name == "ticker"))
    })
    .await;
    // Ticks both hosts schedule: from the next one on.
    let first = crawlhost::time::now_ms() / TICK_MS * TICK_MS + TICK_MS;
    let last = first + (TICKS as i64 - 1) * TICK_MS;
    let ran = |s: &Arc<Service>| -> usize {
        s.plugins()
            .iter()
            .find(|p| p.name == "ticker")
            .map_or(0, |p| {
                p.last_runs
                    .iter()
                    .filter(|r| r.started_at_ms >= first && r.started_at_ms < last + TICK_MS)
                    .count()
            })
    };
    let keys: Vec<String> = (0..TICKS as i64)
        .map(|i| tick_key(first + i * TICK_MS))
        .collect();
    // Every tick ran, and the host that lost its claim said so (it claims
    // up to a quarter tick after the winner, whose run may be over by then).
    let deadline = Duration::from_millis((last + 3 * TICK_MS - crawlhost::time::now_ms()) as u64);
    wait_for("runs of the ticks being watched", deadline, || {
        let skipped = log.lines("Scheduled tick claimed by another host");
        ran(&services[0]) + ran(&services[1]) >= TICKS
            && services
                .iter()
                .all(|s| s.plugins().iter().all(|p| p.active_run.is_none()))
            && keys
                .iter()
                .all(|k| skipped.iter().any(|l| field(l, "tick") == *k))
    })
    .await;

    // What each host's admin API shows: only the runs it ran.
    let mut runs_by_tick: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut lateness = Vec::new();
    for (host, addr) in addrs.iter().enumerate() {
        for (tick, started) in run_ticks(&get_plugins(*addr).await) {
            if (first..=last).contains(&tick) {
                runs_by_tick.entry(tick).or_default().push(host);
                lateness.push(started - tick);
            }
        }
    }
    for stop in stops {
        stop.send(()).unwrap();
    }
    for server in servers {
        server.await.unwrap().unwrap();
    }
    let ticks: Vec<i64> = (0..TICKS as i64).map(|i| first + i * TICK_MS).collect();
    assert_eq!(
        runs_by_tick.keys().copied().collect::<Vec<_>>(),
        ticks,
        "every tick runs: {runs_by_tick:?}"
    );
    for (tick, hosts) in &runs_by_tick {
        assert_eq!(hosts.len(), 1, "tick {tick} ran on {hosts:?}");
    }
    let split: Vec<usize> = (0..2)
        .map(|h| runs_by_tick.values().filter(|v| v[0] == h).count())
        .collect();
    lateness.sort();
    eprintln!(
        "{TICKS} ticks: host A ran {}, host B ran {}; run start after its tick: min {} ms, max {} ms",
        split[0],
        split[1],
        lateness[0],
        lateness[lateness.len() - 1]
    );
    // 10 fair draws all going one way: 2 in 1024.
    assert!(split.iter().all(|n| *n > 0), "ticks split {split:?}");

    // The log: each host said who it is; the one that skipped a tick names
    // the winner, and the winner says it claimed it.
    let ids: Vec<String> = dirs
        .iter()
        .map(|d| {
            let data_dir = d.path().join("data").display().to_string();
            let line = log
                .lines("Scheduled ticks are claimed")
                .into_iter()
                .find(|l| field(l, "data_dir") == data_dir)
                .expect("each host logs its id");
            field(&line, "host")
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    let skipped = log.lines("Scheduled tick claimed by another host");
    let mut close = 0;
    let mut shorter_won = 0;
    let started = log.lines("Scheduled run started: this host claimed the tick");
    for (tick, hosts) in &runs_by_tick {
        let winner = &ids[hosts[0]];
        let loser = &ids[1 - hosts[0]];
        let key = tick_key(*tick);
        assert!(
            started
                .iter()
                .any(|l| field(l, "tick") == key && field(l, "host") == *winner),
            "{key}: the winner {winner} logs its claim"
        );
        let lost: Vec<_> = skipped.iter().filter(|l| field(l, "tick") == key).collect();
        assert_eq!(lost.len(), 1, "{key}: one host skipped it: {lost:?}");
        assert_eq!(field(lost[0], "host"), *loser);
        assert_eq!(field(lost[0], "claimed_by"), *winner);
        // The spread is deliberate: the host with the shorter claim delay
        // for this tick claims first, unless the two are too close for the
        // broker's latency to tell apart.
        let delay = |id: &str| claim_delay(id, &key, SPREAD);
        let (mine, theirs) = (delay(winner), delay(loser));
        if mine < theirs {
            shorter_won += 1;
        }
        if theirs.saturating_sub(mine) < CLEAR && mine.saturating_sub(theirs) < CLEAR {
            close += 1;
        } else {
            assert!(
                mine < theirs,
                "{key}: {winner} waited {mine:?}, {loser} {theirs:?}, yet the later one won"
            );
        }
    }
    eprintln!(
        "the shorter claim delay won {shorter_won} of {TICKS} ticks, and all {} whose delays were {CLEAR:?} or more apart",
        TICKS - close
    );
}
