//! What one plugin instance can touch: the store data behind every import.
//!
//! Each call gets a fresh [`HostState`]: a locked-down WASI context (no
//! preopened directories, no environment, no arguments, no sockets, a frozen
//! clock and a seeded random source, stderr captured for trap reports),
//! memory limits ([`SandboxLimits`]), and one part per capability (`fetch`,
//! `state`, `browser`, `html`, `log`/`quality`), which each capability module
//! defines and implements its imports on. The WASI interfaces are linked
//! only because Rust's standard library imports them; they give a plugin
//! nothing beyond the contract.
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::stderr::TailPipe;
use crate::browser::{self, Browser};
use crate::contract::crawlhost::plugin::types;
use crate::guest_log;
use crate::html;
use crate::http::{self, FetchScope, HttpClient};
use crate::state::{self, StateStore};

/// Captured stderr per instance: the last this many bytes (panic messages).
const STDERR_CAPTURE: usize = 16 * 1024;

/// Table elements an instance may grow to: the pooling allocator's default,
/// so both allocation strategies refuse the same tables. Without it, on-demand
/// allocation would let a `table.grow` of billions of elements allocate host
/// memory.
const MAX_TABLE_ELEMENTS: usize = 20_000;

/// Core instances one plugin instance (one store) may create. A Rust
/// component built by `wit-component` instantiates three core modules (the
/// program, the indirect-call shim and its fixups); a Python component built
/// by `componentize-py` 0.25 links fourteen (libc, libpython, the runtime,
/// their shims); a JavaScript one built by `componentize-js` fewer. All of
/// them define one linear memory and at most two tables. The pooling
/// allocator reserves these per-component counts, so a store that keeps
/// within them cannot take another store's slots; a core instance slot costs
/// only its bookkeeping, so this count is generous where memories are not.
pub(crate) const CORE_INSTANCES_PER_STORE: u32 = 32;
/// Linear memories one store may define (see [`CORE_INSTANCES_PER_STORE`]).
pub(crate) const MEMORIES_PER_STORE: u32 = 2;
/// Tables one store may define (see [`CORE_INSTANCES_PER_STORE`]).
pub(crate) const TABLES_PER_STORE: u32 = 4;

/// The resource limiter of one plugin instance.
///
/// wasmtime's [`StoreLimits`] caps each memory and table on its own, so a
/// component made of many core modules would get `memory_limit_mb` once per
/// memory. This adds a budget for all memories of the store together
/// (`memory_limit_mb` is the sum), and caps how many core instances, memories
/// and tables a store may create (the wasmtime default is 10,000 each).
/// Growing past any of them traps the guest, or fails instantiation.
pub struct SandboxLimits {
    per_item: StoreLimits,
    /// Bytes all memories of the store may hold together.
    memory_budget: usize,
    /// Bytes the store's memories hold now.
    memory_in_use: usize,
    /// The last growth granted (from, to), taken back if the grow fails.
    last_grow: (usize, usize),
}

impl SandboxLimits {
    /// Limits for one instance with `memory_limit` bytes of linear memory.
    pub fn new(memory_limit: usize) -> Self {
        Self {
            per_item: StoreLimitsBuilder::new()
                .memory_size(memory_limit)
                .table_elements(MAX_TABLE_ELEMENTS)
                .instances(CORE_INSTANCES_PER_STORE as usize)
                .memories(MEMORIES_PER_STORE as usize)
                .tables(TABLES_PER_STORE as usize)
                .trap_on_grow_failure(true)
                .build(),
            memory_budget: memory_limit,
            memory_in_use: 0,
            last_grow: (0, 0),
        }
    }
}

impl wasmtime::ResourceLimiter for SandboxLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.per_item.memory_growing(current, desired, maximum)? {
            return Ok(false);
        }
        let total = self
            .memory_in_use
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.memory_budget {
            // The words `StoreLimits` uses, so the engine reports a memory
            // limit for both.
            wasmtime::bail!(
                "forcing trap when growing memory to {desired} bytes: the instance's memories \
                 would hold {total} bytes together, more than the limit of {} bytes",
                self.memory_budget
            );
        }
        self.memory_in_use = total;
        self.last_grow = (current, desired);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        let (from, to) = std::mem::take(&mut self.last_grow);
        self.memory_in_use = self.memory_in_use.saturating_sub(to).saturating_add(from);
        self.per_item.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.per_item.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.per_item.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.per_item.instances()
    }

    fn tables(&self) -> usize {
        self.per_item.tables()
    }

    fn memories(&self) -> usize {
        self.per_item.memories()
    }
}

/// Host services shared by every instance: each capability's shared half.
pub struct HostServices {
    pub http: Arc<HttpClient>,
    pub state: Arc<StateStore>,
    /// The browser behind the `browser` import; `None` without `[browser]`.
    pub browser: Option<Arc<Browser>>,
    /// The caps of the `html` import.
    pub html: html::HtmlConfig,
    /// Compiled CSS selectors, shared by every instance.
    pub selectors: html::Selectors,
}

/// The store data of one instance: the engine's own (WASI, limits, stderr)
/// and one field per capability, which the linker projects each import to
/// ([`super::PluginEngine::new`]). The engine knows no capability's insides.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: SandboxLimits,
    stderr: TailPipe,
    pub(crate) http: http::imports::Instance,
    pub(crate) state: state::imports::Instance,
    pub(crate) browser: browser::imports::Instance,
    pub(crate) html: html::imports::Instance,
    pub(crate) log: guest_log::Instance,
}

/// A wall clock frozen at the run's start: plugins get time from `run-info`,
/// and replays stay deterministic.
struct FrozenClock(Duration);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl HostState {
    /// Fresh state for one call. `seed` makes the guest's randomness
    /// (hash-map seeds) repeatable per task; `imports_allowed` is false
    /// during `manifest()`, when `fetch`, `state` and `browser` are refused;
    /// `deadline` is when the call ends, which `html` checks during long
    /// parses and queries.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        services: &HostServices,
        scope: FetchScope,
        task: String,
        memory_limit: usize,
        started_at_ms: i64,
        seed: u64,
        imports_allowed: bool,
        deadline: Instant,
    ) -> Self {
        let stderr = TailPipe::new(STDERR_CAPTURE);
        let frozen = Duration::from_millis(started_at_ms.max(0) as u64);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .wall_clock(FrozenClock(frozen))
            .monotonic_clock(FrozenClock(frozen))
            .secure_random(rand::rngs::StdRng::seed_from_u64(seed))
            .insecure_random(rand::rngs::StdRng::seed_from_u64(seed ^ 0x9e37_79b9))
            .insecure_random_seed(seed as u128)
            .build();
        let plugin = scope.plugin.clone();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: SandboxLimits::new(memory_limit),
            stderr,
            state: state::imports::Instance::new(
                services.state.clone(),
                plugin.clone(),
                imports_allowed,
            ),
            browser: browser::imports::Instance::new(
                services.browser.clone(),
                plugin.clone(),
                scope.allow.clone(),
                imports_allowed,
            ),
            html: html::imports::Instance::new(
                services.html.clone(),
                services.selectors.clone(),
                deadline,
            ),
            log: guest_log::Instance::new(plugin, task.clone()),
            http: http::imports::Instance::new(
                services.http.clone(),
                services.state.clone(),
                scope,
                task,
                imports_allowed,
            ),
        }
    }

    /// What the guest last wrote to stderr (a Rust panic message), if any.
    pub fn stderr_tail(&self) -> Option<String> {
        super::stderr::report(&self.stderr.contents())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn growing_past_the_limits_traps() {
        let mut limits = SandboxLimits::new(32 << 20);
        assert!(limits.memory_growing(0, 32 << 20, None).unwrap());
        let err = limits
            .memory_growing(0, (32 << 20) + 65536, None)
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("forcing trap when growing memory"),
            "{err:#}"
        );
        assert!(limits.table_growing(0, MAX_TABLE_ELEMENTS, None).unwrap());
        let err = limits.table_growing(0, 1 << 32, None).unwrap_err();
        assert!(
            format!("{err:#}").contains("forcing trap when growing table"),
            "{err:#}"
        );
    }
}

/// Components made of many core modules against the per-store limits
/// (issue 15, item 3).
#[cfg(test)]
mod many_modules {
    use super::*;
    use crate::engine::config::{Pooling, SandboxSettings};
    use wasmtime::component::{Component, Linker};
    use wasmtime::{Engine, Store};

    const LIMIT: usize = 32 << 20;
    const PAGE: u64 = 64 << 10;

    /// A component of `modules` core modules, each instantiated once with a
    /// linear memory of `bytes` (the initial size: instantiation grows it);
    /// `0` defines no memory.
    fn component(modules: u32, bytes: u64) -> Vec<u8> {
        let mut module = wasm_encoder::Module::new();
        if bytes > 0 {
            let mut memories = wasm_encoder::MemorySection::new();
            memories.memory(wasm_encoder::MemoryType {
                minimum: bytes / PAGE,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
            module.section(&memories);
        }
        let mut c = wasm_encoder::Component::new();
        for _ in 0..modules {
            c.section(&wasm_encoder::ModuleSection(&module));
        }
        let mut instances = wasm_encoder::InstanceSection::new();
        for i in 0..modules {
            instances.instantiate(i, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
        }
        c.section(&instances);
        c.finish()
    }

    /// Instantiate `bytes` in a fresh store under a plugin's limits; the
    /// store is returned so what it holds stays allocated.
    async fn instantiate(
        engine: &Engine,
        bytes: &[u8],
    ) -> (Store<SandboxLimits>, Result<(), String>) {
        let mut store = Store::new(engine, SandboxLimits::new(LIMIT));
        store.limiter(|s| s);
        let component = Component::new(engine, bytes).expect("the component compiles");
        let result = Linker::new(engine)
            .instantiate_async(&mut store, &component)
            .await
            .map(drop)
            .map_err(|e| format!("{e:#}"));
        (store, result)
    }

    fn settings() -> SandboxSettings {
        SandboxSettings {
            memory_limit_bytes: LIMIT,
            task_timeout: std::time::Duration::from_secs(5),
            plan_timeout: std::time::Duration::from_secs(5),
            max_records_per_task: 10,
            max_follow_ups_per_task: 10,
            max_output_bytes: 1 << 20,
            state_quota_bytes: 1 << 20,
            max_plugin_file_bytes: 1 << 20,
            pooling: Pooling::On,
            keep_resident_bytes: 0,
        }
    }

    #[tokio::test]
    async fn many_memories_cannot_multiply_the_memory_limit() {
        let engine = super::super::PluginEngine::on_demand().unwrap();
        // The case: 32 core modules of 32 MiB each (1 GiB in all).
        let (_s, r) = instantiate(&engine, &component(32, LIMIT as u64)).await;
        let err = r.expect_err("32 x 32 MiB must be refused");
        assert!(
            err.contains("forcing trap when growing memory") || err.contains("count too high"),
            "{err}"
        );
        // Within the counts, the memories still share one budget.
        let (_s, r) = instantiate(&engine, &component(2, LIMIT as u64)).await;
        let err = r.expect_err("2 x 32 MiB must be refused");
        assert!(err.contains("together"), "{err}");
        // Many small modules: refused by count.
        let (_s, r) = instantiate(&engine, &component(32, PAGE)).await;
        assert!(r.is_err(), "32 core modules must be refused");
        // Core modules without memories: as many as a Python component
        // links pass, one more than the per-store count is refused.
        let (_s, r) = instantiate(&engine, &component(CORE_INSTANCES_PER_STORE, 0)).await;
        r.unwrap();
        let (_s, r) = instantiate(&engine, &component(CORE_INSTANCES_PER_STORE + 1, 0)).await;
        let err = r.expect_err("one core instance over the count must be refused");
        assert!(err.contains("instance"), "{err}");
        // What a real plugin needs passes: one memory up to the limit.
        let (_s, r) = instantiate(&engine, &component(1, LIMIT as u64)).await;
        r.unwrap();
        let (_s, r) = instantiate(&engine, &component(2, LIMIT as u64 / 2)).await;
        r.unwrap();
    }

    #[tokio::test]
    async fn a_good_plugin_still_instantiates_beside_two_hostile_ones() {
        // A pool for 8 instances: 16 memories, 256 core instances.
        let engine = match super::super::PluginEngine::pooled(&settings(), 8) {
            Ok(e) => e,
            Err(e) => panic!("the pooling allocator is needed for this test: {e}"),
        };
        // Two hostile stores stay alive with whatever they got.
        let (_a, ra) = instantiate(&engine, &component(32, PAGE)).await;
        let (_b, rb) = instantiate(&engine, &component(32, PAGE)).await;
        assert!(
            ra.is_err() && rb.is_err(),
            "hostile components instantiated"
        );
        // Five well-behaved instances at once beside them.
        let mut alive = Vec::new();
        for i in 0..5 {
            let (s, r) = instantiate(&engine, &component(1, 16 * PAGE)).await;
            r.unwrap_or_else(|e| panic!("good instance {i} refused beside the hostile ones: {e}"));
            alive.push(s);
        }
    }
}
