//! The crawl steps: what `plan` makes of a trigger record, what a search
//! task fetches and emits, and how the `since_id` cursor moves.
//!
//! A trigger record (one brand) plans one `search` task. Each search task
//! reads one page and, while X returns a `next_token`, hands the next page
//! to a follow-up task. The last page hands the newest id of the run's first
//! page to a `cursor` task, which stores it as the brand's `since_id`.
//! Follow-ups enter the frontier only once the bus acknowledged the task's
//! records, so the cursor moves only after every page's tweets are on the
//! bus: a run that fails half way searches the same window again next time
//! (the records repeat under the same keys) instead of skipping tweets.
//! A cursor X refuses as older than its seven-day window is dropped and the
//! whole window searched.

use crawlhost_sdk::{CrawlError, CrawlOutput, PlanInput, Run, Task, log, out, state};
use serde::{Deserialize, Serialize};

use crate::api::{self, SearchPage, Settings};
use crate::brand::Brand;
use crate::records::{self, TOPIC};

/// Task kind: one page of one brand's search.
pub const KIND_SEARCH: &str = "search";
/// Task kind: store a brand's new `since_id`.
pub const KIND_CURSOR: &str = "cursor";

/// Payload of a `search` task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPayload {
    pub brand: Brand,
    /// 1 for the first page.
    pub page: u64,
    /// The cursor the first page read from state (pages after the first
    /// must send the same one).
    pub since_id: Option<String>,
    pub next_token: Option<String>,
    /// `meta.newest_id` of the first page: the next cursor.
    pub newest_id: Option<String>,
}

/// Payload of a `cursor` task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorPayload {
    pub code: String,
    pub newest_id: String,
}

/// State key of a brand's cursor.
pub fn since_key(code: &str) -> String {
    format!("since_id/{code}")
}

/// Whether tweet id `a` is newer than `b` (ids are decimal and grow with
/// time; compared as numbers of any length).
pub fn newer(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

/// The newest of some tweet ids (the cursor when X sent no
/// `meta.newest_id`).
pub fn newest_of<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<String> {
    ids.into_iter()
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .fold(None, |best: Option<&str>, id| match best {
            Some(b) if !newer(id, b) => Some(b),
            _ => Some(id),
        })
        .map(str::to_string)
}

/// The task for page `payload.page` of a brand.
pub fn search_task(payload: &SearchPayload) -> Result<Task, CrawlError> {
    let key = if payload.page == 1 {
        format!("search:{}", payload.brand.code)
    } else {
        format!("search:{}:{}", payload.brand.code, payload.page)
    };
    out::task(KIND_SEARCH, key, payload)
}

/// Seed tasks: one search per trigger record; a scheduled run has nothing
/// to search for (the plugin is driven by brand records).
pub fn plan(run: &Run, input: PlanInput) -> Result<Vec<Task>, CrawlError> {
    Settings::from_run(run)?;
    match input {
        PlanInput::Scheduled => {
            log::warn(
                "twitter searches per brand record of topic `oliveyoung`; a scheduled run has nothing to do",
            );
            Ok(Vec::new())
        }
        PlanInput::Trigger(record) => {
            let brand = Brand::from_record(record.key.as_deref(), &record.value).map_err(|e| {
                CrawlError::Parse(format!(
                    "trigger record {}/{}@{} is not a brand record: {e}",
                    record.topic, record.partition, record.offset
                ))
            })?;
            brand.query().map_err(CrawlError::Other)?;
            Ok(vec![search_task(&SearchPayload {
                brand,
                page: 1,
                since_id: None,
                next_token: None,
                newest_id: None,
            })?])
        }
    }
}

/// Run one task.
pub fn crawl(run: &Run, task: &Task) -> Result<CrawlOutput, CrawlError> {
    let settings = Settings::from_run(run)?;
    match task.kind.as_str() {
        KIND_SEARCH => search(&settings, out::payload(task)?),
        KIND_CURSOR => cursor(out::payload(task)?),
        other => Err(CrawlError::Other(format!(
            "task `{}` has an unknown kind `{other}`",
            task.key
        ))),
    }
}

/// The API host, for messages.
fn host_of(base_url: &str) -> &str {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// One page of a brand's search: its tweets as records, then the next page
/// or the cursor.
fn search(settings: &Settings, p: SearchPayload) -> Result<CrawlOutput, CrawlError> {
    let mut since_id = if p.page == 1 {
        state::get_json::<String>(&since_key(&p.brand.code))?
    } else {
        p.since_id.clone()
    };
    let query = p.brand.query().map_err(CrawlError::Other)?;
    // At most two requests: the second without a cursor X refused as too
    // old (everything in the window is newer than it).
    let (url, response) = loop {
        let request = settings.search(&query, since_id.as_deref(), p.next_token.as_deref())?;
        let url = request.url().to_string();
        let response = request.send()?;
        if response.status() == 400 && since_id.is_some() && api::since_id_refused(response.bytes())
        {
            log::warn(&format!(
                "brand {}: X refused since_id {} (older than the search window); searching the whole window",
                p.brand.code,
                since_id.as_deref().unwrap_or("")
            ));
            since_id = None;
            continue;
        }
        break (url, response);
    };
    if let Some(e) = api::status_error(
        response.status(),
        response.bytes(),
        &url,
        host_of(&settings.base_url),
        response.header("x-rate-limit-reset"),
    ) {
        return Err(e);
    }
    let page = SearchPage::parse(response.bytes(), &url)?;
    let (reads, tally) = records::read_page(&page, &p.brand, &query, &url);
    let mut out_records = Vec::with_capacity(reads.len());
    for read in &reads {
        let mut r = out::record(TOPIC, &read.record.id, &read.record)?;
        r.timestamp_ms = read.timestamp_ms;
        out_records.push(r);
    }
    if let Some(errors) = page.errors_summary() {
        log::info(&format!(
            "brand {}: page {} is a partial answer, X reported {errors} beside {} tweets",
            p.brand.code,
            p.page,
            page.data.len()
        ));
    }
    log::debug(&format!(
        "brand {}: page {} has {} tweets",
        p.brand.code,
        p.page,
        page.data.len()
    ));
    tally.report();

    let newest_id = p
        .newest_id
        .clone()
        .or(page.meta.newest_id.clone())
        .or_else(|| newest_of(reads.iter().map(|r| r.record.id.as_str())));
    let mut tasks = Vec::new();
    match page.meta.next_token {
        Some(token) if p.page < settings.max_pages => {
            tasks.push(search_task(&SearchPayload {
                brand: p.brand.clone(),
                page: p.page + 1,
                since_id,
                next_token: Some(token),
                newest_id,
            })?);
        }
        more => {
            if more.is_some() {
                log::warn(&format!(
                    "brand {}: more results after {} pages (max_pages); the older ones of this window are skipped",
                    p.brand.code, p.page
                ));
            }
            if let Some(newest_id) = newest_id {
                tasks.push(out::task(
                    KIND_CURSOR,
                    format!("cursor:{}", p.brand.code),
                    &CursorPayload {
                        code: p.brand.code.clone(),
                        newest_id,
                    },
                )?);
            }
        }
    }
    Ok(CrawlOutput {
        records: out_records,
        tasks,
    })
}

/// Store a brand's new cursor, unless a newer one is already there (two
/// runs for one brand may finish in any order).
fn cursor(p: CursorPayload) -> Result<CrawlOutput, CrawlError> {
    let key = since_key(&p.code);
    let current = state::get_json::<String>(&key)?;
    if current.as_deref().is_none_or(|c| newer(&p.newest_id, c)) {
        state::put_json(&key, &p.newest_id)?;
    }
    Ok(CrawlOutput::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_as_numbers() {
        assert!(newer("1826000000000000001", "1826000000000000000"));
        assert!(newer("10", "9"));
        assert!(!newer("9", "10"));
        assert!(!newer("5", "5"));
        assert!(newer("010", "9"));
        assert_eq!(newest_of(["9", "10", "x", "2"]).as_deref(), Some("10"));
        assert_eq!(newest_of([]), None);
    }

    #[test]
    fn task_keys_name_brand_and_page() {
        let mut p = SearchPayload {
            brand: Brand {
                code: "A1".into(),
                name_ko: "k".into(),
                name_en: "e".into(),
                keywords: vec!["k".into()],
            },
            page: 1,
            since_id: None,
            next_token: None,
            newest_id: None,
        };
        assert_eq!(search_task(&p).unwrap().key, "search:A1");
        p.page = 3;
        let t = search_task(&p).unwrap();
        assert_eq!(t.key, "search:A1:3");
        assert_eq!(out::payload::<SearchPayload>(&t).unwrap(), p);
        assert_eq!(host_of("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(host_of("https://api.x.com"), "api.x.com");
    }
}
