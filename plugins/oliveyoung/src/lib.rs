//! The `oliveyoung` crawler plugin: Oliveyoung brands and their products.
//!
//! Flow of one run (task keys in [`tasks`]): the category landing gives the
//! categories, each category's pages give the brand names it lists (kept in
//! state), a phase-1 join reads them with the brand list (codes, Korean and
//! English names) and schedules one task per brand, which reads the brand
//! shop and its AJAX product pages and emits one record per product (topic
//! `oliveyoung-products`) and one per brand (topic `oliveyoung`, the
//! original pipeline's message plus codes, goods numbers and crawl time).
//!
//! Layout:
//! - [`selectors`]: every CSS selector, in one place (selectors drift).
//! - [`parse`]: pure parsers, page HTML -> typed data.
//! - [`records`]: records from products, and the category join, pure (the
//!   brand record's shape is the `oliveyoung-brand-record` contract crate's).
//! - [`site`]: checked settings and the URL of every page.
//! - [`tasks`]: task keys, kinds, phases, payloads and state keys.
//! - [`io`]: fetch/state/log behind a trait ([`io::HostIo`] in the component).
//! - [`flow`]: the crawl steps over [`io::Io`].

pub mod flow;
pub mod io;
pub mod parse;
pub mod records;
pub mod selectors;
pub mod site;
pub mod tasks;

use crawlhost_sdk::{ConfigKey, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task};

/// The plugin.
pub struct Oliveyoung;

/// The manifest (also used by tests).
pub fn manifest() -> Manifest {
    Manifest {
        name: "oliveyoung".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: "Oliveyoung brands (with categories) and their products".into(),
        schedule: Some("0 0 3 * * *".into()),
        topics: vec![records::BRAND_TOPIC.into(), records::PRODUCT_TOPIC.into()],
        hosts: vec![
            "www.oliveyoung.co.kr".into(),
            "m.oliveyoung.co.kr".into(),
            "{base_url}".into(),
        ],
        config: vec![
            ConfigKey {
                name: "base_url".into(),
                description: "Root URL of the site (point it at a mirror or a fixture)".into(),
                default_value: Some(site::DEFAULT_BASE_URL.into()),
                required: false,
            },
            ConfigKey {
                name: "max_pages".into(),
                description:
                    "Safety cap on product pages read per brand (and brand pages per category)"
                        .into(),
                default_value: Some(site::DEFAULT_MAX_PAGES.to_string()),
                required: false,
            },
            ConfigKey {
                name: "record_layout".into(),
                description: "Brand record shape: `current` (every field, key = brand code) or \
                              `legacy` (the original pipeline's `{\"<brand>\": {query_keyword, \
                              brand_shop_detail_url, items, category, released_date}}`, key = brand name)"
                    .into(),
                default_value: Some(site::DEFAULT_RECORD_LAYOUT.into()),
                required: false,
            },
        ],
        triggers: Vec::new(),
    }
}

impl Plugin for Oliveyoung {
    fn manifest() -> Manifest {
        manifest()
    }

    fn plan(run: &Run, input: PlanInput) -> CrawlResult<Vec<Task>> {
        flow::plan(&mut io::HostIo, run, input)
    }

    fn crawl(run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        flow::crawl(&mut io::HostIo, run, &task)
    }
}

crawlhost_sdk::export_plugin!(Oliveyoung);
