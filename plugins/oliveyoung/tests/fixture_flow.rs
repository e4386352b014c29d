//! The whole crawl flow, natively, against the fixture site in-process: a
//! tiny frontier (phases, key dedup, retries of retryable errors) drives
//! `plan` and `crawl` through an [`Io`] backed by the fixture's request
//! handler (with the host's HTTP retries) and an in-memory state store. The
//! result must be exactly the fixture's ground truth, on the normal site and
//! under every markup drift the fixture can serve.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crawlhost_sdk::http::{Request, status_error};
use crawlhost_sdk::{CrawlError, LogLevel, OutRecord, PlanInput, Run, RunInfo, Task};
use crawlhost_tests::oliveyoung::{Handler, Mutation, Site};
use oliveyoung::flow;
use oliveyoung::io::Io;

const BASE: &str = "http://fixture.test";
const RUN_MS: i64 = 1_724_097_600_000;
const ATTEMPTS: u32 = 3;
/// Attempts per request, as the host's `http.retry.max_attempts`.
const HTTP_ATTEMPTS: u32 = 2;

struct FixtureIo {
    handler: Handler,
    state: BTreeMap<String, Vec<u8>>,
    logs: Vec<(LogLevel, String)>,
    skipped: BTreeMap<(String, String), u64>,
    fetches: usize,
    /// Paths (without query) answered 500 whatever the site says.
    broken_paths: Vec<&'static str>,
}

fn fixture_io(site: Arc<Site>) -> FixtureIo {
    FixtureIo {
        handler: Handler::new(site),
        state: BTreeMap::new(),
        logs: Vec::new(),
        skipped: BTreeMap::new(),
        fetches: 0,
        broken_paths: Vec::new(),
    }
}

impl Io for FixtureIo {
    fn fetch_text(&mut self, request: Request) -> Result<String, CrawlError> {
        let url = request.url().to_string();
        let path = url.strip_prefix(BASE).expect("only the fixture host");
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.fetches += 1;
            let reply = self.handler.handle("GET", path);
            let status = if self.broken_paths.iter().any(|b| path.starts_with(b)) {
                500
            } else {
                reply.status
            };
            match status_error(status, &url) {
                Some(CrawlError::Retryable(_)) if attempt < HTTP_ATTEMPTS => continue,
                Some(e) => return Err(e),
                None => return Ok(reply.body),
            }
        }
    }
    fn state_get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.state.get(key).cloned()
    }
    fn state_put(&mut self, key: &str, value: &[u8]) -> Result<(), CrawlError> {
        self.state.insert(key.to_string(), value.to_vec());
        Ok(())
    }
    fn state_delete(&mut self, key: &str) {
        self.state.remove(key);
    }
    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }
    fn skipped(&mut self, topic: &str, field: &str, count: u32) {
        *self
            .skipped
            .entry((topic.to_string(), field.to_string()))
            .or_default() += u64::from(count);
    }
}

struct Outcome {
    io: FixtureIo,
    records: Vec<OutRecord>,
    /// Key -> (kind, phase) of every task that ran.
    ran: BTreeMap<String, (String, u32)>,
    failed: BTreeMap<String, CrawlError>,
    attempts: BTreeMap<String, u32>,
}

fn run_info(max_pages: &str) -> Run {
    run_with(&[("max_pages", max_pages)])
}

fn run_with(extra: &[(&str, &str)]) -> Run {
    let mut config = vec![("base_url".to_string(), BASE.to_string())];
    config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Run::new(RunInfo {
        run_id: "run-1".into(),
        started_at_ms: RUN_MS,
        config,
    })
}

fn crawl(site: Arc<Site>, max_pages: &str) -> Outcome {
    crawl_with(fixture_io(site), run_info(max_pages))
}

fn crawl_with(io: FixtureIo, run: Run) -> Outcome {
    let mut io = io;
    let mut queues: BTreeMap<u32, VecDeque<Task>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut enqueue = |queues: &mut BTreeMap<u32, VecDeque<Task>>, task: Task| {
        if seen.insert(task.key.clone()) {
            queues.entry(task.phase).or_default().push_back(task);
        }
    };
    for task in flow::plan(&mut io, &run, PlanInput::Scheduled).unwrap() {
        enqueue(&mut queues, task);
    }
    let mut outcome_records = Vec::new();
    let mut ran = BTreeMap::new();
    let mut failed = BTreeMap::new();
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    // Always the lowest phase first: the host's join barrier.
    while let Some(task) = queues.values_mut().find_map(|q| q.pop_front()) {
        ran.insert(task.key.clone(), (task.kind.clone(), task.phase));
        let mut attempt = 0;
        loop {
            attempt += 1;
            match flow::crawl(&mut io, &run, &task) {
                Ok(out) => {
                    outcome_records.extend(out.records);
                    for t in out.tasks {
                        assert!(t.phase >= task.phase, "{} schedules backwards", task.key);
                        enqueue(&mut queues, t);
                    }
                    break;
                }
                Err(CrawlError::Retryable(_)) if attempt < ATTEMPTS => continue,
                Err(e) => {
                    failed.insert(task.key.clone(), e);
                    break;
                }
            }
        }
        attempts.insert(task.key.clone(), attempt);
    }
    Outcome {
        io,
        records: outcome_records,
        ran,
        failed,
        attempts,
    }
}

fn kind(e: &CrawlError) -> &'static str {
    match e {
        CrawlError::Retryable(_) => "retryable",
        CrawlError::Blocked(_) => "blocked",
        CrawlError::Parse(_) => "parse",
        CrawlError::Other(_) => "other",
    }
}

/// Compare two keyed record maps, printing only the first differences.
fn assert_same(
    got: &BTreeMap<String, serde_json::Value>,
    want: &BTreeMap<String, serde_json::Value>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            None => diffs.push(format!("{k}: missing")),
            Some(g) if g != w => {
                let fields: Vec<String> = w
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(f, v)| g.get(f.as_str()) != Some(v))
                    .map(|(f, v)| {
                        format!(
                            "{f}: got {} want {v}",
                            g.get(f.as_str()).unwrap_or(&serde_json::Value::Null)
                        )
                    })
                    .collect();
                diffs.push(format!("{k}: {}", fields.join("; ")));
            }
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k}: unexpected"));
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences, first: {:#?}",
        diffs.len(),
        &diffs[..diffs.len().min(8)]
    );
}

fn by_topic(records: &[OutRecord], topic: &str) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for r in records.iter().filter(|r| r.topic == topic) {
        let key = r.key.clone().expect("keyed");
        let value = serde_json::from_str(&r.value).expect("valid JSON");
        assert!(
            out.insert(key.clone(), value).is_none(),
            "{key} emitted twice"
        );
    }
    out
}

#[test]
fn a_run_produces_exactly_the_ground_truth() {
    let site = Arc::new(Site::generate(7));
    let truth = site.ground_truth(BASE, RUN_MS);
    let outcome = crawl(site.clone(), "100");

    let failed: BTreeMap<String, &str> = outcome
        .failed
        .iter()
        .map(|(k, e)| (k.clone(), kind(e)))
        .collect();
    assert_eq!(failed, truth.failed_tasks);
    assert!(failed.is_empty(), "no task fails: {failed:?}");
    // Broken pages are in the brand records, not lost with them; the
    // truncated card is counted as skipped.
    assert_eq!(truth.incomplete.len(), 5);
    assert_eq!(outcome.io.skipped, truth.skipped);

    let brands = by_topic(&outcome.records, "oliveyoung");
    let products = by_topic(&outcome.records, "oliveyoung-products");
    assert_eq!(brands.len(), truth.brands.len());
    for (code, expected) in &truth.brands {
        assert_eq!(brands.get(code), Some(expected), "brand {code}");
    }
    assert_same(&brands, &truth.brands, "brands");
    assert_same(&products, &truth.products, "products");
    assert!(
        outcome
            .records
            .iter()
            .all(|r| r.timestamp_ms == Some(RUN_MS))
    );

    // Task graph: keys, kinds, phases.
    let mut expected_tasks = BTreeMap::new();
    expected_tasks.insert("categories".to_string(), ("categories".to_string(), 0));
    for c in site.categories() {
        // A full last page is followed by one more request (which finds
        // the end): the plugin cannot tell it is the last.
        let full_last = c.brands.len().is_multiple_of(24);
        for p in 1..=c.pages() + usize::from(full_last) {
            expected_tasks.insert(
                format!("category:{}:{p}", c.disp_cat_no),
                ("category".to_string(), 0),
            );
        }
    }
    expected_tasks.insert("brand-list".to_string(), ("brand-list".to_string(), 1));
    for b in site.brands() {
        expected_tasks.insert(format!("brand:{}", b.code), ("brand".to_string(), 1));
    }
    assert_eq!(outcome.ran, expected_tasks);

    // The flaky brand's page succeeded on the HTTP retry: complete, and
    // every brand task ran once.
    let flaky = &site.faults().shop_first_request_500;
    assert_eq!(outcome.attempts[&format!("brand:{flaky}")], 1);
    assert_eq!(brands[flaky]["complete"], true);
    assert!(outcome.attempts.values().all(|a| *a == 1));

    // The join cleaned up after itself, and nothing went wrong quietly:
    // every warning is about a broken brand, naming the page.
    assert!(outcome.io.state.is_empty(), "{:?}", outcome.io.state.keys());
    let warnings: Vec<_> = outcome
        .io
        .logs
        .iter()
        .filter(|(l, _)| matches!(l, LogLevel::Warn | LogLevel::Error))
        .collect();
    assert!(!warnings.is_empty());
    for (_, m) in &warnings {
        assert!(
            truth
                .incomplete
                .keys()
                .any(|code| m.contains(code.as_str())),
            "unexpected warning: {m}"
        );
    }
    eprintln!(
        "{} tasks, {} fetches, {} records",
        outcome.ran.len(),
        outcome.io.fetches,
        outcome.records.len()
    );
}

#[test]
fn max_pages_caps_big_brands() {
    let site = Arc::new(Site::generate(7));
    let outcome = crawl(site.clone(), "2");
    let brands = by_topic(&outcome.records, "oliveyoung");
    let big = site
        .brands()
        .iter()
        .find(|b| b.products.len() > 48 && !site.faults().is_broken(&b.code))
        .unwrap();
    assert_eq!(brands[&big.code]["product_count"], 48);
    assert!(
        outcome
            .io
            .logs
            .iter()
            .any(|(l, m)| matches!(l, LogLevel::Warn) && m.contains(&big.code))
    );
    // Category pages are capped too, so no category task past page 2 ran.
    assert!(
        !outcome
            .ran
            .keys()
            .any(|k| k.starts_with("category:") && k.ends_with(":3"))
    );
}

#[test]
fn missing_category_state_degrades_to_a_warning() {
    let site = Arc::new(Site::generate(7));
    let run = run_info("100");
    let mut io = fixture_io(site.clone());
    // Only the landing ran: no category pages in state.
    let out = flow::crawl(&mut io, &run, &oliveyoung::tasks::categories_task()).unwrap();
    assert_eq!(out.tasks.len(), 24);
    let out = flow::crawl(&mut io, &run, &oliveyoung::tasks::brand_list_task()).unwrap();
    assert_eq!(out.tasks.len(), 300);
    assert!(io.logs.iter().any(|(l, _)| matches!(l, LogLevel::Warn)));
    assert!(io.state.is_empty());

    // Without even the categories, every brand is still scheduled (with no
    // category), and the warning names the missing state.
    io.logs.clear();
    let out = flow::crawl(&mut io, &run, &oliveyoung::tasks::brand_list_task()).unwrap();
    assert_eq!(out.tasks.len(), 300);
    assert!(
        io.logs
            .iter()
            .any(|(l, m)| matches!(l, LogLevel::Warn) && m.contains("run/run-1/categories")),
        "{:?}",
        io.logs
    );
}

/// A category landing that fails costs the brands their categories, not
/// the brands: the brand list is a seed of its own.
#[test]
fn a_broken_category_landing_keeps_every_brand() {
    let site = Arc::new(Site::generate(7));
    let truth = site.ground_truth(BASE, RUN_MS);
    let mut io = fixture_io(site.clone());
    io.broken_paths = vec!["/store/display/getCategoryShop.do"];
    let outcome = crawl_with(io, run_info("100"));
    assert_eq!(
        outcome.failed.keys().collect::<Vec<_>>(),
        ["categories"],
        "{:?}",
        outcome.failed
    );
    let brands = by_topic(&outcome.records, "oliveyoung");
    let products = by_topic(&outcome.records, "oliveyoung-products");
    assert_eq!(brands.len(), truth.brands.len());
    assert_same(&products, &truth.products, "products");
    for (code, brand) in &brands {
        assert_eq!(brand["category"], serde_json::json!([]), "{code}");
        let mut expected = truth.brands[code].clone();
        expected["category"] = serde_json::json!([]);
        assert_eq!(brand, &expected);
    }
}

/// Every markup drift the fixture serves: every brand and product lands
/// (identity markup is untouched), the perturbed fields are null (values)
/// or false (markers) and nothing else changes.
#[test]
fn every_drift_keeps_every_record() {
    for mutation in Mutation::ALL {
        let site = Arc::new(Site::generate(7).with_mutation(Some(mutation)));
        let truth = site.ground_truth(BASE, RUN_MS);
        let outcome = crawl(site.clone(), "100");
        assert!(
            outcome.failed.is_empty(),
            "{mutation}: {:?}",
            outcome.failed
        );
        let brands = by_topic(&outcome.records, "oliveyoung");
        let products = by_topic(&outcome.records, "oliveyoung-products");
        assert_eq!(brands.len(), truth.brand_count, "{mutation}");
        assert_eq!(products.len(), truth.product_count, "{mutation}");
        assert_same(&brands, &truth.brands, mutation.name());
        assert_same(&products, &truth.products, mutation.name());
        assert_eq!(outcome.io.skipped, truth.skipped, "{mutation}");
        // The perturbed fields are gone from every record.
        for (topic, field) in mutation.perturbed() {
            let records = by_topic(&outcome.records, topic);
            let filled = records
                .values()
                .filter(|r| {
                    let v = &r[*field];
                    !v.is_null() && *v != false && *v != serde_json::json!([])
                })
                .count();
            assert_eq!(filled, 0, "{mutation}: {topic}.{field}");
        }
    }
}

/// `record_layout = "legacy"`: the brand records are exactly the original
/// pipeline's message, keyed by brand name; products are unchanged.
#[test]
fn legacy_layout_emits_the_original_message() {
    let site = Arc::new(Site::generate(7));
    let truth = site.ground_truth(BASE, RUN_MS);
    let outcome = crawl_with(
        fixture_io(site.clone()),
        run_with(&[("record_layout", "legacy")]),
    );
    assert!(outcome.failed.is_empty());
    let brands = by_topic(&outcome.records, "oliveyoung");
    assert_eq!(brands.len(), truth.brands.len());
    for expected in truth.brands.values() {
        let name = expected["brand"].as_str().unwrap();
        let legacy = &brands[name];
        let keys: Vec<&String> = legacy.as_object().unwrap().keys().collect();
        assert_eq!(keys, [name]);
        let mut want = serde_json::Map::new();
        for field in [
            "query_keyword",
            "brand_shop_detail_url",
            "items",
            "category",
            "released_date",
        ] {
            want.insert(field.to_string(), expected[field].clone());
        }
        assert_eq!(legacy[name], serde_json::Value::Object(want), "{name}");
    }
    assert_eq!(
        by_topic(&outcome.records, "oliveyoung-products"),
        truth.products
    );
}

#[test]
fn manifest_and_plan() {
    let m = oliveyoung::manifest();
    assert_eq!(m.name, "oliveyoung");
    assert_eq!(m.version, "0.1.0");
    assert_eq!(m.schedule.as_deref(), Some("0 0 3 * * *"));
    assert_eq!(m.topics, ["oliveyoung", "oliveyoung-products"]);
    assert_eq!(
        m.hosts,
        ["www.oliveyoung.co.kr", "m.oliveyoung.co.kr", "{base_url}"]
    );
    let config: Vec<_> = m
        .config
        .iter()
        .map(|k| (k.name.as_str(), k.default_value.as_deref(), k.required))
        .collect();
    assert_eq!(
        config,
        [
            ("base_url", Some("https://www.oliveyoung.co.kr"), false),
            ("max_pages", Some("100"), false),
            ("record_layout", Some("current"), false)
        ]
    );
    assert!(m.triggers.is_empty());

    let mut io = fixture_io(Arc::new(Site::generate(1)));
    let tasks = flow::plan(&mut io, &run_info("100"), PlanInput::Scheduled).unwrap();
    let seeds: Vec<(&str, &str, u32)> = tasks
        .iter()
        .map(|t| (t.key.as_str(), t.kind.as_str(), t.phase))
        .collect();
    assert_eq!(
        seeds,
        [
            ("categories", "categories", 0),
            ("brand-list", "brand-list", 1)
        ]
    );
    let bad = Run::new(RunInfo {
        run_id: "r".into(),
        started_at_ms: 0,
        config: vec![("base_url".into(), "nope".into())],
    });
    assert!(matches!(
        flow::plan(&mut io, &bad, PlanInput::Scheduled),
        Err(CrawlError::Other(_))
    ));
}

/// A landing whose pager announces more pages than there are: the empty
/// page after the last full one ends the brand, with no page counted as
/// failed and no request past it.
#[test]
fn a_pager_that_overstates_the_pages_costs_nothing() {
    struct PagerIo {
        fetched: Vec<String>,
    }
    fn cards(from: usize, n: usize) -> String {
        (from..from + n)
            .map(|i| {
                format!(
                    "<li data-goods-idx=\"{i}\"><div class=\"prod-info\"><a data-ref-goodsNo=\"A{i:06}\" data-attr=\"p{i}\"><p class=\"prod-name\">p{i}</p></a></div></li>"
                )
            })
            .collect()
    }
    impl Io for PagerIo {
        fn fetch_text(&mut self, request: Request) -> Result<String, CrawlError> {
            let url = request.url().to_string();
            self.fetched.push(url.clone());
            if url.contains("getBrandShopDetail.do") {
                let pager: String = (2..=5)
                    .map(|p| format!("<a data-page-no=\"{p}\">{p}</a>"))
                    .collect();
                return Ok(format!(
                    "<h2 class=\"brand-name\">b</h2><ul>{}</ul><div class=\"pageing\"><strong>1</strong>{pager}</div>",
                    cards(1, 24)
                ));
            }
            Ok(if url.contains("pageIdx=1&") {
                format!("<ul>{}</ul>", cards(1, 24))
            } else {
                "<ul></ul>".to_string()
            })
        }
        fn state_get(&mut self, _: &str) -> Option<Vec<u8>> {
            None
        }
        fn state_put(&mut self, _: &str, _: &[u8]) -> Result<(), CrawlError> {
            Ok(())
        }
        fn state_delete(&mut self, _: &str) {}
        fn log(&mut self, _: LogLevel, _: &str) {}
        fn skipped(&mut self, _: &str, _: &str, _: u32) {}
    }
    let mut io = PagerIo {
        fetched: Vec::new(),
    };
    let task = oliveyoung::tasks::brand_task(&oliveyoung::records::BrandInfo {
        code: "A1".into(),
        name_ko: "b".into(),
        name_en: "b".into(),
        categories: vec![],
    })
    .unwrap();
    let out = flow::crawl(&mut io, &run_info("100"), &task).unwrap();
    let brands = by_topic(&out.records, "oliveyoung");
    assert_eq!(brands["A1"]["complete"], true, "{}", brands["A1"]);
    assert_eq!(brands["A1"]["product_count"], 24);
    // The landing, page 1 and the empty page 2: nothing more.
    assert_eq!(io.fetched.len(), 3, "{:#?}", io.fetched);
}
