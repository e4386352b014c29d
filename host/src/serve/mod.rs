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
//!
//! Layout: this file holds the [`Service`] and its errors; `table.rs` the
//! plugin table and its admin views, `swap.rs` hot swap and the directory
//! watcher, `cron.rs` schedules, `runs.rs` starting and recording runs,
//! `lifecycle.rs` start and stop ([`serve`]).

pub mod admin;
mod cron;
mod lifecycle;
pub mod overview;
pub mod page;
mod runs;
mod swap;
mod table;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::shutdown::Shutdown;
use tokio::task::JoinSet;

use crate::host::Host;
use crate::metrics::Metrics;
use crate::registry;

pub use lifecycle::serve;
pub use runs::RunBrief;
pub use table::{PluginInfo, Refusal};
use table::{Slot, Table};

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

/// The running service, shared by the scheduler, the watcher and the admin API.
pub struct Service {
    host: Host,
    table: Mutex<Table>,
    pub metrics: Arc<Metrics>,
    /// Set by [`Service::shutdown`]; every part of the service watches it.
    stop: Shutdown,
    /// Wakes the scheduler when the table changed.
    changed: Notify,
    runs: tokio::sync::Mutex<JoinSet<()>>,
    /// The sink, once `serve` started it (`[sink]` configured).
    sink: std::sync::OnceLock<Arc<SinkHandle>>,
}

/// What the service knows of the sink it runs, for the operator's view.
pub struct SinkHandle {
    pub group: String,
    pub topics: Vec<String>,
    /// Where objects go, for people.
    pub store: String,
    pub status: Arc<crate::sink::status::Status>,
    error: Mutex<Option<String>>,
}

impl SinkHandle {
    /// Why the sink stopped, if it failed.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn failed(&self, why: String) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }
}

impl Service {
    /// A service over `host` with nothing loaded yet.
    pub fn new(host: Host) -> Arc<Self> {
        Arc::new(Self {
            host,
            table: Mutex::new(Table::default()),
            metrics: Arc::new(Metrics::default()),
            stop: Shutdown::new(),
            changed: Notify::new(),
            runs: tokio::sync::Mutex::new(JoinSet::new()),
            sink: std::sync::OnceLock::new(),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host's parts.
    pub fn host(&self) -> &Host {
        &self.host
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

    /// The sink `serve` runs, once started.
    pub fn sink_handle(&self) -> Option<Arc<SinkHandle>> {
        self.sink.get().cloned()
    }

    /// Ask every part to stop.
    pub fn shutdown(&self) {
        self.stop.cancel();
        self.changed.notify_one();
    }

    fn stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}
