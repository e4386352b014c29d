//! Probes of tansu 0.6's consumer-group protocol through librdkafka (rdkafka 0.39).
//!
//! grp setup   <brokers> <topic> <partitions> <msgs_per_partition>
//! grp member  <brokers> <group> <topic> <name> <run_secs> [key=value ...]
//!     A StreamConsumer in <group>; logs every rebalance callback, its assignment,
//!     consumes, store_offset + commit(Sync) every second, logs commit results.
//!     Exits (close -> LeaveGroup) after run_secs (0 = until SIGTERM/SIGINT).
//!     Extra key=value pairs go to the rdkafka config (e.g. debug=cgrp).
//! grp offsets <brokers> <group> <topic> <partitions>
//!     committed_offsets for every partition + fetch_group_list (ListGroups+DescribeGroups).
//! grp rawcommit <brokers> <group> <generation> <member_id> <topic> <partition> <offset>
//!     A hand-written OffsetCommit v2 (any generation / member id), prints the error codes.
//! grp produce <brokers> <topic> <partitions> <msgs_per_partition>

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ts() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let s = d.as_secs() % 86400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        d.subsec_millis()
    )
}

macro_rules! say {
    ($name:expr, $($arg:tt)*) => {
        println!("{} [{}] {}", ts(), $name, format!($($arg)*))
    };
}

fn proto_name(p: rdkafka::consumer::RebalanceProtocol) -> &'static str {
    use rdkafka::consumer::RebalanceProtocol::*;
    match p {
        None => "None",
        Eager => "Eager",
        Cooperative => "Cooperative",
    }
}

fn parts(tpl: &TopicPartitionList) -> String {
    let set: BTreeSet<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
    format!("{:?}", set)
}

struct Ctx {
    name: String,
    assigned: Mutex<BTreeSet<i32>>,
    /// Eager only: the set revoked at the start of the current rebalance.
    last_revoked: Mutex<Option<BTreeSet<i32>>>,
    /// Set when an eager rebalance hands back exactly the set it revoked
    /// (tansu 0.6's stale-assignment bug after a member's session expired).
    suspect: AtomicBool,
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        println!("{} [{}] rdkafka {:?} {} {}", ts(), self.name, level, fac, log_message);
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        println!("{} [{}] rdkafka ERROR {:?}: {}", ts(), self.name, error, reason);
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let proto = proto_name(c.rebalance_protocol());
        match r {
            Rebalance::Assign(tpl) => say!(self.name, "PRE  Assign {} protocol={}", parts(tpl), proto),
            Rebalance::Revoke(tpl) => say!(self.name, "PRE  Revoke {} protocol={} lost={}", parts(tpl), proto, c.assignment_lost()),
            Rebalance::Error(e) => say!(self.name, "PRE  Error {:?}", e),
        }
    }
    fn post_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let now: BTreeSet<i32> = c
            .assignment()
            .map(|t| t.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        *self.assigned.lock().unwrap() = now.clone();
        if matches!(c.rebalance_protocol(), rdkafka::consumer::RebalanceProtocol::Eager) {
            match r {
                Rebalance::Revoke(tpl) => {
                    *self.last_revoked.lock().unwrap() =
                        Some(tpl.elements().iter().map(|e| e.partition()).collect())
                }
                Rebalance::Assign(tpl) => {
                    let got: BTreeSet<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                    if let Some(prev) = self.last_revoked.lock().unwrap().take() {
                        if prev == got && !got.is_empty() {
                            self.suspect.store(true, Ordering::SeqCst);
                        }
                    }
                }
                _ => {}
            }
        }
        let what = match r {
            Rebalance::Assign(tpl) => format!("Assign {}", parts(tpl)),
            Rebalance::Revoke(tpl) => format!("Revoke {}", parts(tpl)),
            Rebalance::Error(e) => format!("Error {:?}", e),
        };
        let gm = c
            .group_metadata()
            .map(|_| "have".to_string())
            .unwrap_or_default();
        let _ = gm;
        say!(self.name, "POST {} -> assignment now {:?} (n={})", what, now, now.len());
    }
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if result.is_err() {
            say!(self.name, "commit_callback {:?} for {:?}", result, offsets);
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("setup") => setup(&args[2], &args[3], args[4].parse().unwrap(), args[5].parse().unwrap(), true).await,
        Some("produce") => setup(&args[2], &args[3], args[4].parse().unwrap(), args[5].parse().unwrap(), false).await,
        Some("member") => member(&args[2], &args[3], &args[4], &args[5], args[6].parse().unwrap(), &args[7..]).await,
        Some("offsets") => offsets(&args[2], &args[3], &args[4], args[5].parse().unwrap()),
        Some("rawlist") => rawlist(&args[2], args.get(3).map(String::as_str)).await,
        Some("rawcommit") => rawcommit(&args[2], &args[3], args[4].parse().unwrap(), &args[5], &args[6], args[7].parse().unwrap(), args[8].parse().unwrap()).await,
        _ => eprintln!("usage: see src/main.rs"),
    }
}

async fn setup(brokers: &str, topic: &str, partitions: i32, per: usize, create: bool) {
    if create {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .create()
            .unwrap();
        let t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let r = admin.create_topics([&t], &AdminOptions::new()).await.unwrap();
        println!("create_topics: {:?}", r);
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let mut futs = vec![];
    for p in 0..partitions {
        for i in 0..per {
            let payload = format!("p{p}-m{i}");
            futs.push(producer.send_result(
                FutureRecord::<(), _>::to(topic).partition(p).payload(&payload),
            ).map_err(|_| ()).unwrap());
        }
    }
    let mut ok = 0;
    for f in futs {
        if let Ok(Ok(_)) = f.await {
            ok += 1
        }
    }
    println!("produced {ok} records to {topic}");
}

async fn member(brokers: &str, group: &str, topic: &str, name: &str, run_secs: u64, extra: &[String]) {
    let started = Instant::now();
    let mut cfg = ClientConfig::new();
    // Without this the rdkafka crate drops librdkafka's debug logs (no `log` logger installed).
    cfg.set_log_level(RDKafkaLogLevel::Debug);
    cfg.set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("client.id", name)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1000");
    for kv in extra {
        let (k, v) = kv.split_once('=').expect("key=value");
        if v == "-" {
            cfg.remove(k); // key=- drops one of the defaults above
        } else {
            cfg.set(k, v);
        }
    }
    say!(name, "config: {:?}", extra);
    let ctx = Ctx {
        name: name.to_string(),
        assigned: Mutex::new(BTreeSet::new()),
        last_revoked: Mutex::new(None),
        suspect: AtomicBool::new(false),
    };
    // HEAL=1: when an eager rebalance hands back exactly the revoked set, leave and
    // rejoin (unsubscribe + subscribe) so tansu starts a real new generation.
    let heal = std::env::var("HEAL").is_ok_and(|v| v == "1");
    let mut last_heal: Option<Instant> = None;
    let consumer: StreamConsumer<Ctx> = match cfg.create_with_context(ctx) {
        Ok(c) => c,
        Err(e) => {
            say!(name, "CREATE FAILED: {e}");
            return;
        }
    };
    if let Err(e) = consumer.subscribe(&[topic]) {
        say!(name, "SUBSCRIBE FAILED: {e}");
        return;
    }
    say!(name, "subscribed; protocol={}", proto_name(consumer.rebalance_protocol()));
    let consumer = Arc::new(consumer);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            stop.store(true, Ordering::SeqCst);
        });
    }
    let mut stream = consumer.stream();
    let mut count_by_part = std::collections::BTreeMap::<i32, usize>::new();
    let mut first_msg: Option<Duration> = None;
    let mut last_commit = Instant::now();
    let mut pending = false;
    loop {
        if stop.load(Ordering::SeqCst) || (run_secs > 0 && started.elapsed() > Duration::from_secs(run_secs)) {
            break;
        }
        // REJOIN_FILE=path: when that file appears, delete it and leave + rejoin
        // (what an external "stuck partition" watchdog would ask a member to do).
        if let Ok(f) = std::env::var("REJOIN_FILE") {
            if std::fs::remove_file(&f).is_ok() {
                say!(name, "REJOIN requested: unsubscribe + subscribe");
                consumer.unsubscribe();
                if let Err(e) = consumer.subscribe(&[topic]) {
                    say!(name, "resubscribe failed: {e}");
                }
            }
        }
        if heal && consumer.context().suspect.swap(false, Ordering::SeqCst) {
            if last_heal.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                last_heal = Some(Instant::now());
                say!(name, "HEAL: rebalance returned the same partitions; unsubscribe + subscribe");
                consumer.unsubscribe();
                if let Err(e) = consumer.subscribe(&[topic]) {
                    say!(name, "HEAL resubscribe failed: {e}");
                }
            } else {
                say!(name, "HEAL suppressed (rate limit)");
            }
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Ok(Some(Ok(m))) => {
                if first_msg.is_none() {
                    first_msg = Some(started.elapsed());
                    say!(name, "first message after {:?} (p{} o{})", started.elapsed(), m.partition(), m.offset());
                }
                *count_by_part.entry(m.partition()).or_default() += 1;
                say!(name, "MSG p{} o{}", m.partition(), m.offset());
                // NB: rd_kafka_offset_store commits offset + 1 itself: pass the message's own
                // offset (store_offset(t, p, m.offset()) would do the same).
                if let Err(e) = consumer.store_offset_from_message(&m) {
                    say!(name, "store_offset p{} failed: {e}", m.partition());
                }
                pending = true;
            }
            Ok(Some(Err(e))) => say!(name, "stream error: {e}"),
            Ok(None) => break,
            Err(_) => {}
        }
        if pending && last_commit.elapsed() > Duration::from_secs(1) {
            last_commit = Instant::now();
            pending = false;
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => say!(name, "commit ok; consumed so far {:?}", count_by_part),
                Err(e) => say!(name, "COMMIT FAILED: {e}"),
            }
        }
    }
    if pending {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => say!(name, "final commit ok"),
            Err(e) => say!(name, "FINAL COMMIT FAILED: {e}"),
        }
    }
    say!(name, "exiting; consumed {:?}; closing (LeaveGroup)", count_by_part);
    drop(stream);
    let c = Arc::try_unwrap(consumer).ok().expect("sole owner");
    let t = Instant::now();
    drop(c);
    say!(name, "closed in {:?}", t.elapsed());
}

fn offsets(brokers: &str, group: &str, topic: &str, partitions: i32) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let t = Instant::now();
    match c.committed_offsets(tpl, Duration::from_secs(10)) {
        Ok(tpl) => {
            let v: Vec<String> = tpl
                .elements()
                .iter()
                .map(|e| {
                    let o = match e.offset() {
                        Offset::Offset(o) => o.to_string(),
                        other => format!("{other:?}"),
                    };
                    let err = e.error().err().map(|e| format!("!{e}")).unwrap_or_default();
                    format!("p{}={}{}", e.partition(), o, err)
                })
                .collect();
            println!("committed ({:?}): {}", t.elapsed(), v.join(" "));
        }
        Err(e) => println!("committed_offsets FAILED: {e}"),
    }
    for p in 0..partitions {
        if let Ok((lo, hi)) = c.fetch_watermarks(topic, p, Duration::from_secs(5)) {
            print!("p{p}:[{lo},{hi}) ");
        }
    }
    println!();
    for g in [None, Some(group)] {
        match c.fetch_group_list(g, Duration::from_secs(10)) {
            Ok(list) => {
                println!("fetch_group_list({g:?}): {} groups", list.groups().len());
                for grp in list.groups() {
                    println!(
                        "  group={} state={} protocol_type={} protocol={} members={}",
                        grp.name(),
                        grp.state(),
                        grp.protocol_type(),
                        grp.protocol(),
                        grp.members().len()
                    );
                    for m in grp.members() {
                        println!(
                            "    member id={} client_id={} host={} metadata={}B assignment={}B",
                            m.id(),
                            m.client_id(),
                            m.client_host(),
                            m.metadata().map(|b| b.len()).unwrap_or(0),
                            m.assignment().map(|b| b.len()).unwrap_or(0)
                        );
                    }
                }
            }
            Err(e) => println!("fetch_group_list({g:?}) FAILED: {e}"),
        }
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i16).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

async fn rawcommit(brokers: &str, group: &str, generation: i32, member: &str, topic: &str, partition: i32, offset: i64) {
    // OffsetCommit v2 (non-flexible): header v1 + body.
    let mut b = Vec::new();
    b.extend_from_slice(&8i16.to_be_bytes()); // api key OffsetCommit
    b.extend_from_slice(&2i16.to_be_bytes()); // version
    b.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    put_str(&mut b, "rawcommit");
    put_str(&mut b, group);
    b.extend_from_slice(&generation.to_be_bytes());
    put_str(&mut b, member);
    b.extend_from_slice(&(-1i64).to_be_bytes()); // retention
    b.extend_from_slice(&1i32.to_be_bytes()); // topics
    put_str(&mut b, topic);
    b.extend_from_slice(&1i32.to_be_bytes()); // partitions
    b.extend_from_slice(&partition.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    put_str(&mut b, "raw"); // metadata
    let mut s = tokio::net::TcpStream::connect(brokers).await.unwrap();
    s.write_all(&(b.len() as i32).to_be_bytes()).await.unwrap();
    s.write_all(&b).await.unwrap();
    let n = s.read_i32().await.unwrap() as usize;
    let mut r = vec![0u8; n];
    s.read_exact(&mut r).await.unwrap();
    // corr(4) topics(4) name(2+len) parts(4) [partition(4) error(2)]
    let mut i = 4;
    let nt = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
    i += 4;
    for _ in 0..nt {
        let l = i16::from_be_bytes(r[i..i + 2].try_into().unwrap()) as usize;
        let name = String::from_utf8_lossy(&r[i + 2..i + 2 + l]).to_string();
        i += 2 + l;
        let np = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
        i += 4;
        for _ in 0..np {
            let p = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
            let e = i16::from_be_bytes(r[i + 4..i + 6].try_into().unwrap());
            i += 6;
            println!(
                "rawcommit group={group} generation={generation} member={member:?} {name}/{p}@{offset} -> error_code={e}{}",
                match e { 0 => " (NONE)", 22 => " (ILLEGAL_GENERATION)", 25 => " (UNKNOWN_MEMBER_ID)", 27 => " (REBALANCE_IN_PROGRESS)", _ => "" }
            );
        }
    }
}

async fn roundtrip(brokers: &str, api_key: i16, version: i16, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::new();
    b.extend_from_slice(&api_key.to_be_bytes());
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&9i32.to_be_bytes());
    put_str(&mut b, "raw");
    b.extend_from_slice(body);
    let mut s = tokio::net::TcpStream::connect(brokers).await?;
    s.write_all(&(b.len() as i32).to_be_bytes()).await?;
    s.write_all(&b).await?;
    let n = s.read_i32().await? as usize;
    let mut r = vec![0u8; n];
    s.read_exact(&mut r).await?;
    Ok(r)
}

fn get_str(r: &[u8], i: &mut usize) -> String {
    let l = i16::from_be_bytes(r[*i..*i + 2].try_into().unwrap());
    *i += 2;
    if l < 0 {
        return "<null>".into();
    }
    let s = String::from_utf8_lossy(&r[*i..*i + l as usize]).to_string();
    *i += l as usize;
    s
}

/// ListGroups v0 and, if a group is named, DescribeGroups v0 for it (raw).
async fn rawlist(brokers: &str, group: Option<&str>) {
    match roundtrip(brokers, 16, 0, &[]).await {
        Ok(r) => {
            let mut i = 4;
            let err = i16::from_be_bytes(r[i..i + 2].try_into().unwrap());
            i += 2;
            let n = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
            i += 4;
            print!("ListGroups v0: error_code={err} groups={n}:");
            for _ in 0..n {
                let g = get_str(&r, &mut i);
                let pt = get_str(&r, &mut i);
                print!(" {g}({pt})");
            }
            println!();
        }
        Err(e) => println!("ListGroups v0 FAILED: {e}"),
    }
    if let Some(g) = group {
        let mut body = Vec::new();
        body.extend_from_slice(&1i32.to_be_bytes());
        put_str(&mut body, g);
        match roundtrip(brokers, 15, 0, &body).await {
            Ok(r) => {
                let mut i = 4;
                let n = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
                i += 4;
                for _ in 0..n {
                    let err = i16::from_be_bytes(r[i..i + 2].try_into().unwrap());
                    i += 2;
                    let gid = get_str(&r, &mut i);
                    let state = get_str(&r, &mut i);
                    let pt = get_str(&r, &mut i);
                    let proto = get_str(&r, &mut i);
                    let nm = i32::from_be_bytes(r[i..i + 4].try_into().unwrap());
                    println!("DescribeGroups v0: {gid} error_code={err} state={state} protocol_type={pt} protocol={proto} members={nm}");
                }
            }
            Err(e) => println!("DescribeGroups v0 FAILED (connection dropped?): {e}"),
        }
    }
}
