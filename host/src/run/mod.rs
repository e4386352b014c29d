//! One run of one plugin: `plan` seeds the frontier, tasks run in fresh
//! instances with bounded concurrency, records go to the bus, follow-up tasks
//! go back into the frontier, and the run ends when the frontier is empty.
//!
//! A task counts as done only after the bus acknowledged all its records; a
//! bus failure makes the task fail retryably, and because a task's records
//! are produced as one atomic batch nothing is half-written. Every failure is
//! retried per [`retry`] and, if it persists, reported in the
//! [`RunSummary`]: nothing is dropped silently.
//!
//! # Layout
//! [`execute_run`] reads as the steps of a run, each in its own module:
//! - `resume`: continue an unfinished run of the same build from the
//!   [`journal`], or start a new one;
//! - `plan`: a new run's first tasks from the plugin's `plan`;
//! - `drive`: the task loop (concurrency, retries, follow-ups, shutdown);
//! - `task`: one attempt of one task (sandbox, output checks, bus batch);
//! - `finish`: totals, drift check, metrics, the journal's end of the run.
//!
//! Beside them: [`frontier`] (which task goes next: dedup, phases, budgets),
//! [`retry`] (the retry policy), [`journal`] (the durable frontier),
//! [`summary`] (what a run reports) and [`remote`] (tasks and outcomes as
//! they travel between hosts in distributed mode).

mod drive;
mod finish;
pub mod frontier;
pub mod journal;
mod plan;
pub mod remote;
mod resume;
pub mod retry;
pub mod summary;
mod task;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::bus::Bus;
use crate::config::Settings;
use crate::contract::{PlanInput, PluginManifest, RunInfo, Task};
use crate::engine::{LoadedPlugin, PluginEngine};
use crate::http::{FetchScope, FetchStats};
use crate::manifest;
use frontier::Frontier;
use journal::Journal;
use resume::Start;
use task::RunShared;

pub use remote::{TaskOutcome, TaskSpec, execute_task};
pub use summary::{FetchTotals, Progress, RunSummary, TaskFailure};

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

/// Run a [`RunRequest`] to completion (or until shutdown).
pub async fn execute_run(
    ctx: RunContext,
    request: RunRequest,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> RunSummary {
    let started = Instant::now();
    let first = request.plugin.get();
    let manifest = first.manifest.clone();
    let scheduled = matches!(request.input, PlanInput::Scheduled);
    // Only scheduled runs are journaled (and resumed).
    let journal = if scheduled { ctx.journal.clone() } else { None };
    let start = Start::find(journal.as_deref(), &manifest.name, &first.hash);
    let (run_id, started_at_ms) = start.identity(&manifest.name);
    let resumed = matches!(start, Start::Resume(_));
    let mut summary = RunSummary::empty(&manifest, run_id, started_at_ms, resumed);
    let stats = Arc::new(FetchStats::default());
    // `/metrics` counts the run's fetches while it runs, and once after.
    let _live_fetches = request
        .metrics
        .as_ref()
        .map(|m| crate::metrics::fetch::FetchCounters::track(m, stats.clone()));
    let shared = match run_shared(&ctx, &request, &manifest, &summary, &stats, journal.clone()) {
        Ok(shared) => shared,
        Err(fatal) => {
            summary.fatal = Some(fatal);
            return summary;
        }
    };
    let settings = &ctx.settings;
    let mut frontier = Frontier::new(settings.run.max_tasks_per_run)
        .with_byte_budget(settings.run.max_task_bytes_per_run);
    match start {
        Start::Resume(u) => resume::resume(*u, &mut frontier, &mut summary),
        Start::Fresh => {
            let planned =
                plan::plan(&shared, &first, &request.input, &mut frontier, &mut summary).await;
            if let Err(fatal) = planned {
                summary.fatal = Some(fatal);
                return finish::close(summary, &stats, started);
            }
        }
    }
    let metrics = request.metrics.as_deref();
    drive::drive(
        &shared,
        &mut frontier,
        &mut summary,
        request.shutdown,
        metrics,
        progress,
        started,
    )
    .await;
    let mut summary = finish::close(summary, &stats, started);
    finish::conclude(
        settings,
        journal.as_deref(),
        metrics,
        scheduled,
        &mut summary,
    );
    summary
}

/// What every task of the run shares: the checked output topics, the
/// effective plugin config, the fetch allow-list. `Err` says why the run
/// cannot start.
fn run_shared(
    ctx: &RunContext,
    request: &RunRequest,
    manifest: &PluginManifest,
    summary: &RunSummary,
    stats: &Arc<FetchStats>,
    journal: Option<Arc<Journal>>,
) -> Result<Arc<RunShared>, String> {
    let settings = &ctx.settings;
    manifest::check_output_topics(manifest, &crate::config::internal_topics(settings))
        .map_err(|e| e.to_string())?;
    let operator = settings.plugin_values(&manifest.name);
    let config = manifest::effective_config(manifest, &operator).map_err(|e| e.to_string())?;
    let allow = manifest::allow_list(manifest, &config).map_err(|e| e.to_string())?;
    Ok(Arc::new(RunShared {
        ctx: ctx.clone(),
        plugin: request.plugin.clone(),
        info: RunInfo {
            run_id: summary.run_id.clone(),
            started_at_ms: summary.started_at_ms,
            config: config.into_iter().collect(),
        },
        scope: FetchScope::new(manifest.name.clone(), Arc::new(allow), stats.clone()),
        journal,
    }))
}

/// A journal write failed: the run goes on, but will not resume exactly
/// after a crash.
fn log_journal_error(e: journal::JournalError) {
    tracing::error!(error = %e, "Cannot write the frontier journal; this run will not resume after a crash.");
}
