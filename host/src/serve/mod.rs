//! `crawlhost serve`: the long-running host.
//!
//! Owns the plugin table (which version of each plugin serves, which files
//! were refused and why), the plugins-directory watcher (hot swap), the cron
//! scheduler, the admin API and graceful shutdown, plus the topic-trigger
//! consumers of triggered plugins and the S3 sink when `[sink]` is
//! configured.
//!
//! **Hot swap.** A new or changed `.wasm` is compiled and checked off the
//! serving path (compilation runs on a blocking thread; the table is touched
//! only to swap an `Arc`). The plugin's [`CurrentPlugin`] handle then points
//! at the new version: tasks already running finish on the old one, the next
//! task of the same run uses the new one. A file that fails any check is
//! refused with the reason (log, admin API, metrics) and the previous version
//! keeps serving. Versions are told apart by content hash (an identical file
//! is a no-op) and compared by manifest semver for the log (upgrade or
//! downgrade). Removing the file unloads the plugin; a run in flight
//! finishes.
//!
//! **Shutdown.** On SIGTERM/SIGINT ([`crate::shutdown`], which the CLI
//! passes in as the shutdown future; tests inject their own) no new
//! runs or tasks start, tasks in flight finish, runs are left `interrupted` in
//! the frontier journal and resume on the next start, then the process exits
//! 0.

pub mod admin;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;

use crate::contract::PlanInput;
use crate::engine::LoadError;
use crate::host::Host;
use crate::metrics::Metrics;
use crate::registry;
use crate::run::{CurrentPlugin, RunRequest, RunSummary, execute_run};
use crate::schedule::CronSchedule;
use crate::time::now_ms;

/// How long the watcher waits for a burst of file events to settle.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// Runs remembered per plugin for the admin API.
const LAST_RUNS: usize = 20;

/// Errors starting or running the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error("cannot watch the plugins directory {path}: {message}")]
    Watch { path: PathBuf, message: String },
    #[error("admin API: {0}")]
    Admin(String),
    #[error("sink: {0}")]
    Sink(String),
}

/// Why starting a run was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("no plugin named `{0}` is loaded")]
    Unknown(String),
    #[error("plugin `{0}` is paused")]
    Paused(String),
    #[error("plugin `{plugin}` already has an active run ({run})")]
    Busy { plugin: String, run: String },
    #[error("the host is shutting down")]
    ShuttingDown,
}

/// A run as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunBrief {
    pub run_id: String,
    pub plugin_version: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub tasks_done: u64,
    pub tasks_failed: usize,
    pub records: u64,
    pub resumed: bool,
    pub interrupted: bool,
    pub fatal: Option<String>,
    /// Items the plugin skipped for missing identity fields.
    pub skipped_items: u64,
    /// The run's drift alarms, as sentences.
    pub drift: Vec<String>,
}

impl From<&RunSummary> for RunBrief {
    fn from(s: &RunSummary) -> Self {
        Self {
            run_id: s.run_id.clone(),
            plugin_version: s.plugin_version.clone(),
            started_at_ms: s.started_at_ms,
            duration_ms: s.duration_ms,
            tasks_done: s.tasks_done,
            tasks_failed: s.tasks_failed.len(),
            records: s.records,
            resumed: s.resumed,
            interrupted: s.interrupted,
            fatal: s.fatal.clone(),
            skipped_items: s.coverage.skipped_total(),
            drift: s.drift.iter().map(|a| a.message.clone()).collect(),
        }
    }
}

/// One loaded plugin.
struct Slot {
    current: Arc<CurrentPlugin>,
    path: PathBuf,
    paused: bool,
    schedule: Option<CronSchedule>,
    /// The tick to fire next.
    next_tick: Option<DateTime<Utc>>,
    active_run: Option<String>,
    last_runs: VecDeque<RunBrief>,
    health: crate::health::PluginHealth,
    loaded_at_ms: i64,
    /// The topic-trigger consumer of a triggered plugin (restarted on swap).
    triggers: Option<tokio::task::AbortHandle>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(t) = &self.triggers {
            t.abort();
        }
    }
}

/// A refused file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub path: PathBuf,
    pub reason: String,
    pub at_ms: i64,
}

/// What the admin API reports about a plugin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub path: PathBuf,
    pub contract: String,
    pub paused: bool,
    /// `healthy`; `degraded: <reason>` when the last complete run raised
    /// drift alarms; `unhealthy: <reason>` after repeated failed runs.
    pub health: String,
    pub schedule: Option<String>,
    pub active_run: Option<String>,
    pub loaded_at_ms: i64,
    pub last_runs: Vec<RunBrief>,
}

#[derive(Default)]
struct Table {
    slots: BTreeMap<String, Slot>,
    refused: BTreeMap<PathBuf, Refusal>,
}

/// The running service, shared by the scheduler, the watcher and the admin API.
pub struct Service {
    host: Host,
    table: Mutex<Table>,
    pub metrics: Arc<Metrics>,
    shutdown_tx: watch::Sender<bool>,
    /// Wakes the scheduler when the table changed.
    changed: Notify,
    runs: tokio::sync::Mutex<JoinSet<()>>,
}

impl Service {
    /// A service over `host` with nothing loaded yet.
    pub fn new(host: Host) -> Arc<Self> {
        let (shutdown_tx, _) = watch::channel(false);
        Arc::new(Self {
            host,
            table: Mutex::new(Table::default()),
            metrics: Arc::new(Metrics::default()),
            shutdown_tx,
            changed: Notify::new(),
            runs: tokio::sync::Mutex::new(JoinSet::new()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host's parts.
    pub fn host(&self) -> &Host {
        &self.host
    }

    fn schedule_for(&self, manifest_schedule: Option<&str>, name: &str) -> Option<CronSchedule> {
        let cfg = self.host.settings.plugins.get(name);
        let expr = cfg
            .and_then(|c| c.schedule.as_deref())
            .or(manifest_schedule)?;
        if expr.trim().eq_ignore_ascii_case("off") {
            return None;
        }
        let tz = cfg.and_then(|c| c.timezone.as_deref()).unwrap_or("UTC");
        match CronSchedule::parse(expr, tz) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(plugin = %name, error = %e, "Schedule ignored.");
                None
            }
        }
    }

    /// Load (or reload) one file and swap it in; refusals are recorded and
    /// the previous version keeps serving.
    pub async fn apply_file(&self, path: &Path) {
        let loaded = self.host.engine.load(path).await;
        match loaded {
            Ok(plugin) => {
                let plugin = Arc::new(plugin);
                let name = plugin.manifest.name.clone();
                let disabled = self
                    .host
                    .settings
                    .plugins
                    .get(&name)
                    .is_some_and(|c| c.disabled);
                let schedule = self.schedule_for(plugin.manifest.schedule.as_deref(), &name);
                let mut table = self.table();
                // Another plugin's file now declares a new name: unload the old one.
                let previous_owner = table
                    .slots
                    .iter()
                    .find(|(n, s)| s.path == path && **n != name)
                    .map(|(n, _)| n.clone());
                if let Some(old) = previous_owner {
                    tracing::info!(plugin = %old, path = %path.display(), "Plugin unloaded: its file now declares `{name}`.");
                    table.slots.remove(&old);
                }
                if let Some(other) = table.slots.get(&name).filter(|s| s.path != path) {
                    let reason = format!(
                        "declares plugin name `{name}`, already provided by {}",
                        other.path.display()
                    );
                    tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused.");
                    self.metrics
                        .plugins_refused
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    table.refused.insert(
                        path.to_path_buf(),
                        Refusal {
                            path: path.to_path_buf(),
                            reason,
                            at_ms: now_ms(),
                        },
                    );
                    return;
                }
                table.refused.remove(path);
                match table.slots.get_mut(&name) {
                    Some(slot) => {
                        let old = slot.current.get();
                        if old.hash == plugin.hash {
                            return;
                        }
                        let direction = match (
                            semver::Version::parse(&old.manifest.version),
                            semver::Version::parse(&plugin.manifest.version),
                        ) {
                            (Ok(a), Ok(b)) if b > a => "upgraded",
                            (Ok(a), Ok(b)) if b < a => "downgraded",
                            _ => "rebuilt",
                        };
                        tracing::info!(plugin = %name, from = %old.manifest.version, to = %plugin.manifest.version, sha256 = %plugin.hash, "Plugin {direction}; new tasks use the new version.");
                        slot.current.set(plugin.clone());
                        if let Some(t) = slot.triggers.take() {
                            t.abort();
                        }
                        slot.triggers = self.spawn_triggers(&plugin);
                        slot.next_tick = schedule.as_ref().and_then(|s| s.next_after(Utc::now()));
                        slot.schedule = schedule;
                        slot.loaded_at_ms = now_ms();
                        self.metrics
                            .plugin_swaps
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    None => {
                        tracing::info!(plugin = %name, version = %plugin.manifest.version, path = %path.display(), "Plugin loaded.");
                        let triggers = if disabled {
                            None
                        } else {
                            self.spawn_triggers(&plugin)
                        };
                        let health = self.initial_health(&name);
                        table.slots.insert(
                            name,
                            Slot {
                                current: CurrentPlugin::new(plugin),
                                path: path.to_path_buf(),
                                paused: disabled,
                                next_tick: schedule.as_ref().and_then(|s| s.next_after(Utc::now())),
                                schedule,
                                active_run: None,
                                last_runs: VecDeque::new(),
                                health,
                                loaded_at_ms: now_ms(),
                                triggers,
                            },
                        );
                    }
                }
                drop(table);
                self.changed.notify_one();
            }
            Err(LoadError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.remove_file(path);
            }
            Err(e) => {
                let reason = match &e {
                    LoadError::Contract { source, .. } => source.to_string(),
                    other => crate::error_text::chain(other),
                };
                tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused; the previous version (if any) keeps serving.");
                self.metrics
                    .plugins_refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.table().refused.insert(
                    path.to_path_buf(),
                    Refusal {
                        path: path.to_path_buf(),
                        reason,
                        at_ms: now_ms(),
                    },
                );
            }
        }
    }

    /// A newly loaded plugin's health: degraded when its last run on disk
    /// raised drift alarms (a restart does not forget them), else healthy.
    fn initial_health(&self, name: &str) -> crate::health::PluginHealth {
        let mut health = crate::health::PluginHealth::new(Default::default());
        let store = crate::coverage::store::CoverageStore::new(&self.host.settings.data_dir);
        match store.load(name) {
            Ok(Some(state)) => {
                if let Some(last) = state.last.filter(|l| !l.alarms.is_empty()) {
                    health.set_degraded(Some(format!(
                        "run {}: {} drift alarm(s); first: {}",
                        last.run_id,
                        last.alarms.len(),
                        last.alarms[0].message
                    )));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(plugin = %name, error = %crate::error_text::chain(&e), "Cannot read the plugin's coverage file.")
            }
        }
        health
    }

    /// What `data_dir` keeps of `name`'s coverage: baseline and last run.
    pub fn coverage(
        &self,
        name: &str,
    ) -> Result<Option<crate::coverage::drift::PluginCoverage>, crate::coverage::store::StoreError>
    {
        crate::coverage::store::CoverageStore::new(&self.host.settings.data_dir).load(name)
    }

    /// Forget `name`'s coverage baseline (its next complete run sets a new
    /// one); returns whether there was one.
    pub fn reset_coverage(&self, name: &str) -> Result<bool, crate::coverage::store::StoreError> {
        let reset =
            crate::coverage::store::CoverageStore::new(&self.host.settings.data_dir).reset(name)?;
        tracing::info!(plugin = %name, had_baseline = reset, "Coverage baseline reset; the next complete run sets a new one.");
        Ok(reset)
    }

    /// Start consuming the trigger topics of a triggered plugin. Trigger
    /// offsets are committed only after the planned tasks are done, so a
    /// consumer aborted by a swap or shutdown re-plans those records later.
    fn spawn_triggers(
        &self,
        plugin: &Arc<crate::engine::LoadedPlugin>,
    ) -> Option<tokio::task::AbortHandle> {
        if plugin.manifest.triggers.is_empty() {
            return None;
        }
        let ctx = self.host.run_context();
        let plugin = plugin.clone();
        let concurrency = self.host.settings.concurrency_for(&plugin.manifest.name);
        let handle = tokio::spawn(async move {
            let name = plugin.manifest.name.clone();
            match crate::trigger::consume(ctx, plugin, concurrency, crate::trigger::Until::Forever)
                .await
            {
                Ok(report) => {
                    tracing::info!(plugin = %name, records = report.records, "Trigger consumer stopped.")
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %crate::error_text::chain(&e), "Trigger consumer failed.")
                }
            }
        });
        Some(handle.abort_handle())
    }

    /// A file disappeared: unload the plugin it provided.
    pub fn remove_file(&self, path: &Path) {
        let mut table = self.table();
        table.refused.remove(path);
        let name = table
            .slots
            .iter()
            .find(|(_, s)| s.path == path)
            .map(|(n, _)| n.clone());
        if let Some(name) = name {
            tracing::info!(plugin = %name, path = %path.display(), "Plugin file removed; plugin unloaded.");
            table.slots.remove(&name);
        }
        drop(table);
        self.changed.notify_one();
    }

    /// Start a run of `name` in the background.
    pub async fn start_run(self: &Arc<Self>, name: &str) -> Result<String, StartError> {
        if *self.shutdown_tx.borrow() {
            return Err(StartError::ShuttingDown);
        }
        let (current, run_label) = {
            let mut table = self.table();
            let slot = table
                .slots
                .get_mut(name)
                .ok_or_else(|| StartError::Unknown(name.to_string()))?;
            if slot.paused {
                return Err(StartError::Paused(name.to_string()));
            }
            if let Some(run) = &slot.active_run {
                return Err(StartError::Busy {
                    plugin: name.to_string(),
                    run: run.clone(),
                });
            }
            let label = format!("{name}@{}", now_ms());
            slot.active_run = Some(label.clone());
            (slot.current.clone(), label)
        };
        let this = self.clone();
        let name = name.to_string();
        let request = RunRequest {
            plugin: current,
            input: PlanInput::Scheduled,
            shutdown: Some(self.shutdown_tx.subscribe()),
            metrics: Some(self.metrics.plugin(&name)),
        };
        let mut runs = self.runs.lock().await;
        while runs.try_join_next().is_some() {}
        runs.spawn(async move {
            let summary = execute_run(this.host.run_context(), request, &mut |_| {}).await;
            this.finish_run(&name, &summary);
        });
        Ok(run_label)
    }

    fn finish_run(&self, name: &str, summary: &RunSummary) {
        let mut table = self.table();
        if let Some(slot) = table.slots.get_mut(name) {
            slot.active_run = None;
            match slot.health.observe_run(summary) {
                Some(crate::health::Transition::BecameUnhealthy { reason }) => {
                    tracing::warn!(plugin = %name, reason = %reason, "Plugin is unhealthy.");
                }
                Some(crate::health::Transition::BecameDegraded { reason }) => {
                    tracing::warn!(plugin = %name, reason = %reason, "Plugin is degraded: drift alarms.");
                }
                Some(crate::health::Transition::Recovered) => {
                    tracing::info!(plugin = %name, "Plugin recovered.");
                }
                None => {}
            }
            slot.last_runs.push_front(RunBrief::from(summary));
            slot.last_runs.truncate(LAST_RUNS);
        }
    }

    /// Pause (no scheduled or manual runs) or resume a plugin.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), StartError> {
        let mut table = self.table();
        let slot = table
            .slots
            .get_mut(name)
            .ok_or_else(|| StartError::Unknown(name.to_string()))?;
        slot.paused = paused;
        if paused {
            if let Some(t) = slot.triggers.take() {
                t.abort();
            }
        } else if slot.triggers.is_none() {
            slot.triggers = self.spawn_triggers(&slot.current.get());
        }
        drop(table);
        self.changed.notify_one();
        Ok(())
    }

    /// Loaded plugins, for the admin API.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        let table = self.table();
        table
            .slots
            .iter()
            .map(|(name, s)| {
                let p = s.current.get();
                PluginInfo {
                    name: name.clone(),
                    version: p.manifest.version.clone(),
                    sha256: p.hash.clone(),
                    path: s.path.clone(),
                    contract: p.contract.to_string(),
                    paused: s.paused,
                    health: s.health.health().to_string(),
                    schedule: s.schedule.as_ref().map(|_| {
                        self.host
                            .settings
                            .plugins
                            .get(name)
                            .and_then(|c| c.schedule.clone())
                            .or(p.manifest.schedule.clone())
                            .unwrap_or_default()
                    }),
                    active_run: s.active_run.clone(),
                    loaded_at_ms: s.loaded_at_ms,
                    last_runs: s.last_runs.iter().cloned().collect(),
                }
            })
            .collect()
    }

    /// Refused files, for the admin API.
    pub fn refused(&self) -> Vec<Refusal> {
        self.table().refused.values().cloned().collect()
    }

    /// Ask every part to stop.
    pub fn shutdown(&self) {
        self.shutdown_tx.send_replace(true);
        self.changed.notify_one();
    }

    fn stopping(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    /// Fire due schedules until shutdown.
    async fn scheduler(self: Arc<Self>) {
        let mut shutdown = self.shutdown_tx.subscribe();
        loop {
            if self.stopping() {
                return;
            }
            let now = Utc::now();
            let mut due = Vec::new();
            let mut next: Option<DateTime<Utc>> = None;
            {
                let mut table = self.table();
                for (name, slot) in table.slots.iter_mut() {
                    let (Some(schedule), Some(tick)) = (&slot.schedule, slot.next_tick) else {
                        continue;
                    };
                    if tick <= now {
                        due.push(name.clone());
                        slot.next_tick = schedule.next_fire(Some(tick), now);
                    }
                    if let Some(t) = slot.next_tick {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                }
            }
            for name in due {
                match self.start_run(&name).await {
                    Ok(run) => tracing::info!(plugin = %name, run = %run, "Scheduled run started."),
                    Err(e) => {
                        tracing::warn!(plugin = %name, reason = %e, "Scheduled tick skipped.")
                    }
                }
            }
            let sleep = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.changed.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Watch the plugins directory and apply changes until shutdown.
    async fn watcher(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<PathBuf>) {
        let mut shutdown = self.shutdown_tx.subscribe();
        loop {
            let first = tokio::select! {
                p = events.recv() => match p { Some(p) => p, None => return },
                _ = shutdown.changed() => return,
            };
            // Collect the burst (a copy is several writes), then act once per file.
            let mut batch: HashMap<PathBuf, ()> = HashMap::new();
            batch.insert(first, ());
            while let Ok(Some(p)) = tokio::time::timeout(DEBOUNCE, events.recv()).await {
                batch.insert(p, ());
            }
            let mut paths: Vec<PathBuf> = batch.into_keys().collect();
            paths.sort();
            for path in paths {
                if path.exists() {
                    self.apply_file(&path).await;
                } else {
                    self.remove_file(&path);
                }
            }
        }
    }
}

/// Start the watcher on `dir`; events for `*.wasm` files arrive on the channel.
fn watch_dir(
    dir: &Path,
) -> Result<(notify::RecommendedWatcher, mpsc::UnboundedReceiver<PathBuf>), ServeError> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (tx, rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if path.extension().is_some_and(|e| e == "wasm") {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|e| ServeError::Watch {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| ServeError::Watch {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok((watcher, rx))
}

/// Run the service until `shutdown` resolves: load plugins, watch the
/// directory, fire schedules, serve the admin API on `admin` (when given),
/// then stop gracefully.
pub async fn serve(
    service: Arc<Service>,
    admin: Option<tokio::net::TcpListener>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let dir = service.host.settings.plugins_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| ServeError::Watch {
        path: dir.clone(),
        message: e.to_string(),
    })?;
    // Watch before the initial scan so no change slips between the two.
    let (_watcher, events) = watch_dir(&dir)?;
    for path in registry::wasm_files(&dir)? {
        service.apply_file(&path).await;
    }
    let mut tasks = JoinSet::new();
    tasks.spawn(service.clone().scheduler());
    tasks.spawn(service.clone().watcher(events));
    if let Some(listener) = admin {
        let router =
            admin::router(service.clone(), &service.host.settings).map_err(ServeError::Admin)?;
        let mut stop = service.shutdown_tx.subscribe();
        tasks.spawn(async move {
            let result = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "Admin API stopped.");
            }
        });
    }
    if let Some(sink_config) = &service.host.settings.sink {
        let sink_settings = sink_config
            .validate(&service.host.settings.data_dir)
            .map_err(|e| ServeError::Sink(e.to_string()))?;
        let mut sink = crate::sink::Sink::new(
            sink_settings,
            service.host.bus.clone(),
            Arc::new(crate::sink::SystemClock),
        )
        .await
        .map_err(|e| ServeError::Sink(crate::error_text::chain(&e)))?;
        let mut stop = service.shutdown_tx.subscribe();
        tasks.spawn(async move {
            let result = sink
                .run(crate::sink::RunMode::Forever, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            match result {
                Ok(report) => tracing::info!(
                    records = report.records_written,
                    objects = report.objects_written,
                    "Sink stopped."
                ),
                Err(e) => tracing::error!(error = %e, "Sink failed."),
            }
        });
    }
    tracing::info!(plugins = service.plugins().len(), "Serving.");
    shutdown.await;
    tracing::info!("Shutdown requested: finishing tasks in flight.");
    service.shutdown();
    for slot in service.table().slots.values_mut() {
        if let Some(t) = slot.triggers.take() {
            t.abort();
        }
    }
    let mut runs = std::mem::take(&mut *service.runs.lock().await);
    while runs.join_next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
    tracing::info!("Stopped.");
    Ok(())
}
