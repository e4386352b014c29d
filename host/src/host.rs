//! Assembly: from checked [`Settings`] to a working host (HTTP client, state
//! store, bus, engine). The CLI and the tests build a [`Host`] and hand out
//! its parts; nothing here is global.

use std::path::Path;
use std::sync::Arc;

use crate::bus::Bus;
use crate::bus::embedded::EmbeddedBus;
use crate::bus::forward::ForwardingBus;
use crate::bus::kafka::KafkaBus;
use crate::config::Settings;
use crate::engine::sandbox::HostServices;
use crate::engine::{EngineError, PluginEngine};
use crate::http::{FetchError, HttpClient};
use crate::registry::{self, RegistryError, Scan};
use crate::run::RunContext;
use crate::run::journal::{Journal, JournalError};
use crate::state::{StateError, StateStore};

/// Errors starting the host.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot create data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Http(#[from] FetchError),
    #[error("cannot open plugin state")]
    State(#[from] StateError),
    #[error("cannot open the bus")]
    Bus(#[from] crate::bus::BusError),
    #[error(transparent)]
    Kafka(crate::bus::kafka::KafkaConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot open the frontier journal")]
    Journal(#[from] JournalError),
}

/// A running host's shared parts.
pub struct Host {
    pub settings: Arc<Settings>,
    pub engine: Arc<PluginEngine>,
    pub bus: Arc<dyn Bus>,
    /// The durable frontier (`<data_dir>/frontier.db`).
    pub journal: Arc<Journal>,
}

impl Host {
    /// Build the host on the bus the settings choose: Kafka (behind the
    /// store-and-forward log `forward.db`) when `[kafka]` is present, else
    /// the embedded bus in `settings.data_dir`. With Kafka this must run
    /// inside the async runtime (the forwarder is a task).
    pub fn open(settings: Settings) -> Result<Self, HostError> {
        let data = &settings.data_dir;
        std::fs::create_dir_all(data).map_err(|source| HostError::DataDir {
            path: data.clone(),
            source,
        })?;
        let bus: Arc<dyn Bus> = match &settings.kafka {
            Some(kafka) => {
                let checked = kafka
                    .check(&|name| std::env::var(name).ok())
                    .map_err(HostError::Kafka)?;
                let kafka = Arc::new(KafkaBus::connect(checked)?);
                Arc::new(ForwardingBus::open(kafka, &data.join("forward.db"))?)
            }
            None => Arc::new(EmbeddedBus::open(
                &data.join("bus.db"),
                settings.bus.partitions,
            )?),
        };
        Self::with_bus(settings, bus)
    }

    /// Build the host on a given bus (the Kafka backend, or a test's).
    pub fn with_bus(settings: Settings, bus: Arc<dyn Bus>) -> Result<Self, HostError> {
        let data = &settings.data_dir;
        std::fs::create_dir_all(data).map_err(|source| HostError::DataDir {
            path: data.clone(),
            source,
        })?;
        let services = Arc::new(HostServices {
            http: Arc::new(HttpClient::new(settings.http.clone())?),
            state: Arc::new(StateStore::open(
                &data.join("state.db"),
                settings.sandbox.state_quota_bytes,
            )?),
            browser: settings
                .browser
                .clone()
                .map(|b| crate::browser::Browser::new(b, settings.http.address_policy())),
            html: settings.html.clone(),
            selectors: Default::default(),
        });
        // Pool sized for every plugin's concurrency plus load-time instances.
        let instances = (settings.run.concurrency * 4).clamp(16, 1000) as u32;
        let engine = PluginEngine::new(
            settings.sandbox.clone(),
            instances,
            Some(&settings.cache_dir),
            services,
        )?;
        let journal = Arc::new(Journal::open(&data.join("frontier.db"))?);
        Ok(Self {
            settings: Arc::new(settings),
            engine: Arc::new(engine),
            bus,
            journal,
        })
    }

    /// An engine for checking plugin files only (`plugin inspect`): nothing
    /// is written (in-memory state, no compile cache, no data directory).
    pub fn inspect_engine(settings: &Settings) -> Result<PluginEngine, HostError> {
        Self::file_engine(settings, None)
    }

    /// An engine for compiling plugin files into the compile cache
    /// (`plugin compile`, the kit's load): in-memory state, no data
    /// directory; only `host.cache_dir` is written, so a later load of the
    /// same file skips compiling.
    pub fn compile_engine(settings: &Settings) -> Result<PluginEngine, HostError> {
        Self::file_engine(settings, Some(&settings.cache_dir))
    }

    fn file_engine(settings: &Settings, cache: Option<&Path>) -> Result<PluginEngine, HostError> {
        let services = Arc::new(HostServices {
            http: Arc::new(HttpClient::new(settings.http.clone())?),
            state: Arc::new(StateStore::in_memory(settings.sandbox.state_quota_bytes)?),
            browser: None,
            html: settings.html.clone(),
            selectors: Default::default(),
        });
        Ok(PluginEngine::new(
            settings.sandbox.clone(),
            16,
            cache,
            services,
        )?)
    }

    /// Load every plugin in the plugins directory.
    pub async fn scan_plugins(&self) -> Result<Scan, HostError> {
        Ok(registry::scan(&self.engine, &self.settings.plugins_dir).await?)
    }

    /// The parts a run needs.
    pub fn run_context(&self) -> RunContext {
        RunContext {
            engine: self.engine.clone(),
            bus: self.bus.clone(),
            settings: self.settings.clone(),
            journal: Some(self.journal.clone()),
            remote: None,
        }
    }
}
