//! The plugin contract as Rust types: the one place `bindgen!` runs, over
//! the workspace `wit/` contract (`crawlhost:plugin@0.3.0`) and the frozen
//! contracts in `wit/v0.1` and `wit/v0.2`, so plugins built against them keep
//! loading. A leaf: it depends on nothing else in the crate, and every
//! capability (`http`, `browser`, `state`, `guest_log`) and the engine import
//! their WIT types and `Host` traits from here.
//!
//! The older worlds share the 0.3 `types` (their `types` interface is mapped
//! onto the 0.3 one with `with`: the shapes are identical and wasmtime
//! type-checks records and variants structurally), so one set of host types
//! serves every contract; only the world wrappers (`v0_1::Plugin`,
//! `v0_2::Plugin`) and their import traits differ, and each capability
//! forwards the older import traits to its 0.3 implementation.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "crawlhost:plugin/plugin",
    // `html` is CPU work on data the instance owns: plain calls, no future.
    imports: { "crawlhost:plugin/html": trappable, default: async | trappable },
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

/// The frozen 0.2 contract: 0.1 plus `browser`, no `quality`.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2",
        world: "crawlhost:plugin/plugin@0.2.0",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "crawlhost:plugin/types@0.2.0": super::crawlhost::plugin::types,
        },
    });
}

/// A minimal manifest for unit tests: plugin `name`, version 0.1.0, one
/// topic named after it, nothing else declared.
#[cfg(test)]
pub(crate) fn test_manifest(name: &str) -> PluginManifest {
    PluginManifest {
        name: name.into(),
        version: "0.1.0".into(),
        description: String::new(),
        schedule: None,
        topics: vec![name.into()],
        hosts: vec![],
        config: vec![],
        triggers: vec![],
    }
}
