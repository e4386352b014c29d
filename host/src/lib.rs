//! crawlhost: a host that runs sandboxed WebAssembly crawlers.
//!
//! # Layout
//! - [`bus`]: the record transport trait and its embedded SQLite backend.
//! - [`state`]: per-plugin key-value state behind the `state` import.

pub mod bus;
pub mod state;
