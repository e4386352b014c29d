//! The coordinator's side of a distributed run: the run loop hands each
//! attempt to the [`Dispatcher`] (its [`RemoteTasks`]), which publishes it to
//! the tasks topic and waits for its outcome on this host's results
//! partition. An attempt with no outcome within the result timeout fails
//! (retryable), and its retry is aimed at a partition some worker is known
//! to consume ([`live_partitions`], [`key_for_live_partition`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::bus::kafka::KafkaSettings;
use crate::bus::partition::partition_for;
use crate::bus::{Bus, ProduceRecord};
use crate::contract::{RunInfo, Task};
use crate::engine::LoadedPlugin;
use crate::run::{RemoteTasks, TaskOutcome};

use super::{DistributedError, ResultMessage, TaskMessage, ensure_topics};
use crate::time::now_ms;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
