//! The WebAssembly engine: one wasmtime [`Engine`] for the process, plugins
//! compiled once (and cached on disk), and a fresh store and instance for
//! every call.
//!
//! Isolation per call: a new [`Store`] from the plugin's
//! [`PluginPre`](crate::contract::PluginPre) (the pre-linked instance, so
//! instantiation is cheap), [`SandboxLimits`] for memory
//! (summed over all memories of the instance) and core instance counts,
//! and two deadlines. Epoch interruption stops guest code that spins (a ticker
//! thread advances the epoch every [`EPOCH_TICK`]; the store's callback traps
//! once the wall-clock deadline has passed and otherwise yields to the async
//! executor, so one busy plugin cannot starve the others); an outer
//! `tokio::time::timeout` with the same deadline covers time spent inside host
//! calls such as a slow fetch.
//!
//! The engine composes the capabilities and knows none of their insides:
//! the store data ([`sandbox::HostState`]) has one part per capability, and
//! the linker is built from each capability's `add_to_linker`, projected to
//! its part. The contract's types come from [`crate::contract`]; the checks
//! that a file is a loadable crawler are [`contract`]'s; the `[sandbox]`
//! section is [`config`]'s.
//!
//! [`SandboxLimits`]: sandbox::SandboxLimits

pub mod cache;
pub mod config;
pub mod contract;
pub mod sandbox;
pub mod stderr;
mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};

use crate::contract::{CrawlError, CrawlOutput, PlanInput, PluginManifest, RunInfo, Task};
use crate::http::FetchScope;
use crate::manifest::{self, ManifestError};
use cache::{ComponentCache, content_hash};
use config::{Pooling, SandboxSettings};
use contract::ContractError;
use sandbox::{HostServices, HostState};
use world::{WorldError, WorldInstance, WorldPre};

/// How often the epoch advances; the granularity of CPU deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Errors setting the engine up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot create the WebAssembly engine: {0}")]
    Create(String),
    #[error("cannot link host functions: {0}")]
    Link(String),
}

/// Why a plugin file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bigger than `sandbox.max_plugin_file_mb`: refused before reading it
    /// whole and compiling it.
    #[error(
        "{path}: {size} bytes, more than the {limit} bytes a plugin file may have \
         (sandbox.max_plugin_file_mb)"
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}")]
    Contract {
        path: PathBuf,
        source: ContractError,
    },
    #[error("{path}: does not compile: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("{path}: cannot be linked against the host: {message}")]
    Link { path: PathBuf, message: String },
    #[error("{path}: manifest() failed")]
    ManifestCall { path: PathBuf, source: SandboxError },
    #[error("{path}")]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
}

/// Why a call into a plugin did not return.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SandboxError {
    /// The wall-clock deadline passed (guest code or host calls).
    #[error("deadline of {}s exceeded", limit.as_secs_f64())]
    Deadline { limit: Duration },
    /// The instance tried to grow memory past the limit.
    #[error("memory limit of {} MiB exceeded", limit / (1024 * 1024))]
    Memory { limit: usize },
    /// The plugin handed the host more bytes in one transfer (a call's result,
    /// or one host call's arguments) than `sandbox.max_output_bytes_per_task`;
    /// refused while copying, before the host allocated them.
    #[error(
        "output refused: the plugin handed the host more than {limit} bytes at once \
         (sandbox.max_output_bytes_per_task)"
    )]
    Output { limit: usize },
    /// Any other trap: a panic, an unreachable, a stack overflow.
    #[error("plugin trapped: {message}")]
    Trap { message: String },
    /// Instantiation failed (pool exhausted, start function trapped).
    #[error("cannot instantiate plugin: {message}")]
    Instantiate { message: String },
}

/// A plugin that passed every check and is ready to run.
pub struct LoadedPlugin {
    pub manifest: PluginManifest,
    /// The contract version it was built against.
    pub contract: semver::Version,
    /// SHA-256 of the `.wasm` file.
    pub hash: String,
    pub path: PathBuf,
    /// Whether compilation was skipped thanks to the on-disk cache.
    pub from_cache: bool,
    pre: WorldPre,
}

/// What one `crawl` call returned, with what the plugin reported on the
/// side through the `quality` import (contract 0.3).
#[derive(Debug)]
pub struct Crawled {
    pub result: Result<CrawlOutput, CrawlError>,
    /// Items the plugin skipped for a missing identity field.
    pub skipped: crate::guest_log::SkippedTally,
}

/// Everything a call needs besides the plugin itself.
pub struct CallContext {
    pub scope: FetchScope,
    /// Task key (or `plan`), for logs.
    pub label: String,
    pub started_at_ms: i64,
    /// Seed of the guest's random source.
    pub seed: u64,
}

/// The process-wide engine.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<Arc<ComponentCache>>,
    services: Arc<HostServices>,
    sandbox: SandboxSettings,
    pooling: bool,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// The imports of every capability, for every contract version. The `types`
/// interface has no functions; it is linked against the store data itself.
fn link_capabilities(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    crate::contract::crawlhost::plugin::types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    crate::http::imports::add_to_linker(linker, |s| &mut s.http)?;
    crate::state::imports::add_to_linker(linker, |s| &mut s.state)?;
    crate::browser::imports::add_to_linker(linker, |s| &mut s.browser)?;
    crate::html::imports::add_to_linker(linker, |s| &mut s.html)?;
    crate::guest_log::add_to_linker(linker, |s| &mut s.log)
}

fn base_config() -> wasmtime::Config {
    let mut cfg = wasmtime::Config::new();
    cfg.wasm_component_model(true);
    cfg.epoch_interruption(true);
    cfg
}

impl PluginEngine {
    /// Create the engine. `instances` sizes the pooling allocator (instances
    /// alive at once across all plugins); `cache_dir` enables the compiled
    /// component cache.
    pub fn new(
        sandbox: SandboxSettings,
        instances: u32,
        cache_dir: Option<&Path>,
        services: Arc<HostServices>,
    ) -> Result<Self, EngineError> {
        let (engine, pooling) = match sandbox.pooling {
            Pooling::Off => (Self::on_demand()?, false),
            Pooling::On => (Self::pooled(&sandbox, instances)?, true),
            Pooling::Auto => match Self::pooled(&sandbox, instances) {
                Ok(e) => (e, true),
                Err(e) => {
                    tracing::info!(error = %e, "Pooling allocator unavailable; using on-demand allocation.");
                    (Self::on_demand()?, false)
                }
            },
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| EngineError::Link(e.to_string()))?;
        // Every capability links its imports of every supported contract
        // version (a component links against the interfaces of its own
        // version), each projected to its own part of the store data.
        link_capabilities(&mut linker).map_err(|e| EngineError::Link(e.to_string()))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("crawlhost-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| EngineError::Create(format!("cannot start epoch ticker: {e}")))?;
        }
        let cache = cache_dir.map(|d| Arc::new(ComponentCache::new(d, &engine)));
        Ok(Self {
            engine,
            linker,
            cache,
            services,
            sandbox,
            pooling,
            stop_ticker,
        })
    }

    fn on_demand() -> Result<Engine, EngineError> {
        Engine::new(&base_config()).map_err(|e| EngineError::Create(e.to_string()))
    }

    fn pooled(sandbox: &SandboxSettings, instances: u32) -> Result<Engine, EngineError> {
        let mut pool = PoolingAllocationConfig::default();
        // What one store may create at most (`SandboxLimits`), times the
        // instances: a plugin cannot take more than its share of the pool.
        pool.total_component_instances(instances)
            .total_core_instances(instances * sandbox::CORE_INSTANCES_PER_STORE)
            .total_memories(instances * sandbox::MEMORIES_PER_STORE)
            .total_tables(instances * sandbox::TABLES_PER_STORE)
            .total_stacks(instances)
            .max_memory_size(sandbox.memory_limit_bytes)
            // `sandbox.keep_resident_mb`: written pages stay in the slot and
            // are reset from the image (see the field). Tables are reset
            // with memset up to 1 MiB (a Python component's largest table,
            // 5,708 entries, is 45 KiB); `0` resets both with madvise.
            .linear_memory_keep_resident(sandbox.keep_resident_bytes)
            .table_keep_resident(sandbox.keep_resident_bytes.min(1 << 20));
        let mut cfg = base_config();
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        Engine::new(&cfg).map_err(|e| EngineError::Create(format!("{e:#}")))
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Read, check, compile (or load from cache), link and describe a plugin.
    pub async fn load(&self, path: &Path) -> Result<LoadedPlugin, LoadError> {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|source| LoadError::Read {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        self.check_size(path, size)?;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        self.load_bytes(path, bytes).await
    }

    /// [`Self::load`] for bytes already in memory; `path` names it in errors.
    pub async fn load_bytes(&self, path: &Path, bytes: Vec<u8>) -> Result<LoadedPlugin, LoadError> {
        self.check_size(path, bytes.len() as u64)?;
        let contract_err = |source| LoadError::Contract {
            path: path.to_path_buf(),
            source,
        };
        contract::classify(&bytes).map_err(contract_err)?;
        let hash = content_hash(&bytes);
        // Compilation is CPU-bound: keep it off the async workers.
        let (component, from_cache) = {
            let engine = self.engine.clone();
            let cache = self.cache.clone();
            let hash = hash.clone();
            tokio::task::spawn_blocking(move || match cache {
                Some(cache) => cache.load_or_compile(&engine, &bytes, &hash),
                None => wasmtime::component::Component::new(&engine, &bytes).map(|c| (c, false)),
            })
            .await
            .map_err(|e| wasmtime::format_err!("compiler task failed: {e}"))
            .and_then(|r| r)
            .map_err(|e| LoadError::Compile {
                path: path.to_path_buf(),
                message: format!("{e:#}"),
            })?
        };
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let contract = contract::check_names(
            exports.iter().map(String::as_str),
            imports.iter().map(String::as_str),
        )
        .map_err(contract_err)?;
        let link_err = |e: wasmtime::Error| LoadError::Link {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        };
        let pre = self.linker.instantiate_pre(&component).map_err(link_err)?;
        let pre = WorldPre::new(pre, &contract).map_err(|e| match e {
            WorldError::Contract(source) => contract_err(source),
            WorldError::Link(message) => LoadError::Link {
                path: path.to_path_buf(),
                message,
            },
        })?;
        // The file name names the instance in logs only: `manifest()` gets
        // no state and no fetch (imports refused below), since the name
        // state is keyed by is the one the manifest is about to declare.
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ctx = CallContext {
            scope: FetchScope::new(stem, Default::default(), Default::default()),
            label: "manifest".into(),
            started_at_ms: 0,
            seed: 0,
        };
        let manifest = self
            .call(
                &pre,
                ctx,
                self.sandbox.plan_timeout,
                false,
                |plugin, store| Box::pin(async move { plugin.call_manifest(store).await }),
            )
            .await
            .map_err(|source| LoadError::ManifestCall {
                path: path.to_path_buf(),
                source,
            })?;
        manifest::validate(&manifest).map_err(|source| LoadError::Manifest {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(LoadedPlugin {
            manifest,
            contract,
            hash,
            path: path.to_path_buf(),
            from_cache,
            pre,
        })
    }

    fn check_size(&self, path: &Path, size: u64) -> Result<(), LoadError> {
        let limit = self.sandbox.max_plugin_file_bytes;
        if size > limit {
            return Err(LoadError::TooLarge {
                path: path.to_path_buf(),
                size,
                limit,
            });
        }
        Ok(())
    }

    /// Call `plan` in a fresh instance.
    pub async fn plan(
        &self,
        plugin: &LoadedPlugin,
        ctx: CallContext,
        run: &RunInfo,
        input: &PlanInput,
    ) -> Result<Result<Vec<Task>, CrawlError>, SandboxError> {
        let (run, input) = (run.clone(), input.clone());
        self.call(
            &plugin.pre,
            ctx,
            self.sandbox.plan_timeout,
            true,
            move |p, store| Box::pin(async move { p.call_plan(store, &run, &input).await }),
        )
        .await
    }

    /// Call `crawl` in a fresh instance.
    pub async fn crawl(
        &self,
        plugin: &LoadedPlugin,
        ctx: CallContext,
        run: &RunInfo,
        task: &Task,
    ) -> Result<Crawled, SandboxError> {
        let (run, task) = (run.clone(), task.clone());
        self.call(
            &plugin.pre,
            ctx,
            self.sandbox.task_timeout,
            true,
            move |p, store| {
                Box::pin(async move {
                    let result = p.call_crawl(&mut *store, &run, &task).await?;
                    let skipped = store.data_mut().log.take_skipped();
                    Ok(Crawled { result, skipped })
                })
            },
        )
        .await
    }

    /// Instantiate into a fresh store and run `f` under both deadlines.
    async fn call<R, F>(
        &self,
        pre: &WorldPre,
        ctx: CallContext,
        timeout: Duration,
        imports_allowed: bool,
        f: F,
    ) -> Result<R, SandboxError>
    where
        F: for<'a> FnOnce(
            &'a WorldInstance,
            &'a mut Store<HostState>,
        ) -> futures::future::BoxFuture<'a, wasmtime::Result<R>>,
    {
        let deadline = Instant::now() + timeout;
        let state = HostState::new(
            &self.services,
            ctx.scope,
            ctx.label,
            self.sandbox.memory_limit_bytes,
            ctx.started_at_ms,
            ctx.seed,
            imports_allowed,
            deadline,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Caps the bytes lifted out of the instance per transfer. Without it a
        // guest could return many records pointing at the same buffer and make
        // the host copy far more than the guest's memory holds.
        store.set_hostcall_fuel(self.sandbox.max_output_bytes);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let instance = match tokio::time::timeout(timeout, pre.instantiate_async(&mut store)).await
        {
            Err(_) => return Err(SandboxError::Deadline { limit: timeout }),
            Ok(Err(e)) => {
                let message = format!("{e:#}");
                // Memories created at instantiation count against the budget.
                if message.contains("forcing trap when growing memory") {
                    return Err(SandboxError::Memory {
                        limit: self.sandbox.memory_limit_bytes,
                    });
                }
                return Err(SandboxError::Instantiate { message });
            }
            Ok(Ok(i)) => i,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout(remaining, f(&instance, &mut store)).await;
        match outcome {
            Err(_) => Err(SandboxError::Deadline { limit: timeout }),
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(self.classify(e, &store, timeout)),
        }
    }

    fn classify(
        &self,
        e: wasmtime::Error,
        store: &Store<HostState>,
        timeout: Duration,
    ) -> SandboxError {
        if matches!(
            e.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            return SandboxError::Deadline { limit: timeout };
        }
        let text = format!("{e:#}");
        // wasmtime's message when the hostcall fuel set in `call` runs out.
        if text.contains("fuel allocated for hostcalls has been exhausted") {
            return SandboxError::Output {
                limit: self.sandbox.max_output_bytes,
            };
        }
        if text.contains("forcing trap when growing memory") {
            return SandboxError::Memory {
                limit: self.sandbox.memory_limit_bytes,
            };
        }
        // The trap itself (`wasm trap: call stack exhausted`); the error's
        // outer context is only the backtrace header.
        let mut message: String = match e.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => text.lines().next().unwrap_or("trap").to_string(),
        };
        if let Some(tail) = store.data().stderr_tail() {
            message = format!("{message} (guest stderr: {tail})");
        }
        if message.len() > 2000 {
            let mut cut = 2000;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        SandboxError::Trap { message }
    }
}
