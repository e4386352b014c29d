//! The Kafka bus against a real broker (tansu): a crawl lands exactly the
//! expected records with keys, headers, timestamps and Kafka's partitioner;
//! the `Bus` read/commit calls work on Kafka; and with the broker away the
//! store-and-forward log keeps taking records up to its budget, pauses, and
//! drains everything in order once the broker is there.

use crate::common;
use crate::kafka_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crawlhost::bus::forward::ForwardingBus;
use crawlhost::bus::kafka::{KafkaBus, KafkaConfig};
use crawlhost::bus::partition::partition_for;
use crawlhost::bus::{Bus, ProduceRecord};
use crawlhost::contract::PlanInput;
use crawlhost::host::Host;
use crawlhost::run::run_plugin;
use kafka_support::{Tansu, install_echo, kafka_section, read_topic};

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_lands_exactly_the_expected_records_with_keys_and_headers() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{}\n[plugins.echo]\nconfig = {{ tasks = \"6\", records_per_task = \"4\" }}\n",
        kafka_section(
            &tansu.brokers(),
            "partitions = 3\ndelivery_timeout_ms = 10000"
        )
    );
    let settings = common::settings(dir.path(), &extra);
    install_echo(&settings.plugins_dir);
    let host = Host::open(settings).unwrap();
    let scan = host.scan_plugins().await.unwrap();
    let echo = scan.plugins["echo"].clone();

    let summary = run_plugin(host.run_context(), echo, PlanInput::Scheduled, &mut |_| {}).await;
    assert!(summary.is_clean(), "{summary:#?}");
    assert_eq!(summary.tasks_done, 6);
    assert_eq!(summary.records, 24);
    host.bus.flush().await.unwrap();

    let brokers = tansu.brokers();
    let read = tokio::task::spawn_blocking(move || read_topic(&brokers, "echo"))
        .await
        .unwrap();
    assert_eq!(read.len(), 24, "{read:#?}");
    let mut expected = BTreeMap::new();
    for i in 0..6i64 {
        for j in 0..4 {
            let key = format!("t{i}-r{j}");
            let value =
                serde_json::json!({ "task": format!("t{i}"), "record": j, "run": summary.run_id });
            let ts = summary.started_at_ms + if j == 0 { i } else { 0 };
            expected.insert(key, (value, format!("t{i}"), ts));
        }
    }
    let mut seen = BTreeMap::new();
    for r in &read {
        let key = r.key.clone().expect("every echo record is keyed");
        let (value, task, ts) = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected key {key}"));
        let got: serde_json::Value = serde_json::from_str(&r.value).unwrap();
        assert_eq!(&got, value, "value of {key}");
        assert_eq!(r.timestamp_ms, *ts, "timestamp of {key}");
        assert_eq!(
            r.partition as u32,
            partition_for(key.as_bytes(), 3),
            "{key} is not where Kafka's murmur2 partitioner (and the embedded bus) puts it"
        );
        assert_eq!(r.headers["crawlhost-plugin"], "echo");
        assert_eq!(r.headers["crawlhost-plugin-version"], "0.1.0");
        assert_eq!(r.headers["crawlhost-run"], summary.run_id);
        assert_eq!(&r.headers["crawlhost-task"], task);
        assert!(
            seen.insert(key.clone(), ()).is_none(),
            "{key} delivered twice"
        );
    }
    assert_eq!(seen.len(), expected.len());

    // The same records through the Bus trait, and a group position that
    // survives a new client.
    let bus = host.bus.clone();
    let mut via_bus = 0;
    for p in 0..3 {
        let end = bus.end_offset("echo", p).await.unwrap();
        let fetched = bus.fetch("echo", p, 0, 1000).await.unwrap();
        assert_eq!(fetched.len() as u64, end);
        for (i, f) in fetched.iter().enumerate() {
            assert_eq!(f.offset, i as u64);
            let plain = read
                .iter()
                .find(|r| r.partition as u32 == p && r.offset as u64 == f.offset)
                .unwrap();
            assert_eq!(f.key.as_deref(), plain.key.as_deref().map(str::as_bytes));
            assert_eq!(f.value, plain.value.as_bytes());
            assert_eq!(f.headers.len(), 4);
        }
        via_bus += fetched.len();
        assert_eq!(bus.committed("probe", "echo", p).await.unwrap(), None);
        bus.commit("probe", "echo", p, end).await.unwrap();
    }
    assert_eq!(via_bus, 24);
    let fresh = KafkaBus::connect(
        KafkaConfig::for_brokers(&tansu.brokers())
            .check(&|_| None)
            .unwrap(),
    )
    .unwrap();
    for p in 0..3 {
        let end = fresh.end_offset("echo", p).await.unwrap();
        assert_eq!(
            fresh.committed("probe", "echo", p).await.unwrap(),
            Some(end)
        );
    }
    let topics = fresh.topics().await.unwrap();
    assert!(topics.contains(&("echo".to_string(), 3)), "{topics:?}");
}

fn numbered(i: usize) -> ProduceRecord {
    ProduceRecord {
        topic: "ordered".into(),
        key: Some(format!("k{}", i % 7).into_bytes()),
        value: format!("{{\"n\":{i}}}").into_bytes(),
        headers: vec![("n".into(), i.to_string().into_bytes())],
        timestamp_ms: 1_700_000_000_000 + i as i64,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_broker_away_records_wait_locally_within_the_budget_and_drain_in_order() {
    // A port with no broker behind it yet.
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = KafkaConfig::for_brokers(&format!("127.0.0.1:{port}"));
    cfg.partitions = 1;
    cfg.delivery_timeout_ms = 1000;
    cfg.request_timeout_ms = 1000;
    // Each record is about 60 budget bytes: the budget holds ~3 batches of 5.
    let settings = cfg
        .check(&|_| None)
        .unwrap()
        .with_forward_budget_bytes(1000);
    let kafka = Arc::new(KafkaBus::connect(settings).unwrap());
    let bus = Arc::new(ForwardingBus::open(kafka, &dir.path().join("forward.db")).unwrap());

    // The first batch finds the broker unreachable and is stored locally.
    let positions = bus.produce((0..5).map(numbered).collect()).await.unwrap();
    assert_eq!(positions.len(), 5);
    assert!(bus.is_forwarding());
    // Later batches go straight to the local log while it has room...
    let mut next = 5;
    while bus.pending_bytes() + 5 * 70 <= 1000 {
        bus.produce((next..next + 5).map(numbered).collect())
            .await
            .unwrap();
        next += 5;
    }
    // ...and then produce pauses instead of dropping or failing.
    let blocked = {
        let bus = bus.clone();
        let batch: Vec<_> = (next..next + 5).map(numbered).collect();
        tokio::spawn(async move { bus.produce(batch).await })
    };
    next += 5;
    let paused = tokio::time::timeout(Duration::from_millis(1500), async {
        while !blocked.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        paused.is_err(),
        "produce should wait while the forward log is over budget"
    );

    // The broker comes up on that port: everything drains, in order.
    let tansu = tokio::task::spawn_blocking(move || Tansu::start_on(port))
        .await
        .unwrap();
    let done = tokio::time::timeout(Duration::from_secs(60), blocked).await;
    done.expect("the paused produce resumes once the broker is back")
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), bus.flush())
        .await
        .expect("the forward log drains")
        .unwrap();
    assert!(!bus.is_forwarding());
    assert_eq!(bus.forwarded(), next as u64);

    // Direct mode again: a new batch is acknowledged by the broker itself.
    let direct = bus.produce(vec![numbered(next)]).await.unwrap();
    assert_eq!(direct[0].partition, 0);
    assert_eq!(direct[0].offset, next as u64);

    let brokers = tansu.brokers();
    let read = tokio::task::spawn_blocking(move || read_topic(&brokers, "ordered"))
        .await
        .unwrap();
    let values: Vec<String> = read.iter().map(|r| r.value.clone()).collect();
    let expected: Vec<String> = (0..=next).map(|i| format!("{{\"n\":{i}}}")).collect();
    assert_eq!(values, expected, "records lost, duplicated or reordered");
    for r in &read {
        let n: i64 = r.headers["n"].parse().unwrap();
        assert_eq!(r.timestamp_ms, 1_700_000_000_000 + n);
        assert_eq!(r.key.as_deref(), Some(format!("k{}", n % 7).as_str()));
    }
}
