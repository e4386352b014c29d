//! One run of one plugin: `plan` seeds the frontier, tasks run in fresh
//! instances with bounded concurrency, records go to the bus, follow-up tasks
//! go back into the frontier, and the run ends when the frontier is empty.
//!
//! Concurrency is async (a `JoinSet` of at most `concurrency` tasks), not a
//! thread per task. A task counts as done only after the bus acknowledged all
//! its records; a bus failure makes the task fail retryably, and because a
//! task's records are produced as one atomic batch nothing is half-written.
//! Every failure is retried per [`retry`] and, if it persists, reported in
//! the [`RunSummary`]: nothing is dropped silently.

pub mod frontier;
pub mod journal;
pub mod retry;

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::bus::{Bus, ProduceRecord};
use crate::config::Settings;
use crate::contract::{CrawlError, CrawlOutput, PlanInput, RunInfo, Task};
use crate::coverage::{DriftAlarm, DriftCheck, RunCoverage};
use crate::engine::{CallContext, LoadedPlugin, PluginEngine, SandboxError};
use crate::http::{FetchScope, FetchStats};
use crate::manifest::{self, is_valid_topic};
use crate::time::now_ms;
use frontier::{Entry, Frontier, Push};
use journal::Journal;
use retry::{Decision, FailureKind};

/// Longest task key accepted.
const MAX_TASK_KEY: usize = 1024;

/// What a run needs from the host.
#[derive(Clone)]
pub struct RunContext {
    pub engine: Arc<PluginEngine>,
    pub bus: Arc<dyn Bus>,
    pub settings: Arc<Settings>,
    /// The durable frontier; scheduled runs are journaled and resumed when
    /// present.
    pub journal: Option<Arc<Journal>>,
    /// Distributed mode: attempts are sent to the hosts of the group
    /// ([`crate::distributed`]) instead of running here. `None` runs
    /// tasks in this process.
    pub remote: Option<Arc<dyn RemoteTasks>>,
}

/// Where a distributed run's attempts go (see [`crate::distributed`]).
#[async_trait::async_trait]
pub trait RemoteTasks: Send + Sync {
    /// Run one attempt of `task` somewhere in the group and report how it
    /// ended.
    async fn run_task(&self, info: &RunInfo, plugin: &LoadedPlugin, task: Task) -> TaskOutcome;
}

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
        /// As in [`TaskFailure::error_kind`].
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

/// The version of a plugin that new tasks use. Hot swap replaces it; each
/// task reads it when it starts, so tasks in flight finish on the version
/// they started with and the next task runs the new one.
pub struct CurrentPlugin(std::sync::RwLock<Arc<LoadedPlugin>>);

impl CurrentPlugin {
    /// A handle starting at `plugin`.
    pub fn new(plugin: Arc<LoadedPlugin>) -> Arc<Self> {
        Arc::new(Self(std::sync::RwLock::new(plugin)))
    }

    /// The version new tasks use.
    pub fn get(&self) -> Arc<LoadedPlugin> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switch new tasks to `plugin`.
    pub fn set(&self, plugin: Arc<LoadedPlugin>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = plugin;
    }
}

/// One run to execute.
pub struct RunRequest {
    pub plugin: Arc<CurrentPlugin>,
    pub input: PlanInput,
    /// Set to `true` to stop the run: no new tasks start, tasks in flight
    /// finish, the run is left `interrupted` in the journal and resumes on
    /// the next start.
    pub shutdown: Option<watch::Receiver<bool>>,
    /// Live counters for `/metrics`.
    pub metrics: Option<Arc<crate::metrics::PluginMetrics>>,
}

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

fn seed_for(run_id: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (run_id, key).hash(&mut h);
    h.finish()
}

/// How one attempt ended.
enum Outcome {
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
struct RunShared {
    ctx: RunContext,
    plugin: Arc<CurrentPlugin>,
    info: RunInfo,
    scope: FetchScope,
    /// The run's journal (scheduled runs). A task is marked done in it right
    /// after the bus acknowledged its records, inside the task itself, so
    /// the window in which a crash repeats the task is two back-to-back
    /// commits, not a trip through the run loop's queue.
    journal: Option<Arc<Journal>>,
}

/// Check a task's follow-ups: keys, kinds, JSON payloads, phases.
fn check_follow_ups(parent: &Task, tasks: &[Task]) -> Result<(), String> {
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

    async fn attempt(self: Arc<Self>, task: Task) -> Outcome {
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

/// Run `plugin` once with `input`, calling `progress` about four times a
/// second. Scheduled runs are journaled (and resume an unfinished run of the
/// same plugin build) when the context has a journal.
pub async fn run_plugin(
    ctx: RunContext,
    plugin: Arc<LoadedPlugin>,
    input: PlanInput,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> RunSummary {
    let request = RunRequest {
        plugin: CurrentPlugin::new(plugin),
        input,
        shutdown: None,
        metrics: None,
    };
    execute_run(ctx, request, progress).await
}

/// Where a run's first tasks come from.
enum Start {
    /// A new run: call `plan`.
    Fresh,
    /// Continue a journaled run.
    Resume(Box<journal::Unfinished>),
}

/// Run a [`RunRequest`] to completion (or until shutdown).
pub async fn execute_run(
    ctx: RunContext,
    request: RunRequest,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> RunSummary {
    let started = Instant::now();
    let first = request.plugin.get();
    let manifest = first.manifest.clone();
    let journal = match request.input {
        PlanInput::Scheduled => ctx.journal.clone(),
        PlanInput::Trigger(_) => None,
    };
    let mut start = Start::Fresh;
    if let Some(j) = &journal {
        match j.unfinished(&manifest.name) {
            Ok(Some(u)) if u.run.plugin_hash == first.hash => start = Start::Resume(Box::new(u)),
            Ok(Some(u)) => {
                tracing::warn!(plugin = %manifest.name, run = %u.run.run_id, "An unfinished run was made by another build of the plugin; abandoning it and starting afresh.");
                if let Err(e) = j.end_run(&u.run.run_id, "abandoned", "{}") {
                    tracing::error!(error = %e, "Cannot update the frontier journal.");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "Cannot read the frontier journal; starting a new run.")
            }
        }
    }
    let (run_id, started_at_ms) = match &start {
        Start::Resume(u) => (u.run.run_id.clone(), u.run.started_at_ms),
        Start::Fresh => {
            let ms = now_ms();
            (
                format!("{}-{}-{:04x}", manifest.name, ms, rand::random::<u16>()),
                ms,
            )
        }
    };
    let mut summary = RunSummary {
        run_id: run_id.clone(),
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
        resumed: matches!(start, Start::Resume(_)),
        interrupted: false,
        coverage: RunCoverage::default(),
        drift: Vec::new(),
        drift_check: DriftCheck::Skipped {
            reason: "the run did not complete".into(),
        },
    };
    let settings = ctx.settings.clone();
    if let Err(e) =
        manifest::check_output_topics(&manifest, &crate::config::internal_topics(&settings))
    {
        summary.fatal = Some(e.to_string());
        return summary;
    }
    let operator = settings.plugin_values(&manifest.name);
    let config = match manifest::effective_config(&manifest, &operator) {
        Ok(c) => c,
        Err(e) => {
            summary.fatal = Some(e.to_string());
            return summary;
        }
    };
    let allow = match manifest::allow_list(&manifest, &config) {
        Ok(a) => a,
        Err(e) => {
            summary.fatal = Some(e.to_string());
            return summary;
        }
    };
    let stats = Arc::new(FetchStats::default());
    let shared = Arc::new(RunShared {
        ctx: ctx.clone(),
        plugin: request.plugin.clone(),
        info: RunInfo {
            run_id: run_id.clone(),
            started_at_ms,
            config: config.into_iter().collect(),
        },
        scope: FetchScope::new(manifest.name.clone(), Arc::new(allow), stats.clone()),
        journal: journal.clone(),
    });
    let journal_err = |e: journal::JournalError| {
        tracing::error!(error = %e, "Cannot write the frontier journal; this run will not resume after a crash.");
    };

    let mut frontier = Frontier::new(settings.run.max_tasks_per_run)
        .with_byte_budget(settings.run.max_task_bytes_per_run);
    match start {
        Start::Resume(u) => {
            tracing::info!(plugin = %manifest.name, run = %run_id, queued = u.queued.len(), done = u.done, "Resuming an unfinished run.");
            summary.tasks_done = u.done;
            summary.tasks_failed = u.failed;
            for key in u.seen {
                frontier.mark_seen(key);
            }
            for t in u.queued {
                frontier.requeue(t);
            }
        }
        Start::Fresh => {
            tracing::info!(plugin = %manifest.name, run = %run_id, "Run started.");
            let plan_ctx = CallContext {
                scope: shared.scope.clone(),
                label: "plan".into(),
                started_at_ms,
                seed: seed_for(&run_id, "plan"),
            };
            let seeds = match ctx
                .engine
                .plan(&first, plan_ctx, &shared.info, &request.input)
                .await
            {
                Ok(Ok(seeds)) => seeds,
                Ok(Err(e)) => {
                    summary.fatal = Some(format!("plan failed: {e:?}"));
                    return finish(summary, &stats, started);
                }
                Err(e) => {
                    summary.fatal = Some(format!("plan failed: {e}"));
                    return finish(summary, &stats, started);
                }
            };
            let root = Task {
                key: "plan".into(),
                kind: "plan".into(),
                payload: "null".into(),
                phase: 0,
            };
            if let Err(e) = check_follow_ups(&root, &seeds) {
                summary.fatal = Some(format!("plan returned an invalid task: {e}"));
                return finish(summary, &stats, started);
            }
            let mut accepted = Vec::new();
            for t in seeds {
                match frontier.push(t.clone()) {
                    Push::Queued => accepted.push(t),
                    Push::Duplicate => summary.duplicate_tasks += 1,
                    Push::OverBudget => {
                        summary.fatal = Some(budget_message(settings.run.max_tasks_per_run));
                    }
                    Push::OverByteBudget => {
                        summary.fatal =
                            Some(byte_budget_message(settings.run.max_task_bytes_per_run));
                    }
                }
            }
            if let Some(j) = &journal
                && let Err(e) = j.start_run(
                    &run_id,
                    &manifest.name,
                    &first.hash,
                    started_at_ms,
                    &accepted,
                )
            {
                journal_err(e);
            }
        }
    }

    let concurrency = settings.concurrency_for(&manifest.name);
    let metrics = request.metrics.clone();
    let mut running: JoinSet<(Entry, Outcome, Duration)> = JoinSet::new();
    let (retry_tx, mut retry_rx) = mpsc::unbounded_channel::<Entry>();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut shutdown = request.shutdown;
    let mut stopping = shutdown.as_ref().is_some_and(|s| *s.borrow());

    loop {
        while !stopping && running.len() < concurrency {
            let Some(entry) = frontier.pop_ready() else {
                break;
            };
            let shared = shared.clone();
            running.spawn(async move {
                let t = Instant::now();
                let outcome = shared.attempt(entry.task.clone()).await;
                (entry, outcome, t.elapsed())
            });
        }
        if running.is_empty() && (stopping || frontier.is_done()) {
            summary.interrupted = stopping && !frontier.is_done();
            break;
        }
        tokio::select! {
            Some(joined) = running.join_next() => {
                let (mut entry, outcome, took) = match joined {
                    Ok(pair) => pair,
                    Err(e) => {
                        // A panic in host code for one task: the run cannot
                        // account for it, so it is fatal rather than silent.
                        summary.fatal = Some(format!("internal error in a task: {e}"));
                        break;
                    }
                };
                entry.attempts += 1;
                let phase = entry.task.phase;
                if let Some(m) = &metrics {
                    m.task_seconds.observe(took.as_secs_f64());
                    match &outcome {
                        Outcome::Done { records, dead_letters, .. } => {
                            m.tasks_done.fetch_add(1, Ordering::Relaxed);
                            m.records.fetch_add(records.values().sum(), Ordering::Relaxed);
                            m.dead_letters.fetch_add(*dead_letters, Ordering::Relaxed);
                        }
                        Outcome::Failed { .. } => {}
                    }
                }
                match outcome {
                    Outcome::Done { follow_ups, records, dead_letters, coverage, journaled } => {
                        summary.tasks_done += 1;
                        summary.dead_letters += dead_letters;
                        summary.coverage.merge(&coverage);
                        for (topic, n) in records {
                            summary.records += n;
                            *summary.records_by_topic.entry(topic).or_default() += n;
                        }
                        let mut accepted = Vec::new();
                        for t in follow_ups {
                            match frontier.push(t.clone()) {
                                Push::Queued => accepted.push(t),
                                Push::Duplicate => summary.duplicate_tasks += 1,
                                Push::OverBudget => {
                                    if summary.fatal.is_none() {
                                        tracing::error!(plugin = %manifest.name, run = %run_id, "Task budget exhausted; refusing new tasks.");
                                    }
                                    summary.fatal = Some(budget_message(settings.run.max_tasks_per_run));
                                }
                                Push::OverByteBudget => {
                                    if summary.fatal.is_none() {
                                        tracing::error!(plugin = %manifest.name, run = %run_id, bytes = frontier.bytes(), "Task byte budget exhausted; refusing new tasks.");
                                    }
                                    summary.fatal = Some(byte_budget_message(settings.run.max_task_bytes_per_run));
                                }
                            }
                        }
                        // Remote attempts (distributed mode) are journaled here.
                        if !journaled
                            && let Some(j) = &journal
                            && let Err(e) = j.complete_task(&run_id, &entry.task.key, &accepted)
                        {
                            journal_err(e);
                        }
                        frontier.finish(phase);
                    }
                    Outcome::Failed { kind, error_kind, error } => {
                        let jitter = rand::random::<f64>();
                        match retry::decide(&settings.run, kind, entry.attempts, jitter) {
                            Decision::RetryAfter(delay) if !stopping => {
                                summary.retries += 1;
                                if let Some(m) = &metrics {
                                    m.task_retries.fetch_add(1, Ordering::Relaxed);
                                }
                                tracing::info!(plugin = %manifest.name, task = %entry.task.key, attempt = entry.attempts, delay_ms = delay.as_millis() as u64, error = %error, "Task failed; retrying.");
                                let tx = retry_tx.clone();
                                tokio::spawn(async move {
                                    tokio::time::sleep(delay).await;
                                    let _ = tx.send(entry);
                                });
                            }
                            Decision::RetryAfter(_) => {
                                // Shutting down: leave it queued in the
                                // journal; it runs again on resume.
                                frontier.finish(phase);
                            }
                            Decision::GiveUp => {
                                if let Some(m) = &metrics {
                                    m.tasks_failed.fetch_add(1, Ordering::Relaxed);
                                }
                                tracing::warn!(plugin = %manifest.name, task = %entry.task.key, attempts = entry.attempts, kind = error_kind, error = %error, "Task failed.");
                                let failure = TaskFailure {
                                    key: entry.task.key.clone(),
                                    kind: entry.task.kind.clone(),
                                    error_kind: error_kind.to_string(),
                                    error,
                                    attempts: entry.attempts,
                                };
                                if let Some(j) = &journal
                                    && let Err(e) = j.fail_task(&run_id, &failure)
                                {
                                    journal_err(e);
                                }
                                summary.tasks_failed.push(failure);
                                frontier.finish(phase);
                            }
                        }
                    }
                }
            }
            Some(entry) = retry_rx.recv() => {
                if stopping {
                    frontier.finish(entry.task.phase);
                } else {
                    frontier.retry(entry);
                }
            }
            changed = async {
                match shutdown.as_mut() {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                if changed.is_err() || shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                    if !stopping {
                        tracing::info!(plugin = %manifest.name, run = %run_id, in_flight = running.len(), "Shutting down: finishing tasks in flight, queued tasks resume on the next start.");
                    }
                    stopping = true;
                    // A dropped sender also means stop; don't poll it again.
                    shutdown = None;
                }
            }
            _ = tick.tick() => {
                progress(&Progress {
                    done: summary.tasks_done,
                    failed: summary.tasks_failed.len() as u64,
                    queued: frontier.queued(),
                    running: running.len(),
                    records: summary.records,
                    retries: summary.retries,
                    elapsed: started.elapsed(),
                });
            }
        }
    }
    progress(&Progress {
        done: summary.tasks_done,
        failed: summary.tasks_failed.len() as u64,
        queued: frontier.queued(),
        running: 0,
        records: summary.records,
        retries: summary.retries,
        elapsed: started.elapsed(),
    });
    let mut summary = finish(summary, &stats, started);
    let scheduled = matches!(request.input, PlanInput::Scheduled);
    check_drift(&settings, scheduled, &mut summary);
    if let Some(m) = &metrics {
        m.observe_coverage(&summary.coverage, &summary.drift);
        m.fetch_requests
            .fetch_add(summary.fetch.requests, Ordering::Relaxed);
        m.fetch_bytes
            .fetch_add(summary.fetch.bytes, Ordering::Relaxed);
        m.fetch_errors
            .fetch_add(summary.fetch.errors, Ordering::Relaxed);
        m.run_seconds.observe(summary.duration_ms as f64 / 1000.0);
        let counter = if summary.fatal.is_some() {
            &m.runs_failed
        } else {
            &m.runs_finished
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(j) = &journal {
        let status = if summary.interrupted {
            "interrupted"
        } else {
            "finished"
        };
        let json = serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into());
        if let Err(e) = j.end_run(&run_id, status, &json) {
            journal_err(e);
        }
    }
    tracing::info!(
        plugin = %summary.plugin,
        run = %summary.run_id,
        tasks_done = summary.tasks_done,
        tasks_failed = summary.tasks_failed.len(),
        records = summary.records,
        interrupted = summary.interrupted,
        "Run finished."
    );
    summary
}

/// Compare a finished run's coverage with the plugin's baseline and store
/// it (see [`crate::coverage`]); fills `summary.drift` and
/// `summary.drift_check`. Only complete scheduled runs are compared: a
/// triggered run covers one trigger record, an incomplete or resumed one
/// part of the site.
fn check_drift(settings: &Settings, scheduled: bool, summary: &mut RunSummary) {
    if !scheduled {
        summary.drift_check = DriftCheck::Skipped {
            reason: "a triggered run (one trigger record) is not compared".into(),
        };
        return;
    }
    if !summary.is_complete() {
        let why = if summary.fatal.is_some() {
            "the run could not complete"
        } else if summary.interrupted {
            "the run was interrupted"
        } else {
            "a resumed run counts only part of its records"
        };
        summary.drift_check = DriftCheck::Skipped { reason: why.into() };
        return;
    }
    let store = crate::coverage::store::CoverageStore::new(&settings.data_dir);
    let run = crate::coverage::drift::Snapshot {
        run_id: summary.run_id.clone(),
        started_at_ms: summary.started_at_ms,
        plugin_version: summary.plugin_version.clone(),
        coverage: summary.coverage.clone(),
        alarms: Vec::new(),
    };
    match store.check_and_record(&settings.drift, &summary.plugin, run) {
        Ok((alarms, check)) => {
            for a in &alarms {
                tracing::warn!(plugin = %summary.plugin, run = %summary.run_id, topic = %a.topic, field = a.field.as_deref().unwrap_or(""), kind = a.kind.as_str(), "Drift: {}", a.message);
            }
            summary.drift = alarms;
            summary.drift_check = check;
        }
        Err(e) => {
            let e = crate::error_text::chain(&e);
            tracing::error!(plugin = %summary.plugin, error = %e, "Cannot keep the run's coverage; drift not checked.");
            summary.drift_check = DriftCheck::Skipped {
                reason: format!("coverage store: {e}"),
            };
        }
    }
}

fn budget_message(max: usize) -> String {
    format!(
        "task budget of {max} distinct tasks exhausted (run.max_tasks_per_run); \
         later follow-up tasks were refused"
    )
}

fn byte_budget_message(max: u64) -> String {
    format!(
        "task byte budget of {max} bytes (task keys + payloads) exhausted \
         (run.max_task_bytes_per_run); later follow-up tasks were refused"
    )
}

fn finish(mut summary: RunSummary, stats: &FetchStats, started: Instant) -> RunSummary {
    summary.duration_ms = started.elapsed().as_millis() as u64;
    summary.fetch = stats.totals();
    summary.tasks_failed.sort_by(|a, b| a.key.cmp(&b.key));
    summary
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
