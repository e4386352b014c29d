//! A crawl killed with SIGKILL resumes on restart: the final record set
//! equals the ground truth, and no task that was acknowledged before the kill
//! is done again (each product and brand key appears exactly once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crawlhost::bus::Bus;
use crawlhost::bus::embedded::EmbeddedBus;
use crawlhost_tests::oliveyoung::{Site, spawn};

const SEED: u64 = 11;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

async fn count(bus_path: &Path, topic: &str) -> u64 {
    if !bus_path.exists() {
        return 0;
    }
    let Ok(bus) = EmbeddedBus::open(bus_path, 1) else {
        return 0;
    };
    if !bus.topics().await.unwrap().iter().any(|(t, _)| t == topic) {
        return 0;
    }
    bus.end_offset(topic, 0).await.unwrap()
}

async fn all(bus: &EmbeddedBus, topic: &str) -> BTreeMap<String, serde_json::Value> {
    let mut map = BTreeMap::new();
    let mut offset = 0;
    loop {
        let batch = bus.fetch(topic, 0, offset, 5000).await.unwrap();
        if batch.is_empty() {
            return map;
        }
        for r in &batch {
            let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
            let value = serde_json::from_slice(&r.value).unwrap();
            assert!(
                map.insert(key.clone(), value).is_none(),
                "{topic} key {key} written twice"
            );
        }
        offset = batch.last().unwrap().offset + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_resume() {
    let (base_url, _server) = spawn(Site::generate(SEED)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        target_dir().join("wasm32-wasip2/release/oliveyoung.wasm"),
        dir.path().join("plugins/oliveyoung.wasm"),
    )
    .expect("oliveyoung.wasm built (make plugins)");
    let config = dir.path().join("crawlhost.toml");
    std::fs::write(
        &config,
        format!(
            "[host]\nplugins_dir = \"{}\"\ndata_dir = \"{}\"\n\
             [http]\nallow_private_addresses = true\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n[http.retry]\nmax_attempts = 2\nbase_ms = 5\nmax_ms = 10\n[http.circuit]\nfailure_threshold = 0\n\
             [run]\nconcurrency = 2\nretry_base_ms = 20\nretry_max_ms = 200\n\
             [plugins.oliveyoung]\nconfig = {{ base_url = \"{base_url}\" }}\n",
            dir.path().join("plugins").display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let bin = target_dir().join("debug/crawlhost");
    assert!(
        bin.exists(),
        "{} missing: cargo build -p crawlhost",
        bin.display()
    );
    let bus_path = dir.path().join("data/bus.db");

    let mut first = tokio::process::Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a good share of the brands (not all) is in.
    let start = Instant::now();
    loop {
        let n = count(&bus_path, "oliveyoung").await;
        if n >= 60 {
            break;
        }
        if let Ok(Some(status)) = first.try_wait() {
            panic!("the first run ended ({status}) before it could be killed; {n} brands");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "crawl too slow: {n} brands"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.start_kill().unwrap(); // SIGKILL
    first.wait().await.unwrap();
    let before = count(&bus_path, "oliveyoung").await;
    assert!(before < 290, "killed too late: {before} brands already in");

    let second = tokio::process::Command::new(&bin)
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--json"])
        .output()
        .await
        .unwrap();
    // No task fails against the fixture (its broken pages end in incomplete
    // brand records), so the resumed run exits 0.
    assert_eq!(
        second.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let summaries: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let summary = &summaries[0];
    assert_eq!(summary["resumed"], true, "{summary}");
    let started_at_ms = summary["started_at_ms"].as_i64().unwrap();

    let truth = Site::generate(SEED).ground_truth(&base_url, started_at_ms);
    let bus = EmbeddedBus::open(&bus_path, 1).unwrap();
    let brands = all(&bus, "oliveyoung").await;
    let products = all(&bus, "oliveyoung-products").await;
    assert_eq!(brands, truth.brands);
    assert_eq!(products, truth.products);
    // The failed tasks are reported by the run that attempted them.
    let failed: Vec<&str> = summary["tasks_failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    for key in failed {
        assert!(
            truth.failed_tasks.contains_key(key),
            "unexpected failure {key}"
        );
    }
}
