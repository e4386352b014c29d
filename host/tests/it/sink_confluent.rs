//! The sink against a real S3 server (moto): given fixed record streams, the
//! object keys and contents are exactly the ones Kafka Connect's S3 sink
//! rules give (written out by hand below), plus encodings, null handling,
//! the dead-letter topic, the idle flush and the Connect-config CLI.

use crate::sink_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::bus::embedded::EmbeddedBus;
use crawlhost::bus::partition::partition_for;
use crawlhost::bus::{Bus, ProduceRecord};
use crawlhost::sink::{RunMode, Sink, SinkConfig, SinkReport, SystemClock};
use sink_support::{Moto, read_all, wait_for};

/// 2024-08-21T00:00:00Z.
const T0: i64 = 1_724_198_400_000;
const MIN: i64 = 60_000;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    bus: Arc<EmbeddedBus>,
    moto: Arc<Moto>,
    bucket: String,
}

impl Fixture {
    fn new(bucket: &str) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bus = Arc::new(EmbeddedBus::open(&dir.join("bus.db"), 1).unwrap());
        let moto = Moto::shared();
        moto.create_bucket(bucket);
        Fixture {
            _dir: tmp,
            dir,
            bus,
            moto,
            bucket: bucket.to_string(),
        }
    }

    /// Append one record; returns its (partition, offset).
    async fn produce(&self, topic: &str, key: &str, value: &str, ts: i64) -> (u32, u64) {
        let pos = self
            .bus
            .produce(vec![ProduceRecord {
                topic: topic.to_string(),
                key: Some(key.as_bytes().to_vec()),
                value: value.as_bytes().to_vec(),
                headers: vec![("origin".to_string(), b"test".to_vec())],
                timestamp_ms: ts,
            }])
            .await
            .unwrap();
        (pos[0].partition, pos[0].offset)
    }

    fn config(&self, sink_toml: &str) -> crawlhost::sink::SinkSettings {
        let text = format!("{sink_toml}\n{}", self.moto.store_toml(&self.bucket));
        let text = text.replacen("[sink.store]", "[store]", 1);
        let config: SinkConfig = toml::from_str(&text).unwrap();
        config.validate(&self.dir).unwrap()
    }

    async fn run_once(&self, sink_toml: &str) -> SinkReport {
        let bus: Arc<dyn Bus> = self.bus.clone();
        let mut sink = Sink::new(self.config(sink_toml), bus, Arc::new(SystemClock))
            .await
            .unwrap();
        sink.run(RunMode::Once, std::future::pending())
            .await
            .unwrap()
    }

    async fn objects(&self, prefix: &str) -> BTreeMap<String, String> {
        read_all(&self.moto.client(&self.bucket), prefix)
            .await
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
            .collect()
    }
}

/// A key that the default partitioner puts on `partition` of `partitions`.
fn key_for(partition: u32, partitions: u32, n: &mut u32) -> String {
    loop {
        *n += 1;
        let key = format!("k{n}");
        if partition_for(key.as_bytes(), partitions) == partition {
            return key;
        }
    }
}

fn expected(entries: &[(&str, &[&str])]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, lines)| {
            (
                k.to_string(),
                lines.iter().map(|l| format!("{l}\n")).collect(),
            )
        })
        .collect()
}

/// Default partitioner, `flush.size = 3`, two Kafka partitions.
#[tokio::test]
async fn flush_size_per_kafka_partition() {
    let f = Fixture::new("flush-size");
    f.bus.ensure_topic("orders", 2).await.unwrap();
    let mut n = 0;
    // Partition 0 gets 7 records, partition 1 gets 4, interleaved; values
    // carry whitespace that the NDJSON line drops.
    let plan = [0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0];
    let (mut p0, mut p1) = (0, 0);
    for (i, &p) in plan.iter().enumerate() {
        let key = key_for(p, 2, &mut n);
        let idx = if p == 0 { &mut p0 } else { &mut p1 };
        let value = format!("{{ \"p\": {p}, \"i\": {} }}", *idx);
        assert_eq!(
            f.produce("orders", &key, &value, T0 + i as i64).await,
            (p, *idx)
        );
        *idx += 1;
    }
    let report = f.run_once("topics = [\"orders\"]\nflush_size = 3").await;
    assert_eq!(report.records_written, 11);
    // Connect: a file closes after flush.size records of its Kafka
    // partition, named by its first offset. The last partial file of each
    // partition is flushed because --once drains (Connect would keep it open
    // until more records come).
    let want = expected(&[
        (
            "topics/orders/partition=0/orders+0+0000000000.json",
            &[r#"{"p":0,"i":0}"#, r#"{"p":0,"i":1}"#, r#"{"p":0,"i":2}"#],
        ),
        (
            "topics/orders/partition=0/orders+0+0000000003.json",
            &[r#"{"p":0,"i":3}"#, r#"{"p":0,"i":4}"#, r#"{"p":0,"i":5}"#],
        ),
        (
            "topics/orders/partition=0/orders+0+0000000006.json",
            &[r#"{"p":0,"i":6}"#],
        ),
        (
            "topics/orders/partition=1/orders+1+0000000000.json",
            &[r#"{"p":1,"i":0}"#, r#"{"p":1,"i":1}"#, r#"{"p":1,"i":2}"#],
        ),
        (
            "topics/orders/partition=1/orders+1+0000000003.json",
            &[r#"{"p":1,"i":3}"#],
        ),
    ]);
    assert_eq!(f.objects("topics").await, want);
    // Offsets committed to the end, markers gone.
    for (p, end) in [(0, 7), (1, 4)] {
        assert_eq!(
            f.bus
                .committed("crawlhost-sink", "orders", p)
                .await
                .unwrap(),
            Some(end)
        );
    }
    assert!(f.objects("_crawlhost").await.is_empty());
    // A second run has nothing to do and writes nothing.
    let again = f.run_once("topics = [\"orders\"]\nflush_size = 3").await;
    assert_eq!(again.objects_written, 0);
    assert_eq!(f.objects("topics").await, want);
}

/// Time-based partitioner in Asia/Seoul with `rotate.interval.ms` (record
/// time) and `flush.size`, including encoded-partition changes and a late
/// record.
#[tokio::test]
async fn rotate_interval_and_partition_changes() {
    let f = Fixture::new("rotate-interval");
    let stream: [(i64, &str); 12] = [
        (T0, "a"),                // o0 09:00 KST, opens the batch (base time)
        (T0 + 5 * MIN, "b"),      // o1
        (T0 + 10 * MIN - 1, "c"), // o2 599999 ms after base: same batch
        (T0 + 10 * MIN, "d"),     // o3 600000 ms: rotate before it
        (T0 + 11 * MIN, "e"),     // o4
        (T0 + 12 * MIN, "f"),     // o5
        (T0 + 13 * MIN, "g"),     // o6 4th record: flush.size rotates after it
        (T0 + 59 * MIN, "h"),     // o7 still hour 09
        (T0 + 60 * MIN, "i"),     // o8 hour 10: partition change rotates before it
        (T0 + 58 * MIN, "j"),     // o9 late record, hour 09: change again
        (T0 + 61 * MIN, "k"),     // o10 hour 10: change again
        (T0 + 62 * MIN, "l"),     // o11 same batch as o10
    ];
    for (ts, id) in stream {
        f.produce("events", id, &format!("{{\"id\":\"{id}\"}}"), ts)
            .await;
    }
    let report = f
        .run_once(
            "topics = [\"events\"]\ntopics_dir = \"bronze/viral\"\nflush_size = 4\nrotate_interval_ms = 600000\n\
             partitioner = \"time\"\npartition_duration_ms = 3600000\npath_format = \"'dt'=yyyy-MM-dd/'hour'=HH\"\n\
             timezone = \"Asia/Seoul\"\nlocale = \"ko-KR\"",
        )
        .await;
    assert_eq!(report.records_written, 12);
    let h09 = "bronze/viral/events/dt=2024-08-21/hour=09";
    let h10 = "bronze/viral/events/dt=2024-08-21/hour=10";
    let want = expected(&[
        (
            &format!("{h09}/events+0+0000000000.json"),
            &[r#"{"id":"a"}"#, r#"{"id":"b"}"#, r#"{"id":"c"}"#],
        ),
        (
            &format!("{h09}/events+0+0000000003.json"),
            &[
                r#"{"id":"d"}"#,
                r#"{"id":"e"}"#,
                r#"{"id":"f"}"#,
                r#"{"id":"g"}"#,
            ],
        ),
        (
            &format!("{h09}/events+0+0000000007.json"),
            &[r#"{"id":"h"}"#],
        ),
        (
            &format!("{h10}/events+0+0000000008.json"),
            &[r#"{"id":"i"}"#],
        ),
        (
            &format!("{h09}/events+0+0000000009.json"),
            &[r#"{"id":"j"}"#],
        ),
        (
            &format!("{h10}/events+0+0000000010.json"),
            &[r#"{"id":"k"}"#, r#"{"id":"l"}"#],
        ),
    ]);
    assert_eq!(f.objects("bronze").await, want);
}

/// Field partitioner on schemaless JSON (dotted path): one batch holds a
/// file per encoded partition, all closing together after `flush.size`
/// records of the Kafka partition.
#[tokio::test]
async fn field_partitioner_batches() {
    let f = Fixture::new("field-part");
    let brands = ["A", "B", "A", "B", "B", "C", "A"];
    for (i, b) in brands.iter().enumerate() {
        f.produce(
            "brands",
            "k",
            &format!("{{\"shop\":{{\"brand\":\"{b}\"}},\"i\":{i}}}"),
            T0,
        )
        .await;
    }
    f.run_once("topics = [\"brands\"]\nflush_size = 3\npartitioner = \"field\"\npartition_fields = [\"shop.brand\"]")
        .await;
    let want = expected(&[
        (
            "topics/brands/shop.brand=A/brands+0+0000000000.json",
            &[
                r#"{"shop":{"brand":"A"},"i":0}"#,
                r#"{"shop":{"brand":"A"},"i":2}"#,
            ],
        ),
        (
            "topics/brands/shop.brand=B/brands+0+0000000001.json",
            &[r#"{"shop":{"brand":"B"},"i":1}"#],
        ),
        (
            "topics/brands/shop.brand=B/brands+0+0000000003.json",
            &[
                r#"{"shop":{"brand":"B"},"i":3}"#,
                r#"{"shop":{"brand":"B"},"i":4}"#,
            ],
        ),
        (
            "topics/brands/shop.brand=C/brands+0+0000000005.json",
            &[r#"{"shop":{"brand":"C"},"i":5}"#],
        ),
        (
            "topics/brands/shop.brand=A/brands+0+0000000006.json",
            &[r#"{"shop":{"brand":"A"},"i":6}"#],
        ),
    ]);
    assert_eq!(f.objects("topics").await, want);
}

/// Bad records: with `errors.tolerance = all` they go to the dead-letter
/// topic with Connect's context headers and are skipped; nulls by
/// `behavior.on.null.values`; with `none` the sink stops at the first one.
#[tokio::test]
async fn dead_letters_and_nulls() {
    let f = Fixture::new("dead-letters");
    f.produce("t", "k", r#"{"brand":"A"}"#, T0).await; // o0
    f.produce("t", "k", "not json", T0).await; // o1 parse error
    f.produce("t", "k", r#"{"other":1}"#, T0).await; // o2 no partition field
    f.produce("t", "k", "", T0).await; // o3 null (ignored)
    f.produce("t", "k", r#"{"brand":"B"}"#, T0).await; // o4
    let report = f
        .run_once(
            "topics = [\"t\"]\npartitioner = \"field\"\npartition_fields = [\"brand\"]\n\
             errors_tolerance = \"all\"\ndead_letter_topic = \"t.dlq\"\nbehavior_on_null_values = \"ignore\"",
        )
        .await;
    assert_eq!(
        (
            report.dead_letters,
            report.nulls_skipped,
            report.records_written
        ),
        (2, 1, 2)
    );
    assert_eq!(
        f.objects("topics").await,
        expected(&[
            (
                "topics/t/brand=A/t+0+0000000000.json",
                &[r#"{"brand":"A"}"#]
            ),
            (
                "topics/t/brand=B/t+0+0000000004.json",
                &[r#"{"brand":"B"}"#]
            ),
        ])
    );
    let dlq = f.bus.fetch("t.dlq", 0, 0, 10).await.unwrap();
    assert_eq!(dlq.len(), 2);
    let header = |r: &crawlhost::bus::ConsumedRecord, name: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    };
    assert_eq!(dlq[0].value, b"not json");
    assert_eq!(dlq[0].key.as_deref(), Some(&b"k"[..]));
    assert_eq!(header(&dlq[0], "origin").as_deref(), Some("test"));
    assert_eq!(
        header(&dlq[0], "__connect.errors.topic").as_deref(),
        Some("t")
    );
    assert_eq!(
        header(&dlq[0], "__connect.errors.partition").as_deref(),
        Some("0")
    );
    assert_eq!(
        header(&dlq[0], "__connect.errors.offset").as_deref(),
        Some("1")
    );
    assert_eq!(
        header(&dlq[0], "__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        header(&dlq[1], "__connect.errors.offset").as_deref(),
        Some("2")
    );
    assert_eq!(
        header(&dlq[1], "__connect.errors.stage").as_deref(),
        Some("TASK_PUT")
    );
    assert!(
        header(&dlq[1], "__connect.errors.exception.message")
            .unwrap()
            .contains("brand")
    );
    assert_eq!(
        f.bus.committed("crawlhost-sink", "t", 0).await.unwrap(),
        Some(5)
    );

    // `none` stops at the first bad record and commits nothing past it.
    let g = Fixture::new("tolerance-none");
    g.produce("t", "k", r#"{"a":1}"#, T0).await;
    g.produce("t", "k", "null", T0).await;
    g.produce("t", "k", r#"{"a":2}"#, T0).await;
    let bus: Arc<dyn Bus> = g.bus.clone();
    let mut sink = Sink::new(
        g.config("topics = [\"t\"]\nflush_size = 1"),
        bus,
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let err = sink
        .run(RunMode::Once, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t/0 offset 1") && err.contains("null value"),
        "{err}"
    );
    assert_eq!(
        g.bus.committed("crawlhost-sink", "t", 0).await.unwrap(),
        Some(1)
    );
    assert_eq!(g.objects("topics").await.len(), 1);

    // `write` writes the null as a line.
    let h = Fixture::new("null-write");
    h.produce("t", "k", "", T0).await;
    h.produce("t", "k", "1", T0).await;
    h.run_once("topics = [\"t\"]\nbehavior_on_null_values = \"write\"")
        .await;
    assert_eq!(
        h.objects("topics").await,
        expected(&[("topics/t/partition=0/t+0+0000000000.json", &["null", "1"])])
    );
}

/// gzip, zstd and Parquet files decode to the records, under Connect's
/// extensions.
#[tokio::test]
async fn encodings() {
    let f = Fixture::new("encodings");
    for i in 0..5 {
        let price = if i == 3 {
            "12.5".to_string()
        } else {
            (1000 * i).to_string()
        };
        f.produce(
            "p",
            "k",
            &format!("{{\"id\":{i},\"price\":{price},\"tags\":[\"x\"]}}"),
            T0,
        )
        .await;
    }
    let store = f.moto.client(&f.bucket);
    for (compression, dir) in [("gzip", "gz"), ("zstd", "zst")] {
        f.run_once(&format!(
            "topics = [\"p\"]\ngroup = \"g-{dir}\"\ntopics_dir = \"{dir}\"\ncompression = \"{compression}\"\nflush_size = 10"
        ))
        .await;
        let objects = read_all(&store, dir).await;
        let (key, bytes) = objects.iter().next().unwrap();
        assert_eq!(objects.len(), 1);
        let text = if compression == "gzip" {
            assert_eq!(key, "gz/p/partition=0/p+0+0000000000.json.gz");
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .unwrap();
            s
        } else {
            assert_eq!(key, "zst/p/partition=0/p+0+0000000000.json.zst");
            String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap()
        };
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.starts_with("{\"id\":0,\"price\":0,\"tags\":[\"x\"]}\n"),
            "{text}"
        );
    }
    f.run_once("topics = [\"p\"]\ngroup = \"g-pq\"\ntopics_dir = \"pq\"\nformat = \"parquet\"\nflush_size = 10")
        .await;
    let objects = read_all(&store, "pq").await;
    let (key, bytes) = objects.iter().next().unwrap();
    assert_eq!(key, "pq/p/partition=0/p+0+0000000000.snappy.parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes.clone()),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 5);
    let schema = batches[0].schema();
    // price widened from int64 to double by the 12.5; tags kept as JSON text.
    assert_eq!(
        schema.field_with_name("price").unwrap().data_type(),
        &arrow_schema::DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("id").unwrap().data_type(),
        &arrow_schema::DataType::Int64
    );
    assert_eq!(
        schema.field_with_name("tags").unwrap().data_type(),
        &arrow_schema::DataType::Utf8
    );
}

/// rotate.interval.ms is record time: a topic that goes quiet never reaches
/// it in Connect. Here the idle flush gets the last file out within the
/// interval of wall clock.
#[tokio::test]
async fn idle_topic_gets_its_last_file_within_the_interval() {
    let f = Fixture::new("idle-flush");
    let interval_ms = 2000;
    let settings = f.config(&format!(
        "topics = [\"quiet\"]\nflush_size = 1000\npartitioner = \"hourly\"\nrotate_interval_ms = {interval_ms}\npoll_interval_ms = 50"
    ));
    // The topic exists before the sink starts: otherwise the sink's first
    // topic listing can run before the first produce creates it, and the
    // partition is only found at the next listing (5 s later), which this
    // test would time as a late idle flush.
    f.bus.ensure_topic("quiet", 1).await.unwrap();
    let bus: Arc<dyn Bus> = f.bus.clone();
    let mut sink = Sink::new(settings, bus, Arc::new(SystemClock))
        .await
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        sink.run(RunMode::Forever, async {
            let _ = stop_rx.await;
        })
        .await
    });
    for i in 0..3 {
        f.produce("quiet", "k", &format!("{{\"i\":{i}}}"), T0 + i)
            .await;
    }
    let last_record = Instant::now();
    let store = f.moto.client(&f.bucket);
    // The records are 2 ms apart in record time: no record-time rotation
    // can close this batch; only the idle flush can.
    wait_for(
        "the idle flush",
        Duration::from_millis(interval_ms as u64 + 3000),
        || {
            let store = store.clone();
            async move { !read_all(&store, "topics").await.is_empty() }
        },
    )
    .await;
    let waited = last_record.elapsed();
    let objects = f.objects("topics").await;
    assert_eq!(
        objects,
        expected(&[(
            "topics/quiet/year=2024/month=08/day=21/hour=00/quiet+0+0000000000.json",
            &[r#"{"i":0}"#, r#"{"i":1}"#, r#"{"i":2}"#]
        )])
    );
    assert_eq!(
        f.bus.committed("crawlhost-sink", "quiet", 0).await.unwrap(),
        Some(3)
    );
    eprintln!(
        "idle flush: last file visible {waited:?} after the last record (interval {interval_ms} ms)"
    );
    let _ = stop_tx.send(());
    let report = task.await.unwrap().unwrap();
    assert!(report.interrupted);
}

/// `crawlhost sink --connect-config FILE.json --once`: a Connect config used
/// unchanged, unknown properties listed as ignored.
#[tokio::test]
async fn cli_runs_a_connect_config() {
    let f = Fixture::new("connect-cli");
    for i in 0..3 {
        f.produce(
            "oliveyoung",
            &format!("brand{i}"),
            &format!("{{\"brand\":\"b{i}\"}}"),
            T0 + i * 1000,
        )
        .await;
    }
    let connect = serde_json::json!({
        "name": "viral-s3-sink",
        "config": {
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "tasks.max": "1",
            "topics": "oliveyoung",
            "topics.dir": "bronze/viral",
            "s3.bucket.name": f.bucket,
            "s3.region": "us-east-1",
            "store.url": f.moto.endpoint,
            "aws.access.key.id": "test",
            "aws.secret.access.key": "test",
            "flush.size": "2",
            "rotate.interval.ms": "60000",
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "partition.duration.ms": "86400000",
            "path.format": "yyyy-MM-dd",
            "locale": "ko-KR",
            "timezone": "Asia/Seoul",
            "timestamp.extractor": "Record",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter"
        }
    });
    let connect_path = f.dir.join("connector.json");
    std::fs::write(
        &connect_path,
        serde_json::to_string_pretty(&connect).unwrap(),
    )
    .unwrap();
    let toml_path = f.dir.join("crawlhost.toml");
    std::fs::write(
        &toml_path,
        format!("[host]\ndata_dir = \"{}\"\n", f.dir.display()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args([
            "--config",
            toml_path.to_str().unwrap(),
            "sink",
            "--once",
            "--connect-config",
        ])
        .arg(&connect_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ignored connector properties (not used by crawlhost): connector.class, tasks.max, value.converter"),
        "{stderr}"
    );
    let day = "bronze/viral/oliveyoung/2024-08-21";
    assert_eq!(
        f.objects("bronze").await,
        expected(&[
            (
                &format!("{day}/oliveyoung+0+0000000000.json"),
                &[r#"{"brand":"b0"}"#, r#"{"brand":"b1"}"#]
            ),
            (
                &format!("{day}/oliveyoung+0+0000000002.json"),
                &[r#"{"brand":"b2"}"#]
            ),
        ])
    );
    assert_eq!(
        f.bus
            .committed("connect-viral-s3-sink", "oliveyoung", 0)
            .await
            .unwrap(),
        Some(3)
    );

    // An invalid property is refused by name.
    std::fs::write(
        &connect_path,
        r#"{"topics":"t","s3.bucket.name":"b","flush.size":"lots"}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args([
            "--config",
            toml_path.to_str().unwrap(),
            "sink",
            "--once",
            "--connect-config",
        ])
        .arg(&connect_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("flush.size"), "{stderr}");
}

/// The embedded default: a local directory in the same layout.
#[tokio::test]
async fn local_directory_store() {
    let tmp = tempfile::tempdir().unwrap();
    let bus = Arc::new(EmbeddedBus::open(&tmp.path().join("bus.db"), 1).unwrap());
    for i in 0..3 {
        bus.produce(vec![ProduceRecord {
            topic: "t".into(),
            key: None,
            value: format!("{{\"i\":{i}}}").into_bytes(),
            headers: vec![],
            timestamp_ms: T0,
        }])
        .await
        .unwrap();
    }
    let data = tmp.path().join("data");
    let text = format!(
        "topics = [\"t\"]\nflush_size = 2\n[store]\nkind = \"local\"\npath = \"{}\"\n",
        data.display()
    );
    let settings = toml::from_str::<SinkConfig>(&text)
        .unwrap()
        .validate(tmp.path())
        .unwrap();
    let mut sink = Sink::new(settings, bus, Arc::new(SystemClock))
        .await
        .unwrap();
    sink.run(RunMode::Once, std::future::pending())
        .await
        .unwrap();
    let read = |p: &str| std::fs::read_to_string(data.join(p)).unwrap();
    assert_eq!(
        read("topics/t/partition=0/t+0+0000000000.json"),
        "{\"i\":0}\n{\"i\":1}\n"
    );
    assert_eq!(
        read("topics/t/partition=0/t+0+0000000002.json"),
        "{\"i\":2}\n"
    );
    assert!(
        !Path::new(&data.join("_crawlhost/sink/crawlhost-sink"))
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
    );
}

/// The markers rely on conditional create: on moto a second create of the
/// same key keeps the first object and reports it.
#[tokio::test]
async fn conditional_create_keeps_the_first_object() {
    use crawlhost::sink::store::{S3Target, Store, StoreTarget, UploadLimits, WriteMode};
    let f = Fixture::new("conditional");
    let target = StoreTarget::S3(S3Target {
        bucket: f.bucket.clone(),
        region: Some("us-east-1".into()),
        endpoint: Some(f.moto.endpoint.clone()),
        path_style: true,
        allow_http: true,
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        session_token: None,
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
    });
    let limits = UploadLimits {
        part_size: 5 * 1024 * 1024,
        parts_in_flight: 2,
        retry_backoff: Duration::from_millis(50),
        retry_max_backoff: Duration::from_millis(200),
    };
    let store = Store::open(&target, limits).unwrap();
    assert_eq!(
        store
            .create_small("m/1.json", "first".into())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .create_small("m/1.json", "second".into())
            .await
            .unwrap()
            .as_deref(),
        Some(&b"first"[..])
    );
    // A spooled file larger than one part goes up as a multipart upload;
    // with create-if-absent an existing object is kept.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    let content: Vec<u8> = (0..(11 * 1024 * 1024)).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &content).unwrap();
    store
        .upload_file("big/object", &big, WriteMode::Overwrite)
        .await
        .unwrap();
    std::fs::write(&big, b"other").unwrap();
    store
        .upload_file("big/object", &big, WriteMode::CreateIfAbsent)
        .await
        .unwrap();
    let objects = read_all(&f.moto.client(&f.bucket), "big").await;
    assert_eq!(objects["big/object"], content);
}

/// A marker written by a killed run can land after the next run looked for
/// it. Creating the new batch's marker then finds it (conditional create)
/// and the writer rewinds to finish the earlier batch instead: its cut and
/// files win, and no record ends up in two objects.
#[tokio::test]
async fn late_marker_from_a_killed_run_wins() {
    use crawlhost::sink::marker::{BatchMarker, MARKER_VERSION, MarkerFile};
    use crawlhost::sink::rotation::Reason;
    use crawlhost::sink::store::Store;
    use crawlhost::sink::writer::{Core, PartitionWriter};

    let tmp = tempfile::tempdir().unwrap();
    let bus = Arc::new(EmbeddedBus::open(&tmp.path().join("bus.db"), 1).unwrap());
    for i in 0..5 {
        bus.produce(vec![ProduceRecord {
            topic: "t".into(),
            key: None,
            value: format!("{{\"i\":{i}}}").into_bytes(),
            headers: vec![],
            timestamp_ms: T0,
        }])
        .await
        .unwrap();
    }
    let data = tmp.path().join("data");
    let text = format!(
        "topics = [\"t\"]\n[store]\nkind = \"local\"\npath = \"{}\"\n",
        data.display()
    );
    let settings = toml::from_str::<SinkConfig>(&text)
        .unwrap()
        .validate(tmp.path())
        .unwrap();
    std::fs::create_dir_all(&settings.spool_dir).unwrap();
    let store = Store::open(&settings.store, settings.limits).unwrap();
    let reader = Arc::from(crawlhost::bus::reader::open_reader(bus.clone()).unwrap());
    let core = Core::new(
        settings,
        store.clone(),
        bus.clone(),
        reader,
        Arc::new(SystemClock),
    );
    let mut w = PartitionWriter::open(&core, "t", 0).await.unwrap();
    // Too late for `open`: the killed run's marker (records 0..2 in one file).
    let earlier = BatchMarker {
        version: MARKER_VERSION,
        topic: "t".into(),
        partition: 0,
        start: 0,
        end: 2,
        files: vec![MarkerFile {
            key: "topics/t/partition=0/t+0+0000000000.json".into(),
            encoded: "partition=0".into(),
            start: 0,
            records: 2,
        }],
        runs: vec![],
    };
    store
        .put_small(
            "_crawlhost/sink/crawlhost-sink/t+0+00000000000000000000.json",
            serde_json::to_vec(&earlier).unwrap().into(),
        )
        .await
        .unwrap();
    // This run read all five records and cuts its batch there.
    let feed = |from: u64| {
        let bus = bus.clone();
        async move { bus.fetch("t", 0, from, 100).await.unwrap() }
    };
    for r in feed(0).await {
        w.process(&core, r).await.unwrap();
    }
    w.rotate(&core, Reason::Drain).await.unwrap();
    // It rewound to the earlier batch instead of publishing its own.
    assert_eq!((w.position(), w.committed(), w.replaying()), (0, 0, true));
    for r in feed(0).await {
        if r.offset != w.position() {
            break;
        }
        w.process(&core, r).await.unwrap();
    }
    assert_eq!(w.committed(), 2);
    w.rotate(&core, Reason::Drain).await.unwrap();
    assert_eq!(w.committed(), 5);
    let read = |p: &str| std::fs::read_to_string(data.join(p)).unwrap();
    assert_eq!(
        read("topics/t/partition=0/t+0+0000000000.json"),
        "{\"i\":0}\n{\"i\":1}\n"
    );
    assert_eq!(
        read("topics/t/partition=0/t+0+0000000002.json"),
        "{\"i\":2}\n{\"i\":3}\n{\"i\":4}\n"
    );
    assert_eq!(
        bus.committed("crawlhost-sink", "t", 0).await.unwrap(),
        Some(5)
    );
}

/// Issue 15 item 11 on the embedded bus: it cannot delete a topic, but its
/// file can be replaced (a new data directory, a deleted `bus.db`), which
/// takes the group's offsets with it. The new log's first batch has the
/// keys of the earlier log's objects; the sink stops instead of overwriting
/// them.
#[tokio::test]
async fn a_new_embedded_log_does_not_overwrite_the_earlier_objects() {
    let f = Fixture::new("new-embedded-log");
    for i in 0..4 {
        f.produce("t", "k", &format!("{{\"gen\":1,\"i\":{i}}}"), T0)
            .await;
    }
    let report = f.run_once("topics = [\"t\"]\nflush_size = 2").await;
    assert_eq!(report.records_written, 4);
    let before = f.objects("topics").await;
    assert_eq!(before.len(), 2, "{:?}", before.keys());

    let fresh = tempfile::tempdir().unwrap();
    let bus = Arc::new(EmbeddedBus::open(&fresh.path().join("bus.db"), 1).unwrap());
    bus.produce(vec![ProduceRecord {
        topic: "t".into(),
        key: Some(b"k".to_vec()),
        value: b"{\"gen\":2}".to_vec(),
        headers: vec![],
        timestamp_ms: T0,
    }])
    .await
    .unwrap();
    let bus: Arc<dyn Bus> = bus;
    let mut sink = Sink::new(
        f.config("topics = [\"t\"]\nflush_size = 2"),
        bus,
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    let err = sink
        .run(RunMode::Once, std::future::pending())
        .await
        .expect_err("the sink overwrote the earlier log's objects")
        .to_string();
    assert!(err.contains("t/0"), "{err}");
    assert!(err.contains("t+0+0000000000.json already exists"), "{err}");
    assert!(err.contains("end offset 1"), "{err}");
    assert_eq!(f.objects("topics").await, before);
    // Nothing is left pending: the next start refuses the same way.
    assert!(f.objects("_crawlhost").await.is_empty());
}
