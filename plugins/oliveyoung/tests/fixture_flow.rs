//! The whole crawl flow, natively, against the fixture site in-process: a
//! tiny frontier (phases, key dedup, retries of retryable errors) drives
//! `plan` and `crawl` through an [`Io`] backed by the fixture's request
//! handler and an in-memory state store. The result must be exactly the
//! fixture's ground truth.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crawlhost_sdk::http::{Request, status_error};
use crawlhost_sdk::{CrawlError, LogLevel, OutRecord, PlanInput, Run, RunInfo, Task};
use crawlhost_tests::oliveyoung::{Handler, Site};
use oliveyoung::flow;
use oliveyoung::io::Io;

const BASE: &str = "http://fixture.test";
const RUN_MS: i64 = 1_724_097_600_000;
const ATTEMPTS: u32 = 3;

struct FixtureIo {
    handler: Handler,
    state: BTreeMap<String, Vec<u8>>,
    logs: Vec<(LogLevel, String)>,
    fetches: usize,
}

impl Io for FixtureIo {
    fn fetch_text(&mut self, request: Request) -> Result<String, CrawlError> {
        self.fetches += 1;
        let url = request.url().to_string();
        let path = url.strip_prefix(BASE).expect("only the fixture host");
        let reply = self.handler.handle("GET", path);
        match status_error(reply.status, &url) {
            Some(e) => Err(e),
            None => Ok(reply.body),
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
    Run::new(RunInfo {
        run_id: "run-1".into(),
        started_at_ms: RUN_MS,
        config: vec![
            ("base_url".into(), BASE.into()),
            ("max_pages".into(), max_pages.into()),
        ],
    })
}

fn crawl(site: Arc<Site>, max_pages: &str) -> Outcome {
    let run = run_info(max_pages);
    let mut io = FixtureIo {
        handler: Handler::new(site),
        state: BTreeMap::new(),
        logs: Vec::new(),
        fetches: 0,
    };
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
    for (key, e) in &outcome.failed {
        if let CrawlError::Parse(m) = e {
            let code = key.trim_start_matches("brand:");
            assert!(m.contains(code) && m.contains("page 1"), "{m}");
        }
    }

    let brands = by_topic(&outcome.records, "oliveyoung");
    let products = by_topic(&outcome.records, "oliveyoung-products");
    assert_eq!(brands.len(), truth.brands.len());
    for (code, expected) in &truth.brands {
        assert_eq!(brands.get(code), Some(expected), "brand {code}");
    }
    assert_eq!(brands, truth.brands);
    assert_eq!(products, truth.products);
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
        for p in 1..=c.pages() {
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

    // The flaky brand succeeded on its second attempt.
    let flaky = format!("brand:{}", site.faults().shop_first_request_500);
    assert_eq!(outcome.attempts[&flaky], 2);
    assert!(!outcome.failed.contains_key(&flaky));
    for code in &site.faults().shop_always_500 {
        assert_eq!(outcome.attempts[&format!("brand:{code}")], ATTEMPTS);
    }

    // The join cleaned up after itself, and nothing went wrong quietly.
    assert!(outcome.io.state.is_empty(), "{:?}", outcome.io.state.keys());
    let warnings: Vec<_> = outcome
        .io
        .logs
        .iter()
        .filter(|(l, _)| matches!(l, LogLevel::Warn | LogLevel::Error))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
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
    let mut io = FixtureIo {
        handler: Handler::new(site.clone()),
        state: BTreeMap::new(),
        logs: Vec::new(),
        fetches: 0,
    };
    // Only the landing ran: no category pages in state.
    let out = flow::crawl(&mut io, &run, &oliveyoung::tasks::categories_task()).unwrap();
    assert_eq!(out.tasks.len(), 25);
    let out = flow::crawl(&mut io, &run, &oliveyoung::tasks::brand_list_task()).unwrap();
    assert_eq!(out.tasks.len(), 300);
    assert!(io.logs.iter().any(|(l, _)| matches!(l, LogLevel::Warn)));
    assert!(io.state.is_empty());

    // Without even the categories, the join refuses to guess.
    let err = flow::crawl(&mut io, &run, &oliveyoung::tasks::brand_list_task()).unwrap_err();
    assert!(matches!(err, CrawlError::Other(m) if m.contains("run/run-1/categories")));
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
            ("max_pages", Some("100"), false)
        ]
    );
    assert!(m.triggers.is_empty());

    let mut io = FixtureIo {
        handler: Handler::new(Arc::new(Site::generate(1))),
        state: BTreeMap::new(),
        logs: Vec::new(),
        fetches: 0,
    };
    let tasks = flow::plan(&mut io, &run_info("100"), PlanInput::Scheduled).unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (
            tasks[0].key.as_str(),
            tasks[0].kind.as_str(),
            tasks[0].phase
        ),
        ("categories", "categories", 0)
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
