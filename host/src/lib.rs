//! crawlhost: a host that runs sandboxed WebAssembly crawlers.
//!
//! Plugins are WebAssembly components built against the `crawlhost:plugin`
//! contract (`wit/`). The host owns everything dangerous or shared: network
//! access, scheduling, retries and the record bus; a plugin only parses pages
//! and says what to fetch next.
//!
//! # Layout
//! - [`config`]: `crawlhost.toml`, parsed and checked into [`config::Settings`].
//! - [`engine`]: wasmtime, the one `bindgen!`, the compiled-component cache,
//!   contract checks, per-call sandboxes and deadlines.
//! - [`manifest`]: checks on what a plugin declares (name, version, topics,
//!   hosts, config keys).
//! - [`http`]: the `fetch` import: allow-list, SSRF guard, size limit, charset.
//! - [`state`]: per-plugin key-value state behind the `state` import.
//! - [`bus`]: the record transport trait and its embedded SQLite backend.
//! - [`sink`]: the S3 sink (Kafka Connect S3 semantics).
//! - [`run`]: one run of one plugin: frontier, retries, concurrency, summary.
//! - [`registry`]: loading the plugins directory.
//! - [`host`]: assembling the parts from settings.
//! - [`cli`]: the command line (the only place `anyhow` is used).

pub mod bus;
pub mod config;
pub mod engine;
pub mod host;
pub mod http;
pub mod manifest;
pub mod registry;
pub mod run;
pub mod sink;
pub mod state;
pub mod cli;
