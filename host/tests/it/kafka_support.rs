//! Shared helpers for the Kafka tests: a real tansu broker (SQLite storage,
//! installed by `scripts/install/tansu.sh`) on a free loopback port in a
//! temporary directory, stoppable and restartable on the same port and data;
//! topic creation; a plain rdkafka consumer that reads a whole topic back;
//! and a small HTTP "gate" that paces plugin tasks and records which host
//! (user agent) asked for which task.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::common::free_port;

/// The tansu binary: on PATH or in ~/.cargo/bin.
pub fn tansu_binary() -> PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("tansu");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let path = home.join("bin/tansu");
    assert!(
        path.is_file(),
        "tansu is not installed: run `bash scripts/install/tansu.sh` (make test does)"
    );
    path
}

/// A tansu broker with SQLite storage in its own directory.
pub struct Tansu {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
}

impl Tansu {
    /// Start a broker on a free port and wait until it answers metadata.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Start a broker on `port` (one a test reserved earlier).
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tansu = Self {
            port,
            dir,
            child: Mutex::new(None),
        };
        tansu.launch();
        tansu
    }

    /// `host:port` for `bootstrap_servers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn launch(&self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))
            .unwrap();
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .current_dir(self.dir.path())
            .env_remove("STORAGE_ENGINE")
            .env_remove("LISTENER_URL")
            .env_remove("ADVERTISED_LISTENER_URL")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within 60 s; log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .create()
            .unwrap();
        loop {
            if consumer
                .fetch_metadata(None, Duration::from_secs(5))
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tansu did not answer metadata; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kill the broker (as a crash or an operator would); the data stays.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The port must really be free before a restart can bind it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Start again on the same port with the same SQLite file.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// The broker's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }

    /// Create a topic (ok if it exists).
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .create()
            .unwrap();
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let results = admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .unwrap();
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err(e) => panic!("cannot create topic {name}: {e:?}"),
            }
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One record as a plain consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: BTreeMap<String, String>,
    pub timestamp_ms: i64,
}

/// Every record of `topic`, partition by partition, read with a plain
/// rdkafka consumer (no group, nothing committed). Blocking.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        // librdkafka wants a group even for assign-only reading; nothing is
        // committed under it.
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len() as i32)
        .unwrap_or(0);
    let mut out = Vec::new();
    for p in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low))
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut next = low;
        while next < high {
            assert!(
                Instant::now() < deadline,
                "reading {topic}/{p}: stuck at {next} of {high}"
            );
            let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m.unwrap();
            if m.partition() != p || m.offset() < next {
                continue;
            }
            next = m.offset() + 1;
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Read {
                partition: p,
                offset: m.offset(),
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                value: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                headers,
                timestamp_ms: m.timestamp().to_millis().unwrap_or(-1),
            });
        }
        let _ = consumer.unassign();
    }
    out
}

/// The `[kafka]` section for a broker, plus extra lines. Consumer groups
/// use eager assignment (`range`): tansu 0.6's incremental rebalancing
/// leaves partitions owned twice or by nobody (issue 20's repro:
/// docs/operations.md, "Scaling out").
pub fn kafka_section(brokers: &str, extra: &str) -> String {
    format!("[kafka]\nbootstrap_servers = \"{brokers}\"\ngroup_assignment = \"range\"\n{extra}\n")
}

/// Copy the echo guest into a plugins directory.
pub fn install_echo(plugins_dir: &Path) {
    std::fs::create_dir_all(plugins_dir).unwrap();
    let wasm = crate::common::wasm("guest_echo");
    std::fs::copy(wasm, plugins_dir.join("echo.wasm")).unwrap();
}

/// Wait for `cond` with a deadline (no sleeps for ordering: this polls a
/// condition).
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the gate decides for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRule {
    /// Answer 200 at once.
    Pass,
    /// Hold the request until `Gate::release` (or forever).
    Hold,
}

#[derive(Default)]
struct GateState {
    /// (user agent, path) of every request answered, in order.
    served: Vec<(String, String)>,
    /// (user agent, path) of requests being held.
    held: Vec<(String, String)>,
    released: bool,
}

/// A tiny HTTP server that answers `GET /task/<key>` and decides per
/// request whether to answer now or hold it.
#[derive(Clone)]
pub struct Gate {
    pub base_url: String,
    state: Arc<Mutex<GateState>>,
    release: Arc<Notify>,
}

type Rule = Arc<dyn Fn(&str, &str, usize) -> GateRule + Send + Sync>;

impl Gate {
    /// Start on a free port; `rule(user_agent, path, served_so_far_for_that_agent)`.
    pub async fn start(
        rule: impl Fn(&str, &str, usize) -> GateRule + Send + Sync + 'static,
    ) -> Gate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gate = Gate {
            base_url: format!("http://{addr}"),
            state: Arc::default(),
            release: Arc::new(Notify::new()),
        };
        let rule: Rule = Arc::new(rule);
        let g = gate.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (g, rule) = (g.clone(), rule.clone());
                tokio::spawn(async move { g.serve(stream, rule).await });
            }
        });
        gate
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream, rule: Rule) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let path = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/")
            .to_string();
        let agent = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("user-agent")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_default();
        // A held request asks the rule again every few milliseconds, so a
        // rule may depend on what the test learns later (a flag it sets);
        // `release` lets everything through.
        let decide = |state: &GateState| {
            let count = state.served.iter().filter(|(a, _)| *a == agent).count();
            if state.released {
                GateRule::Pass
            } else {
                rule(&agent, &path, count)
            }
        };
        let mut holding = false;
        loop {
            let wait = self.release.notified();
            {
                let mut state = self.state.lock().unwrap();
                match decide(&state) {
                    GateRule::Pass => {
                        if holding {
                            state.held.retain(|(a, p)| !(a == &agent && p == &path));
                        }
                        break;
                    }
                    GateRule::Hold if !holding => {
                        state.held.push((agent.clone(), path.clone()));
                        holding = true;
                    }
                    GateRule::Hold => {}
                }
            }
            let _ = tokio::time::timeout(std::time::Duration::from_millis(20), wait).await;
        }
        self.state.lock().unwrap().served.push((agent, path));
        let body = "{\"ok\":true}";
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// Answer every held request and pass everything from now on.
    pub fn release(&self) {
        self.state.lock().unwrap().released = true;
        self.release.notify_waiters();
    }

    /// Requests answered so far by user agent.
    pub fn served_by(&self, agent: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .served
            .iter()
            .filter(|(a, _)| a == agent)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.state.lock().unwrap().served.len()
    }

    /// Requests held right now by user agent.
    pub fn held_by(&self, agent: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .held
            .iter()
            .filter(|(a, _)| a == agent)
            .count()
    }

    /// Requests held right now.
    pub fn held(&self) -> usize {
        self.state.lock().unwrap().held.len()
    }
}

/// Append a transaction commit marker (a control batch) to `topic`'s
/// `partition`, as a broker does when a transactional producer commits.
/// tansu 0.6 does not serve EndTxn to clients, so a real transaction cannot
/// be committed through it; it does store and serve a control batch sent in
/// a plain Produce request (v3), which is what this writes, by hand.
pub fn append_commit_marker(brokers: &str, topic: &str, partition: i32) {
    use std::io::{Read, Write};
    fn crc32c(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    // The control record: key = version 0, type 1 (commit); value =
    // version 0, coordinator epoch 0. Lengths are zigzag varints (< 64).
    let key = [0u8, 0, 0, 1];
    let value = [0u8, 0, 0, 0, 0, 0];
    let mut record = vec![0u8, 0, 0]; // attributes, timestamp delta, offset delta
    record.push((key.len() * 2) as u8);
    record.extend(key);
    record.push((value.len() * 2) as u8);
    record.extend(value);
    record.push(0); // no headers
    let mut body = Vec::new(); // from attributes on: what the CRC covers
    body.extend(0x20i16.to_be_bytes()); // control batch
    body.extend(0i32.to_be_bytes()); // last offset delta
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    body.extend(now.to_be_bytes());
    body.extend(now.to_be_bytes());
    body.extend((-1i64).to_be_bytes()); // producer id
    body.extend((-1i16).to_be_bytes()); // producer epoch
    body.extend((-1i32).to_be_bytes()); // base sequence
    body.extend(1i32.to_be_bytes()); // one record
    body.push((record.len() * 2) as u8);
    body.extend(&record);
    let mut batch = Vec::new();
    batch.extend(0i64.to_be_bytes()); // base offset
    batch.extend(((4 + 1 + 4 + body.len()) as i32).to_be_bytes());
    batch.extend((-1i32).to_be_bytes()); // partition leader epoch
    batch.push(2); // magic
    batch.extend(crc32c(&body).to_be_bytes());
    batch.extend(&body);

    let mut req = Vec::new();
    req.extend(0i16.to_be_bytes()); // Produce
    req.extend(3i16.to_be_bytes()); // v3
    req.extend(7i32.to_be_bytes()); // correlation id
    req.extend((-1i16).to_be_bytes()); // no client id
    req.extend((-1i16).to_be_bytes()); // no transactional id
    req.extend((-1i16).to_be_bytes()); // acks = all
    req.extend(10_000i32.to_be_bytes());
    req.extend(1i32.to_be_bytes());
    req.extend((topic.len() as i16).to_be_bytes());
    req.extend(topic.as_bytes());
    req.extend(1i32.to_be_bytes());
    req.extend(partition.to_be_bytes());
    req.extend((batch.len() as i32).to_be_bytes());
    req.extend(&batch);

    let addr = brokers.split(',').next().unwrap();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(&(req.len() as i32).to_be_bytes()).unwrap();
    conn.write_all(&req).unwrap();
    let mut len = [0u8; 4];
    conn.read_exact(&mut len).unwrap();
    let mut resp = vec![0u8; i32::from_be_bytes(len) as usize];
    conn.read_exact(&mut resp).unwrap();
    // correlation id, topics (1), name, partitions (1), index, error code
    let name_at = 4 + 4 + 2;
    let error_at = name_at + topic.len() + 4 + 4;
    let error = i16::from_be_bytes([resp[error_at], resp[error_at + 1]]);
    assert_eq!(
        error, 0,
        "the broker refused the control batch (error {error})"
    );
}
