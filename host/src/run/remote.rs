//! Tasks and outcomes in the form they travel between hosts (distributed
//! mode, [`crate::distributed`]), and [`execute_task`]: one attempt run here
//! for another host's run.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::contract::{RunInfo, Task};
use crate::coverage::RunCoverage;
use crate::engine::LoadedPlugin;
use crate::http::{FetchScope, FetchStats};
use crate::manifest;

use super::retry::FailureKind;
use super::task::{Outcome, RunShared};
use super::{CurrentPlugin, RunContext};

/// A task as it travels between hosts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskSpec {
    pub key: String,
    pub kind: String,
    pub payload: String,
    pub phase: u32,
}

impl From<Task> for TaskSpec {
    fn from(t: Task) -> Self {
        Self {
            key: t.key,
            kind: t.kind,
            payload: t.payload,
            phase: t.phase,
        }
    }
}

impl From<TaskSpec> for Task {
    fn from(t: TaskSpec) -> Self {
        Self {
            key: t.key,
            kind: t.kind,
            payload: t.payload,
            phase: t.phase,
        }
    }
}

/// How one attempt ended, in the form a worker host sends back to the host
/// that coordinates the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TaskOutcome {
    Done {
        follow_ups: Vec<TaskSpec>,
        records: BTreeMap<String, u64>,
        dead_letters: u64,
        /// The task's field coverage and skipped items (absent from hosts
        /// older than contract 0.3 support: counted as none).
        #[serde(default, skip_serializing_if = "RunCoverage::is_empty")]
        coverage: RunCoverage,
    },
    Failed {
        /// `retryable`, `blocked` or `permanent` (what the retry policy sees).
        retry: String,
        /// As in [`TaskFailure::error_kind`](super::TaskFailure::error_kind).
        error_kind: String,
        error: String,
    },
}

impl From<Outcome> for TaskOutcome {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Done {
                follow_ups,
                records,
                dead_letters,
                coverage,
                ..
            } => TaskOutcome::Done {
                follow_ups: follow_ups.into_iter().map(TaskSpec::from).collect(),
                records,
                dead_letters,
                coverage,
            },
            Outcome::Failed {
                kind,
                error_kind,
                error,
            } => TaskOutcome::Failed {
                retry: match kind {
                    FailureKind::Retryable => "retryable",
                    FailureKind::Blocked => "blocked",
                    FailureKind::Permanent => "permanent",
                }
                .into(),
                error_kind: error_kind.into(),
                error,
            },
        }
    }
}

impl From<TaskOutcome> for Outcome {
    fn from(o: TaskOutcome) -> Self {
        match o {
            TaskOutcome::Done {
                follow_ups,
                records,
                dead_letters,
                coverage,
            } => Outcome::Done {
                journaled: false,
                follow_ups: follow_ups.into_iter().map(Task::from).collect(),
                records,
                dead_letters,
                coverage,
            },
            TaskOutcome::Failed {
                retry,
                error_kind,
                error,
            } => Outcome::Failed {
                kind: match retry.as_str() {
                    "retryable" => FailureKind::Retryable,
                    "blocked" => FailureKind::Blocked,
                    _ => FailureKind::Permanent,
                },
                // The run summary names the host's error kinds; keep the
                // ones it knows, anything else from a newer host is "other".
                error_kind: ERROR_KINDS
                    .iter()
                    .find(|k| **k == error_kind)
                    .copied()
                    .unwrap_or("other"),
                error,
            },
        }
    }
}

const ERROR_KINDS: &[&str] = &[
    "retryable",
    "blocked",
    "parse",
    "other",
    "deadline",
    "memory",
    "trap",
    "instantiate",
    "bus",
    "output",
    "remote",
];

/// Run one attempt of `task` of run `info` here, outside a local run (a
/// distributed worker): crawl, check, publish the records, report.
pub async fn execute_task(
    ctx: RunContext,
    plugin: Arc<LoadedPlugin>,
    info: RunInfo,
    task: Task,
) -> TaskOutcome {
    let manifest = &plugin.manifest;
    if let Err(e) =
        manifest::check_output_topics(manifest, &crate::config::internal_topics(&ctx.settings))
    {
        return TaskOutcome::Failed {
            retry: "permanent".into(),
            error_kind: "other".into(),
            error: e.to_string(),
        };
    }
    let config: BTreeMap<String, String> = info.config.iter().cloned().collect();
    let allow = match manifest::allow_list(manifest, &config) {
        Ok(a) => a,
        Err(e) => {
            return TaskOutcome::Failed {
                retry: "permanent".into(),
                error_kind: "other".into(),
                error: e.to_string(),
            };
        }
    };
    let stats = Arc::new(FetchStats::default());
    let shared = Arc::new(RunShared {
        ctx: RunContext {
            remote: None,
            ..ctx
        },
        scope: FetchScope::new(manifest.name.clone(), Arc::new(allow), stats),
        plugin: CurrentPlugin::new(plugin),
        info,
        journal: None,
    });
    shared.attempt(task).await.into()
}
