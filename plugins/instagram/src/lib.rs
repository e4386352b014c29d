//! The `instagram` crawler plugin: posts under each Oliveyoung brand's
//! hashtag, read through the host's browser (contract 0.2 `browser`),
//! because Instagram renders everything with JavaScript behind a login.
//!
//! Each record of topic `oliveyoung` (one brand) triggers one run with one
//! `tag` task: open `<base_url>/explore/tags/<brand>/` (the Korean name
//! without spaces, as the original crawler searched), log in when the site
//! sends the browser to its login page (the host types the credentials from
//! `[[browser.secrets]]`; the plugin only names them), scroll the grid until
//! it stops growing (at most `max_scrolls`), and read each thumbnail's post
//! link and caption (`img` `alt`). Every post becomes a `post` follow-up
//! task, which opens the post for the user name, date (last
//! `time[datetime]`), like count and every carousel image, and emits one
//! record on topic `instagram` keyed by the shortcode, with the original
//! crawler's fields `brand, post_url, full_text, username, like, saved_imgs,
//! date`.
//!
//! Tolerance: a post's identity is its shortcode. A grid link without one
//! is skipped and counted (the host hears of it through `quality`); every
//! other field is null when the page does not show it, counted as a miss,
//! and the post still lands. Only a post page that does not render at all
//! fails its task.
//!
//! Blocking: the "suspicious activity" popup (`wbloks_1`) fails the task
//! with `blocked`, and so does HTTP 429 (the host detects it on navigation);
//! the host backs off and retries later.
//!
//! Layout:
//! - [`settings`]: configuration, checked.
//! - [`brand`]: trigger record -> brand and hashtag.
//! - [`selectors`]: every CSS selector, in one place (they drift).
//! - [`parse`]: pure reading of grid HTML, like counts and URLs.
//! - [`session`]: login and blocking checks on an open page.
//! - [`flow`]: `plan` and the `tag` / `post` tasks.
//! - [`records`]: the record, put together from what a post page showed.

pub mod brand;
pub mod flow;
pub mod parse;
pub mod records;
pub mod selectors;
pub mod session;
pub mod settings;

use crawlhost_sdk::{ConfigKey, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task};

/// The topic whose records (brands) trigger the plugin: the brand record
/// contract's topic.
pub const TRIGGER_TOPIC: &str = oliveyoung_brand_record::TOPIC;

/// The plugin.
pub struct Instagram;

fn key(name: &str, description: &str, default: String) -> ConfigKey {
    ConfigKey {
        name: name.into(),
        description: description.into(),
        default_value: Some(default),
        required: false,
    }
}

/// The manifest (also used by tests).
pub fn manifest() -> Manifest {
    use settings::*;
    Manifest {
        name: "instagram".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "Instagram hashtag posts per Oliveyoung brand, through the host's browser"
            .into(),
        schedule: None,
        topics: vec![records::TOPIC.into()],
        hosts: vec!["www.instagram.com".into(), "{base_url}".into()],
        config: vec![
            key(
                "base_url",
                "Root URL of Instagram (point it at a fixture)",
                DEFAULT_BASE_URL.into(),
            ),
            key(
                "max_scrolls",
                "Scrolls of a hashtag grid at most (the original scrolled 10 times)",
                DEFAULT_MAX_SCROLLS.to_string(),
            ),
            key(
                "max_posts",
                "Posts read per hashtag at most",
                DEFAULT_MAX_POSTS.to_string(),
            ),
            key(
                "wait_ms",
                "How long to wait for a page to render or a scroll to load more, in ms",
                DEFAULT_WAIT_MS.to_string(),
            ),
            key(
                "username_secret",
                "Name of the [[browser.secrets]] entry holding the login user name",
                DEFAULT_USERNAME_SECRET.into(),
            ),
            key(
                "password_secret",
                "Name of the [[browser.secrets]] entry holding the password",
                DEFAULT_PASSWORD_SECRET.into(),
            ),
        ],
        triggers: vec![TRIGGER_TOPIC.into()],
    }
}

impl Plugin for Instagram {
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

crawlhost_sdk::export_plugin!(Instagram);
