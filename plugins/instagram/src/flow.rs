//! The crawl steps: a trigger record plans one `tag` task; the tag task
//! scrolls the hashtag grid and hands every post to a `post` task; a post
//! task reads the post page and emits its record.

use crawlhost_sdk::browser::Page;
use crawlhost_sdk::{CrawlError, CrawlOutput, PlanInput, Run, Task, log, out};
use serde::{Deserialize, Serialize};

use crate::brand::Brand;
use crate::parse;
use crate::records::{self, PostPage, TOPIC};
use crate::selectors as sel;
use crate::session;
use crate::settings::Settings;

pub const KIND_TAG: &str = "tag";
pub const KIND_POST: &str = "post";

/// Clicks on a carousel's "next" at most (Instagram allows 20 images).
const MAX_CAROUSEL_CLICKS: usize = 20;

/// Payload of a `post` task: what the grid showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostPayload {
    pub brand: String,
    pub code: String,
    pub caption: String,
}

/// One `tag` task per trigger record; a scheduled run has nothing to do.
pub fn plan(run: &Run, input: PlanInput) -> Result<Vec<Task>, CrawlError> {
    Settings::from_run(run)?;
    match input {
        PlanInput::Scheduled => {
            log::warn(
                "instagram reads hashtags per brand record of topic `oliveyoung`; a scheduled run has nothing to do",
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
            Ok(vec![out::task(
                KIND_TAG,
                format!("tag:{}", brand.code),
                &brand,
            )?])
        }
    }
}

pub fn crawl(run: &Run, task: &Task) -> Result<CrawlOutput, CrawlError> {
    let settings = Settings::from_run(run)?;
    match task.kind.as_str() {
        KIND_TAG => tag(&settings, out::payload(task)?),
        KIND_POST => post(&settings, out::payload(task)?),
        other => Err(CrawlError::Other(format!(
            "task `{}` has an unknown kind `{other}`",
            task.key
        ))),
    }
}

/// Scroll a hashtag grid to its end (or the limits) and plan its posts.
fn tag(settings: &Settings, brand: Brand) -> Result<CrawlOutput, CrawlError> {
    let page = Page::open(&settings.tag_url(&brand.tag))?;
    let ready = format!("{}, {}", sel::GRID_POST, sel::GRID_EMPTY);
    session::ensure_logged_in(&page, settings, &ready)?;
    let rendered = format!("{ready}, {}", sel::CHALLENGE);
    let shown = page.wait_for(&rendered, 1, settings.wait_ms)?;
    session::check_challenge(&page)?;
    if shown == 0 {
        return Err(CrawlError::Retryable(format!(
            "the #{} grid did not render within {} ms",
            brand.tag, settings.wait_ms
        )));
    }
    let mut scrolls = 0;
    loop {
        let have = page.count(sel::GRID_POST)?;
        if page.count(sel::GRID_LOADER)? == 0 || have as u64 >= settings.max_posts {
            break;
        }
        if scrolls >= settings.max_scrolls {
            log::info(&format!(
                "#{}: stopping after {scrolls} scrolls with {have} posts (max_scrolls)",
                brand.tag
            ));
            break;
        }
        page.scroll(sel::SCROLL_PX)?;
        scrolls += 1;
        let now = page.wait_for(sel::GRID_POST, have + 1, settings.wait_ms)?;
        session::check_challenge(&page)?;
        if now <= have && page.count(sel::GRID_LOADER)? > 0 {
            return Err(CrawlError::Retryable(format!(
                "#{}: the grid stopped growing at {have} posts while still loading",
                brand.tag
            )));
        }
    }
    let items = page.outer_html(sel::GRID_ITEM)?;
    let (mut thumbs, tally) = parse::thumbs(&items, &settings.tag_url(&brand.tag));
    tally.report();
    thumbs.truncate(settings.max_posts as usize);
    log::info(&format!(
        "#{}: {} posts after {scrolls} scrolls",
        brand.tag,
        thumbs.len()
    ));
    let tasks = thumbs
        .into_iter()
        .map(|t| {
            out::task(
                KIND_POST,
                format!("post:{}", t.code),
                &PostPayload {
                    brand: brand.name.clone(),
                    code: t.code,
                    caption: t.caption,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CrawlOutput {
        records: Vec::new(),
        tasks,
    })
}

/// Read one post page into its record. Only the page not rendering at all
/// fails the task; a field the page does not show is null (and counted).
fn post(settings: &Settings, p: PostPayload) -> Result<CrawlOutput, CrawlError> {
    let post_url = settings.post_url(&p.code);
    let page = Page::open(&post_url)?;
    let ready = sel::post_ready();
    session::ensure_logged_in(&page, settings, &ready)?;
    let rendered = format!("{ready}, {}", sel::CHALLENGE);
    let shown = page.wait_for(&rendered, 1, settings.wait_ms)?;
    session::check_challenge(&page)?;
    if shown == 0 {
        return Err(CrawlError::Retryable(format!(
            "post {} did not render within {} ms",
            p.code, settings.wait_ms
        )));
    }
    let first_text = |selector: &str| -> Result<Option<String>, CrawlError> {
        Ok(page
            .attributes(selector, &["textContent"])?
            .into_iter()
            .next()
            .and_then(|mut v| v.pop().flatten()))
    };
    let username = first_text(sel::POST_USERNAME)?;
    let likes = first_text(sel::POST_LIKES)?;
    let datetimes = page.attribute(sel::POST_TIME, "datetime")?;
    // The carousel shows one more image per click on "next"; one that stops
    // early keeps the images it showed.
    let mut carousel_cut = false;
    for _ in 0..MAX_CAROUSEL_CLICKS {
        if page.count(sel::POST_NEXT)? == 0 {
            break;
        }
        let have = page.count(sel::POST_IMAGE)?;
        page.click(sel::POST_NEXT)?;
        if page.wait_for(sel::POST_IMAGE, have + 1, settings.wait_ms)? <= have {
            log::warn(&format!(
                "post {}: the carousel did not advance past image {have}; keeping the images shown",
                p.code
            ));
            carousel_cut = true;
            break;
        }
    }
    let images = page.attribute(sel::POST_IMAGE, "src")?;
    let (record, tally) = records::read_post(
        &p.brand,
        PostPage {
            code: p.code.clone(),
            post_url,
            caption: p.caption,
            username,
            datetimes,
            likes,
            images,
            carousel_cut,
        },
    );
    tally.report();
    let records = match record {
        Some(r) => vec![out::record(TOPIC, p.code, &r)?],
        None => Vec::new(),
    };
    Ok(CrawlOutput {
        records,
        tasks: Vec::new(),
    })
}
