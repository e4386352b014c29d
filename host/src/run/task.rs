//! One attempt of one task: crawl in a fresh sandbox, check what the plugin
//! returned (limits, follow-up tasks, topics, JSON), publish the records as
//! one batch, mark the task done in the journal. The run loop
//! ([`super::drive`]) decides what an [`Outcome`] means for the run.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use crate::bus::ProduceRecord;
use crate::contract::{CrawlError, CrawlOutput, RunInfo, Task};
use crate::coverage::RunCoverage;
use crate::engine::{CallContext, LoadedPlugin, SandboxError};
use crate::http::FetchScope;
use crate::manifest::is_valid_topic;

use super::journal::Journal;
use super::retry::FailureKind;
use super::{CurrentPlugin, RunContext};

/// Longest task key accepted.
const MAX_TASK_KEY: usize = 1024;

pub(super) fn seed_for(run_id: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (run_id, key).hash(&mut h);
    h.finish()
}

/// How one attempt ended.
pub(super) enum Outcome {
    Done {
        follow_ups: Vec<Task>,
        records: BTreeMap<String, u64>,
        dead_letters: u64,
        coverage: RunCoverage,
        /// Already marked done (with its follow-ups) in the journal.
        journaled: bool,
    },
    Failed {
        kind: FailureKind,
        error_kind: &'static str,
        error: String,
    },
}

fn crawl_failure(e: CrawlError) -> Outcome {
    let (kind, error_kind, error) = match e {
        CrawlError::Retryable(m) => (FailureKind::Retryable, "retryable", m),
        CrawlError::Blocked(m) => (FailureKind::Blocked, "blocked", m),
        CrawlError::Parse(m) => (FailureKind::Permanent, "parse", m),
        CrawlError::Other(m) => (FailureKind::Permanent, "other", m),
    };
    Outcome::Failed {
        kind,
        error_kind,
        error,
    }
}

fn sandbox_failure(e: SandboxError) -> Outcome {
    let (kind, error_kind) = match &e {
        SandboxError::Deadline { .. } => (FailureKind::Retryable, "deadline"),
        SandboxError::Instantiate { .. } => (FailureKind::Retryable, "instantiate"),
        SandboxError::Memory { .. } => (FailureKind::Permanent, "memory"),
        SandboxError::Output { .. } => (FailureKind::Permanent, "output"),
        SandboxError::Trap { .. } => (FailureKind::Permanent, "trap"),
    };
    Outcome::Failed {
        kind,
        error_kind,
        error: e.to_string(),
    }
}

fn output_failure(error: String) -> Outcome {
    Outcome::Failed {
        kind: FailureKind::Permanent,
        error_kind: "output",
        error,
    }
}

/// Everything a task needs, shared by all tasks of the run.
pub(super) struct RunShared {
    pub(super) ctx: RunContext,
    pub(super) plugin: Arc<CurrentPlugin>,
    pub(super) info: RunInfo,
    pub(super) scope: FetchScope,
    /// The run's journal (scheduled runs). A task is marked done in it right
    /// after the bus acknowledged its records, inside the task itself, so
    /// the window in which a crash repeats the task is two back-to-back
    /// commits, not a trip through the run loop's queue.
    pub(super) journal: Option<Arc<Journal>>,
}

/// Check a task's follow-ups: keys, kinds, JSON payloads, phases.
pub(super) fn check_follow_ups(parent: &Task, tasks: &[Task]) -> Result<(), String> {
    for t in tasks {
        if t.key.is_empty() || t.key.len() > MAX_TASK_KEY {
            return Err(format!(
                "follow-up task key must be 1-{MAX_TASK_KEY} bytes (got {} bytes)",
                t.key.len()
            ));
        }
        if t.kind.is_empty() {
            return Err(format!("follow-up task `{}` has an empty kind", t.key));
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&t.payload) {
            return Err(format!(
                "follow-up task `{}` has a payload that is not JSON: {e}",
                t.key
            ));
        }
        if t.phase < parent.phase {
            return Err(format!(
                "follow-up task `{}` is in phase {} but its parent `{}` is in phase {}; \
                 a task cannot add work to an earlier phase",
                t.key, t.phase, parent.key, parent.phase
            ));
        }
    }
    Ok(())
}

impl RunShared {
    /// Turn a plugin's output into bus records; invalid ones become dead
    /// letters carrying the cause. The valid ones are counted into the
    /// task's field coverage in the same pass that checks their JSON.
    fn to_bus_records(
        &self,
        plugin: &LoadedPlugin,
        task: &Task,
        output: &CrawlOutput,
    ) -> (Vec<ProduceRecord>, u64, RunCoverage) {
        let settings = &self.ctx.settings;
        let manifest = &plugin.manifest;
        let base_headers = vec![
            (
                "crawlhost-plugin".to_string(),
                manifest.name.clone().into_bytes(),
            ),
            (
                "crawlhost-plugin-version".to_string(),
                manifest.version.clone().into_bytes(),
            ),
            (
                "crawlhost-run".to_string(),
                self.info.run_id.clone().into_bytes(),
            ),
            ("crawlhost-task".to_string(), task.key.clone().into_bytes()),
        ];
        let mut out = Vec::with_capacity(output.records.len());
        let mut dead = 0;
        let mut coverage = RunCoverage::default();
        for r in &output.records {
            let problem = if !is_valid_topic(&r.topic) {
                Some(format!("topic `{}` is not a valid topic name", r.topic))
            } else if !manifest.topics.iter().any(|t| t == &r.topic) {
                Some(format!(
                    "topic `{}` is not declared in the plugin's manifest (declared: {})",
                    r.topic,
                    manifest.topics.join(", ")
                ))
            } else {
                match crate::coverage::scan(&r.value) {
                    Ok(shape) => {
                        coverage.add_record(&r.topic, &shape);
                        None
                    }
                    Err(e) => Some(format!("value is not valid JSON: {e}")),
                }
            };
            let mut headers = base_headers.clone();
            let topic = match problem {
                None => r.topic.clone(),
                Some(cause) => {
                    dead += 1;
                    tracing::warn!(plugin = %manifest.name, task = %task.key, topic = %r.topic, cause = %cause, "Record sent to the dead-letter topic.");
                    headers.push(("crawlhost-error".to_string(), cause.into_bytes()));
                    headers.push((
                        "crawlhost-original-topic".to_string(),
                        r.topic.clone().into_bytes(),
                    ));
                    headers.push(("crawlhost-stage".to_string(), b"validate".to_vec()));
                    settings.bus.dead_letter_topic.clone()
                }
            };
            out.push(ProduceRecord {
                topic,
                key: r.key.clone().map(String::into_bytes),
                value: r.value.clone().into_bytes(),
                headers,
                timestamp_ms: r.timestamp_ms.unwrap_or(self.info.started_at_ms),
            });
        }
        (out, dead, coverage)
    }

    /// Run one attempt of `task` (here, or on the group in distributed
    /// mode) and say how it ended.
    pub(super) async fn attempt(self: Arc<Self>, task: Task) -> Outcome {
        if let Some(remote) = self.ctx.remote.clone() {
            let plugin = self.plugin.get();
            return remote.run_task(&self.info, &plugin, task).await.into();
        }
        let call = CallContext {
            scope: self.scope.clone(),
            label: task.key.clone(),
            started_at_ms: self.info.started_at_ms,
            seed: seed_for(&self.info.run_id, &task.key),
        };
        let plugin = self.plugin.get();
        let (output, skipped) = match self
            .ctx
            .engine
            .crawl(&plugin, call, &self.info, &task)
            .await
        {
            Err(e) => return sandbox_failure(e),
            Ok(crawled) => match crawled.result {
                Err(e) => return crawl_failure(e),
                Ok(output) => (output, crawled.skipped),
            },
        };
        let limits = &self.ctx.settings.sandbox;
        if output.records.len() > limits.max_records_per_task {
            return output_failure(format!(
                "returned {} records; the limit is {} (sandbox.max_records_per_task)",
                output.records.len(),
                limits.max_records_per_task
            ));
        }
        if output.tasks.len() > limits.max_follow_ups_per_task {
            return output_failure(format!(
                "returned {} follow-up tasks; the limit is {} (sandbox.max_follow_ups_per_task)",
                output.tasks.len(),
                limits.max_follow_ups_per_task
            ));
        }
        if let Err(e) = check_follow_ups(&task, &output.tasks) {
            return output_failure(e);
        }
        let (records, dead_letters, mut coverage) = self.to_bus_records(&plugin, &task, &output);
        for ((topic, field), n) in skipped.into_counts() {
            if plugin.manifest.topics.contains(&topic) {
                coverage.add_skipped(&topic, &field, n);
            } else {
                tracing::warn!(plugin = %plugin.manifest.name, task = %task.key, topic = %topic, field = %field, "Skipped items reported for a topic the manifest does not declare; not counted.");
            }
        }
        let mut per_topic: BTreeMap<String, u64> = BTreeMap::new();
        for r in &records {
            *per_topic.entry(r.topic.clone()).or_default() += 1;
        }
        if !records.is_empty() {
            let batch = format!("{}/{}", self.info.run_id, task.key);
            match self.ctx.bus.produce_batch(&batch, records).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    // An earlier attempt (before a crash) appended them.
                    tracing::info!(task = %task.key, "Records of this task were already on the bus; not written again.");
                    per_topic.clear();
                    coverage = RunCoverage::default();
                }
                Err(e) => {
                    return Outcome::Failed {
                        kind: FailureKind::Retryable,
                        error_kind: "bus",
                        error: e.to_string(),
                    };
                }
            }
        }
        let journaled = match &self.journal {
            Some(j) => match j.complete_task(&self.info.run_id, &task.key, &output.tasks) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "Cannot write the frontier journal; this run will not resume after a crash.");
                    false
                }
            },
            None => false,
        };
        Outcome::Done {
            follow_ups: output.tasks,
            records: per_topic,
            dead_letters,
            coverage,
            journaled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, phase: u32, payload: &str) -> Task {
        Task {
            key: key.into(),
            kind: "k".into(),
            payload: payload.into(),
            phase,
        }
    }

    #[test]
    fn follow_up_checks() {
        let parent = task("p", 1, "{}");
        assert!(check_follow_ups(&parent, &[task("a", 1, "{}"), task("b", 2, "[1]")]).is_ok());
        let err = check_follow_ups(&parent, &[task("a", 0, "{}")]).unwrap_err();
        assert!(err.contains("earlier phase"), "{err}");
        let err = check_follow_ups(&parent, &[task("a", 1, "{nope")]).unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
        let err = check_follow_ups(&parent, &[task("", 1, "{}")]).unwrap_err();
        assert!(err.contains("key"), "{err}");
    }
}
