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
//! - [`error_text`]: an error and its sources as one line, for messages.
//! - [`sqlite`]: opening the host's SQLite files (WAL, busy timeout, schema
//!   under an init lock so simultaneous first starts work).
//! - [`bus`]: the record transport trait and its embedded SQLite backend.
//! - [`sink`]: the S3 sink (Kafka Connect S3 semantics).
//! - [`run`]: one run of one plugin: frontier, retries, concurrency, summary.
//! - [`coverage`]: field coverage of a run's records, drift alarms against
//!   the plugin's baseline run, and the per-plugin files that keep it.
//! - [`metrics`]: counters and histograms in the Prometheus text format.
//! - [`registry`]: loading the plugins directory.
//! - [`health`]: when a plugin that keeps failing is unhealthy, and when it recovers.
//! - [`distributed`]: scale-out: tasks of one run shared by the hosts of a
//!   Kafka consumer group; cron ticks claimed once across the group.
//! - [`trigger`]: topic triggers: one `plan` per record of a trigger topic,
//!   committed after the run's tasks are done.
//! - [`serve`]: the long-running host: hot swap, cron, admin API, shutdown.
//! - [`shutdown`]: the one stop flag of a command, set by SIGINT/SIGTERM.
//! - [`host`]: assembling the parts from settings.
//! - [`kit`]: the plugin conformance kit (`crawlhost plugin test`).
//! - [`template`]: `crawlhost plugin new`: a plugin crate from the template.
//! - [`cli`]: the command line (the only place `anyhow` is used).
//! - [`malloc_tuning`]: glibc malloc settings the binary applies at start.

pub mod browser;
pub mod bus;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod distributed;
pub mod engine;
pub mod error_text;
pub mod health;
pub mod host;
pub mod http;
pub mod kit;
pub mod malloc_tuning;
pub mod manifest;
pub mod metrics;
pub mod registry;
pub mod run;
pub mod serve;
pub mod shutdown;
pub mod sink;
pub mod sqlite;
pub mod state;
pub mod template;
pub mod trigger;
