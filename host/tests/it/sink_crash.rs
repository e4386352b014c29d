//! Exactly once through crashes: two `crawlhost sink` processes (two groups,
//! different rotation modes) are SIGKILLed at random moments, again and
//! again, while a 100k-record stream is produced; afterwards every record is
//! in S3 (moto) exactly once for each group, every object's name matches its
//! first record's offset, and the committed offsets are at the end. Once
//! over the embedded bus, once over Kafka (tansu), where the sinks read
//! through the stream reader (`bus::kafka::stream`) and commit in Kafka.

use crate::kafka_support;
use crate::sink_support;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::bus::embedded::EmbeddedBus;
use crawlhost::bus::kafka::{KafkaBus, KafkaConfig};
use crawlhost::bus::partition::partition_for;
use crawlhost::bus::{Bus, ProduceRecord};
use sink_support::{Moto, read_all};

const RECORDS: u64 = 100_000;
const PARTITIONS: u32 = 4;
const KILLS_PER_SINK: usize = 12;
const T0: i64 = 1_724_198_400_000;

/// A small deterministic generator (seed printed for reproduction).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn write_config(
    dir: &Path,
    name: &str,
    moto: &Moto,
    bucket: &str,
    sink: &str,
    kafka: &str,
) -> PathBuf {
    write_config_in(dir, name, name, moto, bucket, sink, kafka)
}

/// [`write_config`] for config file `file` with sink group `name`.
fn write_config_in(
    dir: &Path,
    file: &str,
    name: &str,
    moto: &Moto,
    bucket: &str,
    sink: &str,
    kafka: &str,
) -> PathBuf {
    let path = dir.join(format!("{file}.toml"));
    let text = format!(
        "[host]\ndata_dir = \"{data}\"\nplugins_dir = \"{data}/plugins\"\n[bus]\npartitions = {PARTITIONS}\n\
         {kafka}\n[sink]\ntopics = [\"stream\"]\ngroup = \"{name}\"\npoll_interval_ms = 20\nretry_backoff_ms = 50\n\
         retry_max_backoff_ms = 500\n{sink}\n{store}",
        data = dir.display(),
        store = moto.store_toml(bucket),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn_sink(config: &Path, log: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--log",
            "crawlhost=info",
            "sink",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

/// Kill the sink `kills` times at random moments, then run it with `--once`
/// after the producer is done.
fn kill_loop(
    config: PathBuf,
    log: PathBuf,
    seed: u64,
    producer_done: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut rng = XorShift(seed);
    for _ in 0..KILLS_PER_SINK {
        let mut child = spawn_sink(&config, &log, &[]);
        std::thread::sleep(Duration::from_millis(150 + rng.below(1200)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while !producer_done.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the producer did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut last = spawn_sink(&config, &log, &["--once"]);
    loop {
        if let Some(status) = last.try_wait().unwrap() {
            assert!(
                status.success(),
                "final sink run failed; see {}",
                log.display()
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = last.kill();
            panic!("final sink run did not finish; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every record exactly once under `prefix`; object names match offsets.
async fn verify(bus: &dyn Bus, store: &Arc<dyn object_store::ObjectStore>, gzip: bool) -> usize {
    verify_n(bus, store, gzip, RECORDS, PARTITIONS).await
}

/// [`verify`] for `records` records over `partitions` partitions.
async fn verify_n(
    bus: &dyn Bus,
    store: &Arc<dyn object_store::ObjectStore>,
    gzip: bool,
    records: u64,
    partitions: u32,
) -> usize {
    let objects = read_all(store, "topics").await;
    let mut seen: HashMap<u64, String> = HashMap::new();
    for (key, bytes) in &objects {
        let text = if gzip {
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(bytes.clone()).unwrap()
        };
        // topics/stream/<encoded>/stream+<partition>+<offset>.<ext>
        let name = key.rsplit('/').next().unwrap();
        let mut parts = name.split('+');
        assert_eq!(parts.next(), Some("stream"), "{key}");
        let partition: u32 = parts.next().unwrap().parse().unwrap();
        let offset: u64 = parts
            .next()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let mut first = true;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = v["id"].as_u64().unwrap();
            let k = v["k"].as_str().unwrap();
            assert_eq!(
                partition_for(k.as_bytes(), partitions),
                partition,
                "record {id} in {key}"
            );
            if first {
                // The name's offset is the offset of the file's first record.
                let at = bus.fetch("stream", partition, offset, 1).await.unwrap();
                let at: serde_json::Value = serde_json::from_slice(&at[0].value).unwrap();
                assert_eq!(
                    at["id"].as_u64(),
                    Some(id),
                    "{key} does not start at its offset"
                );
                first = false;
            }
            if let Some(other) = seen.insert(id, key.clone()) {
                panic!("record {id} is in {other} and in {key}");
            }
        }
    }
    for id in 0..records {
        assert!(seen.contains_key(&id), "record {id} is missing");
    }
    assert_eq!(seen.len() as u64, records);
    objects.len()
}

#[test]
fn kill_nine_loop_every_record_exactly_once() {
    let _cpu = crate::cpu::busy_blocking();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let bus = Arc::new(EmbeddedBus::open(&dir.join("bus.db"), PARTITIONS).unwrap());
    kill_nine_loop(&dir, bus, "");
}

#[test]
fn kill_nine_loop_over_kafka_every_record_exactly_once() {
    let _cpu = crate::cpu::busy_blocking();
    let tansu = kafka_support::Tansu::start();
    let tmp = tempfile::tempdir().unwrap();
    // A short session: a killed sink's partitions go to the next one sooner.
    let kafka = kafka_support::kafka_section(
        &tansu.brokers(),
        "delivery_timeout_ms = 10000\nsession_timeout_ms = 3000",
    );
    let settings = KafkaConfig::for_brokers(&tansu.brokers())
        .check(&|_| None)
        .unwrap();
    let bus = Arc::new(KafkaBus::connect(settings).unwrap());
    kill_nine_loop(tmp.path(), bus, &kafka);
}

/// The scenario of the module docs over `bus`; `kafka` is the sinks'
/// `[kafka]` section (empty: the embedded bus in `dir`).
fn kill_nine_loop(dir: &Path, bus: Arc<dyn Bus>, kafka: &str) {
    let dir = dir.to_path_buf();
    let moto = Moto::start();
    moto.create_bucket("crash-a");
    moto.create_bucket("crash-b");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(bus.ensure_topic("stream", PARTITIONS)).unwrap();

    // Sink A: time buckets on a record field; flush.size, rotate.interval.ms
    // (record time, with bucket changes) and a 1 s wall-clock schedule.
    let a = write_config(
        &dir,
        "sink-a",
        &moto,
        "crash-a",
        "flush_size = 1500\npartitioner = \"time\"\npartition_duration_ms = 60000\n\
         path_format = \"'minute'=yyyyMMddHHmm\"\ntimestamp_extractor = \"record_field\"\ntimestamp_field = \"ts\"\n\
         rotate_interval_ms = 20000\nrotate_schedule_interval_ms = 1000\ntimezone = \"Asia/Seoul\"",
        kafka,
    );
    // Sink B: wall-clock time buckets of one second (encoded partitions
    // depend on when the record is processed), gzip, idle flush.
    let b = write_config(
        &dir,
        "sink-b",
        &moto,
        "crash-b",
        "flush_size = 997\npartitioner = \"time\"\npartition_duration_ms = 1000\npath_format = \"'t'=HHmmss\"\n\
         timestamp_extractor = \"wallclock\"\ncompression = \"gzip\"\nidle_flush_ms = 300",
        kafka,
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill loop seed {seed}");

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let bus = bus.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let batch = 500;
            for start in (0..RECORDS).step_by(batch) {
                let records = (start..start + batch as u64)
                    .map(|id| {
                        let k = format!("k{}", id % 97);
                        ProduceRecord {
                            topic: "stream".into(),
                            key: Some(k.clone().into_bytes()),
                            value: format!(
                                "{{\"id\":{id},\"k\":\"{k}\",\"ts\":{}}}",
                                T0 + id as i64 * 7
                            )
                            .into_bytes(),
                            headers: vec![],
                            timestamp_ms: T0 + id as i64 * 7,
                        }
                    })
                    .collect();
                rt.block_on(bus.produce(records)).unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let loops: Vec<_> = [(a, "a"), (b, "b")]
        .into_iter()
        .enumerate()
        .map(|(i, (config, name))| {
            let log = dir.join(format!("sink-{name}.log"));
            let done = done.clone();
            let seed = seed.wrapping_mul(31 + i as u64) | 1;
            std::thread::spawn(move || kill_loop(config, log, seed, done))
        })
        .collect();
    producer.join().unwrap();
    for l in loops {
        l.join().unwrap();
    }

    for (group, bucket, gzip) in [("sink-a", "crash-a", false), ("sink-b", "crash-b", true)] {
        let objects = rt.block_on(verify(&*bus, &moto.client(bucket), gzip));
        for p in 0..PARTITIONS {
            let end = rt.block_on(bus.end_offset("stream", p)).unwrap();
            assert_eq!(
                rt.block_on(bus.committed(group, "stream", p)).unwrap(),
                Some(end),
                "{group} partition {p}"
            );
        }
        let log = std::fs::read_to_string(dir.join(format!("{group}.log"))).unwrap_or_default();
        eprintln!(
            "{group}: {RECORDS} records exactly once in {objects} objects after {KILLS_PER_SINK} kills; \
             {} batches finished from a marker after a kill",
            log.matches("finishing a batch a previous run was making visible")
                .count()
        );
    }
}

const GROUP_RECORDS: u64 = 200_000;
const GROUP_PARTITIONS: u32 = 12;
const GROUP_SINKS: usize = 3;
const GROUP_KILLS: usize = 20;

/// Issue 20: three `crawlhost sink` processes in one group share a
/// 12-partition topic through a Kafka consumer group (tansu) while 200k
/// records arrive; every few seconds one of them is SIGKILLed and started
/// again, 20 times. Then the three finish with `--once` (each ends when the
/// group has committed the end of every partition). Every record is in S3
/// exactly once, every partition's committed offset is at its end, and the
/// object keys and contents are those a single sink writes alone (flush
/// size rotation: batch boundaries are a function of the records).
#[test]
fn three_sinks_in_one_group_through_twenty_kills_write_what_one_sink_writes() {
    let _cpu = crate::cpu::busy_blocking();
    let tansu = kafka_support::Tansu::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let kafka = kafka_support::kafka_section(
        &tansu.brokers(),
        "delivery_timeout_ms = 10000\nsession_timeout_ms = 3000",
    );
    let settings = KafkaConfig::for_brokers(&tansu.brokers())
        .check(&|_| None)
        .unwrap();
    let bus: Arc<dyn Bus> = Arc::new(KafkaBus::connect(settings).unwrap());
    let moto = Moto::start();
    moto.create_bucket("group");
    moto.create_bucket("alone");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(bus.ensure_topic("stream", GROUP_PARTITIONS))
        .unwrap();
    let sink = "flush_size = 2000";
    // One config per process (same group, same bucket): each has its own
    // data directory, as separate hosts would.
    let configs: Vec<PathBuf> = (0..GROUP_SINKS)
        .map(|i| {
            let d = dir.join(format!("host-{i}"));
            std::fs::create_dir_all(&d).unwrap();
            write_config_in(&d, "sink", "the-group", &moto, "group", sink, &kafka)
        })
        .collect();
    let logs: Vec<PathBuf> = (0..GROUP_SINKS)
        .map(|i| dir.join(format!("sink-{i}.log")))
        .collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("group kill loop seed {seed}");
    let started = Instant::now();

    let producer = {
        let bus = bus.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let batch = 1000;
            for start in (0..GROUP_RECORDS).step_by(batch) {
                let records = (start..start + batch as u64)
                    .map(|id| {
                        let k = format!("k{}", id % 997);
                        ProduceRecord {
                            topic: "stream".into(),
                            key: Some(k.clone().into_bytes()),
                            value: format!("{{\"id\":{id},\"k\":\"{k}\"}}").into_bytes(),
                            headers: vec![],
                            timestamp_ms: T0 + id as i64,
                        }
                    })
                    .collect();
                rt.block_on(bus.produce(records)).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let mut children: Vec<Child> = configs
        .iter()
        .zip(&logs)
        .map(|(c, l)| spawn_sink(c, l, &[]))
        .collect();
    let mut rng = XorShift(seed);
    for _ in 0..GROUP_KILLS {
        std::thread::sleep(Duration::from_millis(1500 + rng.below(2000)));
        let victim = rng.below(GROUP_SINKS as u64) as usize;
        children[victim].kill().unwrap(); // SIGKILL
        children[victim].wait().unwrap();
        children[victim] = spawn_sink(&configs[victim], &logs[victim], &[]);
    }
    producer.join().unwrap();
    let kill_phase = started.elapsed();
    // Stop the three (SIGTERM: open batches are re-read later), then let
    // three `--once` members finish the group's work together.
    for c in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in &mut children {
        c.wait().unwrap();
    }
    let mut finals: Vec<Child> = configs
        .iter()
        .zip(&logs)
        .map(|(c, l)| spawn_sink(c, l, &["--once"]))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    for (i, f) in finals.iter_mut().enumerate() {
        loop {
            if let Some(status) = f.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "final sink {i} failed; see {}",
                    logs[i].display()
                );
                break;
            }
            if Instant::now() > deadline {
                let _ = f.kill();
                panic!("final sink {i} did not finish:\n{}", tail(&logs[i]));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let group_done = started.elapsed();

    let objects = rt.block_on(verify_n(
        &*bus,
        &moto.client("group"),
        false,
        GROUP_RECORDS,
        GROUP_PARTITIONS,
    ));
    for p in 0..GROUP_PARTITIONS {
        let end = rt.block_on(bus.end_offset("stream", p)).unwrap();
        assert_eq!(
            rt.block_on(bus.committed("the-group", "stream", p))
                .unwrap(),
            Some(end),
            "partition {p} is not served to its end"
        );
    }

    // The same records by one sink alone, into another bucket.
    let alone = write_config_in(&dir, "alone", "alone", &moto, "alone", sink, &kafka);
    let log = dir.join("alone.log");
    let status = spawn_sink(&alone, &log, &["--once"]).wait().unwrap();
    assert!(
        status.success(),
        "the single sink failed; see {}",
        log.display()
    );
    let group_objects = rt.block_on(read_all(&moto.client("group"), "topics"));
    let alone_objects = rt.block_on(read_all(&moto.client("alone"), "topics"));
    assert_eq!(
        group_objects.keys().collect::<Vec<_>>(),
        alone_objects.keys().collect::<Vec<_>>(),
        "the group wrote other keys than one sink"
    );
    assert!(group_objects == alone_objects, "same keys, other contents");

    let all_logs: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    eprintln!(
        "{GROUP_RECORDS} records over {GROUP_PARTITIONS} partitions exactly once in {objects} objects, \
         keys equal to one sink's; {GROUP_KILLS} kills over {:.0} s, done after {:.0} s; \
         {} partitions given up, {} batches finished from a marker, {} rejoins for orphaned partitions",
        kill_phase.as_secs_f64(),
        group_done.as_secs_f64(),
        all_logs.matches("sink partition given up").count(),
        all_logs
            .matches("finishing a batch a previous run was making visible")
            .count(),
        all_logs.matches("rejoining the group").count(),
    );
}

/// The last 40 lines of a log, for a failure message (the directory is
/// gone after the test).
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
