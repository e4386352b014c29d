//! The plugin conformance kit behind `crawlhost plugin test FILE.wasm`: tells
//! a plugin author whether a new `.wasm` will work before it is dropped into
//! the plugins directory.
//!
//! The kit loads the file with the real engine (contract and manifest
//! checks), then runs it twice through the real run loop
//! ([`crate::run::run_plugin`]) on the embedded bus in a temporary data
//! directory, against recorded traffic (`--replay DIR`, see
//! [`crate::http::record`]) or a local fixture site (`--fixture URL`). It
//! owns the checks made on what those runs did ([`judge`], pure) and the
//! pass/fail table ([`Report`]). Each run gets a fresh data directory, so
//! plugin state from the first run does not change the second.
//!
//! Layout: this file holds the options, errors and the run results the
//! checks read; `harness.rs` sets up and runs the plugin ([`test_plugin`]),
//! `judge.rs` computes the checks ([`judge`]), `report.rs` holds the
//! [`Report`] and its table.

mod harness;
mod judge;
mod report;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::host::HostError;
use crate::run::RunSummary;

pub use harness::test_plugin;
pub use judge::judge;
pub use report::{Check, Report, Status};

/// Default task budget: a crawl that needs more distinct tasks than this on
/// fixture or recorded traffic is treated as not terminating.
pub const DEFAULT_MAX_TASKS: usize = 10_000;

/// Where the plugin's traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// Answer every fetch from a recording made with `crawlhost run --record`.
    Replay(PathBuf),
    /// Fetch live from a local fixture site at this URL: loopback addresses
    /// are allowed and, when the manifest declares a `base_url` config key,
    /// it is set to this URL (unless `--set base_url=...` says otherwise).
    Fixture(String),
    /// Live traffic with the host's usual rules (nothing private).
    Live,
}

/// What to test and how.
#[derive(Debug, Clone)]
pub struct KitOptions {
    /// The `.wasm` file.
    pub wasm: PathBuf,
    pub traffic: Traffic,
    /// Plugin config values (`--set KEY=VALUE`).
    pub config: BTreeMap<String, String>,
    /// Distinct tasks a run may create before it counts as endless.
    pub max_tasks: usize,
    /// For trigger-only plugins: the value of a record of the first trigger
    /// topic to plan from (`--trigger JSON`); `None` plans a scheduled run.
    pub trigger: Option<String>,
    /// Credentials the host adds to matching requests, as in a normal run
    /// (the CLI passes the configuration's `[[http.secrets]]`), so a plugin
    /// for an API with a bearer token can be tested against its fixture.
    pub secrets: crate::http::secrets::Secrets,
    /// The configuration's `[browser]` (with its secrets), for plugins that
    /// use the browser; not used with a replay (a recording holds no pages).
    pub browser: Option<crate::browser::BrowserSettings>,
    /// The compile cache to load from and fill (the CLI passes the
    /// configuration's `host.cache_dir`); `None` compiles once into a
    /// temporary directory.
    pub cache_dir: Option<PathBuf>,
}

impl KitOptions {
    /// Options with the defaults: live traffic, no config, default budget.
    pub fn new(wasm: impl Into<PathBuf>, traffic: Traffic) -> Self {
        Self {
            wasm: wasm.into(),
            traffic,
            config: BTreeMap::new(),
            max_tasks: DEFAULT_MAX_TASKS,
            trigger: None,
            secrets: crate::http::secrets::Secrets::default(),
            browser: None,
            cache_dir: None,
        }
    }
}

/// Errors that stop the kit before it can judge the plugin (the plugin's own
/// faults are failed checks, not errors).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("cannot make a temporary data directory {path}")]
    TempDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("kit configuration")]
    Config(#[from] ConfigError),
    #[error("cannot start the host")]
    Host(#[from] HostError),
    #[error("--replay {0}: no such directory (make one with `crawlhost run --once --record DIR`)")]
    NoReplayDir(PathBuf),
    #[error("cannot read the bus of the test run")]
    Bus(#[from] crate::bus::BusError),
}

/// One record as the kit compares them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeenRecord {
    pub topic: String,
    pub key: Option<String>,
    pub value: String,
    /// `crawlhost-error` header (dead letters).
    pub error: Option<String>,
    /// `crawlhost-original-topic` header (dead letters).
    pub original_topic: Option<String>,
}

/// What one run left behind.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub summary: RunSummary,
    pub records: Vec<SeenRecord>,
}
