//! Test guest `browser`: drives the host's browser capability (contract
//! 0.2) through the real WebAssembly path.
//!
//! - `cases` (config): a JSON array; each item is an array of steps, one
//!   task per case keyed by its index (`0000`, ...). A step is an object
//!   with `op` and its arguments: `open {url}`, `navigate {url}`, `url`,
//!   `wait {selector, min, timeout_ms}`, `scroll {dy}`, `click {selector}`,
//!   `type {selector, text}`, `secret {selector, name}`, `html {selector}`
//!   (none = whole document), `attrs {selector, names}`, `close`.
//! - `crawl` runs the steps on one page and emits one record to topic
//!   `browsed`, keyed by the task key: `{"results": [...]}`, one JSON value
//!   per step. A failing step fails the task with the host's error unchanged,
//!   so tests see its kind (`blocked`, `other`, ...) in the run summary.
//! - `site` (config): a URL whose host the manifest allows.

// Natively (clippy --workspace) nothing exports the plugin.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use crawlhost_sdk::browser::Page;
use crawlhost_sdk::{
    ConfigKey, CrawlError, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task, out,
};
use serde_json::{Value, json};

struct Browser;

fn arg<'a>(step: &'a Value, name: &str) -> Result<&'a str, CrawlError> {
    step[name]
        .as_str()
        .ok_or_else(|| CrawlError::Other(format!("step {step} has no `{name}`")))
}

fn page(p: &Option<Page>) -> Result<&Page, CrawlError> {
    p.as_ref()
        .ok_or_else(|| CrawlError::Other("no page is open (the first step must be `open`)".into()))
}

impl Plugin for Browser {
    fn manifest() -> Manifest {
        Manifest {
            name: "browser".into(),
            version: "0.1.0".into(),
            description: "Test guest: run configured browser steps, emit their results".into(),
            schedule: None,
            topics: vec!["browsed".into()],
            hosts: vec!["{site}".into()],
            config: vec![
                ConfigKey {
                    name: "cases".into(),
                    description: "JSON array of step arrays".into(),
                    default_value: Some("[]".into()),
                    required: false,
                },
                ConfigKey {
                    name: "site".into(),
                    description: "a URL whose host may be browsed".into(),
                    default_value: Some("http://site.invalid".into()),
                    required: false,
                },
            ],
            triggers: vec![],
        }
    }

    fn plan(run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        let cases: Vec<Value> = serde_json::from_str(run.require("cases")?)
            .map_err(|e| CrawlError::Other(format!("`cases` is not a JSON array: {e}")))?;
        cases
            .iter()
            .enumerate()
            .map(|(i, steps)| out::task("case", format!("{i:04}"), steps))
            .collect()
    }

    fn crawl(_run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let steps: Vec<Value> = out::payload(&task)?;
        let mut current: Option<Page> = None;
        let mut results = Vec::new();
        for step in &steps {
            let result = match arg(step, "op")? {
                "open" => {
                    current = Some(Page::open(arg(step, "url")?)?);
                    Value::Null
                }
                "navigate" => json!(page(&current)?.navigate(arg(step, "url")?)?),
                "url" => json!(page(&current)?.url()?),
                "wait" => json!(page(&current)?.wait_for(
                    arg(step, "selector")?,
                    step["min"].as_u64().unwrap_or(1) as u32,
                    step["timeout_ms"].as_u64().unwrap_or(5000) as u32,
                )?),
                "scroll" => json!(page(&current)?.scroll(step["dy"].as_i64().unwrap_or(0) as i32)?),
                "click" => json!(page(&current)?.click(arg(step, "selector")?)?),
                "type" => {
                    json!(page(&current)?.type_text(arg(step, "selector")?, arg(step, "text")?)?)
                }
                "secret" => {
                    json!(page(&current)?.type_secret(arg(step, "selector")?, arg(step, "name")?)?)
                }
                "html" => match step["selector"].as_str() {
                    Some(sel) => json!(page(&current)?.outer_html(sel)?),
                    None => json!(page(&current)?.document().map(|_| "parsed")?),
                },
                "attrs" => {
                    let names: Vec<&str> = step["names"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    json!(page(&current)?.attributes(arg(step, "selector")?, &names)?)
                }
                "close" => {
                    current = None;
                    Value::Null
                }
                other => return Err(CrawlError::Other(format!("unknown op `{other}`"))),
            };
            results.push(result);
        }
        Ok(CrawlOutput {
            records: vec![out::record(
                "browsed",
                task.key.clone(),
                &json!({ "results": results }),
            )?],
            tasks: vec![],
        })
    }
}

crawlhost_sdk::export_plugin!(Browser);
