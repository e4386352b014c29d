//! Test guest `echo`: records whose exact set the tests can compute, with no
//! website behind them.
//!
//! - Scheduled: `plan` seeds `tasks` tasks `t0..t{tasks-1}`; each emits
//!   `records_per_task` records to topic `echo` keyed `t{i}-r{j}` with value
//!   `{"task":"t{i}","record":j,"run":<run id>}`. Record 0 of every task
//!   carries its own timestamp (`started_at_ms + i`); the others leave it to
//!   the host (the run's start). With `children` > 0, every seed task also
//!   returns follow-ups `c0..c{children-1}` (the same keys from every parent,
//!   so the frontier's dedup is exercised); a child emits records like a seed.
//! - Triggered (by records of `oliveyoung`): `plan` returns one task per
//!   trigger record; it emits one record to `echo` keyed by the trigger
//!   record's key, with the trigger's topic, partition, offset and value.
//! - With `fetch = "true"` a task first GETs `{base_url}/task/<key>` and fails
//!   retryably on a non-2xx answer: tests use it to pace a crawl and to see
//!   which host ran which task.
//! - Coverage knobs (off by default, so the values above stay exact):
//!   `extra = "filled"` adds `"extra":"x"` to every seed/child record,
//!   `extra = "null"` adds `"extra":null`; `flag = "N"` adds a boolean
//!   `"flag"`, `true` in record 0 of every Nth task (by index), `flag =
//!   "never"` adds it always `false`; `skipped = "N"` makes every seed/child
//!   task report N items of topic `echo` skipped for a missing `id` through
//!   the contract's `quality` import.

use crawlhost_sdk::{
    ConfigKey, CrawlOutput, CrawlResult, Manifest, OutRecord, PlanInput, Plugin, Run, Task, http,
    out,
};
use serde_json::json;

struct Echo;

fn key(name: &str, description: &str, default: &str) -> ConfigKey {
    ConfigKey {
        name: name.into(),
        description: description.into(),
        default_value: Some(default.into()),
        required: false,
    }
}

fn records_for(run: &Run, task: &Task, index: i64) -> CrawlResult<Vec<OutRecord>> {
    let per_task = run.config_u64("records_per_task", 3)?;
    let flag_every = match run.config("flag").unwrap_or("") {
        "" => None,
        "never" => Some(0),
        _ => Some(run.config_u64("flag", 1)?.max(1) as i64),
    };
    let mut records = Vec::new();
    for j in 0..per_task {
        let mut value = json!({ "task": task.key, "record": j, "run": run.id() });
        match run.config("extra").unwrap_or("absent") {
            "filled" => value["extra"] = json!("x"),
            "null" => value["extra"] = serde_json::Value::Null,
            _ => {}
        }
        if let Some(every) = flag_every {
            value["flag"] = json!(every > 0 && j == 0 && index % every == 0);
        }
        let mut r = out::record("echo", format!("{}-r{j}", task.key), &value)?;
        if j == 0 {
            r.timestamp_ms = Some(run.started_at_ms() + index);
        }
        records.push(r);
    }
    Ok(records)
}

impl Plugin for Echo {
    fn manifest() -> Manifest {
        Manifest {
            name: "echo".into(),
            version: "0.1.0".into(),
            description: "Test guest: deterministic records from config or trigger records".into(),
            schedule: None,
            topics: vec!["echo".into()],
            hosts: vec!["{base_url}".into()],
            config: vec![
                key("tasks", "seed tasks of a scheduled run", "10"),
                key("records_per_task", "records every task emits", "3"),
                key(
                    "children",
                    "follow-up tasks every seed task returns (shared keys)",
                    "0",
                ),
                key(
                    "fetch",
                    "`true`: GET {base_url}/task/<key> before emitting",
                    "false",
                ),
                key("base_url", "where `fetch` goes", "http://echo.invalid"),
                key(
                    "extra",
                    "`filled` / `null`: add field `extra` to every record",
                    "absent",
                ),
                key(
                    "flag",
                    "N: boolean `flag`, true in record 0 of every Nth task; `never`: always false",
                    "",
                ),
                key(
                    "skipped",
                    "items every task reports skipped (topic echo, field id)",
                    "0",
                ),
            ],
            triggers: vec!["oliveyoung".into()],
        }
    }

    fn plan(run: &Run, input: PlanInput) -> CrawlResult<Vec<Task>> {
        match input {
            PlanInput::Scheduled => {
                let n = run.config_u64("tasks", 10)?;
                (0..n)
                    .map(|i| out::task("seed", format!("t{i}"), &json!({ "index": i })))
                    .collect()
            }
            PlanInput::Trigger(record) => {
                let payload = json!({
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "key": record.key,
                    "value": record.value,
                });
                let key = format!(
                    "trigger:{}:{}:{}",
                    record.topic, record.partition, record.offset
                );
                Ok(vec![out::task("trigger", key, &payload)?])
            }
        }
    }

    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        if run.config("fetch") == Some("true") {
            let base = run.require("base_url")?.trim_end_matches('/');
            http::get(&format!("{base}/task/{}", task.key))?.send_ok()?;
        }
        let payload: serde_json::Value = out::payload(&task)?;
        match task.kind.as_str() {
            "trigger" => {
                let key = payload["key"].as_str().unwrap_or_default().to_string();
                let record = out::record(
                    "echo",
                    key,
                    &json!({
                        "trigger_topic": payload["topic"],
                        "trigger_partition": payload["partition"],
                        "trigger_offset": payload["offset"],
                        "trigger_value": payload["value"],
                        "run": run.id(),
                    }),
                )?;
                Ok(CrawlOutput {
                    records: vec![record],
                    tasks: vec![],
                })
            }
            "seed" | "child" => {
                let index = payload["index"].as_i64().unwrap_or_default();
                let skipped = run.config_u64("skipped", 0)?;
                if skipped > 0 {
                    // The raw contract 0.3 import (the SDK wraps it too).
                    crawlhost_sdk::bindings::crawlhost::plugin::quality::skipped(
                        "echo",
                        "id",
                        skipped as u32,
                    );
                }
                let records = records_for(run, &task, index)?;
                let mut tasks = Vec::new();
                if task.kind == "seed" {
                    for c in 0..run.config_u64("children", 0)? {
                        tasks.push(out::task("child", format!("c{c}"), &json!({ "index": c }))?);
                    }
                }
                Ok(CrawlOutput { records, tasks })
            }
            other => Err(crawlhost_sdk::CrawlError::Other(format!(
                "unknown task kind `{other}`"
            ))),
        }
    }
}

crawlhost_sdk::export_plugin!(Echo);
