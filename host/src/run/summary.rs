//! What a run reports: a live [`Progress`] view while it runs, the
//! [`RunSummary`] when it ends, and the messages of the budgets that make a
//! run fatal.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::contract::PluginManifest;
use crate::coverage::{DriftAlarm, DriftCheck, RunCoverage};

/// A live view of a run, for progress lines.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub done: u64,
    pub failed: u64,
    pub queued: usize,
    pub running: usize,
    pub records: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

/// A task that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskFailure {
    pub key: String,
    pub kind: String,
    /// `retryable`, `blocked`, `parse`, `other` (the plugin's error variant),
    /// or `deadline`, `memory`, `trap`, `instantiate`, `bus`, `output` (the
    /// host's).
    pub error_kind: String,
    pub error: String,
    pub attempts: u32,
}

/// Fetch counters of a run (owned by [`crate::http::stats`]).
pub use crate::http::FetchTotals;

/// The outcome of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub plugin: String,
    pub plugin_version: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub tasks_done: u64,
    pub tasks_failed: Vec<TaskFailure>,
    pub retries: u64,
    pub duplicate_tasks: u64,
    pub records: u64,
    pub records_by_topic: BTreeMap<String, u64>,
    pub dead_letters: u64,
    pub fetch: FetchTotals,
    /// Set when the run could not complete (plan failed, bad config, task
    /// budget exhausted).
    pub fatal: Option<String>,
    /// The run continued an earlier, killed or interrupted run.
    pub resumed: bool,
    /// Shutdown stopped the run before its frontier was empty; it resumes on
    /// the next start.
    pub interrupted: bool,
    /// Field coverage of the records this run published, by topic, with the
    /// items the plugin skipped for a missing identity field. A resumed run
    /// counts only the tasks it ran itself.
    pub coverage: RunCoverage,
    /// Drift alarms of this run against the plugin's baseline (see
    /// [`crate::coverage::drift`]); the records landed all the same.
    pub drift: Vec<DriftAlarm>,
    /// Whether and against what the run was checked for drift.
    pub drift_check: DriftCheck,
}

impl RunSummary {
    /// The summary of run `run_id` of `manifest`'s plugin before anything
    /// happened; `resumed` when it continues a journaled run.
    pub(super) fn empty(
        manifest: &PluginManifest,
        run_id: String,
        started_at_ms: i64,
        resumed: bool,
    ) -> Self {
        RunSummary {
            run_id,
            plugin: manifest.name.clone(),
            plugin_version: manifest.version.clone(),
            started_at_ms,
            duration_ms: 0,
            tasks_done: 0,
            tasks_failed: Vec::new(),
            retries: 0,
            duplicate_tasks: 0,
            records: 0,
            records_by_topic: BTreeMap::new(),
            dead_letters: 0,
            fetch: FetchTotals::default(),
            fatal: None,
            resumed,
            interrupted: false,
            coverage: RunCoverage::default(),
            drift: Vec::new(),
            drift_check: DriftCheck::Skipped {
                reason: "the run did not complete".into(),
            },
        }
    }

    /// Every task done and nothing fatal.
    pub fn is_clean(&self) -> bool {
        self.fatal.is_none() && self.tasks_failed.is_empty() && !self.interrupted
    }

    /// The run went through its whole frontier in one go: nothing fatal,
    /// not interrupted, not resumed. Only such runs are compared for drift
    /// and can become a baseline (tasks that failed for good are allowed:
    /// a site with one broken page would otherwise never get a baseline).
    pub fn is_complete(&self) -> bool {
        self.fatal.is_none() && !self.interrupted && !self.resumed
    }
}

pub(super) fn budget_message(max: usize) -> String {
    format!(
        "task budget of {max} distinct tasks exhausted (run.max_tasks_per_run); \
         later follow-up tasks were refused"
    )
}

pub(super) fn byte_budget_message(max: u64) -> String {
    format!(
        "task byte budget of {max} bytes (task keys + payloads) exhausted \
         (run.max_task_bytes_per_run); later follow-up tasks were refused"
    )
}
