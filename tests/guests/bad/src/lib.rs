//! A plugin that breaks exactly one rule the conformance kit checks, chosen
//! when it is built (`BAD_MODE`, see the Makefile `guests` target):
//!
//! - `undeclared-host`: fetches a host its manifest does not declare;
//! - `endless`: every task queues two new, never-seen follow-ups;
//! - `nonjson`: emits a record whose value is not JSON;
//! - `manifest`: returns a manifest with a bad name, version and no topics.
//!
//! Apart from that one fault it behaves: keyed JSON records, no fetches.

use crawlhost_sdk::http;
use crawlhost_sdk::{
    CrawlOutput, CrawlResult, Manifest, OutRecord, PlanInput, Plugin, Run, Task, out,
};

const MODE: &str = match option_env!("BAD_MODE") {
    Some(m) => m,
    None => "undeclared-host",
};

struct Bad;

impl Plugin for Bad {
    fn manifest() -> Manifest {
        let broken = MODE == "manifest";
        Manifest {
            name: if broken {
                "Bad Plugin!".into()
            } else {
                format!("bad-{MODE}")
            },
            version: if broken { "one".into() } else { "0.1.0".into() },
            description: format!("test guest breaking one rule: {MODE}"),
            schedule: None,
            topics: if broken { vec![] } else { vec!["bad".into()] },
            hosts: vec!["declared.example".into()],
            config: vec![],
            triggers: vec![],
        }
    }

    fn plan(_run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        Ok(vec![out::task(
            "step",
            "0",
            &serde_json::json!({ "n": 0 }),
        )?])
    }

    fn crawl(_run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let p: serde_json::Value = out::payload(&task)?;
        let n = p["n"].as_u64().unwrap_or(0);
        let mut tasks = Vec::new();
        let value = match MODE {
            "undeclared-host" => {
                http::get("http://undeclared.example/page")?.send()?;
                serde_json::json!({ "n": n }).to_string()
            }
            "endless" => {
                for child in [2 * n + 1, 2 * n + 2] {
                    tasks.push(out::task(
                        "step",
                        child.to_string(),
                        &serde_json::json!({ "n": child }),
                    )?);
                }
                serde_json::json!({ "n": n }).to_string()
            }
            "nonjson" => format!("n = {n}, not json"),
            _ => serde_json::json!({ "n": n }).to_string(),
        };
        Ok(CrawlOutput {
            records: vec![OutRecord {
                topic: "bad".into(),
                key: Some(task.key.clone()),
                value,
                timestamp_ms: None,
            }],
            tasks,
        })
    }
}

crawlhost_sdk::export_plugin!(Bad);
