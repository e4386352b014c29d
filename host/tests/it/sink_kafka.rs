//! The sink over the Kafka bus: records produced to a real Kafka-protocol
//! broker (tansu) are written to a real S3 server (moto) with Connect's
//! keys, and the sink's offsets are committed in Kafka for its group; a log
//! that ends in a transaction marker still lets `--once` and until-idle
//! runs finish.

use crate::common;
use crate::kafka_support;
use crate::sink_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crawlhost::bus::ProduceRecord;
use crawlhost::bus::partition::partition_for;
use crawlhost::host::Host;
use crawlhost::sink::{RunMode, Sink, SinkConfig, SinkSettings, SystemClock};
use kafka_support::{Tansu, append_commit_marker, kafka_section};
use sink_support::{Moto, read_all};

/// Sink settings from `head` (the `[sink]` keys) writing to `bucket` on moto.
fn sink_settings(head: &str, moto: &Moto, bucket: &str, dir: &std::path::Path) -> SinkSettings {
    let text = format!(
        "{head}\n{}",
        moto.store_toml(bucket)
            .replacen("[sink.store]", "[store]", 1)
    );
    toml::from_str::<SinkConfig>(&text)
        .unwrap()
        .validate(dir)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_over_kafka_writes_confluent_keys_and_commits_in_kafka() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    moto.create_bucket("over-kafka");
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        dir.path(),
        &kafka_section(
            &tansu.brokers(),
            "partitions = 2\ndelivery_timeout_ms = 10000",
        ),
    );
    let host = Host::open(settings).unwrap();
    host.bus.ensure_topic("brands", 2).await.unwrap();
    // Three records per partition, keys chosen by Kafka's partitioner.
    let mut per_partition: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut n = 0;
    while per_partition.values().map(Vec::len).sum::<usize>() < 6 {
        n += 1;
        let key = format!("brand-{n}");
        let p = partition_for(key.as_bytes(), 2);
        if per_partition.get(&p).is_some_and(|v| v.len() == 3) {
            continue;
        }
        host.bus
            .produce(vec![ProduceRecord {
                topic: "brands".into(),
                key: Some(key.clone().into_bytes()),
                value: format!("{{\"brand\": \"{key}\"}}").into_bytes(),
                headers: vec![],
                timestamp_ms: 1_724_198_400_000,
            }])
            .await
            .unwrap();
        per_partition.entry(p).or_default().push(key);
    }
    host.bus.flush().await.unwrap();

    let sink_settings = sink_settings(
        "topics = [\"brands\"]\nflush_size = 2",
        &moto,
        "over-kafka",
        dir.path(),
    );
    let mut sink = Sink::new(sink_settings, host.bus.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let report = sink
        .run(RunMode::Once, std::future::pending())
        .await
        .unwrap();
    assert_eq!(report.records_written, 6);

    let objects = read_all(&moto.client("over-kafka"), "topics").await;
    let mut want = BTreeMap::new();
    for (p, keys) in &per_partition {
        let line = |k: &String| format!("{{\"brand\":\"{k}\"}}\n");
        want.insert(
            format!("topics/brands/partition={p}/brands+{p}+0000000000.json"),
            format!("{}{}", line(&keys[0]), line(&keys[1])).into_bytes(),
        );
        want.insert(
            format!("topics/brands/partition={p}/brands+{p}+0000000002.json"),
            line(&keys[2]).into_bytes(),
        );
    }
    assert_eq!(objects, want);
    for p in 0..2 {
        assert_eq!(
            host.bus
                .committed("crawlhost-sink", "brands", p)
                .await
                .unwrap(),
            Some(3)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_ending_in_a_transaction_marker_still_ends_once_and_until_idle_runs() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    moto.create_bucket("txn");
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(dir.path(), &kafka_section(&tansu.brokers(), ""));
    let host = Host::open(settings).unwrap();
    host.bus.ensure_topic("orders", 1).await.unwrap();
    let sink_settings = sink_settings(
        "topics = [\"orders\"]\nflush_size = 100",
        &moto,
        "txn",
        dir.path(),
    );

    let mut written = 0;
    for (round, mode) in [(0u64, RunMode::Once), (1, RunMode::UntilIdle)] {
        let values: Vec<String> = (0..5)
            .map(|i| format!("{{\"r\":{round},\"i\":{i}}}"))
            .collect();
        host.bus
            .produce(
                values
                    .iter()
                    .map(|v| ProduceRecord {
                        topic: "orders".into(),
                        key: None,
                        value: v.clone().into_bytes(),
                        headers: vec![],
                        timestamp_ms: 1_724_198_400_000,
                    })
                    .collect(),
            )
            .await
            .unwrap();
        host.bus.flush().await.unwrap();
        // What a transactional producer's commit leaves after its records.
        let brokers = tansu.brokers();
        tokio::task::spawn_blocking(move || append_commit_marker(&brokers, "orders", 0))
            .await
            .unwrap();
        let end = host.bus.end_offset("orders", 0).await.unwrap();
        assert_eq!(end, 6 * (round + 1), "5 records and a marker");

        let mut sink = Sink::new(
            sink_settings.clone(),
            host.bus.clone(),
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            sink.run(mode, std::future::pending()),
        )
        .await
        .unwrap_or_else(|_| {
            panic!("{mode:?} did not finish within 30 s at a log ending in a marker")
        })
        .unwrap();
        assert_eq!(report.records_written, 5, "{mode:?}");
        written += 5;
        let objects = read_all(&moto.client("txn"), "topics").await;
        let lines: usize = objects
            .values()
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .sum();
        assert_eq!(lines, written, "{mode:?}: every record once");
        let start = 6 * round;
        let key = format!("topics/orders/partition=0/orders+0+{start:010}.json");
        let want: String = values.iter().map(|v| format!("{v}\n")).collect();
        assert_eq!(
            objects.get(&key).map(Vec::as_slice),
            Some(want.as_bytes()),
            "{key}"
        );
        // Committed after the last record; the next run reads the marker
        // again and is handed nothing.
        assert_eq!(
            host.bus
                .committed("crawlhost-sink", "orders", 0)
                .await
                .unwrap(),
            Some(start + 5)
        );
    }
}

/// Produce `values` to partition 0 of `topic` and wait until Kafka has them.
async fn produce_values(bus: &Arc<dyn crawlhost::bus::Bus>, topic: &str, values: &[String]) {
    bus.produce(
        values
            .iter()
            .map(|v| ProduceRecord {
                topic: topic.into(),
                key: None,
                value: v.clone().into_bytes(),
                headers: vec![],
                timestamp_ms: 1_724_198_400_000,
            })
            .collect(),
    )
    .await
    .unwrap();
    bus.flush().await.unwrap();
}

/// Issue 15 item 11: a topic deleted and recreated under a running
/// deployment. The sink wrote 5 records (offsets 0..5, objects at 0, 2 and
/// 4) and committed 5; the new topic holds 3 records at offsets 0..3. Going
/// on would skip them (the committed 5 is past the new end) or, with the
/// commit gone, overwrite the first topic's objects at 0 and 2. The sink
/// must stop instead, naming the topic, the partition, the committed offset
/// and the log's offsets, and leave the objects as they were.
#[tokio::test(flavor = "multi_thread")]
async fn a_recreated_topic_stops_the_sink_naming_the_offsets() {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;

    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    moto.create_bucket("recreated");
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(dir.path(), &kafka_section(&tansu.brokers(), ""));
    let host = Host::open(settings).unwrap();
    host.bus.ensure_topic("orders", 1).await.unwrap();
    let first: Vec<String> = (0..5).map(|i| format!("{{\"gen\":1,\"i\":{i}}}")).collect();
    produce_values(&host.bus, "orders", &first).await;
    let sink_settings = sink_settings(
        "topics = [\"orders\"]\nflush_size = 2",
        &moto,
        "recreated",
        dir.path(),
    );
    let mut sink = Sink::new(
        sink_settings.clone(),
        host.bus.clone(),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let report = sink
        .run(RunMode::Once, std::future::pending())
        .await
        .unwrap();
    assert_eq!(report.records_written, 5);
    drop(sink);
    let before = read_all(&moto.client("recreated"), "topics").await;
    assert_eq!(before.len(), 3, "{:?}", before.keys());
    drop(host);

    // Delete and recreate the topic; the new one gets fewer records.
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", tansu.brokers())
        .create()
        .unwrap();
    for r in admin
        .delete_topics(&["orders"], &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap_or_else(|e| panic!("delete topic: {e:?}"));
    }
    tansu.create_topic("orders", 1).await;
    let dir2 = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(
        dir2.path(),
        &kafka_section(&tansu.brokers(), ""),
    ))
    .unwrap();
    let second: Vec<String> = (0..3).map(|i| format!("{{\"gen\":2,\"i\":{i}}}")).collect();
    produce_values(&host.bus, "orders", &second).await;
    assert_eq!(host.bus.end_offset("orders", 0).await.unwrap(), 3);
    let committed = host
        .bus
        .committed("crawlhost-sink", "orders", 0)
        .await
        .unwrap();
    eprintln!("committed offset after the topic was recreated: {committed:?}");

    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let mut sink = Sink::new(
            sink_settings.clone(),
            host.bus.clone(),
            Arc::new(SystemClock),
        )
        .await?;
        sink.run(RunMode::Once, std::future::pending()).await
    })
    .await
    .expect("the sink neither finished nor stopped within 60 s");
    let err = match result {
        Ok(report) => panic!("the sink ran over a recreated topic: {report:?}"),
        Err(e) => e.to_string(),
    };
    eprintln!("{err}");
    assert!(err.contains("orders/0"), "names topic and partition: {err}");
    if let Some(c) = committed {
        assert!(err.contains(&format!("committed offset {c}")), "{err}");
    }
    assert!(err.contains("end offset 3"), "names the log's end: {err}");
    assert_eq!(
        read_all(&moto.client("recreated"), "topics").await,
        before,
        "the first topic's objects are untouched"
    );

    // A broker that keeps the group's offset (tansu drops it with the
    // topic): committed 5 on a log that ends at 3.
    host.bus
        .commit("crawlhost-sink", "orders", 0, 5)
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let mut sink = Sink::new(sink_settings, host.bus.clone(), Arc::new(SystemClock)).await?;
        sink.run(RunMode::Once, std::future::pending()).await
    })
    .await
    .expect("the sink neither finished nor stopped within 60 s");
    let err = match result {
        Ok(report) => panic!("the sink ran past the end of a recreated topic: {report:?}"),
        Err(e) => e.to_string(),
    };
    eprintln!("{err}");
    assert!(err.contains("orders/0"), "{err}");
    assert!(err.contains("committed offset 5"), "{err}");
    assert!(err.contains("low watermark 0"), "{err}");
    assert!(err.contains("end offset 3"), "{err}");
    assert_eq!(
        read_all(&moto.client("recreated"), "topics").await,
        before,
        "the first topic's objects are untouched"
    );
}
