//! The `twitter` crawler plugin: X (Twitter) API v2 recent search for every
//! brand the `oliveyoung` plugin publishes.
//!
//! Each record of topic `oliveyoung` (one brand) triggers one run: the
//! brand's Korean and English names are searched as quoted phrases joined by
//! `OR`, page by page (`next_token`), asking for `created_at`,
//! `public_metrics`, `author_id`, `lang` and the authors (`expansions =
//! author_id`). Every tweet becomes one record on topic `twitter` (key =
//! tweet id, timestamp = `created_at`). The newest id of the run becomes the
//! brand's `since_id` in plugin state, so the next run fetches only newer
//! tweets.
//!
//! Tolerance: a tweet's identity is its `id` and `text`; a tweet without
//! either is skipped and counted (the host hears of it through `quality`),
//! never its page. `created_at`, `lang`, the author and `public_metrics` are
//! null when X leaves them out (deleted authors are missing from
//! `includes.users`, named in a top-level `errors` array: a partial answer).
//! X sends `text` HTML-escaped; `&amp;`, `&lt;` and `&gt;` are undone before
//! the text is stored and matched against the brand's keywords.
//!
//! The plugin never sees the bearer token: the host adds it to requests for
//! the API host (`[[http.secrets]]`), and waits out HTTP 429 until
//! `x-rate-limit-reset`.
//!
//! Layout:
//! - [`brand`]: trigger record -> brand, query, keyword matching.
//! - [`api`]: settings, the page request, the response shape, statuses.
//! - [`records`]: the tweet record read from a page, text unescaping and
//!   `created_at` parsing.
//! - [`flow`]: `plan` and the `search` / `cursor` tasks.

pub mod api;
pub mod brand;
pub mod flow;
pub mod records;

use crawlhost_sdk::{ConfigKey, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task};

/// The topic whose records (brands) trigger the plugin: the brand record
/// contract's topic.
pub const TRIGGER_TOPIC: &str = oliveyoung_brand_record::TOPIC;

/// The plugin.
pub struct Twitter;

/// The manifest (also used by tests).
pub fn manifest() -> Manifest {
    Manifest {
        name: "twitter".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "X (Twitter) recent search per Oliveyoung brand, incremental by since_id"
            .into(),
        schedule: None,
        topics: vec![records::TOPIC.into()],
        hosts: vec!["api.x.com".into(), "{base_url}".into()],
        config: vec![
            ConfigKey {
                name: "base_url".into(),
                description: "Root URL of the X API (point it at a fixture or a proxy)".into(),
                default_value: Some(api::DEFAULT_BASE_URL.into()),
                required: false,
            },
            ConfigKey {
                name: "max_results".into(),
                description: "Tweets per page, 10 to 100".into(),
                default_value: Some(api::DEFAULT_MAX_RESULTS.to_string()),
                required: false,
            },
            ConfigKey {
                name: "max_pages".into(),
                description: "Pages read per brand and run (a cap on API usage)".into(),
                default_value: Some(api::DEFAULT_MAX_PAGES.to_string()),
                required: false,
            },
        ],
        triggers: vec![TRIGGER_TOPIC.into()],
    }
}

impl Plugin for Twitter {
    fn manifest() -> Manifest {
        manifest()
    }

    fn plan(run: &Run, input: PlanInput) -> CrawlResult<Vec<Task>> {
        flow::plan(run, input)
    }

    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        flow::crawl(run, &task)
    }
}

crawlhost_sdk::export_plugin!(Twitter);
