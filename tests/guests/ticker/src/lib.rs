//! A plugin that keeps the host busy: `plan` starts `chains` chains, each
//! task emits one record naming the plugin version and queues the next task
//! of its chain, up to `limit`. Built twice (TICKER_VERSION=1.0.0 and 2.0.0)
//! so the hot-swap test can see which version served each task.

use crawlhost_sdk::{
    ConfigKey, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task, out,
};

const VERSION: &str = match option_env!("TICKER_VERSION") {
    Some(v) => v,
    None => "1.0.0",
};

struct Ticker;

fn key(chain: u64, n: u64) -> String {
    format!("c{chain}:{n}")
}

impl Plugin for Ticker {
    fn manifest() -> Manifest {
        let key = |name: &str, description: &str, default: &str| ConfigKey {
            name: name.into(),
            description: description.into(),
            default_value: Some(default.into()),
            required: false,
        };
        Manifest {
            name: "ticker".into(),
            version: VERSION.into(),
            description: "endless chains of tiny tasks (test guest)".into(),
            schedule: None,
            topics: vec!["ticks".into()],
            hosts: vec![],
            config: vec![
                key("chains", "parallel chains of tasks", "4"),
                key("limit", "tasks per chain", "1000000"),
            ],
            triggers: vec![],
        }
    }

    fn plan(run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        let chains = run.config_u64("chains", 4)?;
        (0..chains)
            .map(|c| {
                out::task(
                    "tick",
                    key(c, 0),
                    &serde_json::json!({ "chain": c, "n": 0 }),
                )
            })
            .collect()
    }

    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let limit = run.config_u64("limit", 1_000_000)?;
        let p: serde_json::Value = out::payload(&task)?;
        let chain = p["chain"].as_u64().unwrap_or(0);
        let n = p["n"].as_u64().unwrap_or(0);
        let record = out::record(
            "ticks",
            task.key.clone(),
            &serde_json::json!({ "version": VERSION, "chain": chain, "n": n }),
        )?;
        let mut tasks = Vec::new();
        if n + 1 < limit {
            tasks.push(out::task(
                "tick",
                key(chain, n + 1),
                &serde_json::json!({ "chain": chain, "n": n + 1 }),
            )?);
        }
        Ok(CrawlOutput {
            records: vec![record],
            tasks,
        })
    }
}

crawlhost_sdk::export_plugin!(Ticker);
