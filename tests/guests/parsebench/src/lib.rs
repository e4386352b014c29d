//! Bench guest `parsebench`: the oliveyoung plugin's own parsers
//! (`plugins/oliveyoung/src/parse.rs` and `selectors.rs`, compiled in here
//! from the same source files) run on a page the task payload carries, so
//! the sandbox benchmark can time the extraction inside a component against
//! the same functions called natively. No fetch, no state.
//!
//! Task payload: `{"page": "goods" | "brand-list" | "category" | "shop",
//! "html": "...", "repeat": N}`. The page is parsed `repeat` times (at least
//! once); the one record (topic `parsebench`) says how many items the last
//! parse found, so the benchmark can check both sides extract the same.
//!
//! It cannot depend on the `oliveyoung` crate itself: on wasm32 that rlib
//! carries the plugin's component exports, which would clash with these.

use crawlhost_sdk::{
    CrawlError, CrawlOutput, CrawlResult, Manifest, PlanInput, Plugin, Run, Task, out,
};

#[path = "../../../../plugins/oliveyoung/src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../../../../plugins/oliveyoung/src/selectors.rs"]
#[allow(dead_code)]
mod selectors;

#[derive(serde::Deserialize)]
struct Payload {
    page: String,
    html: String,
    #[serde(default)]
    repeat: u64,
}

/// Items found on `html` read as a `page` page.
fn parse_once(page: &str, html: &str) -> Result<usize, CrawlError> {
    Ok(match page {
        "goods" => parse::parse_goods_page(html)?.products.len(),
        "brand-list" => parse::parse_brand_list(html)?.brands.len(),
        "category" => parse::parse_category_page(html)?.brands.len(),
        "shop" => parse::parse_shop_detail(html)?.products.products.len(),
        other => return Err(CrawlError::Other(format!("unknown page kind `{other}`"))),
    })
}

struct ParseBench;

impl Plugin for ParseBench {
    fn manifest() -> Manifest {
        Manifest {
            name: "parsebench".into(),
            version: "1.0.0".into(),
            description: "oliveyoung parsers on a page from the payload (bench guest)".into(),
            schedule: None,
            topics: vec!["parsebench".into()],
            hosts: vec![],
            config: vec![],
            triggers: vec![],
        }
    }

    fn plan(_run: &Run, _input: PlanInput) -> CrawlResult<Vec<Task>> {
        Ok(Vec::new())
    }

    fn crawl(_run: &Run, task: Task) -> CrawlResult<CrawlOutput> {
        let p: Payload = out::payload(&task)?;
        let mut items = 0;
        for _ in 0..p.repeat.max(1) {
            items = parse_once(&p.page, &p.html)?;
        }
        let record = out::record(
            "parsebench",
            task.key.clone(),
            &serde_json::json!({ "page": p.page, "items": items, "repeat": p.repeat.max(1) }),
        )?;
        Ok(CrawlOutput {
            records: vec![record],
            tasks: Vec::new(),
        })
    }
}

crawlhost_sdk::export_plugin!(ParseBench);
