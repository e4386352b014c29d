//! crawlhost: a host that runs sandboxed WebAssembly crawlers.
//!
//! Plugins are WebAssembly components built against the `crawlhost:plugin`
//! contract (`wit/`). The host owns everything dangerous or shared: network
//! access, scheduling, retries and the record bus; a plugin only parses pages
//! and says what to fetch next.
//!
//! # Layout
//!
//! Listed bottom-up: a module uses only modules above it in this list (the
//! `layering` test fails on any cycle between modules, or between the files
//! of one folder).
//!
//! Leaves:
//! - [`contract`]: the plugin contract as Rust types: the one `bindgen!`, for
//!   every supported version (0.1, 0.2, 0.3).
//! - [`secret`]: values that never print (`SecretString`, `UrlWithPassword`)
//!   and the one redaction matcher (`Redactor`).
//! - [`error_text`]: an error and its sources as one line, for messages.
//! - [`any_case`]: config enums read in any case (`SASL_PLAINTEXT`).
//! - [`time`]: the wall clock in milliseconds, and how an instant is shown.
//! - [`backoff`]: the one retry-delay policy (initial, factor, cap, bounds)
//!   that every retry loop uses.
//! - [`sqlite`]: opening the host's SQLite files (WAL, busy timeout, schema
//!   under an init lock so simultaneous first starts work).
//! - [`schedule`]: cron expressions in a time zone: when a run fires.
//! - [`topic_name`]: Kafka's topic name rule, for manifests and the bus.
//! - [`shutdown`]: the one stop flag of a command, set by SIGINT/SIGTERM.
//!
//! Capabilities: what a plugin can reach, each with its section of
//! `crawlhost.toml`, its per-instance state and its imports (`imports`):
//! - [`state`]: per-plugin key-value state behind the `state` import.
//! - [`http`]: the `fetch` import: allow-list, SSRF guard, politeness,
//!   retries, robots, cookies, secrets, size limit, charset.
//! - [`browser`]: the `browser` import: a headless browser held to the same
//!   allow-list.
//! - [`guest_log`]: what a plugin reports on the side: `log` lines and
//!   `quality` (skipped items).
//! - [`html`]: the `html` import: documents parsed natively and queried by
//!   CSS selector through handles, under caps.
//!
//! The sandbox:
//! - [`manifest`]: checks on what a plugin declares (name, version, topics,
//!   hosts, config keys).
//! - [`engine`]: wasmtime, the compiled-component cache, contract checks,
//!   per-call sandboxes and deadlines; composes the capabilities into one
//!   store and linker without knowing their insides.
//! - [`registry`]: loading the plugins directory.
//!
//! Plumbing:
//! - [`bus`]: the record transport trait, its embedded SQLite and Kafka
//!   backends.
//! - [`sink`]: the S3 sink (Kafka Connect S3 semantics).
//! - [`coverage`]: field coverage of a run's records, drift alarms against
//!   the plugin's baseline run, and the per-plugin files that keep it.
//! - [`metrics`]: counters and histograms in the Prometheus text format.
//!
//! Composition and commands:
//! - [`config`]: `crawlhost.toml`, parsed and checked into
//!   [`config::Settings`]; places each owner's section (and owns `[host]`,
//!   `[run]`, `[bus]`, `[admin]`, `[plugins]`).
//! - [`run`]: one run of one plugin: frontier, retries, concurrency, summary.
//! - [`health`]: when a plugin that keeps failing (judged from its run
//!   summaries) is unhealthy, and when it recovers.
//! - [`trigger`]: topic triggers: one `plan` per record of a trigger topic,
//!   committed after the run's tasks are done.
//! - [`host`]: assembling the parts from settings.
//! - [`distributed`]: scale-out: tasks of one run shared by the hosts of a
//!   Kafka consumer group; cron ticks claimed once across the group.
//! - [`serve`]: the long-running host: hot swap, cron, admin API, shutdown.
//! - [`kit`]: the plugin conformance kit (`crawlhost plugin test`).
//! - [`template`]: `crawlhost plugin new`: a plugin crate from the template.
//! - [`cli`]: the command line (the only place `anyhow` is used).
//! - [`malloc_tuning`]: glibc malloc settings the binary applies at start.

pub mod any_case;
pub mod backoff;
pub mod browser;
pub mod bus;
pub mod cli;
pub mod config;
pub mod contract;
pub mod coverage;
pub mod distributed;
pub mod engine;
pub mod error_text;
pub mod guest_log;
pub mod health;
pub mod host;
pub mod html;
pub mod http;
pub mod kit;
#[cfg(test)]
mod layering;
pub mod malloc_tuning;
pub mod manifest;
pub mod metrics;
pub mod registry;
pub mod run;
pub mod schedule;
pub mod secret;
pub mod serve;
pub mod shutdown;
pub mod sink;
pub mod sqlite;
pub mod state;
pub mod template;
pub mod time;
pub mod topic_name;
pub mod trigger;

#[cfg(test)]
mod example_config_tests;
