//! The end-to-end tests, in one test binary (`cargo test -p crawlhost-tests
//! --test it`): each module below was once a binary of its own. Run one with
//! a filter: `--test it twitter_e2e::`.
//!
//! `common` and `kafka_support` are the host's test helpers
//! (`host/tests/it`), borrowed through `#[path]`; this binary uses only part
//! of them.
//!
//! Tests of every module share this process: nothing here may set
//! environment variables, change the working directory or install
//! process-wide handlers.

#[path = "../../../host/tests/it/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "../../../host/tests/it/kafka_support.rs"]
#[allow(dead_code)]
mod kafka_support;

mod instagram_e2e;
mod kafka_oliveyoung;
mod kit_plugins;
mod oliveyoung_e2e;
mod oliveyoung_py;
mod plugin_new;
mod resume;
mod status_page;
mod twitter_e2e;
