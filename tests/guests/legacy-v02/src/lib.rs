//! A crawler built with wit-bindgen directly against the frozen 0.2 contract
//! (`wit/v0.2`, `crawlhost:plugin@0.2.0`), as plugins compiled before 0.3
//! were: the host must keep loading and running it with every 0.2 import.
//!
//! - `url` (config, required): the page to fetch; its host is allowed.
//! - `plan` returns one task; `crawl` fetches `url`, counts its runs in
//!   `state` (key `runs`), logs, asks the `browser` for a page of `url`
//!   (the tests run it without `[browser]`, so the answer is the host's
//!   refusal, which proves the 0.2 import is linked and reaches the host),
//!   and emits one record to topic `legacy2` keyed `page`:
//!   `{"status", "body", "runs", "browser"}`.

wit_bindgen::generate!({ path: "../../../wit/v0.2", world: "plugin" });

use crawlhost::plugin::types::*;
use crawlhost::plugin::{browser, fetch, log, state};
use exports::crawlhost::plugin::crawler::Guest;

struct Legacy;

fn config<'a>(run: &'a RunInfo, key: &str) -> Option<&'a str> {
    run.config
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

impl Guest for Legacy {
    fn manifest() -> PluginManifest {
        PluginManifest {
            name: "legacy2".into(),
            version: "0.2.0".into(),
            description: "Test guest built against crawlhost:plugin@0.2.0".into(),
            schedule: None,
            topics: vec!["legacy2".into()],
            hosts: vec!["{url}".into()],
            config: vec![ConfigKey {
                name: "url".into(),
                description: "the page to fetch".into(),
                default_value: None,
                required: true,
            }],
            triggers: vec![],
        }
    }

    fn plan(_: RunInfo, _: PlanInput) -> Result<Vec<Task>, CrawlError> {
        Ok(vec![Task {
            key: "page".into(),
            kind: "page".into(),
            payload: "{}".into(),
            phase: 0,
        }])
    }

    fn crawl(run: RunInfo, task: Task) -> Result<CrawlOutput, CrawlError> {
        let url = config(&run, "url")
            .ok_or_else(|| CrawlError::Other("url is not set".into()))?
            .to_string();
        let response = fetch::fetch(&HttpRequest {
            method: "GET".into(),
            url: url.clone(),
            headers: vec![],
            body: None,
        })?;
        let runs = state::get("runs")
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        state::put("runs", runs.to_string().as_bytes()).map_err(CrawlError::Other)?;
        log::log(
            LogLevel::Info,
            &format!("fetched with status {}", response.status),
        );
        let browser = match browser::open(&url, None) {
            Ok(page) => {
                browser::close(page);
                "opened".to_string()
            }
            Err(CrawlError::Other(m)) => format!("other: {m}"),
            Err(e) => format!("{e:?}"),
        };
        let value = format!(
            "{{\"status\":{},\"body\":{},\"runs\":{},\"browser\":{}}}",
            response.status,
            quote(&String::from_utf8_lossy(&response.body)),
            runs,
            quote(&browser)
        );
        Ok(CrawlOutput {
            records: vec![OutRecord {
                topic: "legacy2".into(),
                key: Some(task.key),
                value,
                timestamp_ms: None,
            }],
            tasks: vec![],
        })
    }
}

export!(Legacy);
