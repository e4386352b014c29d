//! Guest-side API for crawlhost plugins.
//!
//! A plugin implements [`Plugin`] and calls [`export_plugin!`]; everything
//! else is helpers over the generated bindings so a crawler reads like a small
//! spider:
//!
//! - [`browser`]: a host-driven browser page for JavaScript-rendered sites
//!   (contract 0.2), with credentials typed by the host.
//! - [`http`]: requests with query building, status checks that map to the
//!   host's retry policy, charset-aware text decoding.
//! - [`html`]: CSS selection over a document the host parses (the `html`
//!   capability), or `scraper` in process natively.
//! - [`extract`]: identity vs optional fields: items that lack an identity
//!   field are skipped and counted, optional fields become `None`, misses
//!   are tallied and reported to the host.
//! - [`quality`]: the raw report of skipped items (contract 0.3).
//! - [`state`]: typed JSON get/put over the plugin's private key-value store.
//! - [`out`]: builders for records and follow-up tasks.
//! - [`log`]: messages into the host's structured log.
//!
//! The raw bindings stay available in [`bindings`] for anything the helpers
//! do not cover.

pub mod browser;
pub mod extract;
pub mod html;
pub mod http;
pub mod log;
pub mod out;
pub mod quality;
pub mod run;
pub mod state;

/// Bindings generated from the workspace `wit/` contract
/// (`crawlhost:plugin@0.3.0`).
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_guest",
        default_bindings_module: "crawlhost_sdk::bindings",
    });
}

pub use bindings::crawlhost::plugin::types::{
    BusRecord, ConfigKey, CrawlError, CrawlOutput, Header, LogLevel, OutRecord, PlanInput,
    PluginManifest as Manifest, RunInfo, Task,
};
pub use run::Run;

/// The result type of every plugin entry point.
pub type CrawlResult<T> = Result<T, CrawlError>;

/// What a crawler implements. The host calls `manifest` once at load time,
/// `plan` once per run (or per trigger record) and `crawl` once per task,
/// each in a fresh instance: keep nothing in statics between calls.
pub trait Plugin {
    /// Describe the plugin.
    fn manifest() -> Manifest;
    /// Seed the tasks of a run.
    fn plan(run: &Run, input: PlanInput) -> CrawlResult<Vec<Task>>;
    /// Do one task.
    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput>;
}

/// Export a [`Plugin`] implementation as the component's `crawler`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            #[allow(dead_code)] // constructed by the generated exports, on wasm32 only
            struct CrawlhostExport;
            impl $crate::bindings::exports::crawlhost::plugin::crawler::Guest for CrawlhostExport {
                fn manifest() -> $crate::Manifest {
                    <$plugin as $crate::Plugin>::manifest()
                }
                fn plan(
                    run: $crate::RunInfo,
                    input: $crate::PlanInput,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Task>, $crate::CrawlError>
                {
                    <$plugin as $crate::Plugin>::plan(&$crate::Run::new(run), input)
                }
                fn crawl(
                    run: $crate::RunInfo,
                    task: $crate::Task,
                ) -> ::core::result::Result<$crate::CrawlOutput, $crate::CrawlError> {
                    <$plugin as $crate::Plugin>::crawl(&$crate::Run::new(run), task)
                }
            }
            // Only components export: natively (unit tests of a plugin
            // crate built as `cdylib` + `rlib`) the component symbol names
            // (`crawlhost:plugin/crawler@0.1.0#crawl`) are not valid linker
            // symbols and would fail the link.
            #[cfg(target_arch = "wasm32")]
            const _: () = {
                $crate::bindings::__export_guest!(
                    CrawlhostExport with_types_in $crate::bindings
                );
            };
        };
    };
}

// `Display` and `std::error::Error` for `CrawlError` come from wit-bindgen:
// it derives both for every type the contract uses as the error of a
// `result`, so implementing them here would conflict.

/// Shorthand for a `parse` error, the usual reaction to a page whose shape
/// changed.
pub fn parse_error(message: impl Into<String>) -> CrawlError {
    CrawlError::Parse(message.into())
}
