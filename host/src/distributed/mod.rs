//! Scale-out: many hosts share the tasks of one run through Kafka.
//!
//! Roles (one process may play both):
//!
//! - The **coordinator** is the host that runs the run: it calls `plan`,
//!   owns the frontier (dedup, phases, task budget, retries) and the summary,
//!   exactly as a local run does. Instead of crawling a task itself it
//!   publishes an attempt to the tasks topic ([`Dispatcher`], the run loop's
//!   [`RemoteTasks`](crate::run::RemoteTasks)) and waits for the outcome on
//!   the results topic.
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
//! **The coordinator dying** ([`failover`]): with `--claim KEY`, the
//! coordinator replicates its run journal to the journal topic, and the
//! hosts that lost the claim stand by; when the coordinator falls silent
//! for two session timeouts one of them takes the run over and finishes it
//! (tasks in flight at the failure run again). Without `--claim` a run
//! stops with its coordinator and resumes on that host's next start, like a
//! local run.
//!
//! **Cron ticks fire once across the group** by claiming: every host that
//! wants to fire tick `T` of plugin `P` appends a claim keyed `P@T` to the
//! claims topic (one partition) and reads the partition back; the claim
//! with the lowest offset wins ([`claim`]), the others skip the tick. Kafka
//! orders the partition, so every host reaches the same verdict without a
//! leader election; a host that is late by more than [`CLAIM_WINDOW`]
//! claims is not deduplicated (documented limit).
//!
//! # Layout
//! - [`coordinator`]: the [`Dispatcher`]: publishes a run's attempts, routes
//!   their outcomes back, re-aims attempts that timed out.
//! - [`worker`]: [`run_worker`]: consumes the tasks topic in the workers
//!   group, runs each task under this host's own plugin config, publishes
//!   the outcome, commits.
//! - [`claims`]: [`claim`]: one host per cron tick across the group.
//! - [`failover`]: the run journal replicated to Kafka, standing by, taking
//!   a run over.
//! - here: what the roles share: the messages on the tasks and results
//!   topics, the checked Kafka settings, host ids, the topics.

pub mod claims;
pub mod coordinator;
pub mod failover;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::bus::kafka::KafkaSettings;
use crate::bus::{Bus, BusError};
use crate::run::{RunContext, TaskOutcome, TaskSpec};

pub use claims::{CLAIM_WINDOW, Claim, claim, claim_winner};
pub use coordinator::{Dispatcher, key_for_live_partition, live_partitions};
pub use worker::{run_worker, worker_config};

/// Errors of the distributed mode.
#[derive(Debug, thiserror::Error)]
pub enum DistributedError {
    #[error("distributed mode needs a [kafka] section in crawlhost.toml")]
    NoKafka,
    #[error("distributed mode")]
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

#[cfg(test)]
mod tests {
    use super::*;

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
