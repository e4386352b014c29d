//! What one plugin instance can touch: the store data behind every import.
//!
//! Each task gets a fresh [`HostState`]: a locked-down WASI context (no
//! preopened directories, no environment, no arguments, no sockets, a frozen
//! clock and a seeded random source, stderr captured for trap reports),
//! memory limits, and the plugin's scope for `fetch` and `state`. The WASI
//! interfaces are linked only because Rust's standard library imports them;
//! they give a plugin nothing beyond the contract.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::stderr::TailPipe;
use crate::contract::crawlhost::plugin::{fetch, log, quality, state, types};
use crate::contract::{self as bindings, CrawlError, HttpRequest, HttpResponse, LogLevel};
use crate::http::{FetchScope, HttpClient};
use crate::state::StateStore;

/// Longest log message a plugin can write; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 4096;
/// Log lines one instance (one task, `plan` or `manifest()` call) may write;
/// later lines are dropped and counted, and one line reports how many when
/// the instance ends. Without it a plugin could flood the host's logs.
const MAX_LOG_LINES: u32 = 200;

/// How many log lines an instance wrote and how many were dropped.
#[derive(Debug, Default)]
pub struct LogBudget {
    written: u32,
    suppressed: u64,
}

impl LogBudget {
    /// Whether one more line may be written; a refused line is counted.
    pub fn admit(&mut self) -> bool {
        if self.written < MAX_LOG_LINES {
            self.written += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Lines dropped so far.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}
/// Captured stderr per instance: the last this many bytes (panic messages).
const STDERR_CAPTURE: usize = 16 * 1024;

/// Table elements an instance may grow to: the pooling allocator's default,
/// so both allocation strategies refuse the same tables. Without it, on-demand
/// allocation would let a `table.grow` of billions of elements allocate host
/// memory.
const MAX_TABLE_ELEMENTS: usize = 20_000;

/// Core instances one plugin instance (one store) may create. Every Rust
/// component built by `wit-component` instantiates three core modules (the
/// program, the indirect-call shim and its fixups), one linear memory and two
/// tables; the pooling allocator reserves these per-component counts, so a
/// store that keeps within them cannot take another store's slots.
pub(crate) const CORE_INSTANCES_PER_STORE: u32 = 4;
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

/// Host services shared by every instance.
pub struct HostServices {
    pub http: HttpClient,
    pub state: StateStore,
    /// The browser behind the `browser` import; `None` without `[browser]`.
    pub browser: Option<Arc<crate::browser::Browser>>,
}

/// The store data of one instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: SandboxLimits,
    stderr: TailPipe,
    pub(super) services: Arc<HostServices>,
    pub(super) scope: FetchScope,
    task: String,
    /// `fetch`, `state` (and `browser`) are refused during `manifest()`.
    pub(super) fetch_allowed: bool,
    /// Browser pages this instance opened, by handle; closed (their
    /// sessions back in the pool) when the instance ends.
    pub(super) pages: std::collections::BTreeMap<u32, crate::browser::Page>,
    pub(super) next_page: u32,
    /// What the plugin reported through the `quality` import.
    skipped: SkippedTally,
    /// Lines written through the `log` import.
    log_budget: LogBudget,
}

impl Drop for HostState {
    /// The one line that reports the log lines dropped over the limit.
    fn drop(&mut self) {
        let suppressed = self.log_budget.suppressed();
        if suppressed > 0 {
            tracing::warn!(plugin = %self.scope.plugin, task = %self.task, suppressed, "Plugin log lines suppressed: {suppressed} lines over the limit of {MAX_LOG_LINES} per task.");
        }
    }
}

/// Distinct (topic, field) pairs one instance may report skipped items for;
/// later pairs are ignored (the counts end up in metrics labels).
const MAX_SKIPPED_PAIRS: usize = 64;
/// Longest topic or field name accepted in a skipped-item report.
const MAX_SKIPPED_NAME: usize = 128;

/// Items skipped for a missing identity field, by (topic, field), as one
/// instance reported them through the `quality` import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkippedTally(std::collections::BTreeMap<(String, String), u64>);

impl SkippedTally {
    /// Add `count` for (`topic`, `field`); false when the report was
    /// refused (a name too long or empty, or too many distinct pairs).
    pub fn add(&mut self, topic: &str, field: &str, count: u32) -> bool {
        let ok_name = |n: &str| !n.is_empty() && n.len() <= MAX_SKIPPED_NAME;
        if !ok_name(topic) || !ok_name(field) {
            return false;
        }
        let key = (topic.to_string(), field.to_string());
        if !self.0.contains_key(&key) && self.0.len() >= MAX_SKIPPED_PAIRS {
            return false;
        }
        let n = self.0.entry(key).or_default();
        *n = n.saturating_add(count as u64);
        true
    }

    /// The counts, by (topic, field).
    pub fn into_counts(self) -> std::collections::BTreeMap<(String, String), u64> {
        self.0
    }
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
    /// (hash-map seeds) repeatable per task.
    pub fn new(
        services: Arc<HostServices>,
        scope: FetchScope,
        task: String,
        memory_limit: usize,
        started_at_ms: i64,
        seed: u64,
        fetch_allowed: bool,
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
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: SandboxLimits::new(memory_limit),
            stderr,
            services,
            scope,
            task,
            fetch_allowed,
            pages: Default::default(),
            next_page: 1,
            skipped: SkippedTally::default(),
            log_budget: LogBudget::default(),
        }
    }

    /// Take what the plugin reported through `quality` so far.
    pub(super) fn take_skipped(&mut self) -> SkippedTally {
        std::mem::take(&mut self.skipped)
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

impl fetch::Host for HostState {
    async fn fetch(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, CrawlError>> {
        if !self.fetch_allowed {
            return Ok(Err(CrawlError::Other(
                "fetch is not available in manifest()".to_string(),
            )));
        }
        let url = request.url.clone();
        let http = &self.services.http;
        // The run's cookie jar persists through state under a host-private
        // name (`http.cookies.persist`).
        let persist = http.settings().cookies.enabled && http.settings().cookies.persist;
        let namespace = crate::http::cookies::state_namespace(&self.scope.plugin);
        if persist {
            let state = &self.services.state;
            let loaded = self.scope.session.load_once(|| {
                state
                    .get(&namespace, crate::http::cookies::STATE_KEY)
                    .ok()
                    .flatten()
            });
            if let Err(e) = loaded {
                tracing::warn!(plugin = %self.scope.plugin, error = %e, "Saved cookies are unreadable; starting with an empty jar.");
            }
        }
        let result = http.fetch(&self.scope, request).await;
        if persist
            && let Some(json) = self.scope.session.save_if_changed()
            && let Err(e) =
                self.services
                    .state
                    .put(&namespace, crate::http::cookies::STATE_KEY, &json)
        {
            tracing::warn!(plugin = %self.scope.plugin, error = %e, "Cannot save cookies.");
        }
        match result {
            Ok(resp) => {
                tracing::debug!(plugin = %self.scope.plugin, task = %self.task, url = %url, status = resp.status, bytes = resp.body.len(), "Fetched.");
                Ok(Ok(resp))
            }
            Err(e) => {
                let error = http.crawl_error(&e);
                tracing::debug!(plugin = %self.scope.plugin, task = %self.task, url = %url, error = ?error, "Fetch failed.");
                Ok(Err(error))
            }
        }
    }
}

// State is keyed by the plugin's validated manifest name, which is unknown
// while `manifest()` runs (the instance then has only a file name, which any
// file can borrow): during `manifest()` the plugin has no state, reads find
// nothing and writes fail.
impl state::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        if !self.fetch_allowed {
            return Ok(None);
        }
        self.services
            .state
            .get(&self.scope.plugin, &key)
            .map_err(|e| wasmtime::format_err!("state get `{key}` failed: {e}"))
    }

    async fn put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        if !self.fetch_allowed {
            return Ok(Err("state is not available in manifest()".to_string()));
        }
        match self.services.state.put(&self.scope.plugin, &key, &value) {
            Ok(()) => Ok(Ok(())),
            Err(crate::state::StateError::Storage(e)) => {
                Err(wasmtime::format_err!("state put `{key}` failed: {e}"))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        if !self.fetch_allowed {
            return Ok(());
        }
        self.services
            .state
            .delete(&self.scope.plugin, &key)
            .map_err(|e| wasmtime::format_err!("state delete `{key}` failed: {e}"))
    }
}

// The frozen contracts' imports: the same host functions (the types are
// shared, see `bindings`).
macro_rules! forward_common_imports {
    ($v:ident) => {
        impl bindings::$v::crawlhost::plugin::fetch::Host for HostState {
            async fn fetch(
                &mut self,
                request: HttpRequest,
            ) -> wasmtime::Result<Result<HttpResponse, CrawlError>> {
                <Self as fetch::Host>::fetch(self, request).await
            }
        }

        impl bindings::$v::crawlhost::plugin::state::Host for HostState {
            async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
                <Self as state::Host>::get(self, key).await
            }
            async fn put(
                &mut self,
                key: String,
                value: Vec<u8>,
            ) -> wasmtime::Result<Result<(), String>> {
                <Self as state::Host>::put(self, key, value).await
            }
            async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
                <Self as state::Host>::delete(self, key).await
            }
        }

        impl bindings::$v::crawlhost::plugin::log::Host for HostState {
            async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
                <Self as log::Host>::log(self, level, message).await
            }
        }
    };
}

forward_common_imports!(v0_1);
forward_common_imports!(v0_2);

impl quality::Host for HostState {
    async fn skipped(&mut self, topic: String, field: String, count: u32) -> wasmtime::Result<()> {
        if !self.skipped.add(&topic, &field, count) {
            tracing::warn!(plugin = %self.scope.plugin, task = %self.task, topic = %topic, field = %field, "Skipped-item report ignored: too many distinct topic/field pairs or names too long.");
        } else {
            tracing::debug!(plugin = %self.scope.plugin, task = %self.task, topic = %topic, field = %field, count, "Items skipped for a missing identity field.");
        }
        Ok(())
    }
}

impl log::Host for HostState {
    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        if !self.log_budget.admit() {
            return Ok(());
        }
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (plugin, task) = (&self.scope.plugin, &self.task);
        match level {
            LogLevel::Trace => tracing::trace!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Info => tracing::info!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Error => tracing::error!(plugin = %plugin, task = %task, "{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn skipped_reports_add_up_within_bounds() {
        let mut t = SkippedTally::default();
        assert!(t.add("products", "goods_no", 2));
        assert!(t.add("products", "goods_no", 3));
        assert!(t.add("products", "name", u32::MAX));
        assert!(t.add("products", "name", u32::MAX));
        assert!(!t.add("", "name", 1));
        assert!(!t.add("products", &"x".repeat(MAX_SKIPPED_NAME + 1), 1));
        for i in 2..MAX_SKIPPED_PAIRS {
            assert!(t.add("other", &format!("f{i}"), 1));
        }
        assert!(!t.add("other", "one-too-many", 1));
        // A pair already counted still adds up at the limit.
        assert!(t.add("products", "goods_no", 1));
        let counts = t.into_counts();
        assert_eq!(counts.len(), MAX_SKIPPED_PAIRS);
        assert_eq!(counts[&("products".into(), "goods_no".into())], 6);
        assert_eq!(
            counts[&("products".into(), "name".into())],
            2 * u32::MAX as u64
        );
    }

    /// Issue 15 (low): the `log` import is capped per instance; what is
    /// dropped is counted for the one report line.
    #[test]
    fn log_lines_are_capped_and_the_rest_counted() {
        let mut budget = LogBudget::default();
        for _ in 0..MAX_LOG_LINES {
            assert!(budget.admit());
        }
        assert_eq!(budget.suppressed(), 0);
        for _ in 0..1000 {
            assert!(!budget.admit());
        }
        assert_eq!(budget.suppressed(), 1000);
    }

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
    /// linear memory of `bytes` (the initial size: instantiation grows it).
    fn component(modules: u32, bytes: u64) -> Vec<u8> {
        let mut module = wasm_encoder::Module::new();
        let mut memories = wasm_encoder::MemorySection::new();
        memories.memory(wasm_encoder::MemoryType {
            minimum: bytes / PAGE,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        module.section(&memories);
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
        // What a real plugin needs passes: one memory up to the limit.
        let (_s, r) = instantiate(&engine, &component(1, LIMIT as u64)).await;
        r.unwrap();
        let (_s, r) = instantiate(&engine, &component(2, LIMIT as u64 / 2)).await;
        r.unwrap();
    }

    #[tokio::test]
    async fn a_good_plugin_still_instantiates_beside_two_hostile_ones() {
        // A pool for 8 instances: 16 memories, 32 core instances.
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
