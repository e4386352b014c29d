//! The Oliveyoung fixture site crawled onto a real Kafka-protocol broker
//! (tansu): topic `oliveyoung` holds exactly the ground-truth brand records
//! (and `oliveyoung-products` the products), read back with a plain rdkafka
//! consumer, with keys, headers, timestamps and partitions as specified.
//! Then the brand records trigger the `echo` test plugin: one `plan` (one
//! run) per brand.

use crate::common;
use crate::kafka_support;

use std::collections::{BTreeMap, BTreeSet};

use crawlhost::bus::partition::partition_for;
use crawlhost::config::Config;
use crawlhost::contract::PlanInput;
use crawlhost::host::Host;
use crawlhost::run::run_plugin;
use crawlhost::trigger::{Until, consume};
use crawlhost_tests::oliveyoung::{Site, spawn};
use kafka_support::{Tansu, install_echo, read_topic};

const SEED: u64 = 7;
const PARTITIONS: u32 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn the_fixture_crawl_lands_exactly_the_ground_truth_on_kafka_and_triggers_one_plan_per_brand()
{
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let (base_url, _server) = spawn(Site::generate(SEED)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(common::wasm("oliveyoung"), plugins.join("oliveyoung.wasm")).unwrap();
    install_echo(&plugins);
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n\
         [http.retry]\nmax_attempts = 2\nbase_ms = 5\nmax_ms = 10\n[http.circuit]\nfailure_threshold = 0\n\
         [run]\nconcurrency = 8\nretry_base_ms = 20\nretry_max_ms = 200\n\
         [kafka]\nbootstrap_servers = \"{brokers}\"\npartitions = {PARTITIONS}\n\
         [plugins.oliveyoung]\nconfig = {{ base_url = \"{base_url}\" }}\n\
         [plugins.echo]\nallow_triggers = [\"oliveyoung\"]\n",
        plugins = plugins.display(),
        data = dir.path().join("data").display(),
        brokers = tansu.brokers(),
    );
    let settings = Config::parse(&text, std::path::Path::new("kafka-e2e.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let host = Host::open(settings).unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);

    let summary = run_plugin(
        host.run_context(),
        scan.plugins["oliveyoung"].clone(),
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert_eq!(summary.fatal, None);
    host.bus.flush().await.unwrap();
    let truth = Site::generate(SEED).ground_truth(&base_url, summary.started_at_ms);
    // The fixture's broken brands fail as they must; everything else lands.
    let failed: BTreeSet<&str> = summary
        .tasks_failed
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    let expected_failed: BTreeSet<&str> = truth.failed_tasks.keys().map(String::as_str).collect();
    assert_eq!(failed, expected_failed);

    let brokers = tansu.brokers();
    let (brands, products) = tokio::task::spawn_blocking({
        let b = brokers.clone();
        move || {
            (
                read_topic(&b, "oliveyoung"),
                read_topic(&b, "oliveyoung-products"),
            )
        }
    })
    .await
    .unwrap();

    let mut by_code: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for r in &brands {
        let code = r
            .key
            .clone()
            .expect("brand records are keyed by brand code");
        assert_eq!(r.headers["crawlhost-plugin"], "oliveyoung");
        assert_eq!(r.headers["crawlhost-plugin-version"], "0.1.0");
        assert_eq!(r.headers["crawlhost-run"], summary.run_id);
        assert_eq!(r.headers["crawlhost-task"], format!("brand:{code}"));
        assert_eq!(r.timestamp_ms, summary.started_at_ms);
        assert_eq!(
            r.partition as u32,
            partition_for(code.as_bytes(), PARTITIONS)
        );
        let value: serde_json::Value = serde_json::from_str(&r.value).unwrap();
        assert!(
            by_code.insert(code.clone(), value).is_none(),
            "brand {code} written twice"
        );
    }
    assert_eq!(by_code.len(), truth.brands.len());
    for (code, expected) in &truth.brands {
        assert_eq!(by_code.get(code), Some(expected), "brand {code}");
    }
    let mut by_goods: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for r in &products {
        let goods = r.key.clone().expect("product records are keyed");
        let value: serde_json::Value = serde_json::from_str(&r.value).unwrap();
        assert!(
            by_goods.insert(goods.clone(), value).is_none(),
            "product {goods} written twice"
        );
    }
    assert_eq!(by_goods.len(), truth.products.len());
    for (goods, expected) in &truth.products {
        assert_eq!(by_goods.get(goods), Some(expected), "product {goods}");
    }

    // The brand records trigger the echo plugin: one plan per brand.
    let report = consume(
        host.run_context(),
        scan.plugins["echo"].clone(),
        8,
        Until::CaughtUp,
    )
    .await
    .unwrap();
    assert_eq!(report.records as usize, truth.brands.len(), "{report:#?}");
    assert_eq!(report.runs as usize, truth.brands.len());
    assert!(
        report
            .summaries
            .iter()
            .all(|s| s.is_clean() && s.tasks_done == 1)
    );
    host.bus.flush().await.unwrap();
    let echoed = tokio::task::spawn_blocking(move || read_topic(&brokers, "echo"))
        .await
        .unwrap();
    let keys: BTreeSet<String> = echoed.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, truth.brands.keys().cloned().collect::<BTreeSet<_>>());
    let runs: BTreeSet<&str> = echoed
        .iter()
        .map(|r| r.headers["crawlhost-run"].as_str())
        .collect();
    assert_eq!(
        runs.len(),
        truth.brands.len(),
        "one run (one plan) per brand record"
    );
}
