//! The crawl steps: what each task kind fetches, parses, stores and emits.
//! Side effects go through [`Io`]; parsing is in [`crate::parse`], record
//! shapes in [`crate::records`], keys in [`crate::tasks`].

use std::collections::{HashMap, HashSet};

use crawlhost_sdk::{CrawlError, CrawlOutput, LogLevel, OutRecord, PlanInput, Run, Task, out};

use crawlhost_sdk::extract::Tally;

use crate::io::{Io, get_json, put_json, report};
use crate::parse::{self, Category, GoodsPage, Product};
use crate::records::{self, BRAND_TOPIC, BrandCrawl, BrandInfo, PRODUCT_TOPIC};
use crate::site::{BRANDS_PER_CATEGORY_PAGE, ROWS_PER_PAGE, RecordLayout, Settings};
use crate::tasks::{self, CategoryPayload};

/// Seed tasks: a scheduled run starts at the category landing (phase 0) and
/// the brand list (phase 1, after every category page). Both are seeds, so
/// a category landing that cannot be read costs the brands their categories,
/// not the brands. The plugin declares no triggers, so a trigger record
/// plans nothing.
pub fn plan(io: &mut impl Io, run: &Run, input: PlanInput) -> Result<Vec<Task>, CrawlError> {
    Settings::from_run(run)?;
    match input {
        PlanInput::Scheduled => Ok(vec![tasks::categories_task(), tasks::brand_list_task()]),
        PlanInput::Trigger(record) => {
            io.log(
                LogLevel::Warn,
                &format!(
                    "oliveyoung takes no triggers; ignoring a record of topic `{}`",
                    record.topic
                ),
            );
            Ok(Vec::new())
        }
    }
}

/// Run one task.
pub fn crawl(io: &mut impl Io, run: &Run, task: &Task) -> Result<CrawlOutput, CrawlError> {
    let settings = Settings::from_run(run)?;
    match task.kind.as_str() {
        tasks::KIND_CATEGORIES => categories(io, run, &settings),
        tasks::KIND_CATEGORY => category(io, run, &settings, out::payload(task)?),
        tasks::KIND_BRAND_LIST => brand_list(io, run, &settings),
        tasks::KIND_BRAND => brand(io, run, &settings, out::payload(task)?),
        other => Err(CrawlError::Other(format!(
            "task `{}` has an unknown kind `{other}`",
            task.key
        ))),
    }
}

/// Prefix a parse error's message with where it happened.
fn at(context: &str) -> impl Fn(CrawlError) -> CrawlError + '_ {
    move |e| match e {
        CrawlError::Parse(m) => CrawlError::Parse(format!("{context}: {m}")),
        other => other,
    }
}

/// `categories`: landing -> categories in state, one task per category
/// (page 1).
fn categories(io: &mut impl Io, run: &Run, settings: &Settings) -> Result<CrawlOutput, CrawlError> {
    let request = settings.category_landing()?;
    let url = request.url().to_string();
    let html = io.fetch_text(request)?;
    let categories = parse::parse_categories(&html).map_err(at(&url))?;
    put_json(io, &tasks::categories_key(run.id()), &categories)?;
    io.log(
        LogLevel::Info,
        &format!("found {} categories on the landing page", categories.len()),
    );
    let follow_ups = categories
        .iter()
        .map(|c| tasks::category_task(&c.id, 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CrawlOutput {
        records: Vec::new(),
        tasks: follow_ups,
    })
}

/// `category:<id>:<page>`: brand names of one page into state; page 1 also
/// stores the page count and schedules the other pages.
fn category(
    io: &mut impl Io,
    run: &Run,
    settings: &Settings,
    payload: CategoryPayload,
) -> Result<CrawlOutput, CrawlError> {
    let CategoryPayload { id, page } = payload;
    let request = settings.category_page(&id, page)?;
    let url = request.url().to_string();
    let html = io.fetch_text(request)?;
    let parsed = parse::parse_category_page(&html).map_err(at(&url))?;
    put_json(
        io,
        &tasks::category_page_key(run.id(), &id, page),
        &parsed.brands,
    )?;
    let mut follow_ups = Vec::new();
    if page == 1 {
        let pages = parsed.pages.min(settings.max_pages);
        if pages < parsed.pages {
            io.log(
                LogLevel::Warn,
                &format!(
                    "category {id} announces {} pages; reading only {pages} (max_pages)",
                    parsed.pages
                ),
            );
        }
        put_json(io, &tasks::category_pages_key(run.id(), &id), &pages)?;
        for p in 2..=pages {
            follow_ups.push(tasks::category_task(&id, p)?);
        }
    }
    // A full page past what the pager announced (or with no pager this
    // parser knows): the next page may hold more brands. Ask for it; a
    // short or empty page ends the chain. The frontier runs a key once, so
    // overlap with the announced pages costs nothing.
    let announced = parsed.pages.min(settings.max_pages);
    if parsed.brands.len() >= BRANDS_PER_CATEGORY_PAGE
        && page >= announced
        && page < settings.max_pages
    {
        follow_ups.push(tasks::category_task(&id, page + 1)?);
    }
    Ok(CrawlOutput {
        records: Vec::new(),
        tasks: follow_ups,
    })
}

/// `brand-list` (phase 1): join the category pages from state with the
/// brand list, one `brand:<code>` task per brand, then clear the run's
/// state. State is cleared last, so a retry after a failed fetch still
/// finds it. Without categories in state (the landing failed) every brand
/// is scheduled with no category.
fn brand_list(io: &mut impl Io, run: &Run, settings: &Settings) -> Result<CrawlOutput, CrawlError> {
    let categories_key = tasks::categories_key(run.id());
    let categories: Vec<Category> = match get_json(io, &categories_key)? {
        Some(categories) => categories,
        None => {
            io.log(
                LogLevel::Warn,
                &format!(
                    "state `{categories_key}` is missing (the categories task of run {} failed); brands get no category",
                    run.id()
                ),
            );
            Vec::new()
        }
    };
    let mut used_keys = vec![categories_key];
    let mut listed: HashMap<String, Vec<String>> = HashMap::new();
    for category in &categories {
        let pages_key = tasks::category_pages_key(run.id(), &category.id);
        let pages = match get_json::<u32>(io, &pages_key)? {
            Some(pages) => pages,
            None => {
                io.log(
                    LogLevel::Warn,
                    &format!(
                        "category {} ({}) has no stored pages; its brands get no category",
                        category.id, category.name
                    ),
                );
                1
            }
        };
        used_keys.push(pages_key);
        let names = listed.entry(category.id.clone()).or_default();
        // The announced pages, then any the chain of full pages added.
        for page in 1..=settings.max_pages {
            let key = tasks::category_page_key(run.id(), &category.id, page);
            match get_json::<Vec<String>>(io, &key)? {
                Some(page_names) => names.extend(page_names),
                None if page > pages => break,
                None => io.log(
                    LogLevel::Warn,
                    &format!(
                        "page {page} of category {} ({}) is missing from state; continuing without it",
                        category.id, category.name
                    ),
                ),
            }
            used_keys.push(key);
        }
    }
    let by_brand = records::join_categories(&categories, &listed);

    let request = settings.brand_list()?;
    let url = request.url().to_string();
    let html = io.fetch_text(request)?;
    let list = parse::parse_brand_list(&html).map_err(at(&url))?;
    report(io, &list.tally);
    let mut follow_ups = Vec::with_capacity(list.brands.len());
    let mut uncategorized = 0usize;
    for entry in list.brands {
        let categories = by_brand.get(&entry.name_ko).cloned().unwrap_or_default();
        if categories.is_empty() {
            uncategorized += 1;
        }
        follow_ups.push(tasks::brand_task(&BrandInfo {
            code: entry.code,
            name_ko: entry.name_ko,
            name_en: entry.name_en,
            categories,
        })?);
    }
    io.log(
        LogLevel::Info,
        &format!(
            "scheduling {} brands ({uncategorized} in no category)",
            follow_ups.len()
        ),
    );
    for key in &used_keys {
        io.state_delete(key);
    }
    Ok(CrawlOutput {
        records: Vec::new(),
        tasks: follow_ups,
    })
}

/// `brand:<code>`: the shop landing, then the AJAX pages until a short
/// page; one record per product and one for the brand.
///
/// The brand record is never dropped for product trouble: a page that
/// still fails after the host's HTTP retries (or has cards but no readable
/// product) goes into the record's `failed_pages` and the record is marked
/// incomplete. Paging goes on past a failed page while the landing's pager
/// says there are more, and a failed AJAX page 1 is replaced by the
/// landing's own first page of cards. Only `blocked` (the site refuses the
/// crawler) fails the task, so the host backs off and tries it again.
fn brand(
    io: &mut impl Io,
    run: &Run,
    settings: &Settings,
    info: BrandInfo,
) -> Result<CrawlOutput, CrawlError> {
    let mut crawl = BrandCrawl::default();
    let mut tally = Tally::new(PRODUCT_TOPIC);
    let request = settings.brand_shop(&info.code)?;
    let shop_url = request.url().to_string();
    let landing = match fetch_page(io, request)? {
        Ok(html) => Some(parse::parse_shop_detail(&html).map_err(at(&shop_url))?),
        Err(why) => {
            io.log(
                LogLevel::Warn,
                &format!("brand {} shop landing {shop_url} failed: {why}", info.code),
            );
            crawl.failed_pages.push(shop_url.clone());
            None
        }
    };
    let announced = landing.as_ref().and_then(|l| l.pages).unwrap_or(1);
    if let Some(landing) = &landing {
        crawl.shop_brand_name = landing.brand_name.clone();
        if let Some(name) = landing.brand_name.as_ref().filter(|n| **n != info.name_ko) {
            io.log(
                LogLevel::Debug,
                &format!(
                    "brand {} is titled `{name}` on {shop_url}, `{}` in the brand list",
                    info.code, info.name_ko
                ),
            );
        }
    }

    let landing_cards = landing.as_ref().map_or(0, |l| l.products.products.len());
    let mut products: Vec<Product> = Vec::new();
    let mut seen = HashSet::new();
    for page in 1..=settings.max_pages {
        let request = settings.goods_page(&info.code, page)?;
        let url = request.url().to_string();
        let read = match fetch_page(io, request)? {
            Ok(html) => judge_page(
                parse::parse_goods_page(&html).map_err(at(&url))?,
                page,
                announced,
                landing_cards,
            ),
            Err(why) => PageRead::failed(why),
        };
        if let Some(page_tally) = read.tally {
            tally.merge(page_tally.located(&url));
        }
        let mut items = read.products;
        if let Some(why) = &read.failed {
            io.log(
                LogLevel::Warn,
                &format!(
                    "brand {} ({}) page {page} at {url} failed: {why}",
                    info.code, info.name_ko
                ),
            );
            crawl.failed_pages.push(url);
            // Page 1 is also on the landing.
            if let (Some(l), 1) = (&landing, page)
                && landing_cards > 0
            {
                tally.merge(l.products.tally.clone().located(&shop_url));
                items.extend(l.products.products.iter().cloned());
            }
        }
        products_seen(&mut products, &mut seen, items);
        // A failed page is passed over while the landing announces more; a
        // good one ends the brand when it is empty, or short at or past the
        // last announced page.
        let last = match read.failed {
            Some(_) => page >= announced,
            None => read.cards == 0 || (read.cards < ROWS_PER_PAGE && page >= announced),
        };
        if last {
            break;
        }
        if page == settings.max_pages {
            io.log(
                LogLevel::Warn,
                &format!(
                    "brand {} still has full pages after {page} (max_pages); stopping there",
                    info.code
                ),
            );
        }
    }
    report(io, &tally);

    let started = run.started_at_ms();
    let mut out_records = Vec::with_capacity(products.len() + 1);
    for product in &products {
        let record = records::product_record(settings, &info, product, started)?;
        out_records.push(stamped(
            out::record(PRODUCT_TOPIC, &product.goods_no, &record)?,
            started,
        ));
    }
    let record = records::brand_record(settings, &info, &products, &crawl, &run.date(9), started)?;
    let brand_record = match settings.record_layout {
        RecordLayout::Current => out::record(BRAND_TOPIC, record.key(), &record)?,
        RecordLayout::Legacy => {
            let legacy = record.legacy();
            out::record(BRAND_TOPIC, legacy.key(), &legacy)?
        }
    };
    out_records.push(stamped(brand_record, started));
    Ok(CrawlOutput {
        records: out_records,
        tasks: Vec::new(),
    })
}

/// One goods page as the brand loop sees it: the products to keep, the
/// page's tally, its card count, and why it counts as failed, if it does.
struct PageRead {
    products: Vec<Product>,
    tally: Option<Tally>,
    cards: usize,
    failed: Option<String>,
}

impl PageRead {
    /// A page that could not be fetched.
    fn failed(why: String) -> Self {
        PageRead {
            products: Vec::new(),
            tally: None,
            cards: 0,
            failed: Some(why),
        }
    }
}

/// Whether page `page` of a brand, as parsed, is a failed page: cards but
/// none readable; empty as page 1 while the landing shows `landing_cards`
/// products; short before the last page the landing `announced` (cut
/// off: what it has is kept). Pure.
fn judge_page(read: GoodsPage, page: u32, announced: u32, landing_cards: usize) -> PageRead {
    let failed = if read.cards > 0 && read.products.is_empty() {
        Some(format!("{} product cards, none readable", read.cards))
    } else if read.cards == 0 && page == 1 && landing_cards > 0 {
        Some(format!(
            "no product card, where the shop landing shows {landing_cards}"
        ))
    } else if read.cards > 0 && read.cards < ROWS_PER_PAGE && page < announced {
        Some(format!(
            "{} product cards where a page has {ROWS_PER_PAGE} and the shop announces {announced} pages",
            read.cards
        ))
    } else {
        None
    };
    PageRead {
        products: read.products,
        tally: Some(read.tally),
        cards: read.cards,
        failed,
    }
}

/// Append the products not seen yet (by goods number), in order.
fn products_seen(products: &mut Vec<Product>, seen: &mut HashSet<String>, items: Vec<Product>) {
    for item in items {
        if seen.insert(item.goods_no.clone()) {
            products.push(item);
        }
    }
}

/// Fetch one page of a brand: the body, or why the page failed (any error
/// after the host's retries but `blocked`, which is returned as the task's
/// error so the host backs off).
fn fetch_page(
    io: &mut impl Io,
    request: crawlhost_sdk::http::Request,
) -> Result<Result<String, String>, CrawlError> {
    match io.fetch_text(request) {
        Ok(html) => Ok(Ok(html)),
        Err(CrawlError::Blocked(m)) => Err(CrawlError::Blocked(m)),
        Err(CrawlError::Retryable(m)) => Ok(Err(format!("retryable: {m}"))),
        Err(CrawlError::Parse(m)) => Ok(Err(format!("parse: {m}"))),
        Err(CrawlError::Other(m)) => Ok(Err(m)),
    }
}

/// Records carry the run start as event time, so one run lands in one
/// date partition of the sink and replays are repeatable.
fn stamped(mut record: OutRecord, ms: i64) -> OutRecord {
    record.timestamp_ms = Some(ms);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cards: usize, readable: usize) -> GoodsPage {
        let product = |i: usize| Product {
            goods_no: format!("A{i}"),
            name: format!("p{i}"),
            price_original: None,
            price_current: None,
            on_promotion: false,
            sold_out: false,
            rating: None,
            review_count: None,
        };
        GoodsPage {
            products: (0..readable).map(product).collect(),
            cards,
            tally: Tally::new(PRODUCT_TOPIC),
        }
    }

    #[test]
    fn pages_are_judged_failed_only_when_something_is_missing() {
        let failed = |read: PageRead| read.failed.is_some();
        // A full page, a short last page, an empty page past the end.
        assert!(!failed(judge_page(page(24, 24), 1, 3, 24)));
        assert!(!failed(judge_page(page(5, 5), 3, 3, 24)));
        assert!(!failed(judge_page(page(0, 0), 4, 3, 24)));
        // An empty page before the pager's last is the end, not a failure.
        assert!(!failed(judge_page(page(0, 0), 2, 5, 24)));
        // Cards but none readable; empty page 1 beside a landing with cards.
        assert!(failed(judge_page(page(3, 0), 1, 1, 0)));
        assert!(failed(judge_page(page(0, 0), 1, 1, 24)));
        // Short before the announced last page: failed, its products kept.
        let cut = judge_page(page(5, 4), 1, 3, 24);
        assert_eq!(cut.products.len(), 4);
        assert!(cut.failed.unwrap().contains("announces 3 pages"));
    }
}
