//! The one place `bindgen!` runs: host-side types and traits generated from
//! the workspace `wit/` contract. Everything else imports from here.

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
