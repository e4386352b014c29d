//! A crawler built against a future major contract version
//! (`crawlhost:plugin@1.0.0`): the host must refuse it and name the version.

wit_bindgen::generate!({ path: "wit", world: "plugin" });

use crawlhost::plugin::types::*;
use exports::crawlhost::plugin::crawler::Guest;

struct Future;

impl Guest for Future {
    fn manifest() -> PluginManifest {
        PluginManifest {
            name: "future".into(),
            version: "1.0.0".into(),
            description: "built against a newer contract".into(),
            schedule: None,
            topics: vec!["future".into()],
            hosts: vec![],
            config: vec![],
            triggers: vec![],
        }
    }
    fn plan(_: RunInfo, _: PlanInput) -> Result<Vec<Task>, CrawlError> {
        Ok(vec![])
    }
    fn crawl(_: RunInfo, _: Task) -> Result<CrawlOutput, CrawlError> {
        Err(CrawlError::Other("never".into()))
    }
}

export!(Future);
