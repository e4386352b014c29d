//! Scale-out: many hosts share the tasks of one run through Kafka.
//!
//! Roles (one process may play both):
//!
//! - The **coordinator** is the host that runs the run: it calls `plan`,
//!   owns the frontier (dedup, phases, task budget, retries) and the summary,
//!   exactly as a local run does. Instead of crawling a task itself it
//!   publishes an attempt to the tasks topic ([`Dispatcher`], the run loop's
//!   [`RemoteTasks`]) and waits for the outcome on the results topic.
//! - **Workers** ([`run_worker`]) consume the tasks topic in one consumer
//!   group shared by every host (`<group_prefix>.workers`), so Kafka splits
//!   its partitions between them. A worker crawls the task, publishes its
//!   records (acknowledged, as always), publishes the outcome to the
//!   coordinator, and only then commits the task's offset
//!   ([`crate::trigger::OffsetTracker`]: never past an unfinished task).
//!
//! A worker that dies mid-task never committed it: after its session times
//! out (`kafka.session_timeout_ms`) the group rebalances and another worker
//! gets the task again. The coordinator accepts the first outcome of an
//! attempt and ignores late duplicates, so each task counts once in the
//! summary; its records may have been published twice (at-least-once), the
//! set of records is the same.
//!
//! Not covered: the coordinator itself dying. Its run stops; tasks already
//! dispatched finish on the workers. A scheduled run with the journal
//! resumes on the coordinator's next start, like a local run.
//!
//! **Cron ticks fire once across the group** by claiming: every host that
//! wants to fire tick `T` of plugin `P` appends a claim keyed `P@T` to the
//! claims topic (one partition) and reads the partition back; the claim
//! with the lowest offset wins ([`claim`]), the others skip the tick. Kafka
//! orders the partition, so every host reaches the same verdict without a
//! leader election; a host that is late by more than [`CLAIM_WINDOW`]
//! claims is not deduplicated (documented limit).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::bus::kafka::{ClientRole, KafkaSettings, client_config};
use crate::bus::partition::partition_for;
use crate::bus::{Bus, BusError, ProduceRecord};
use crate::contract::{RunInfo, Task};
use crate::engine::LoadedPlugin;
use crate::run::{RemoteTasks, RunContext, TaskOutcome, TaskSpec, execute_task};
use crate::trigger::OffsetTracker;

use crate::time::now_ms;

/// How far back in the claims partition a claim looks for an earlier one.
pub const CLAIM_WINDOW: u64 = 10_000;

/// Errors of the distributed mode.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    #[error("distributed mode needs a [kafka] section in crawlhost.toml")]
    NoKafka,
    #[error("distributed mode: {0}")]
    Bus(#[from] BusError),
    #[error("cannot join the workers group: {0}")]
    Consumer(String),
}

/// One attempt of one task, as published to the tasks topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMessage {
    /// Unique per attempt; the outcome carries it back.
    pub attempt_id: String,
    /// The coordinator's host id; outcomes are keyed by it.
    pub coordinator: String,
    pub plugin: String,
    pub plugin_version: String,
    pub run_id: String,
    pub started_at_ms: i64,
    /// The run's effective plugin configuration. Workers do not run with it:
    /// they use their own and refuse a task whose copy differs
    /// ([`worker_config`]).
    pub config: Vec<(String, String)>,
    pub task: TaskSpec,
    /// After this time (ms since the epoch) the coordinator no longer waits
    /// for this attempt (it dispatched the task again): a worker that reads
    /// it later skips it instead of publishing its records a second time.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

/// The outcome of one attempt, as published to the results topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMessage {
    pub attempt_id: String,
    pub coordinator: String,
    /// The tasks-topic partition the attempt was read from: the coordinator
    /// learns which partitions some worker is consuming.
    #[serde(default)]
    pub partition: Option<i32>,
    /// The worker that ran it.
    pub worker: String,
    pub task_key: String,
    pub outcome: TaskOutcome,
}

/// The checked Kafka settings, or why distributed mode cannot run.
pub fn kafka_settings(ctx: &RunContext) -> Result<KafkaSettings, DistributedError> {
    let kafka = ctx
        .settings
        .kafka
        .as_ref()
        .ok_or(DistributedError::NoKafka)?;
    kafka
        .check(&|name| std::env::var(name).ok())
        .map_err(|e| DistributedError::Bus(BusError::Invalid(e.to_string())))
}

/// A host id: unique per process, readable in logs.
pub fn new_host_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Create the tasks, results and claims topics when missing.
pub async fn ensure_topics(bus: &dyn Bus, k: &KafkaSettings) -> Result<(), BusError> {
    bus.ensure_topic(&k.tasks_topic, k.tasks_partitions).await?;
    bus.ensure_topic(&k.results_topic, k.partitions).await?;
    bus.ensure_topic(&k.claims_topic, 1).await
}

/// Who won a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This host's claim is the first: fire.
    Won,
    /// Another host claimed it first: skip.
    Lost { by: String },
}

/// Pure part of [`claim`]: the winner among the claims read back, in offset
/// order, as (key, host) pairs.
pub fn claim_winner<'a>(
    claims: impl IntoIterator<Item = (&'a str, &'a str)>,
    key: &str,
) -> Option<&'a str> {
    claims.into_iter().find(|(k, _)| *k == key).map(|(_, h)| h)
}

/// Claim `key` (e.g. `oliveyoung@1732492800000`, a plugin and its cron tick)
/// for `host` across every host sharing `bus`'s claims topic.
pub async fn claim(
    bus: &dyn Bus,
    claims_topic: &str,
    key: &str,
    host: &str,
) -> Result<Claim, BusError> {
    bus.ensure_topic(claims_topic, 1).await?;
    let mine = bus
        .produce(vec![ProduceRecord {
            topic: claims_topic.into(),
            key: Some(key.as_bytes().to_vec()),
            value: serde_json::json!({ "claim": key, "host": host })
                .to_string()
                .into_bytes(),
            headers: vec![("crawlhost-host".into(), host.as_bytes().to_vec())],
            timestamp_ms: now_ms(),
        }])
        .await?;
    let Some(mine) = mine
        .first()
        .copied()
        .filter(|p| p.partition != crate::bus::forward::FORWARDED_PARTITION)
    else {
        return Err(BusError::Unavailable(
            "the broker is unreachable; a claim must be acknowledged to count".into(),
        ));
    };
    let mut offset = mine.offset.saturating_sub(CLAIM_WINDOW);
    let mut claims: Vec<(String, String)> = Vec::new();
    while offset <= mine.offset {
        let batch = bus
            .fetch(claims_topic, mine.partition, offset, 1000)
            .await?;
        if batch.is_empty() {
            break;
        }
        for r in batch {
            offset = r.offset + 1;
            if r.offset > mine.offset {
                break;
            }
            let k = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            let h = r
                .headers
                .iter()
                .find(|(n, _)| n == "crawlhost-host")
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            claims.push((k, h));
        }
    }
    let winner = claim_winner(claims.iter().map(|(k, h)| (k.as_str(), h.as_str())), key)
        .unwrap_or(host)
        .to_string();
    Ok(if winner == host {
        Claim::Won
    } else {
        Claim::Lost { by: winner }
    })
}

/// The coordinator's side: publishes attempts, routes outcomes back.
pub struct Dispatcher {
    bus: Arc<dyn Bus>,
    kafka: KafkaSettings,
    host_id: String,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<TaskOutcome>>>>,
    /// When a result last came from each tasks-topic partition.
    live: Arc<Mutex<HashMap<i32, Instant>>>,
    /// When an attempt last timed out on each tasks-topic partition.
    stalled: Mutex<HashMap<i32, Instant>>,
    /// Tasks (run, key) whose last attempt got no result in time.
    timed_out: Mutex<HashSet<(String, String)>>,
    tasks_partitions: u32,
    listener: tokio::task::JoinHandle<()>,
    /// Longest wait for an outcome before the attempt counts as failed
    /// (retryable), so a lost worker cannot hang a run forever.
    result_timeout: Duration,
}

/// Partitions a worker is known to consume: a result came from it, and no
/// attempt timed out there since.
pub fn live_partitions(
    results: &HashMap<i32, Instant>,
    stalled: &HashMap<i32, Instant>,
) -> HashSet<u32> {
    results
        .iter()
        .filter(|(p, at)| stalled.get(p).is_none_or(|s| *at > s))
        .map(|(p, _)| *p as u32)
        .collect()
}

/// Pure part of re-dispatch: among `candidates` (attempt keys), the first
/// whose partition is in `live`; `None` when no partition is known live.
pub fn key_for_live_partition(
    candidates: impl IntoIterator<Item = String>,
    partitions: u32,
    live: &HashSet<u32>,
) -> Option<String> {
    if live.is_empty() {
        return None;
    }
    candidates
        .into_iter()
        .find(|k| live.contains(&partition_for(k.as_bytes(), partitions)))
}

impl Dispatcher {
    /// Start listening for outcomes addressed to `host_id` (from the end of
    /// its results partition: earlier outcomes belong to earlier runs).
    pub async fn start(
        bus: Arc<dyn Bus>,
        kafka: KafkaSettings,
        host_id: String,
        task_timeout: Duration,
    ) -> Result<Arc<Self>, DistributedError> {
        ensure_topics(bus.as_ref(), &kafka).await?;
        let partitions = bus
            .topics()
            .await?
            .into_iter()
            .find(|(t, _)| *t == kafka.results_topic)
            .map(|(_, n)| n)
            .unwrap_or(1);
        let tasks_partitions = bus
            .topics()
            .await?
            .into_iter()
            .find(|(t, _)| *t == kafka.tasks_topic)
            .map(|(_, n)| n)
            .unwrap_or(kafka.tasks_partitions);
        let partition = partition_for(host_id.as_bytes(), partitions);
        let start = bus.end_offset(&kafka.results_topic, partition).await?;
        let pending: Arc<Mutex<HashMap<String, oneshot::Sender<TaskOutcome>>>> = Arc::default();
        let live: Arc<Mutex<HashMap<i32, Instant>>> = Arc::default();
        let listener = tokio::spawn(listen(
            bus.clone(),
            kafka.results_topic.clone(),
            partition,
            start,
            host_id.clone(),
            pending.clone(),
            live.clone(),
        ));
        let result_timeout = kafka
            .result_timeout
            .unwrap_or(task_timeout * 3 + kafka.session_timeout * 3 + Duration::from_secs(60));
        Ok(Arc::new(Self {
            bus,
            kafka,
            host_id,
            pending,
            live,
            stalled: Mutex::new(HashMap::new()),
            timed_out: Mutex::new(HashSet::new()),
            tasks_partitions,
            listener,
            result_timeout,
        }))
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Read outcomes for this coordinator and hand each to its waiting attempt.
async fn listen(
    bus: Arc<dyn Bus>,
    topic: String,
    partition: u32,
    mut next: u64,
    host_id: String,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<TaskOutcome>>>>,
    live: Arc<Mutex<HashMap<i32, Instant>>>,
) {
    loop {
        match bus.fetch(&topic, partition, next, 500).await {
            Ok(batch) if batch.is_empty() => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(batch) => {
                for r in batch {
                    next = r.offset + 1;
                    let Ok(msg) = serde_json::from_slice::<ResultMessage>(&r.value) else {
                        tracing::warn!(offset = r.offset, "Unreadable task result; skipped.");
                        continue;
                    };
                    if msg.coordinator != host_id {
                        continue;
                    }
                    if let Some(p) = msg.partition {
                        live.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(p, Instant::now());
                    }
                    let waiter = pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&msg.attempt_id);
                    match waiter {
                        Some(tx) => {
                            tracing::debug!(task = %msg.task_key, worker = %msg.worker, "Task result received.");
                            let _ = tx.send(msg.outcome);
                        }
                        // A redelivered attempt finishing a second time.
                        None => {
                            tracing::debug!(task = %msg.task_key, worker = %msg.worker, "Duplicate task result ignored.")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read task results; retrying.");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

fn remote_failure(error: String) -> TaskOutcome {
    TaskOutcome::Failed {
        retry: "retryable".into(),
        error_kind: "remote".into(),
        error,
    }
}

#[async_trait::async_trait]
impl RemoteTasks for Dispatcher {
    async fn run_task(&self, info: &RunInfo, plugin: &LoadedPlugin, task: Task) -> TaskOutcome {
        let new_id = || {
            format!(
                "{:016x}{:016x}",
                rand::random::<u64>(),
                rand::random::<u64>()
            )
        };
        let key = task.key.clone();
        let run_task = (info.run_id.clone(), key.clone());
        let retrying_a_timeout = self
            .timed_out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&run_task);
        // After a timeout, aim the attempt at a partition some worker
        // consumes (the group may not have handed a dead host's partitions
        // on); otherwise any partition.
        let attempt_id = if retrying_a_timeout {
            let live = live_partitions(
                &self.live.lock().unwrap_or_else(PoisonError::into_inner),
                &self.stalled.lock().unwrap_or_else(PoisonError::into_inner),
            );
            key_for_live_partition((0..1000).map(|_| new_id()), self.tasks_partitions, &live)
                .unwrap_or_else(new_id)
        } else {
            new_id()
        };
        let message = TaskMessage {
            attempt_id: attempt_id.clone(),
            coordinator: self.host_id.clone(),
            plugin: plugin.manifest.name.clone(),
            plugin_version: plugin.manifest.version.clone(),
            run_id: info.run_id.clone(),
            started_at_ms: info.started_at_ms,
            config: info.config.clone(),
            task: task.into(),
            expires_at_ms: Some(now_ms() + self.result_timeout.as_millis() as i64),
        };
        let Ok(value) = serde_json::to_vec(&message) else {
            return remote_failure("cannot encode the task".into());
        };
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(attempt_id.clone(), tx);
        let record = ProduceRecord {
            topic: self.kafka.tasks_topic.clone(),
            // Keyed by attempt: a retry (or a re-dispatch after a result
            // timeout) lands on any partition, not behind the same one.
            key: Some(attempt_id.clone().into_bytes()),
            value,
            headers: vec![
                ("crawlhost-run".into(), info.run_id.clone().into_bytes()),
                ("crawlhost-task".into(), key.clone().into_bytes()),
            ],
            timestamp_ms: now_ms(),
        };
        if let Err(e) = self.bus.produce(vec![record]).await {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&attempt_id);
            return remote_failure(format!("cannot publish the task: {e}"));
        }
        match tokio::time::timeout(self.result_timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => remote_failure("the result listener stopped".into()),
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&attempt_id);
                self.timed_out
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(run_task);
                let stalled = partition_for(attempt_id.as_bytes(), self.tasks_partitions) as i32;
                self.stalled
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(stalled, Instant::now());
                tracing::warn!(task = %key, timeout = ?self.result_timeout, "No worker reported a task in time; it will be dispatched again.");
                remote_failure(format!(
                    "no worker reported task `{key}` within {:?}",
                    self.result_timeout
                ))
            }
        }
    }
}

/// Logs partition assignments, so operators (and tests) see the split.
struct WorkerContext;

impl ClientContext for WorkerContext {}

impl ConsumerContext for WorkerContext {
    fn post_rebalance(
        &self,
        _base: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(partitions = ?parts, "Worker assigned task partitions.");
            }
            Rebalance::Revoke(tpl) => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(partitions = ?parts, "Worker task partitions revoked.");
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "Worker rebalance failed."),
        }
    }
}

/// Run tasks of the workers group until `shutdown` turns true, then finish
/// the tasks in flight, commit, and leave the group.
pub async fn run_worker(
    ctx: RunContext,
    plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    host_id: String,
    mut shutdown: watch::Receiver<bool>,
) -> Result<u64, DistributedError> {
    let kafka = kafka_settings(&ctx)?;
    ensure_topics(ctx.bus.as_ref(), &kafka).await?;
    let session = kafka.session_timeout.as_millis().to_string();
    let heartbeat = (kafka.session_timeout.as_millis() / 3).max(100).to_string();
    // A task may run for its whole deadline between two polls of the group.
    let max_poll = (ctx.settings.sandbox.task_timeout.as_millis() * 2 + 60_000)
        .max(300_000)
        .to_string();
    let group = kafka.workers_group();
    let consumer: StreamConsumer<WorkerContext> = client_config(
        &kafka,
        ClientRole::Consumer,
        &[
            ("group.id", group.as_str()),
            ("session.timeout.ms", session.as_str()),
            ("heartbeat.interval.ms", heartbeat.as_str()),
            ("max.poll.interval.ms", max_poll.as_str()),
        ],
    )
    .create_with_context(WorkerContext)
    .map_err(|e| DistributedError::Consumer(e.to_string()))?;
    consumer
        .subscribe(&[kafka.tasks_topic.as_str()])
        .map_err(|e| DistributedError::Consumer(e.to_string()))?;
    tracing::info!(host = %host_id, group = %group, topic = %kafka.tasks_topic, "Worker joined the task group.");

    let concurrency = ctx.settings.run.concurrency.max(1);
    let worker_ctx = RunContext {
        journal: None,
        remote: None,
        ..ctx.clone()
    };
    let mut trackers: HashMap<i32, OffsetTracker> = HashMap::new();
    let mut running: JoinSet<(i32, u64)> = JoinSet::new();
    // Received but not started. The consumer is polled even when every slot
    // is busy, so group rebalances (another host joining or dying) are never
    // held up by this host's long tasks; a full buffer pauses fetching
    // instead.
    let mut queued: VecDeque<(i32, u64, Vec<u8>)> = VecDeque::new();
    let high_water = concurrency * 4;
    let mut paused = false;
    let mut done = 0u64;
    let mut stopping = *shutdown.borrow();
    loop {
        while !stopping && running.len() < concurrency {
            let Some((partition, offset, payload)) = queued.pop_front() else {
                break;
            };
            let (wctx, plugins, host_id, results_topic) = (
                worker_ctx.clone(),
                plugins.clone(),
                host_id.clone(),
                kafka.results_topic.clone(),
            );
            running.spawn(async move {
                work_one(
                    wctx,
                    &plugins,
                    &host_id,
                    &results_topic,
                    partition,
                    &payload,
                )
                .await;
                (partition, offset)
            });
        }
        let want_pause = queued.len() >= high_water;
        if want_pause != paused
            && let Ok(assignment) = consumer.assignment()
        {
            let _ = if want_pause {
                consumer.pause(&assignment)
            } else {
                consumer.resume(&assignment)
            };
            paused = want_pause;
        }
        if stopping && running.is_empty() {
            break;
        }
        tokio::select! {
            received = consumer.recv(), if !stopping => {
                let m = match received {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "Worker cannot read the tasks topic; retrying.");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let (partition, offset) = (m.partition(), m.offset().max(0) as u64);
                let tracker = trackers.entry(partition).or_insert_with(|| OffsetTracker::new(offset));
                if offset < tracker.position() {
                    // Redelivered after a rebalance: start over from here.
                    *tracker = OffsetTracker::new(offset);
                }
                tracker.start(offset);
                queued.push_back((partition, offset, m.payload().unwrap_or_default().to_vec()));
                if paused && queued.len() >= high_water {
                    // A rebalance may have handed over unpaused partitions.
                    if let Ok(assignment) = consumer.assignment() {
                        let _ = consumer.pause(&assignment);
                    }
                }
            }
            Some(joined) = running.join_next() => {
                let Ok((partition, offset)) = joined else {
                    // A panic in host code: the offset stays uncommitted and
                    // the task is redelivered.
                    continue;
                };
                done += 1;
                if let Some(position) = trackers.get_mut(&partition).and_then(|t| t.finish(offset)) {
                    let mut tpl = TopicPartitionList::new();
                    let _ = tpl.add_partition_offset(&kafka.tasks_topic, partition, Offset::Offset(position as i64));
                    if let Err(e) = consumer.commit(&tpl, rdkafka::consumer::CommitMode::Async) {
                        // Rebalanced away: the new owner runs it again.
                        tracing::debug!(partition, error = %e, "Commit of a task offset failed.");
                    }
                }
            }
            changed = shutdown.changed(), if !stopping => {
                if changed.is_err() || *shutdown.borrow() {
                    stopping = true;
                }
            }
        }
    }
    // Tasks received but not started are not committed: whoever owns their
    // partition next runs them. Leave the group now rather than at session
    // timeout.
    if !queued.is_empty() {
        tracing::info!(
            tasks = queued.len(),
            "Worker stopping; unstarted tasks go back to the group."
        );
    }
    consumer.unsubscribe();
    Ok(done)
}

/// The plugin config a worker runs a task with: its own operator's
/// (`[plugins.<name>] config` over the manifest's defaults), never the task
/// message's. Anyone who can write the tasks topic could otherwise widen the
/// plugin's egress (a `{base_url}` host pattern) or change what it does; the
/// message's copy only has to agree, and a task whose copy differs (a
/// forged message, or a coordinator configured otherwise) is refused, naming
/// the keys that differ (not their values, which may be private).
pub fn worker_config(
    manifest: &crate::contract::PluginManifest,
    operator: &BTreeMap<String, String>,
    message: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let own = crate::manifest::effective_config(manifest, operator).map_err(|e| {
        format!(
            "this worker's config for `{}` is invalid: {e}",
            manifest.name
        )
    })?;
    let theirs: BTreeMap<&str, &str> = message
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut differ: Vec<&str> = own
        .iter()
        .filter(|(k, v)| theirs.get(k.as_str()) != Some(&v.as_str()))
        .map(|(k, _)| k.as_str())
        .collect();
    differ.extend(theirs.keys().filter(|k| !own.contains_key(**k)));
    // Duplicate keys in the message are a mismatch too.
    if !differ.is_empty() || theirs.len() != message.len() {
        differ.sort_unstable();
        differ.dedup();
        return Err(format!(
            "the task message's config for `{}` differs from this worker's in {} \
             (workers use their own [plugins.{}] config; give every host the same)",
            manifest.name,
            if differ.is_empty() {
                "repeated keys".to_string()
            } else {
                differ.join(", ")
            },
            manifest.name
        ));
    }
    Ok(own.into_iter().collect())
}

/// Run one task message and publish its outcome.
async fn work_one(
    ctx: RunContext,
    plugins: &BTreeMap<String, Arc<LoadedPlugin>>,
    host_id: &str,
    results_topic: &str,
    partition: i32,
    payload: &[u8],
) {
    let msg: TaskMessage = match serde_json::from_slice(payload) {
        Ok(m) => m,
        Err(e) => {
            // Nobody waits for it in a form we can answer; skip it.
            tracing::error!(error = %e, "Unreadable task message skipped.");
            return;
        }
    };
    let key = msg.task.key.clone();
    if msg.expires_at_ms.is_some_and(|at| now_ms() > at) {
        tracing::info!(task = %key, run = %msg.run_id, "Skipping an attempt its coordinator stopped waiting for.");
        return;
    }
    let outcome = match plugins.get(&msg.plugin) {
        None => TaskOutcome::Failed {
            retry: "permanent".into(),
            error_kind: "remote".into(),
            error: format!("plugin `{}` is not loaded on host {host_id}", msg.plugin),
        },
        Some(plugin) => {
            if plugin.manifest.version != msg.plugin_version {
                tracing::warn!(plugin = %msg.plugin, here = %plugin.manifest.version, run = %msg.plugin_version, "Running a task with another version of the plugin than its run.");
            }
            let operator = ctx.settings.plugin_values(&msg.plugin);
            match worker_config(&plugin.manifest, &operator, &msg.config) {
                Err(error) => {
                    tracing::error!(plugin = %msg.plugin, task = %key, run = %msg.run_id, coordinator = %msg.coordinator, error = %error, "Task refused: its plugin config is not this worker's.");
                    TaskOutcome::Failed {
                        retry: "permanent".into(),
                        error_kind: "remote".into(),
                        error: format!("host {host_id}: {error}"),
                    }
                }
                Ok(config) => {
                    let info = RunInfo {
                        run_id: msg.run_id.clone(),
                        started_at_ms: msg.started_at_ms,
                        config,
                    };
                    tracing::debug!(plugin = %msg.plugin, task = %key, run = %msg.run_id, "Worker runs a task.");
                    execute_task(ctx.clone(), plugin.clone(), info, msg.task.clone().into()).await
                }
            }
        }
    };
    let result = ResultMessage {
        attempt_id: msg.attempt_id,
        coordinator: msg.coordinator.clone(),
        partition: Some(partition),
        worker: host_id.to_string(),
        task_key: key.clone(),
        outcome,
    };
    let value = serde_json::to_vec(&result).unwrap_or_default();
    let record = ProduceRecord {
        topic: results_topic.to_string(),
        key: Some(msg.coordinator.into_bytes()),
        value,
        headers: vec![("crawlhost-task".into(), key.clone().into_bytes())],
        timestamp_ms: now_ms(),
    };
    // Retried until it is acknowledged (or stored for forwarding): the
    // offset is committed only after this returns.
    let mut backoff = Duration::from_millis(100);
    while let Err(e) = ctx.bus.produce(vec![record.clone()]).await {
        tracing::warn!(task = %key, error = %e, "Cannot publish a task result; retrying.");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::embedded::EmbeddedBus;

    /// Issue 15, item 6: the worker's own config, and only when the
    /// message's copy agrees with it.
    #[test]
    fn a_worker_runs_with_its_own_config_and_refuses_another() {
        use crate::contract::{ConfigKey, PluginManifest};
        let manifest = PluginManifest {
            name: "echo".into(),
            version: "0.1.0".into(),
            description: String::new(),
            schedule: None,
            topics: vec!["echo".into()],
            hosts: vec!["{base_url}".into()],
            config: ["base_url", "tasks"]
                .map(|n| ConfigKey {
                    name: n.into(),
                    description: String::new(),
                    default_value: Some("d".into()),
                    required: false,
                })
                .into(),
            triggers: vec![],
        };
        let operator: BTreeMap<String, String> =
            [("base_url".to_string(), "http://site".to_string())].into();
        let own = vec![
            ("base_url".to_string(), "http://site".to_string()),
            ("tasks".to_string(), "d".to_string()),
        ];
        assert_eq!(worker_config(&manifest, &operator, &own).unwrap(), own);
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        for (forged, named) in [
            (
                vec![pair("base_url", "http://evil"), pair("tasks", "d")],
                "base_url",
            ),
            (vec![pair("base_url", "http://site")], "tasks"),
            (
                vec![
                    pair("base_url", "http://site"),
                    pair("tasks", "d"),
                    pair("x", "1"),
                ],
                "x",
            ),
            (
                vec![
                    pair("base_url", "http://site"),
                    pair("tasks", "d"),
                    pair("tasks", "d"),
                ],
                "repeated",
            ),
        ] {
            let err = worker_config(&manifest, &operator, &forged).unwrap_err();
            assert!(err.contains(named) && !err.contains("evil"), "{err}");
        }
    }

    #[test]
    fn a_partition_is_live_until_an_attempt_stalls_there() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let results: HashMap<i32, Instant> = [(0, t1), (1, t0), (2, t1)].into_iter().collect();
        let stalled: HashMap<i32, Instant> = [(1, t1), (2, t0)].into_iter().collect();
        let live = live_partitions(&results, &stalled);
        assert_eq!(live, [0, 2].into_iter().collect());
    }

    #[test]
    fn a_redispatch_aims_at_a_live_partition() {
        let live: HashSet<u32> = [2].into_iter().collect();
        let keys = (0..200).map(|i| format!("k{i}"));
        let key = key_for_live_partition(keys, 4, &live).unwrap();
        assert_eq!(partition_for(key.as_bytes(), 4), 2);
        assert_eq!(
            key_for_live_partition(["a".to_string()], 4, &HashSet::new()),
            None
        );
    }

    #[test]
    fn the_first_claim_wins() {
        let claims = [("a@1", "h1"), ("b@1", "h2"), ("a@1", "h2")];
        assert_eq!(claim_winner(claims, "a@1"), Some("h1"));
        assert_eq!(claim_winner(claims, "b@1"), Some("h2"));
        assert_eq!(claim_winner(claims, "c@1"), None);
    }

    #[tokio::test]
    async fn hosts_sharing_a_log_agree_on_one_claimant_per_tick() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        assert_eq!(
            claim(&bus, "claims", "p@100", "h1").await.unwrap(),
            Claim::Won
        );
        assert_eq!(
            claim(&bus, "claims", "p@100", "h2").await.unwrap(),
            Claim::Lost { by: "h1".into() }
        );
        assert_eq!(
            claim(&bus, "claims", "p@160", "h2").await.unwrap(),
            Claim::Won
        );
        // The loser asking again still loses.
        assert_eq!(
            claim(&bus, "claims", "p@100", "h2").await.unwrap(),
            Claim::Lost { by: "h1".into() }
        );
    }

    #[test]
    fn messages_round_trip() {
        let m = TaskMessage {
            attempt_id: "a".into(),
            coordinator: "c".into(),
            plugin: "echo".into(),
            plugin_version: "0.1.0".into(),
            run_id: "r".into(),
            started_at_ms: 5,
            config: vec![("k".into(), "v".into())],
            expires_at_ms: Some(9),
            task: TaskSpec {
                key: "t".into(),
                kind: "seed".into(),
                payload: "{}".into(),
                phase: 1,
            },
        };
        let back: TaskMessage = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let r = ResultMessage {
            attempt_id: "a".into(),
            coordinator: "c".into(),
            partition: Some(3),
            worker: "w".into(),
            task_key: "t".into(),
            outcome: TaskOutcome::Failed {
                retry: "blocked".into(),
                error_kind: "blocked".into(),
                error: "403".into(),
            },
        };
        let back: ResultMessage = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
