//! The host's integration tests, in one test binary (`cargo test -p crawlhost
//! --test it`): each module below was once a binary of its own, and every one
//! linked wasmtime, rdkafka, object_store and arrow, so building the suite was
//! mostly linking. Run one area with a filter: `--test it kafka_bus::`.
//!
//! The support modules (`common`, `http_common`, `kafka_support`,
//! `sink_support`) are shared by the areas; `tests/tests/it` borrows `common`
//! and `kafka_support` through `#[path]`.
//!
//! Tests of every area share this process: nothing here may set environment
//! variables, change the working directory or install process-wide handlers,
//! and a test that needs the CPU to itself takes [`cpu::alone`].

mod common;
mod cpu;
mod http_common;
mod kafka_support;
mod sink_support;

mod browser_driver;
mod browser_plugin;
mod contract;
mod contract_v01;
mod dashboard;
mod http_client;
mod http_plugin;
mod http_rate;
mod kafka_bus;
mod kafka_distributed;
mod kafka_fleet_rate;
mod kafka_outage;
mod kafka_serve_group;
mod kafka_stream;
mod kafka_trigger;
mod kit;
mod metrics_listen;
mod sandbox_hostile;
mod serve;
mod sink_confluent;
mod sink_crash;
mod sink_kafka;
mod sink_outage;
