//! Test guest `fetcher`: drives the host's HTTP capability through the real
//! WebAssembly path.
//!
//! - `requests` (config): a JSON array; each item is a URL string or an
//!   object `{"url", "method", "headers": {name: value}, "show_headers":
//!   [name, ...]}`. `plan` returns one task per item, keyed by its index.
//! - `crawl` sends the request with the SDK (`http::Request::send`, so any
//!   status comes back as a response) and emits one record to topic
//!   `fetched`, keyed by the task key: `{"url", "status", "final_url",
//!   "charset", "text", "headers": {name: value}, "bytes"}`, where `text` is
//!   `Response::text()` (decoded with the host-detected charset) and
//!   `headers` holds the response headers named in `show_headers` (default
//!   `content-type`).
//!   A fetch error fails the task with the host's error unchanged, so tests
//!   see its kind (`blocked`, `retryable`, ...) in the run summary.
//! - `host_a` .. `host_d` (config): URLs whose hosts the manifest allows.

use crawlhost_sdk::{
    ConfigKey, CrawlError, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task, http,
    out,
};
use serde_json::{Value, json};

struct Fetcher;

fn key(name: &str, description: &str, default: &str) -> ConfigKey {
    ConfigKey {
        name: name.into(),
        description: description.into(),
        default_value: Some(default.into()),
        required: false,
    }
}

impl Plugin for Fetcher {
    fn manifest() -> Manifest {
        Manifest {
            name: "fetcher".into(),
            version: "0.1.0".into(),
            description: "Test guest: fetch configured requests, emit the responses".into(),
            schedule: None,
            topics: vec!["fetched".into()],
            hosts: vec![
                "{host_a}".into(),
                "{host_b}".into(),
                "{host_c}".into(),
                "{host_d}".into(),
            ],
            config: vec![
                key("requests", "JSON array of URLs or request objects", "[]"),
                key(
                    "host_a",
                    "a URL whose host may be fetched",
                    "http://a.invalid",
                ),
                key(
                    "host_b",
                    "a URL whose host may be fetched",
                    "http://b.invalid",
                ),
                key(
                    "host_c",
                    "a URL whose host may be fetched",
                    "http://c.invalid",
                ),
                key(
                    "host_d",
                    "a URL whose host may be fetched",
                    "http://d.invalid",
                ),
            ],
            triggers: vec![],
        }
    }

    fn plan(run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        let text = run.require("requests")?;
        let items: Vec<Value> = serde_json::from_str(text)
            .map_err(|e| CrawlError::Other(format!("`requests` is not a JSON array: {e}")))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let request = match item {
                    Value::String(url) => json!({ "url": url }),
                    other => other.clone(),
                };
                out::task("fetch", format!("{i:04}"), &request)
            })
            .collect()
    }

    fn crawl(_run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let request: Value = serde_json::from_str(&task.payload)
            .map_err(|e| CrawlError::Other(format!("bad payload: {e}")))?;
        let url = request["url"]
            .as_str()
            .ok_or_else(|| CrawlError::Other("payload has no url".into()))?;
        let method = request["method"].as_str().unwrap_or("GET");
        let mut req = http::Request::new(method, url)?;
        if let Some(headers) = request["headers"].as_object() {
            for (name, value) in headers {
                req = req.header(name, value.as_str().unwrap_or_default());
            }
        }
        let resp = req.send()?;
        let shown: Vec<&str> = match request["show_headers"].as_array() {
            Some(names) => names.iter().filter_map(Value::as_str).collect(),
            None => vec!["content-type"],
        };
        let headers: serde_json::Map<String, Value> = shown
            .iter()
            .filter_map(|name| Some((name.to_string(), json!(resp.header(name)?))))
            .collect();
        let value = json!({
            "url": url,
            "status": resp.status(),
            "final_url": resp.final_url(),
            "charset": resp.charset(),
            "text": resp.text(),
            "headers": headers,
            "bytes": resp.bytes().len(),
        });
        Ok(CrawlOutput {
            records: vec![out::record("fetched", task.key.clone(), &value)?],
            tasks: vec![],
        })
    }
}

crawlhost_sdk::export_plugin!(Fetcher);
