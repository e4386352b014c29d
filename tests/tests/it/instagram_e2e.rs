//! The `instagram` plugin end to end through the host's browser: the brand
//! records of a real Oliveyoung fixture crawl trigger it on the embedded
//! bus; it logs in with credentials the host types (`[[browser.secrets]]`),
//! scrolls each brand's hashtag grid in headless Chromium (chromedriver
//! started by the host on a free loopback port), opens every post, and the
//! records on topic `instagram` equal the fixture's ground truth field by
//! field. A plain HTTP fetch of the same pages finds no posts (everything is
//! rendered by JavaScript), so only the browser path passes. The
//! suspicious-activity popup and HTTP 429 fail the task as `blocked`, which
//! the host retries after a back-off.
//!
//! Needs chromium and chromedriver (scripts/install/chromium.sh; `make test`
//! runs it): without them the test fails saying so.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crawlhost::browser::config::{BrowserConfig, BrowserSecretConfig};
use crawlhost::bus::ConsumedRecord;
use crawlhost::config::{Config, Settings};
use crawlhost::contract::{BusRecord, PlanInput};
use crawlhost::coverage::RunCoverage;
use crawlhost::host::Host;
use crawlhost::run::run_plugin;
use crawlhost::trigger::{Until, consume};
use crawlhost_tests::instagram::{self, Corpus, Fixture, Mode, tag_of};
use crawlhost_tests::oliveyoung::{self, Site};
use crawlhost_tests::twitter::BrandSeed;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SEED: u64 = 7;
const USERNAME: &str = "crawlhost.fixture";
const PASSWORD: &str = "correct horse battery";
const MAX_SESSIONS: usize = 2;

fn wasm(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(format!("wasm32-wasip2/release/{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build it with `make plugins` (make test does)",
        path.display()
    );
    path
}

/// Host settings: both plugins, the fixtures' URLs, a browser with the
/// credentials for the Instagram fixture's host only.
fn settings(dir: &Path, oliveyoung_url: &str, ig_url: &str, password: &str) -> Settings {
    let (chromium, chromedriver) = instagram::chromium_tools();
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    for name in ["oliveyoung", "instagram"] {
        std::fs::copy(wasm(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n\
         [http.retry]\nmax_attempts = 1\n[http.circuit]\nfailure_threshold = 0\n\
         [run]\nconcurrency = 4\nretry_base_ms = 20\nretry_max_ms = 200\nblocked_max_attempts = 2\n\
         [plugins.oliveyoung]\nconfig = {{ base_url = \"{oliveyoung_url}\" }}\n\
         [plugins.instagram]\nconfig = {{ base_url = \"{ig_url}\", wait_ms = \"10000\" }}\n\
         allow_triggers = [\"oliveyoung\"]\n",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
    );
    let mut settings = Config::parse(&text, Path::new("instagram-e2e.toml"))
        .unwrap()
        .validate()
        .unwrap();
    // [browser] with its secrets, built directly so the test sets no
    // environment variable.
    let host = ig_url.trim_start_matches("http://");
    let secret = |name: &str, env: &str| BrowserSecretConfig {
        name: name.into(),
        hosts: vec![host.to_string()],
        value_env: env.into(),
        // The fixture is plain HTTP on loopback.
        allow_http: true,
    };
    let browser = BrowserConfig {
        chromedriver,
        chromium: Some(chromium),
        max_sessions: MAX_SESSIONS,
        page_deadline_secs: 30,
        secrets: vec![
            secret("instagram_username", "IG_USER"),
            secret("instagram_password", "IG_PASS"),
        ],
        ..BrowserConfig::default()
    };
    settings.browser = Some(
        browser
            .check(&|n| match n {
                "IG_USER" => Some(USERNAME.to_string()),
                "IG_PASS" => Some(password.to_string()),
                _ => None,
            })
            .unwrap(),
    );
    settings
}

fn brands_of(records: &[ConsumedRecord]) -> Vec<BrandSeed> {
    records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
            BrandSeed {
                code: v["brand_code"].as_str().unwrap().to_string(),
                name_ko: v["brand"].as_str().unwrap().to_string(),
                name_en: v["brand_name_en"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

/// One HTTP/1.1 request over a plain socket; (status, headers, body).
async fn http(
    url: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

fn trigger(brand_record: &ConsumedRecord) -> PlanInput {
    PlanInput::Trigger(BusRecord {
        topic: brand_record.topic.clone(),
        partition: brand_record.partition,
        offset: brand_record.offset,
        key: brand_record
            .key
            .as_ref()
            .map(|k| String::from_utf8(k.clone()).unwrap()),
        value: String::from_utf8(brand_record.value.clone()).unwrap(),
        timestamp_ms: brand_record.timestamp_ms,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brand_records_trigger_browser_crawls_equal_to_the_ground_truth() {
    let started = Instant::now();
    let site = Site::generate(SEED);
    let corpus = Corpus::generate(SEED, &BrandSeed::from_site(&site));
    let (oy_url, _oy) = oliveyoung::spawn(site).await.unwrap();
    let fixture = Arc::new(Fixture::new(corpus, USERNAME, PASSWORD));
    let (ig_url, _ig) = instagram::spawn(fixture.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(dir.path(), &oy_url, &ig_url, PASSWORD)).unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);
    let oliveyoung = scan.plugins["oliveyoung"].clone();
    let instagram = scan.plugins["instagram"].clone();
    assert_eq!(instagram.manifest.triggers, ["oliveyoung"]);
    assert_eq!(instagram.contract.to_string(), "0.3.0");

    let crawl = run_plugin(
        host.run_context(),
        oliveyoung.clone(),
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert_eq!(crawl.fatal, None);
    let brand_records = common::read_topic(host.bus.as_ref(), "oliveyoung").await;
    let brands = brands_of(&brand_records);
    assert!(brands.len() >= 290, "{} brands", brands.len());

    // Every brand record triggers one browser crawl of its hashtag.
    let t = Instant::now();
    let report = consume(host.run_context(), instagram.clone(), 4, Until::CaughtUp)
        .await
        .unwrap();
    let crawl_secs = t.elapsed().as_secs_f64();
    assert_eq!(report.records, brands.len() as u64);
    assert_eq!(report.dead_letters, 0);
    for s in &report.summaries {
        assert!(s.is_clean(), "{s:#?}");
    }

    let truth = fixture.corpus.ground_truth(&ig_url, &brands);
    let posts = common::read_topic(host.bus.as_ref(), "instagram").await;
    let mut got: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for r in &posts {
        let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        assert!(
            got.insert(key.clone(), value).is_none(),
            "post {key} written twice"
        );
    }
    let got_keys: BTreeSet<&String> = got.keys().collect();
    let want_keys: BTreeSet<&String> = truth.records.keys().collect();
    assert_eq!(
        got_keys,
        want_keys,
        "missing {:?}, unexpected {:?}",
        want_keys.difference(&got_keys).take(5).collect::<Vec<_>>(),
        got_keys.difference(&want_keys).take(5).collect::<Vec<_>>()
    );
    for (code, expected) in &truth.records {
        assert_eq!(&got[code], expected, "post {code}");
    }
    let tags_with_posts = truth.posts_by_brand.values().filter(|n| **n > 0).count();
    let multi_scroll = truth
        .posts_by_brand
        .values()
        .filter(|n| **n > instagram::PAGE_SIZE)
        .count();
    assert!(truth.records.len() >= 100, "{} posts", truth.records.len());
    assert!(multi_scroll >= 3, "{multi_scroll} grids need a scroll");
    assert!(got.values().any(|v| v["like"].is_null()));
    // Captions travel through the grid's `alt` attribute: `&`, `<` and
    // quotes come back as written.
    assert!(got.values().any(|v| {
        let caption = v["full_text"].as_str().unwrap();
        caption.contains(" & ") && caption.contains("<3 \"")
    }));
    // What the host measured: no post skipped, every field filled but the
    // hidden like counts.
    let mut coverage = RunCoverage::default();
    for s in &report.summaries {
        coverage.merge(&s.coverage);
    }
    let topic = &coverage.topics["instagram"];
    assert_eq!(topic.records, got.len() as u64);
    assert!(topic.skipped.is_empty(), "{:?}", topic.skipped);
    let liked = got.values().filter(|v| !v["like"].is_null()).count() as u64;
    assert_eq!(topic.fields["like"].filled, liked);
    for field in ["username", "date", "full_text", "saved_imgs"] {
        assert_eq!(topic.fields[field].filled, topic.records, "{field}");
    }
    assert!(
        got.values()
            .any(|v| v["saved_imgs"].as_array().unwrap().len() == 5)
    );

    // The browser sessions were reused: one login per session, not per task.
    let c = &fixture.counters;
    let logins = c.logins.load(Ordering::Relaxed);
    assert!(
        (1..=MAX_SESSIONS as u64).contains(&logins),
        "{logins} logins for {MAX_SESSIONS} sessions"
    );
    assert_eq!(c.failed_logins.load(Ordering::Relaxed), 0);
    assert_eq!(c.tag_pages.load(Ordering::Relaxed), brands.len() as u64);
    assert_eq!(
        c.post_pages.load(Ordering::Relaxed),
        truth.records.len() as u64
    );
    eprintln!(
        "instagram: {} brands, {} hashtags with posts ({multi_scroll} needing a scroll), {} posts = ground truth; \
         {logins} logins; browser crawl {crawl_secs:.1}s; whole test {:.1}s",
        brands.len(),
        tags_with_posts,
        got.len(),
        started.elapsed().as_secs_f64()
    );

    // Without a browser there is nothing to read: the tag page's HTML (with
    // a valid session cookie) holds none of its posts.
    let busiest = brands
        .iter()
        .max_by_key(|b| truth.posts_by_brand[&b.code])
        .unwrap();
    let (status, head, _) = http(
        &ig_url,
        "POST",
        "/api/v1/web/accounts/login/ajax/",
        None,
        &format!(
            "username={USERNAME}&password={}",
            PASSWORD.replace(' ', "+")
        ),
    )
    .await;
    assert_eq!(status, 200);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let tag: String = url_path_segment(&tag_of(&busiest.name_ko));
    let (status, _, body) = http(
        &ig_url,
        "GET",
        &format!("/explore/tags/{tag}/"),
        Some(&cookie),
        "",
    )
    .await;
    assert_eq!(status, 200);
    let codes: Vec<&String> = truth
        .records
        .iter()
        .filter(|(_, v)| v["brand"] == busiest.name_ko)
        .map(|(k, _)| k)
        .collect();
    assert!(codes.len() > instagram::PAGE_SIZE);
    for code in &codes {
        assert!(!body.contains(code.as_str()), "{code} in the plain HTML");
    }
    assert!(
        !body.contains("href=\"/p/") && !body.contains("<article") && !body.contains("<img"),
        "{body}"
    );
    for (_, v) in truth
        .records
        .iter()
        .filter(|(_, v)| v["brand"] == busiest.name_ko)
    {
        assert!(!body.contains(v["username"].as_str().unwrap()));
    }

    // Blocking: the suspicious-activity popup, then HTTP 429, fail the task
    // as `blocked`; the host backs off and tries again (2 attempts), then
    // reports it.
    let record = brand_records
        .iter()
        .find(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
            v["brand_code"] == busiest.code
        })
        .unwrap();
    for (mode, needle) in [
        (Mode::Suspicious, "suspicious-activity"),
        (Mode::RateLimited, "429"),
    ] {
        fixture.set_mode(mode);
        let before = c.tag_pages.load(Ordering::Relaxed) + c.rate_limited.load(Ordering::Relaxed);
        let summary = run_plugin(
            host.run_context(),
            instagram.clone(),
            trigger(record),
            &mut |_| {},
        )
        .await;
        assert_eq!(summary.tasks_done, 0, "{mode:?}: {summary:#?}");
        assert_eq!(summary.tasks_failed.len(), 1, "{mode:?}");
        let f = &summary.tasks_failed[0];
        assert_eq!(f.error_kind, "blocked", "{mode:?}: {f:?}");
        assert!(f.error.contains(needle), "{mode:?}: {}", f.error);
        assert_eq!(f.attempts, 2, "{mode:?}: retried once after the back-off");
        let after = c.tag_pages.load(Ordering::Relaxed) + c.rate_limited.load(Ordering::Relaxed);
        assert!(after >= before + 2, "{mode:?}: the site saw both attempts");
    }
    fixture.set_mode(Mode::Normal);
}

/// Wrong credentials: the site refuses the login and the task fails with
/// the site's message (not retried: the same password fails the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_clearly() {
    let site = Site::generate(SEED);
    let brands = BrandSeed::from_site(&site);
    let corpus = Corpus::generate(SEED, &brands);
    let fixture = Arc::new(Fixture::new(corpus, USERNAME, PASSWORD));
    let (ig_url, _ig) = instagram::spawn(fixture.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(
        dir.path(),
        "http://127.0.0.1:9",
        &ig_url,
        "wrong password",
    ))
    .unwrap();
    let plugin = Arc::new(host.engine.load(&wasm("instagram")).await.unwrap());
    let value = serde_json::json!({"brand": brands[0].name_ko, "brand_code": brands[0].code});
    let input = PlanInput::Trigger(BusRecord {
        topic: "oliveyoung".into(),
        partition: 0,
        offset: 0,
        key: Some(brands[0].name_ko.clone()),
        value: value.to_string(),
        timestamp_ms: 0,
    });
    let summary = run_plugin(host.run_context(), plugin, input, &mut |_| {}).await;
    assert_eq!(summary.tasks_failed.len(), 1, "{summary:#?}");
    let f = &summary.tasks_failed[0];
    assert_eq!(f.error_kind, "other", "{f:?}");
    assert!(
        f.error.contains("Instagram refused the login"),
        "{}",
        f.error
    );
    assert!(!f.error.contains("wrong password"), "{}", f.error);
    assert_eq!(fixture.counters.failed_logins.load(Ordering::Relaxed), 1);
}

fn url_path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
