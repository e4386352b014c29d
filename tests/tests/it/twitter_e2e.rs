//! The `twitter` plugin end to end: the brand records of a real Oliveyoung
//! fixture crawl trigger it through the trigger consumer on the embedded
//! bus, it searches the X API fixture with the bearer token the host injects,
//! and the tweets on topic `twitter` are exactly the fixture's ground truth.
//! A second round (a new Oliveyoung crawl after newer tweets were posted)
//! fetches only the newer tweets, by `since_id` from plugin state. Also: a
//! rate-limited API is waited out (429 + `x-rate-limit-reset`), and a wrong
//! token fails clearly on the CLI. The API escapes text as X does and
//! leaves deleted authors out of `includes`: the records hold the text as
//! written, brands with `&` in their name match, deleted authors and
//! missing `lang` are null, and no tweet is skipped.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crawlhost::bus::{Bus, ConsumedRecord, ProduceRecord};
use crawlhost::config::{Config, Settings};
use crawlhost::contract::PlanInput;
use crawlhost::coverage::RunCoverage;
use crawlhost::host::Host;
use crawlhost::http::secrets::{Secret, Secrets};
use crawlhost::run::run_plugin;
use crawlhost::trigger::{TriggerReport, Until, consume};
use crawlhost_tests::oliveyoung::{self, Site};
use crawlhost_tests::twitter::{
    self, Api, ApiConfig, BrandSeed, Corpus, GroundTruth, LoggedRequest, RateLimit, SEARCH_PATH,
    brand_query,
};

const SEED: u64 = 7;
const TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAfixture%2Btoken";
const MAX_RESULTS: usize = 20;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn wasm(name: &str) -> PathBuf {
    let path = target_dir().join(format!("wasm32-wasip2/release/{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build it with `make plugins` (make test does)",
        path.display()
    );
    path
}

/// Host config: both plugins, the fixtures' URLs, fast local politeness,
/// fetch retries on (429 must be waited out), no robots.txt for the API.
fn config_text(dir: &Path, oliveyoung_url: &str, x_url: &str, secrets: &str) -> String {
    format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [http]\nallow_private_addresses = true\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n\
         [http.retry]\nmax_attempts = 4\nbase_ms = 20\nmax_ms = 200\n[http.circuit]\nfailure_threshold = 0\n\
         [http.plugins.twitter]\nobey_robots = false\n\
         {secrets}\
         [run]\nconcurrency = 8\nretry_base_ms = 20\nretry_max_ms = 200\n\
         [plugins.oliveyoung]\nconfig = {{ base_url = \"{oliveyoung_url}\" }}\n\
         [plugins.twitter]\nconfig = {{ base_url = \"{x_url}\", max_results = \"{MAX_RESULTS}\", max_pages = \"20\" }}\n\
         allow_triggers = [\"oliveyoung\"]\n",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
    )
}

/// Settings with both plugins in `dir/plugins` and the token for the API
/// host injected the way `[[http.secrets]]` does (built directly, so the
/// test needs no environment variable).
fn settings(dir: &Path, oliveyoung_url: &str, x_url: &str, token: Option<&str>) -> Settings {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    for name in ["oliveyoung", "twitter"] {
        std::fs::copy(wasm(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
    }
    let mut settings = Config::parse(
        &config_text(dir, oliveyoung_url, x_url, ""),
        Path::new("twitter-e2e.toml"),
    )
    .unwrap()
    .validate()
    .unwrap();
    if let Some(token) = token {
        let host = x_url.trim_start_matches("http://");
        settings.http.secrets = Secrets(vec![
            // The fixture API is plain HTTP on loopback.
            Secret::new(&[host], "authorization", "Bearer ", token)
                .unwrap()
                .allow_http(true),
        ]);
    }
    settings
}

async fn x_api(rate_limit: Option<RateLimit>) -> (Arc<Api>, String) {
    let api = Arc::new(Api::new(
        Corpus::from_site(&Site::generate(SEED)),
        ApiConfig {
            token: TOKEN.into(),
            rate_limit,
        },
    ));
    let (url, _server) = twitter::spawn(api.clone()).await.unwrap();
    (api, url)
}

/// key -> (value, timestamp); a key seen twice fails the test.
fn by_key(records: &[ConsumedRecord]) -> BTreeMap<String, (serde_json::Value, i64)> {
    let mut map = BTreeMap::new();
    for r in records {
        let key = String::from_utf8(r.key.clone().expect("records are keyed")).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        assert!(
            map.insert(key.clone(), (value, r.timestamp_ms)).is_none(),
            "tweet {key} written twice"
        );
    }
    map
}

/// The records must be exactly the truth, field by field.
fn assert_matches_truth(
    got: &BTreeMap<String, (serde_json::Value, i64)>,
    truth: &GroundTruth,
    round: &str,
) {
    let got_keys: BTreeSet<&String> = got.keys().collect();
    let want_keys: BTreeSet<&String> = truth.records.keys().collect();
    assert_eq!(
        got_keys.len(),
        want_keys.len(),
        "{round}: missing {:?}, unexpected {:?}",
        want_keys.difference(&got_keys).take(5).collect::<Vec<_>>(),
        got_keys.difference(&want_keys).take(5).collect::<Vec<_>>()
    );
    for (id, expected) in &truth.records {
        let (value, ts) = got
            .get(id)
            .unwrap_or_else(|| panic!("{round}: tweet {id} missing"));
        assert_eq!(value, &expected.value, "{round}: tweet {id}");
        assert_eq!(*ts, expected.timestamp_ms, "{round}: timestamp of {id}");
    }
}

/// X sends text HTML-escaped: the records hold it as written (no `&amp;`
/// left; `<` and `>` back), a brand with `&` in its name is matched in
/// every tweet about it (none of the 125-odd such tweets of the fixture
/// would match on the escaped text), and tweets of deleted authors are kept
/// without the author's names.
fn assert_text_as_written(got: &BTreeMap<String, (serde_json::Value, i64)>, brands: &[BrandSeed]) {
    let text = |v: &serde_json::Value| v["text"].as_str().unwrap().to_string();
    for (id, (v, _)) in got {
        assert!(!text(v).contains("&amp;"), "tweet {id}: {}", text(v));
    }
    assert!(got.values().any(|(v, _)| text(v).contains(" & ")));
    assert!(got.values().any(|(v, _)| text(v).contains("<3")));
    assert!(got.values().any(|(v, _)| text(v).contains("&lt;3")));
    let amp: BTreeSet<&str> = brands
        .iter()
        .filter(|b| b.name_en.contains('&'))
        .map(|b| b.code.as_str())
        .collect();
    let mut by_amp_name = 0;
    let mut of_amp_brands = 0;
    for (id, (v, _)) in got {
        if !amp.contains(v["brand_code"].as_str().unwrap()) {
            continue;
        }
        of_amp_brands += 1;
        let keywords = v["matched_keywords"].as_array().unwrap();
        assert!(!keywords.is_empty(), "tweet {id}: {v}");
        let en = v["brand_name_en"].as_str().unwrap();
        if text(v).to_lowercase().contains(&en.to_lowercase()) {
            by_amp_name += 1;
            assert!(keywords.iter().any(|k| k == en), "tweet {id}: {v}");
        }
    }
    assert!(amp.len() >= 5, "{} brands with &", amp.len());
    assert!(
        by_amp_name >= 30,
        "{by_amp_name} tweets name a brand by its & name"
    );
    let deleted = got
        .values()
        .filter(|(v, _)| v["author"]["username"].is_null())
        .count();
    assert!(deleted > 0, "no tweet of a deleted author");
    println!(
        "twitter e2e: {of_amp_brands} tweets about {} brands with `&` all matched ({by_amp_name} \
         by the `&` name); {deleted} tweets of deleted authors kept",
        amp.len()
    );
}

/// Brand seeds from brand records as the oliveyoung plugin wrote them.
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

/// Search requests per brand code (the query names the brand).
fn requests_by_brand(
    requests: &[LoggedRequest],
    brands: &[BrandSeed],
) -> BTreeMap<String, Vec<LoggedRequest>> {
    let by_query: BTreeMap<String, &str> = brands
        .iter()
        .map(|b| (brand_query(b), b.code.as_str()))
        .collect();
    let mut out: BTreeMap<String, Vec<LoggedRequest>> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.path == SEARCH_PATH) {
        let q = r.query.as_deref().unwrap_or("");
        let code = by_query
            .get(q)
            .unwrap_or_else(|| panic!("a search for no triggered brand: {q}"));
        out.entry(code.to_string()).or_default().push(r.clone());
    }
    out
}

fn assert_clean(report: &TriggerReport, brands: usize) {
    assert_eq!(report.records, brands as u64);
    assert_eq!(report.dead_letters, 0);
    for s in &report.summaries {
        assert!(s.is_clean(), "{s:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brand_records_trigger_exact_searches_then_only_newer_tweets() {
    let started = Instant::now();
    let (oy_url, _oy) = oliveyoung::spawn(Site::generate(SEED)).await.unwrap();
    let (api, x_url) = x_api(None).await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(dir.path(), &oy_url, &x_url, Some(TOKEN))).unwrap();
    let scan = host.scan_plugins().await.unwrap();
    assert!(scan.refused.is_empty(), "{:?}", scan.refused);
    let oliveyoung = scan.plugins["oliveyoung"].clone();
    let twitter = scan.plugins["twitter"].clone();
    assert_eq!(twitter.manifest.triggers, ["oliveyoung"]);

    // Round 1: the Oliveyoung crawl publishes its brands; each triggers a
    // search.
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
    let t1 = Instant::now();
    let report = consume(host.run_context(), twitter.clone(), 8, Until::CaughtUp)
        .await
        .unwrap();
    let round1_secs = t1.elapsed().as_secs_f64();
    assert_clean(&report, brands.len());

    let truth1 = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), MAX_RESULTS));
    let tweets = common::read_topic(host.bus.as_ref(), "twitter").await;
    let got1 = by_key(&tweets);
    assert!(truth1.records.len() > 3000, "{}", truth1.records.len());
    assert_matches_truth(&got1, &truth1, "round 1");
    // Headers name the plugin, and the run of the triggered search.
    let h = |r: &ConsumedRecord, n: &str| {
        String::from_utf8(r.headers.iter().find(|(k, _)| k == n).unwrap().1.clone()).unwrap()
    };
    assert_eq!(h(&tweets[0], "crawlhost-plugin"), "twitter");
    assert!(h(&tweets[0], "crawlhost-task").starts_with("search:"));
    assert_text_as_written(&got1, &brands);
    // What the host measured: every tweet kept, `lang` null where X sent
    // none, the author object always there.
    let mut coverage = RunCoverage::default();
    for s in &report.summaries {
        coverage.merge(&s.coverage);
    }
    let topic = &coverage.topics["twitter"];
    assert_eq!(topic.records, got1.len() as u64);
    assert!(topic.skipped.is_empty(), "{:?}", topic.skipped);
    let no_lang = got1.values().filter(|(v, _)| v["lang"].is_null()).count() as u64;
    assert!(no_lang > 0);
    assert_eq!(topic.fields["lang"].filled, topic.records - no_lang);
    assert_eq!(topic.fields["author"].filled, topic.records);
    assert_eq!(topic.fields["metrics"].filled, topic.records);

    // What the API saw: the token on every request, the fields, no cursor
    // yet, and exactly the pages the truth needs per brand.
    let requests1 = api.take_requests();
    let seen1 = requests_by_brand(&requests1, &brands);
    assert!(requests1.iter().all(|r| r.authorized && r.status == 200));
    assert_eq!(requests1.len(), truth1.requests());
    for b in &brands {
        let rs = &seen1[&b.code];
        assert_eq!(
            rs.len(),
            truth1.pages_by_brand[&b.code],
            "pages of {}",
            b.code
        );
        for (i, r) in rs.iter().enumerate() {
            assert_eq!(r.since_id, None);
            assert_eq!(r.next_token.is_some(), i > 0, "{r:?}");
            assert_eq!(r.max_results.as_deref(), Some("20"));
            assert_eq!(
                r.tweet_fields.as_deref(),
                Some("created_at,public_metrics,author_id,lang")
            );
            assert_eq!(r.expansions.as_deref(), Some("author_id"));
            assert_eq!(r.user_fields.as_deref(), Some("username,name"));
        }
    }
    let multi_page = seen1.values().filter(|rs| rs.len() > 1).count();
    assert!(
        multi_page >= 10,
        "{multi_page} brands needed more than one page"
    );

    // Round 2: newer tweets appear, the next Oliveyoung crawl publishes the
    // brands again, and each search sends the brand's newest id as since_id.
    let with_tweets: Vec<&BrandSeed> = brands
        .iter()
        .filter(|b| truth1.newest_by_brand.contains_key(&b.code))
        .collect();
    let without: &BrandSeed = brands
        .iter()
        .find(|b| !truth1.newest_by_brand.contains_key(&b.code))
        .unwrap();
    // A brand whose shop page always fails: the oliveyoung plugin publishes
    // its record marked incomplete (issue 14; it used to drop it), and the
    // search reads its names all the same.
    let broken = Site::generate(SEED).faults().shop_always_500[0].clone();
    let broken_record = brand_records.iter().find(|r| {
        serde_json::from_slice::<serde_json::Value>(&r.value).unwrap()["brand_code"]
            == broken.as_str()
    });
    if let Some(r) = broken_record {
        let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        assert_eq!(v["complete"], false, "{v}");
    }
    let added = api.add_newer_tweets(&[
        (&with_tweets[0].code, 25),
        (&with_tweets[1].code, 3),
        (&with_tweets[2].code, 1),
        (&without.code, 2),
        (&broken, 4),
    ]);
    assert_eq!(added.len(), 35);
    let crawl = run_plugin(
        host.run_context(),
        oliveyoung,
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert_eq!(crawl.fatal, None);
    let t2 = Instant::now();
    let report = consume(host.run_context(), twitter, 8, Until::CaughtUp)
        .await
        .unwrap();
    let round2_secs = t2.elapsed().as_secs_f64();
    assert_clean(&report, brands.len());

    let truth2 = api.with_corpus(|c| c.ground_truth(&brands, &truth1.newest_by_brand, MAX_RESULTS));
    assert_eq!(
        truth2.records.len(),
        31 + if broken_record.is_some() { 4 } else { 0 },
        "the broken brand's tweets are searched if and only if its record was published"
    );
    let tweets = common::read_topic(host.bus.as_ref(), "twitter").await;
    let got2 = by_key(&tweets[got1.len()..]);
    assert_matches_truth(&got2, &truth2, "round 2");
    assert_eq!(tweets.len(), truth1.records.len() + truth2.records.len());

    let requests2 = api.take_requests();
    let seen2 = requests_by_brand(&requests2, &brands);
    assert_eq!(
        requests2.len(),
        brands.len() + 1,
        "one search per brand, two pages for the brand with 25 new tweets"
    );
    assert_eq!(requests2.len(), truth2.requests());
    for b in &brands {
        let rs = &seen2[&b.code];
        assert_eq!(
            rs.len(),
            truth2.pages_by_brand[&b.code],
            "pages of {}",
            b.code
        );
        for r in rs {
            assert_eq!(
                r.since_id.as_ref(),
                truth1.newest_by_brand.get(&b.code),
                "since_id of {}",
                b.code
            );
        }
    }
    println!(
        "twitter e2e: {} brands; round 1: {} tweets, {} requests ({multi_page} brands paged) in {round1_secs:.1}s; \
         round 2: {} new tweets, {} requests in {round2_secs:.1}s; total {:.1}s",
        brands.len(),
        got1.len(),
        requests1.len(),
        got2.len(),
        requests2.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The first `n` brands that have tweets (and whose Oliveyoung task
/// succeeds, so a real crawl would publish them).
fn brands_with_tweets(api: &Api, n: usize) -> Vec<BrandSeed> {
    let site = Site::generate(SEED);
    let all = api.with_corpus(|c| c.brands().to_vec());
    let tweeted = api.with_corpus(|c| c.ground_truth(&all, &BTreeMap::new(), 100));
    all.into_iter()
        .filter(|b| !site.faults().is_broken(&b.code))
        .filter(|b| tweeted.newest_by_brand.contains_key(&b.code))
        .take(n)
        .collect()
}

/// Publish the brand records the oliveyoung plugin writes for `brands`
/// (values from the Oliveyoung ground truth, which `oliveyoung_e2e` checks
/// the plugin against).
async fn publish(bus: &dyn Bus, brands: &[BrandSeed]) {
    let truth = Site::generate(SEED).ground_truth("http://fixture.test", 1_724_097_600_000);
    let records = brands
        .iter()
        .map(|b| ProduceRecord {
            topic: "oliveyoung".into(),
            key: Some(b.code.clone().into_bytes()),
            value: truth.brands[&b.code].to_string().into_bytes(),
            headers: Vec::new(),
            timestamp_ms: 1_724_097_600_000,
        })
        .collect();
    bus.produce(records).await.unwrap();
}

/// [`brands_with_tweets`], published.
async fn publish_brands(bus: &dyn Bus, api: &Api, n: usize) -> Vec<BrandSeed> {
    let brands = brands_with_tweets(api, n);
    publish(bus, &brands).await;
    brands
}

/// A brand nobody tweeted about for more than a week: X refuses its stored
/// since_id as too old; the plugin searches the whole window instead (one
/// 400, then one request without since_id) and gets exactly the new tweets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_older_than_the_window_falls_back_to_the_whole_window() {
    let (api, x_url) = x_api(None).await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(
        dir.path(),
        "http://127.0.0.1:9",
        &x_url,
        Some(TOKEN),
    ))
    .unwrap();
    let scan = host.scan_plugins().await.unwrap();
    let twitter = scan.plugins["twitter"].clone();
    let brands = publish_brands(host.bus.as_ref(), &api, 3).await;
    let report = consume(host.run_context(), twitter.clone(), 3, Until::CaughtUp)
        .await
        .unwrap();
    assert_clean(&report, brands.len());
    let truth1 = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), MAX_RESULTS));
    let first = common::read_topic(host.bus.as_ref(), "twitter").await.len();
    assert_eq!(first, truth1.records.len());
    api.take_requests();

    api.advance_clock(8 * 86_400_000);
    let added = api.add_newer_tweets(&[(&brands[0].code, 2)]);
    publish(host.bus.as_ref(), &brands).await;
    let report = consume(host.run_context(), twitter, 3, Until::CaughtUp)
        .await
        .unwrap();
    assert_clean(&report, brands.len());

    let truth2 = api.with_corpus(|c| c.ground_truth(&brands, &truth1.newest_by_brand, MAX_RESULTS));
    let got: BTreeSet<String> = truth2.records.keys().cloned().collect();
    assert_eq!(got, added.iter().map(|i| i.to_string()).collect());
    let tweets = common::read_topic(host.bus.as_ref(), "twitter").await;
    assert_matches_truth(&by_key(&tweets[first..]), &truth2, "after a week");
    for (code, rs) in requests_by_brand(&api.take_requests(), &brands) {
        let seen: Vec<(u16, Option<String>)> =
            rs.iter().map(|r| (r.status, r.since_id.clone())).collect();
        assert_eq!(
            seen,
            [
                (400, truth1.newest_by_brand.get(&code).cloned()),
                (200, None)
            ],
            "brand {code}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_out() {
    let started = Instant::now();
    let (api, x_url) = x_api(Some(RateLimit {
        requests: 4,
        window_secs: 1,
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(
        dir.path(),
        "http://127.0.0.1:9",
        &x_url,
        Some(TOKEN),
    ))
    .unwrap();
    let scan = host.scan_plugins().await.unwrap();
    let twitter = scan.plugins["twitter"].clone();
    let brands = publish_brands(host.bus.as_ref(), &api, 10).await;
    let report = consume(host.run_context(), twitter, 4, Until::CaughtUp)
        .await
        .unwrap();
    assert_clean(&report, brands.len());

    let truth = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), MAX_RESULTS));
    let got = by_key(&common::read_topic(host.bus.as_ref(), "twitter").await);
    assert_matches_truth(&got, &truth, "rate limited");
    let requests = api.requests();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    let ok = requests.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, truth.requests());
    assert!(
        limited > 0,
        "the limit of 4 per second was never hit ({ok} requests)"
    );
    assert_eq!(requests.len(), ok + limited);
    let fetch_retries: u64 = report.summaries.iter().map(|s| s.fetch.retries).sum();
    assert_eq!(
        fetch_retries, limited as u64,
        "every 429 was retried by the host"
    );
    // Four requests a second: the run took at least that long.
    let secs = started.elapsed().as_secs_f64();
    assert!(
        secs >= (ok as f64 / 4.0).floor() - 1.0,
        "{secs}s for {ok} requests"
    );
    println!(
        "rate limited: {ok} requests answered, {limited} answered 429 and retried, {secs:.1}s"
    );
}

/// A wrong token on the real CLI path (`[[http.secrets]]` from the
/// environment, `crawlhost triggers --once`): every search fails once with
/// a message that names the fix, nothing is published, no cursor moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_fails_clearly() {
    let (api, x_url) = x_api(None).await;
    let dir = tempfile::tempdir().unwrap();
    let brands = {
        let host = Host::open(settings(dir.path(), "http://127.0.0.1:9", &x_url, None)).unwrap();
        publish_brands(host.bus.as_ref(), &api, 3).await
    };
    let host_port = x_url.trim_start_matches("http://");
    let secrets = format!(
        "[[http.secrets]]\nhosts = [\"{host_port}\"]\nheader = \"authorization\"\nvalue_env = \"TWITTER_E2E_TOKEN\"\nprefix = \"Bearer \"\nallow_http = true\n"
    );
    let config = dir.path().join("crawlhost.toml");
    std::fs::write(
        &config,
        config_text(dir.path(), "http://127.0.0.1:9", &x_url, &secrets),
    )
    .unwrap();
    let bin = target_dir().join("debug/crawlhost");
    assert!(
        bin.exists(),
        "{} missing: cargo build -p crawlhost",
        bin.display()
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .arg("--config")
            .arg(config)
            .args(["triggers", "--once", "--plugin", "twitter"])
            .env("TWITTER_E2E_TOKEN", "not-the-token")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("refused the bearer token (HTTP 401"),
        "{stdout}"
    );
    assert!(stdout.contains("[[http.secrets]]"), "{stdout}");
    assert!(
        !stdout.contains("not-the-token"),
        "the token leaked: {stdout}"
    );
    // One request per brand, none retried (401 is not transient), all refused.
    let requests = api.requests();
    assert_eq!(requests.len(), brands.len());
    assert!(requests.iter().all(|r| !r.authorized && r.status == 401));
    let host = Host::open(settings(dir.path(), "http://127.0.0.1:9", &x_url, None)).unwrap();
    assert!(
        common::read_topic(host.bus.as_ref(), "twitter")
            .await
            .is_empty()
    );
}

/// The twitter plugin ported to JavaScript (`plugins/twitter-js`, jco and
/// the JavaScript SDK) against the Rust plugin: the same brand records
/// published to each one's own bus, consumed by each plugin in turn against
/// the same X API fixture, must give the same tweets (value and timestamp),
/// the same dead letters, the same `since_id` state, and the same requests;
/// then a second round, which sends the stored `since_id`s, the same again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_port_writes_what_the_rust_plugin_writes() {
    let (api, x_url) = x_api(None).await;
    let brands = brands_with_tweets(&api, 40);
    // One search request: (query, since_id, next_token).
    type Search = (Option<String>, Option<String>, Option<String>);
    // What each plugin landed: tweets, dead letters, state, requests (by
    // round).
    struct Landed {
        tweets: BTreeMap<String, (serde_json::Value, i64)>,
        dead: usize,
        state: BTreeMap<String, Vec<u8>>,
        requests: Vec<Vec<Search>>,
        failed_plans: Vec<usize>,
    }
    let mut landed = Vec::new();
    for (name, file) in [("twitter", "twitter"), ("twitter-js", "twitter-js")] {
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(dir.path(), "http://127.0.0.1:9", &x_url, "")
            .replace("[http.plugins.twitter]", &format!("[http.plugins.{name}]"))
            .replace("[plugins.twitter]", &format!("[plugins.{name}]"));
        let mut settings = Config::parse(&text, Path::new("twitter-js.toml"))
            .unwrap()
            .validate()
            .unwrap();
        settings.http.secrets = Secrets(vec![
            Secret::new(
                &[x_url.trim_start_matches("http://")],
                "authorization",
                "Bearer ",
                TOKEN,
            )
            .unwrap()
            .allow_http(true),
        ]);
        let host = Host::open(settings).unwrap();
        let plugin = Arc::new(host.run_context().engine.load(&wasm(file)).await.unwrap());
        assert_eq!(plugin.manifest.name, name);
        let mut requests = Vec::new();
        let mut failed_plans = Vec::new();
        for round in 0..2 {
            publish(host.bus.as_ref(), &brands).await;
            if round == 0 {
                // A record no brand can be read from: a dead letter.
                host.bus
                    .produce(vec![ProduceRecord {
                        topic: "oliveyoung".into(),
                        key: Some(b"broken".to_vec()),
                        value: b"{\"not\": \"a brand\"}".to_vec(),
                        headers: Vec::new(),
                        timestamp_ms: 1_724_097_600_000,
                    }])
                    .await
                    .unwrap();
            }
            let report = consume(host.run_context(), plugin.clone(), 4, Until::CaughtUp)
                .await
                .unwrap();
            // Only the broken record fails (each of its tries), and only
            // as a parse error.
            let fatal: Vec<_> = report
                .summaries
                .iter()
                .filter_map(|s| s.fatal.clone())
                .collect();
            assert!(
                fatal.iter().all(|f| f.contains("Parse")),
                "{name}: {fatal:?}"
            );
            failed_plans.push(fatal.len());
            let mut seen: Vec<_> = api
                .take_requests()
                .into_iter()
                .map(|r| (r.query, r.since_id, r.next_token))
                .collect();
            seen.sort();
            requests.push(seen);
        }
        let tweets = by_key(&common::read_topic(host.bus.as_ref(), "twitter").await);
        let topics = host.bus.topics().await.unwrap();
        let dead = match topics.iter().find(|(t, _)| t == "crawlhost.dead-letter") {
            Some((t, _)) => common::read_topic(host.bus.as_ref(), t).await.len(),
            None => 0,
        };
        drop(host);
        let store =
            crawlhost::state::StateStore::open(&dir.path().join("data/state.db"), 1 << 20).unwrap();
        let state = store
            .keys(name, "")
            .unwrap()
            .into_iter()
            .map(|k| {
                let v = store.get(name, &k).unwrap().unwrap();
                (k, v)
            })
            .collect();
        landed.push(Landed {
            tweets,
            dead,
            state,
            requests,
            failed_plans,
        });
    }
    let (rust, js) = (&landed[0], &landed[1]);
    assert!(rust.tweets.len() > 100, "{} tweets", rust.tweets.len());
    assert_eq!(js.tweets.len(), rust.tweets.len());
    for (key, value) in &rust.tweets {
        assert_eq!(js.tweets.get(key), Some(value), "tweet {key}");
    }
    assert_eq!((rust.dead, js.dead), (1, 1), "dead letters");
    assert_eq!(js.failed_plans, rust.failed_plans, "plans failed, by round");
    assert_eq!(rust.failed_plans[1], 0);
    assert!(rust.state.len() >= 30, "{} state entries", rust.state.len());
    assert_eq!(js.state, rust.state, "since_id state");
    assert_eq!(js.requests, rust.requests, "requests to the API, by round");
    // The second round sent a cursor for every brand.
    assert!(rust.requests[1].iter().all(|(_, since, _)| since.is_some()));
}
