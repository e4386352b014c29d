//! The sink's Kafka reader (`bus::kafka::stream`) against a real broker
//! (tansu): many partitions of two topics read through one assignment hand
//! out every record once, in offset order per partition, with key, value,
//! headers and timestamp intact and never more than asked per poll; a seek
//! back re-reads exactly from there; a partition followed later joins the
//! stream.

use crate::kafka_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::bus::kafka::{KafkaBus, KafkaConfig};
use crawlhost::bus::reader::{PartitionReader, open_reader};
use crawlhost::bus::{Bus, ConsumedRecord, ProduceRecord};
use kafka_support::Tansu;

const WIDE: u32 = 12;

fn record(topic: &str, i: usize) -> ProduceRecord {
    ProduceRecord {
        topic: topic.into(),
        key: Some(format!("key-{i}").into_bytes()),
        value: format!("{{\"i\":{i}}}").into_bytes(),
        headers: vec![("i".into(), i.to_string().into_bytes())],
        timestamp_ms: 1_700_000_000_000 + i as i64,
    }
}

/// What was produced, by (topic, partition), in offset order.
type Log = BTreeMap<(String, u32), Vec<(u64, ProduceRecord)>>;

async fn produce(bus: &KafkaBus, log: &mut Log, topic: &str, range: std::ops::Range<usize>) {
    let records: Vec<ProduceRecord> = range.map(|i| record(topic, i)).collect();
    let at = bus.produce(records.clone()).await.unwrap();
    for (r, pos) in records.into_iter().zip(at) {
        log.entry((topic.to_string(), pos.partition))
            .or_default()
            .push((pos.offset, r));
    }
}

/// Poll until `want` records came (or fail after 60 s); checks each poll's size.
async fn take(reader: &dyn PartitionReader, want: usize, max: usize) -> Vec<ConsumedRecord> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while got.len() < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} records within 60 s",
            got.len()
        );
        let batch = reader.poll(max, Duration::from_millis(200)).await.unwrap();
        assert!(
            batch.len() <= max,
            "a poll returned {} > {max}",
            batch.len()
        );
        got.extend(batch);
    }
    assert_eq!(got.len(), want, "more records than produced");
    got
}

fn check_against(got: &[ConsumedRecord], log: &Log, from: &BTreeMap<(String, u32), u64>) {
    let mut per: BTreeMap<(String, u32), Vec<&ConsumedRecord>> = BTreeMap::new();
    for r in got {
        per.entry((r.topic.clone(), r.partition))
            .or_default()
            .push(r);
    }
    for (tp, produced) in log {
        let start = from.get(tp).copied().unwrap_or(0);
        let expected: Vec<&(u64, ProduceRecord)> =
            produced.iter().filter(|(o, _)| *o >= start).collect();
        let read = per.remove(tp).unwrap_or_default();
        assert_eq!(
            read.iter().map(|r| r.offset).collect::<Vec<_>>(),
            expected.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
            "offsets of {tp:?}"
        );
        for (r, (_, p)) in read.iter().zip(&expected) {
            assert_eq!(r.key, p.key);
            assert_eq!(r.value, p.value);
            assert_eq!(r.headers, p.headers);
            assert_eq!(r.timestamp_ms, p.timestamp_ms);
        }
    }
    assert!(
        per.is_empty(),
        "records of partitions not followed: {per:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_partitions_through_one_stream_in_order_with_seek_back_and_late_partitions() {
    let tansu = tokio::task::spawn_blocking(Tansu::start).await.unwrap();
    let bus = Arc::new(
        KafkaBus::connect(
            KafkaConfig::for_brokers(&tansu.brokers())
                .check(&|_| None)
                .unwrap(),
        )
        .unwrap(),
    );
    bus.ensure_topic("wide", WIDE).await.unwrap();
    bus.ensure_topic("side", 1).await.unwrap();
    let mut log = Log::new();
    produce(&bus, &mut log, "wide", 0..900).await;
    produce(&bus, &mut log, "side", 0..40).await;
    assert_eq!(
        log.keys().filter(|(t, _)| t == "wide").count(),
        WIDE as usize,
        "every partition of `wide` has records"
    );

    let reader = open_reader(bus.clone() as Arc<dyn Bus>).unwrap();
    // Partition 5 starts in the middle, the others at 0.
    let mut from = BTreeMap::new();
    from.insert(("wide".to_string(), 5), 20);
    for p in 0..WIDE {
        let start = from.get(&("wide".to_string(), p)).copied().unwrap_or(0);
        reader.seek("wide", p, start).await.unwrap();
    }
    reader.seek("side", 0, 0).await.unwrap();
    let total: usize = log
        .iter()
        .map(|(tp, v)| {
            v.iter()
                .filter(|(o, _)| *o >= from.get(tp).copied().unwrap_or(0))
                .count()
        })
        .sum();
    let got = take(&*reader, total, 37).await;
    check_against(&got, &log, &from);
    assert!(
        reader
            .poll(37, Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty(),
        "records after the end"
    );

    // New records on the followed partitions arrive without a new seek.
    let mut more = Log::new();
    produce(&bus, &mut more, "wide", 900..960).await;
    let got = take(&*reader, 60, 1000).await;
    check_against(&got, &more, &BTreeMap::new());

    // A seek back re-reads exactly from there, only that partition.
    let back = ("wide".to_string(), 3u32);
    reader.seek("wide", 3, 4).await.unwrap();
    let mut only3 = Log::new();
    let mut all3: Vec<(u64, ProduceRecord)> = log[&back].clone();
    all3.extend(more.get(&back).cloned().unwrap_or_default());
    only3.insert(back.clone(), all3);
    let want = only3[&back].iter().filter(|(o, _)| *o >= 4).count();
    let got = take(&*reader, want, 10).await;
    check_against(&got, &only3, &BTreeMap::from([(back.clone(), 4)]));

    // A partition followed later joins the stream.
    bus.ensure_topic("late", 2).await.unwrap();
    let mut late = Log::new();
    produce(&bus, &mut late, "late", 0..30).await;
    for p in 0..2 {
        reader.seek("late", p, 0).await.unwrap();
    }
    let got = take(&*reader, 30, 1000).await;
    check_against(&got, &late, &BTreeMap::new());
    assert!(
        reader
            .poll(1000, Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
}
