//! `kafka-bench`: the Kafka side of the sink benchmark (`bench/sink.py`,
//! `make bench`), with the plain rdkafka client and nothing of crawlhost.
//!
//! - `fill`: produce N product-like JSON records (deterministic from a seed)
//!   round-robin over a topic's partitions, and wait until every one is
//!   acknowledged.
//! - `read`: the raw read rate, the limit for the sink: an assign-only
//!   consumer reads every partition from the beginning to its high
//!   watermark, touching each record's key and value and doing nothing
//!   else (the sink reads the same way since it has its own stream reader,
//!   `host/src/bus/kafka/stream.rs`). `--pattern` reads partition by
//!   partition instead, the way the sink's runner did before: through the
//!   `KafkaBus::fetch` call sequence, or through per-partition queues of one
//!   persistent assignment (alternatives BENCHMARKS.md weighed).
//!
//! Both print one JSON object on stdout (counts, bytes, seconds).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use crawlhost_tests::rng::SplitMix64;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "kafka-bench")]
struct Args {
    /// `host:port` of the broker.
    #[arg(long)]
    brokers: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Produce records to an existing topic.
    Fill {
        #[arg(long)]
        topic: String,
        /// Partitions of the topic (records go round-robin over them).
        #[arg(long)]
        partitions: u32,
        #[arg(long)]
        records: u64,
        /// Pad each value with a description to about this many bytes (0:
        /// the natural size, 300-500 bytes).
        #[arg(long, default_value_t = 0)]
        value_bytes: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Read a topic from the beginning to its end offsets.
    Read {
        #[arg(long)]
        topic: String,
        /// A librdkafka consumer property `KEY=VALUE` (repeatable).
        #[arg(short = 'X', value_name = "KEY=VALUE")]
        property: Vec<String>,
        /// How to read: `stream` (every partition assigned, one queue: the
        /// raw limit), or partition by partition, at most `--max` records
        /// per turn, round-robin like the sink's runner used to: `assign-per-fetch`
        /// (what `KafkaBus::fetch` does: watermarks, assign one
        /// partition, poll, unassign) or `partition-queues` (every
        /// partition assigned once, one librdkafka queue per partition),
        /// `paused-queues` (the same, every partition paused but the one
        /// being read).
        #[arg(long, value_enum, default_value = "stream")]
        pattern: Pattern,
        /// Records per partition turn for the partition-by-partition
        /// patterns.
        #[arg(long, default_value_t = 500)]
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Pattern {
    Stream,
    AssignPerFetch,
    PartitionQueues,
    PausedQueues,
}

const BRANDS: &[&str] = &[
    "라운드랩",
    "토리든",
    "Anua",
    "달바",
    "메디힐",
    "COSRX",
    "구달",
    "닥터지",
    "Beplain",
    "마녀공장",
    "Isntree",
    "롬앤",
];
const KINDS: &[&str] = &[
    "독도 토너",
    "다이브인 저분자 히알루론산 세럼",
    "Heartleaf 77% Soothing Toner",
    "화이트 트러플 퍼스트 스프레이 세럼",
    "마데카소사이드 흔적 패드",
    "Advanced Snail 96 Mucin Power Essence",
    "청귤 비타C 잡티 케어 세럼",
    "레드 블레미쉬 클리어 수딩 크림",
    "쥬시 래스팅 틴트",
    "퓨어 클렌징 오일",
];
const CATEGORIES: &[&str] = &[
    "스킨케어 > 토너/로션/올인원",
    "스킨케어 > 에센스/세럼/앰플",
    "마스크팩 > 패드",
    "메이크업 > 립메이크업",
    "클렌징 > 클렌징오일",
];
const FLAGS: &[&str] = &["세일", "쿠폰", "증정", "오늘드림", "단독"];

/// One product record, shaped like the oliveyoung plugin's.
fn product(rng: &mut SplitMix64, i: u64, pad_to: usize) -> String {
    let goods_no = format!("A{:012}", 100_000_000 + i);
    let brand = BRANDS[rng.below(BRANDS.len() as u64) as usize];
    let kind = KINDS[rng.below(KINDS.len() as u64) as usize];
    let ml = [30, 50, 100, 150, 200, 300, 500][rng.below(7) as usize];
    let price = 8_000 + rng.below(40) * 1_000;
    let sale = price - rng.below(5) * 1_000;
    let flags: Vec<&str> = FLAGS
        .iter()
        .filter(|_| rng.below(3) == 0)
        .copied()
        .collect();
    let mut value = json!({
        "goods_no": goods_no,
        "name": format!("[{brand}] {kind} {ml}ml"),
        "brand": brand,
        "brand_code": format!("A{:06}", rng.below(300)),
        "category": CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize],
        "price": price,
        "sale_price": sale,
        "currency": "KRW",
        "rating": (rng.below(21) as f64) / 10.0 + 3.0,
        "review_count": rng.below(20_000),
        "flags": flags,
        "url": format!("https://www.oliveyoung.co.kr/store/goods/getGoodsDetail.do?goodsNo={goods_no}"),
        "image": format!("https://image.oliveyoung.co.kr/uploads/images/goods/{:02}/{goods_no}.jpg", rng.below(100)),
        "crawled_at": format!("2026-11-25T0{}:{:02}:{:02}Z", rng.below(10), rng.below(60), rng.below(60)),
    });
    let natural = value.to_string().len();
    if pad_to > natural + 20 {
        let words = [
            "촉촉한",
            "hydrating",
            "진정",
            "barrier",
            "산뜻한",
            "daily",
            "저자극",
            "glow",
        ];
        let mut text = String::new();
        while text.len() + natural + 20 < pad_to {
            text.push_str(words[rng.below(words.len() as u64) as usize]);
            text.push(' ');
        }
        value["description"] = json!(text.trim_end());
    }
    value.to_string()
}

fn fill(
    brokers: &str,
    topic: &str,
    partitions: u32,
    records: u64,
    pad_to: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let producer: ThreadedProducer<_> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "false")
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("compression.type", "none")
        .set("message.timeout.ms", "120000")
        .create()
        .context("create the producer")?;
    let mut rng = SplitMix64::derive(seed, 0x5114);
    let started = Instant::now();
    let mut bytes = 0u64;
    for i in 0..records {
        let key = format!("A{:012}", 100_000_000 + i);
        let value = product(&mut rng, i, pad_to);
        bytes += value.len() as u64;
        let partition = (i % partitions as u64) as i32;
        let mut record = BaseRecord::to(topic)
            .key(&key)
            .payload(&value)
            .partition(partition);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) => {
                    if e.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::QueueFull) {
                        bail!("produce: {e}");
                    }
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .context("flush the producer")?;
    let seconds = started.elapsed().as_secs_f64();
    // Every record acknowledged? Compare the end offsets with what was sent.
    let on_broker = end_offsets(brokers, topic)?.values().sum::<i64>();
    if on_broker < records as i64 {
        bail!("only {on_broker} of {records} records reached {topic}");
    }
    println!(
        "{}",
        json!({ "records": records, "value_bytes": bytes, "seconds": seconds, "on_broker": on_broker })
    );
    Ok(())
}

fn reader(brokers: &str, properties: &[String]) -> anyhow::Result<BaseConsumer> {
    let mut config = ClientConfig::new();
    for p in properties {
        let Some((k, v)) = p.split_once('=') else {
            bail!("-X {p}: expected KEY=VALUE");
        };
        config.set(k, v);
    }
    config
        .set("bootstrap.servers", brokers)
        // librdkafka wants a group id even for assign-only reading; nothing
        // is committed under it.
        .set("group.id", "kafka-bench.raw")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .context("create the consumer")
}

fn end_offsets(brokers: &str, topic: &str) -> anyhow::Result<HashMap<i32, i64>> {
    let consumer = reader(brokers, &[])?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .context("metadata")?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        bail!("no topic {topic}");
    };
    let mut out = HashMap::new();
    for p in t.partitions() {
        let (_, high) = consumer
            .fetch_watermarks(topic, p.id(), timeout)
            .context("watermarks")?;
        out.insert(p.id(), high);
    }
    Ok(out)
}

/// What a read counted.
#[derive(Default)]
struct Tally {
    records: u64,
    bytes: u64,
    checksum: u64,
}

impl Tally {
    fn add(&mut self, m: &impl Message) {
        let value = m.payload().unwrap_or_default();
        let key = m.key().unwrap_or_default();
        self.records += 1;
        self.bytes += value.len() as u64;
        // Touch the bytes so the read is not optimised away.
        self.checksum = self
            .checksum
            .wrapping_add(value.first().copied().unwrap_or(0) as u64)
            .wrapping_add(key.len() as u64);
    }
}

/// Partition by partition, `max` records per turn, round-robin, like the
/// sink's runner over `KafkaBus::fetch` before the stream reader (`host/src/bus/kafka.rs`,
/// `read_partition`): watermarks, assign one partition at the position,
/// poll until `max` (or the end), unassign.
fn read_assign_per_fetch(
    brokers: &str,
    topic: &str,
    properties: &[String],
    max: usize,
) -> anyhow::Result<Tally> {
    let consumer = reader(brokers, properties)?;
    let timeout = Duration::from_secs(10);
    let partitions: Vec<i32> = end_offsets(brokers, topic)?.into_keys().collect();
    let mut position: HashMap<i32, i64> = partitions.iter().map(|&p| (p, 0)).collect();
    let mut tally = Tally::default();
    loop {
        let mut any = false;
        for &p in &partitions {
            let (_, high) = consumer.fetch_watermarks(topic, p, timeout)?;
            let start = position[&p];
            if start >= high {
                continue;
            }
            any = true;
            let want = (max as i64).min(high - start);
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, p, Offset::Offset(start))?;
            consumer.assign(&tpl)?;
            let mut got = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while got < want {
                if Instant::now() > deadline {
                    bail!("no records from partition {p} at {start} within 60 s");
                }
                match consumer.poll(Duration::from_millis(200)) {
                    None => {}
                    Some(Err(e)) => bail!("consume: {e}"),
                    Some(Ok(m)) => {
                        if m.partition() != p || m.offset() < start + got {
                            continue;
                        }
                        tally.add(&m);
                        got += 1;
                    }
                }
            }
            consumer.unassign()?;
            *position.get_mut(&p).unwrap() = start + got;
        }
        if !any {
            return Ok(tally);
        }
    }
}

/// Partition by partition, `max` records per turn, round-robin, from one
/// persistent assignment with a librdkafka queue per partition: a reader
/// BENCHMARKS.md weighed for the sink (not taken: prefetch per partition).
fn read_partition_queues(
    brokers: &str,
    topic: &str,
    properties: &[String],
    max: usize,
    paused: bool,
) -> anyhow::Result<Tally> {
    let ends = end_offsets(brokers, topic)?;
    let consumer = std::sync::Arc::new(reader(brokers, properties)?);
    let mut tpl = TopicPartitionList::new();
    for &p in ends.keys() {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    if paused {
        consumer.pause(&tpl)?;
    }
    let mut queues = Vec::new();
    for (&p, &high) in &ends {
        let q = consumer
            .split_partition_queue(topic, p)
            .context("split the partition queue")?;
        queues.push((p, high, 0i64, q));
    }
    let mut tally = Tally::default();
    loop {
        // The consumer's own queue still carries events (errors, stats).
        if let Some(Err(e)) = consumer.poll(Duration::ZERO) {
            bail!("consume: {e}");
        }
        let mut any = false;
        for (p, high, position, q) in &mut queues {
            if *position >= *high {
                continue;
            }
            any = true;
            let mut one = TopicPartitionList::new();
            one.add_partition(topic, *p);
            if paused {
                consumer.resume(&one)?;
            }
            let mut got = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while got < max && *position < *high {
                if Instant::now() > deadline {
                    bail!("no records from partition {p} at {position} within 60 s");
                }
                match q.poll(Duration::from_millis(200)) {
                    None => {
                        let _ = consumer.poll(Duration::ZERO);
                    }
                    Some(Err(e)) => bail!("consume: {e}"),
                    Some(Ok(m)) => {
                        tally.add(&m);
                        *position = m.offset() + 1;
                        got += 1;
                    }
                }
            }
            if paused {
                consumer.pause(&one)?;
            }
        }
        if !any {
            return Ok(tally);
        }
    }
}

fn read(
    brokers: &str,
    topic: &str,
    properties: &[String],
    pattern: Pattern,
    max: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let tally = match pattern {
        Pattern::Stream => read_stream(brokers, topic, properties)?,
        Pattern::AssignPerFetch => read_assign_per_fetch(brokers, topic, properties, max)?,
        Pattern::PartitionQueues => read_partition_queues(brokers, topic, properties, max, false)?,
        Pattern::PausedQueues => read_partition_queues(brokers, topic, properties, max, true)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "records": tally.records, "value_bytes": tally.bytes, "seconds": seconds, "checksum": tally.checksum })
    );
    Ok(())
}

fn read_stream(brokers: &str, topic: &str, properties: &[String]) -> anyhow::Result<Tally> {
    let ends = end_offsets(brokers, topic)?;
    let consumer = reader(brokers, properties)?;
    let mut tpl = TopicPartitionList::new();
    let mut left = 0usize;
    for (&p, &high) in &ends {
        if high > 0 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
            left += 1;
        }
    }
    consumer.assign(&tpl)?;
    let mut tally = Tally::default();
    let mut last_progress = Instant::now();
    while left > 0 {
        match consumer.poll(Duration::from_millis(500)) {
            None => {
                if last_progress.elapsed() > Duration::from_secs(60) {
                    bail!("no records for 60 s with {left} partitions unfinished");
                }
            }
            Some(Err(e)) => bail!("consume: {e}"),
            Some(Ok(m)) => {
                last_progress = Instant::now();
                tally.add(&m);
                if m.offset() + 1 == ends[&m.partition()] {
                    left -= 1;
                }
            }
        }
    }
    Ok(tally)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Command::Fill {
            topic,
            partitions,
            records,
            value_bytes,
            seed,
        } => fill(
            &args.brokers,
            &topic,
            partitions,
            records,
            value_bytes,
            seed,
        ),
        Command::Read {
            topic,
            property,
            pattern,
            max,
        } => read(&args.brokers, &topic, &property, pattern, max),
    }
}
