//! The one place `bindgen!` runs: host-side types and traits generated from
//! the workspace `wit/` contract (`crawlhost:plugin@0.2.0`), and from the
//! frozen 0.1 contract in `wit/v0.1` so plugins built against 0.1 keep
//! loading. Everything else imports from here.
//!
//! The 0.1 world shares the 0.2 `types` (its `types` interface is mapped onto
//! the 0.2 one with `with`: the shapes are identical and wasmtime type-checks
//! records and variants structurally), so one set of host types serves both
//! contracts; only the world wrapper (`v0_1::Plugin`) differs.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "crawlhost:plugin/plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::crawlhost::plugin::types::{
    BusRecord, ConfigKey, CrawlError, CrawlOutput, Header, HttpRequest, HttpResponse, LogLevel,
    OutRecord, PlanInput, PluginManifest, RunInfo, Task,
};

/// The frozen 0.1 contract: `fetch`, `state`, `log`, no `browser`.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        world: "crawlhost:plugin/plugin@0.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "crawlhost:plugin/types@0.1.0": super::crawlhost::plugin::types,
        },
    });
}
