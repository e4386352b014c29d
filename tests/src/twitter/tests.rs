//! The fixture API against its own ground truth: paging through every
//! brand's search finds exactly the tweets the truth lists, and the
//! protocol details (auth, limits, fields, tokens) behave like X.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::*;
use crate::oliveyoung::Site;

const TOKEN: &str = "fixture-token-123";

fn api(rate_limit: Option<RateLimit>) -> Api {
    Api::new(
        Corpus::from_site(&Site::generate(7)),
        ApiConfig {
            token: TOKEN.into(),
            rate_limit,
        },
    )
}

fn url(query: &str, extra: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    ser.append_pair("query", query);
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    format!("{SEARCH_PATH}?{}", ser.finish())
}

const FIELDS: &[(&str, &str)] = &[
    ("tweet.fields", "created_at,public_metrics,author_id,lang"),
    ("expansions", "author_id"),
    ("user.fields", "username,name"),
];

fn get(api: &Api, path: &str) -> (u16, Value) {
    let reply = api.handle(
        "GET",
        path,
        Some(&format!("Bearer {TOKEN}")),
        SystemTime::now(),
    );
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

/// Every tweet id a brand's search returns, paging with `max_results`.
fn page_through(
    api: &Api,
    brand: &BrandSeed,
    since: Option<&str>,
    max: &str,
) -> (Vec<String>, usize) {
    let query = brand_query(brand);
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut extra: Vec<(&str, &str)> = FIELDS.to_vec();
        extra.push(("max_results", max));
        if let Some(s) = since {
            extra.push(("since_id", s));
        }
        if let Some(t) = &token {
            extra.push(("next_token", t));
        }
        let (status, body) = get(api, &url(&query, &extra));
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for t in body["data"].as_array().into_iter().flatten() {
            ids.push(t["id"].as_str().unwrap().to_string());
        }
        match body["meta"]["next_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    (ids, pages)
}

#[test]
fn paging_finds_exactly_the_ground_truth() {
    let api = api(None);
    let brands = api.with_corpus(|c| c.brands().to_vec());
    let truth = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), 100));
    let mut total = 0;
    let mut paged = false;
    for brand in &brands {
        let (ids, pages) = page_through(&api, brand, None, "100");
        let mut expected: Vec<&String> = truth
            .records
            .iter()
            .filter(|(_, r)| r.value["brand_code"] == brand.code.as_str())
            .map(|(id, _)| id)
            .collect();
        expected.sort_by_key(|id| std::cmp::Reverse(id.parse::<u64>().unwrap()));
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            expected,
            "brand {}",
            brand.code
        );
        assert_eq!(
            pages, truth.pages_by_brand[&brand.code],
            "brand {}",
            brand.code
        );
        paged |= pages > 1;
        total += ids.len();
    }
    assert_eq!(total, truth.records.len());
    assert!(paged, "no brand needs a second page");
    assert!(truth.records.len() > 3000);
    // Brands without results exist too.
    assert!(truth.pages_by_brand.len() > truth.newest_by_brand.len());
}

#[test]
fn since_id_returns_only_newer_tweets() {
    let api = api(None);
    let brands = api.with_corpus(|c| c.brands().to_vec());
    let first = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), 10));
    let brand = brands
        .iter()
        .find(|b| first.newest_by_brand.contains_key(&b.code))
        .unwrap();
    let since = first.newest_by_brand[&brand.code].clone();
    assert_eq!(
        page_through(&api, brand, Some(&since), "10").0,
        Vec::<String>::new()
    );
    let added = api.add_newer_tweets(&[(&brand.code, 12)]);
    let (ids, pages) = page_through(&api, brand, Some(&since), "10");
    assert_eq!(pages, 2);
    assert_eq!(ids, added.iter().map(|i| i.to_string()).collect::<Vec<_>>());
    let since_map = BTreeMap::from([(brand.code.clone(), since)]);
    let second = api.with_corpus(|c| c.ground_truth(std::slice::from_ref(brand), &since_map, 10));
    assert_eq!(second.records.len(), 12);
    assert_eq!(second.pages_by_brand[&brand.code], 2);
}

#[test]
fn a_since_id_older_than_the_window_is_refused() {
    let api = api(None);
    let brands = api.with_corpus(|c| c.brands().to_vec());
    let truth = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), 100));
    let (code, newest) = truth.newest_by_brand.iter().next().unwrap();
    let brand = brands.iter().find(|b| &b.code == code).unwrap();
    let with_since = url(&brand_query(brand), &[("since_id", newest)]);
    assert_eq!(get(&api, &with_since).0, 200);
    api.advance_clock(8 * 86_400_000);
    let (status, body) = get(&api, &with_since);
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["parameters"].get("since_id").is_some(),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("must be a tweet id created after")
    );
    // Everything aged out of the window.
    let (status, body) = get(&api, &url(&brand_query(brand), &[]));
    assert_eq!(status, 200);
    assert_eq!(body["meta"]["result_count"], 0);
}

#[test]
fn fields_follow_the_request() {
    let api = api(None);
    let brands = api.with_corpus(|c| c.brands().to_vec());
    let truth = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), 100));
    let code = truth.newest_by_brand.keys().next().unwrap();
    let brand = brands.iter().find(|b| &b.code == code).unwrap();
    // Without fields: id, text and edit history only, no includes.
    let (status, body) = get(&api, &url(&brand_query(brand), &[]));
    assert_eq!(status, 200);
    let t = &body["data"][0];
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["edit_history_tweet_ids", "id", "text"]);
    assert!(body.get("includes").is_none());
    // With them: everything the plugin reads.
    let (_, body) = get(&api, &url(&brand_query(brand), FIELDS));
    let t = &body["data"][0];
    for k in ["created_at", "author_id", "lang", "public_metrics"] {
        assert!(t.get(k).is_some(), "{k} missing: {t}");
    }
    let users = body["includes"]["users"].as_array().unwrap();
    assert!(users.iter().any(|u| u["id"] == t["author_id"]));
    assert!(users[0]["username"].is_string() && users[0]["name"].is_string());
    assert_eq!(body["meta"]["newest_id"], t["id"]);
}

#[test]
fn refuses_bad_tokens_and_parameters() {
    let api = api(None);
    let path = url("\"x\"", &[]);
    for auth in [None, Some("Bearer wrong"), Some(TOKEN)] {
        let r = api.handle("GET", &path, auth, SystemTime::now());
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(r.body.contains("Unauthorized"));
    }
    for (extra, field) in [
        (vec![("max_results", "5")], "max_results"),
        (vec![("since_id", "abc")], "since_id"),
        (vec![("tweet.fields", "geo")], "tweet.fields"),
        (vec![("next_token", "nope")], "next_token"),
        (vec![("sort_order", "relevancy")], "sort_order"),
    ] {
        let (status, body) = get(&api, &url("\"x\"", &extra));
        assert_eq!(status, 400, "{extra:?}");
        assert!(
            body["errors"][0]["parameters"].get(field).is_some(),
            "{body}"
        );
    }
    let (status, _) = get(&api, &url("\"x\" -is:retweet", &[]));
    assert_eq!(status, 400);
    let (status, body) = get(&api, &url("\"no such brand anywhere\"", &[]));
    assert_eq!(status, 200);
    assert_eq!(body["meta"]["result_count"], 0);
    assert!(body.get("data").is_none());
    let r = api.handle(
        "GET",
        "/2/tweets",
        Some(&format!("Bearer {TOKEN}")),
        SystemTime::now(),
    );
    assert_eq!(r.status, 404);
    // Every request was logged with what it asked.
    let log = api.requests();
    assert_eq!(log.iter().filter(|r| r.status == 401).count(), 3);
    assert!(log.iter().any(|r| r.max_results.as_deref() == Some("5")));
}

#[test]
fn rate_limit_answers_429_until_the_window_resets() {
    let api = api(Some(RateLimit {
        requests: 3,
        window_secs: 10,
    }));
    let path = url("\"x\"", &[]);
    let auth = format!("Bearer {TOKEN}");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let statuses: Vec<u16> = (0..5)
        .map(|_| api.handle("GET", &path, Some(&auth), t0).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let r = api.handle("GET", &path, Some(&auth), t0);
    let header = |n: &str| r.headers.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(header("x-rate-limit-reset"), "1700000010");
    assert_eq!(header("x-rate-limit-remaining"), "0");
    assert_eq!(header("x-rate-limit-limit"), "3");
    // The next window answers again.
    let later = t0 + Duration::from_secs(10);
    assert_eq!(api.handle("GET", &path, Some(&auth), later).status, 200);
    // Unauthorised requests do not count.
    assert_eq!(api.handle("GET", &path, None, later).status, 401);
}

/// Answers escape text as X does, name deleted authors in `errors` beside
/// `data`, leave `lang` out where X has none and carry edit histories; the
/// truth holds the text as written, and every record's keywords match it.
#[test]
fn answers_look_like_x_and_the_truth_is_unescaped() {
    let api = api(None);
    let brands = api.with_corpus(|c| c.brands().to_vec());
    let truth = api.with_corpus(|c| c.ground_truth(&brands, &BTreeMap::new(), 100));
    let texts: BTreeMap<String, String> = api.with_corpus(|c| {
        c.tweets()
            .iter()
            .map(|t| (t.id.to_string(), t.text.clone()))
            .collect()
    });
    let (mut escaped, mut typed_entity, mut no_lang, mut edited, mut partial) = (0, 0, 0, 0, 0);
    let mut deleted_seen = std::collections::BTreeSet::new();
    for brand in &brands {
        let mut extra: Vec<(&str, &str)> = FIELDS.to_vec();
        extra.push(("max_results", "100"));
        let (status, body) = get(&api, &url(&brand_query(brand), &extra));
        assert_eq!(status, 200);
        let users: Vec<&str> = body["includes"]["users"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        let errors: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                assert_eq!(
                    e["type"],
                    "https://api.twitter.com/2/problems/resource-not-found"
                );
                assert_eq!(e["resource_type"], "user");
                e["resource_id"].as_str().unwrap()
            })
            .collect();
        partial += usize::from(!errors.is_empty());
        for t in body["data"].as_array().into_iter().flatten() {
            let id = t["id"].as_str().unwrap();
            let text = t["text"].as_str().unwrap();
            assert_eq!(text, x_escape(&texts[id]));
            assert!(!text.contains(['<', '>']), "{text}");
            escaped += usize::from(text != texts[id]);
            typed_entity += usize::from(text.contains("&amp;lt;"));
            no_lang += usize::from(t.get("lang").is_none());
            let history = t["edit_history_tweet_ids"].as_array().unwrap();
            assert_eq!(history.last().unwrap(), id);
            edited += usize::from(history.len() == 2);
            let author = t["author_id"].as_str().unwrap();
            // Every author is either expanded or reported, never both.
            assert_ne!(
                users.contains(&author),
                errors.contains(&author),
                "author {author}"
            );
            if errors.contains(&author) {
                deleted_seen.insert(author.to_string());
                let r = &truth.records[id].value;
                assert!(r["author"]["username"].is_null() && r["author"]["id"] == author);
                assert_eq!(r["url"], format!("https://x.com/i/status/{id}"));
            }
        }
    }
    assert!(escaped >= 100, "{escaped} escaped texts");
    assert!(typed_entity >= 5, "{typed_entity} texts with a typed &lt;");
    assert!(
        no_lang >= 20 && edited >= 20,
        "{no_lang} without lang, {edited} edited"
    );
    assert!(
        partial >= 5 && deleted_seen.len() >= 3,
        "{partial} partial answers"
    );
    assert!(truth.records.values().any(|r| r.value["lang"].is_null()));

    // Brands with `&`: their tweets match once the text is unescaped, and
    // would match nothing of that name on the escaped text.
    let amp_brands: Vec<&BrandSeed> = brands
        .iter()
        .filter(|b| b.name_en.contains('&') || b.name_ko.contains('&'))
        .collect();
    let mut amp_tweets = 0;
    let mut matched_escaped = 0;
    // Records whose keywords all miss the escaped text: what a plugin that
    // matched before unescaping would have written with no keyword.
    let mut none_on_escaped = 0;
    for r in truth.records.values() {
        let v = &r.value;
        let keywords: Vec<&str> = v["matched_keywords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(!keywords.is_empty(), "{v}");
        let text = v["text"].as_str().unwrap();
        assert!(!text.contains("&amp;"), "{text}");
        none_on_escaped += usize::from(keywords.iter().all(|k| !term_matches(&x_escape(text), k)));
        let Some(brand) = amp_brands
            .iter()
            .find(|b| v["brand_code"] == b.code.as_str())
        else {
            continue;
        };
        if !term_matches(text, &brand.name_en) {
            continue;
        }
        amp_tweets += 1;
        assert!(keywords.contains(&brand.name_en.as_str()), "{v}");
        matched_escaped += usize::from(term_matches(&x_escape(text), &brand.name_en));
    }
    assert!(amp_brands.len() >= 5, "{} brands with &", amp_brands.len());
    assert!(
        amp_tweets >= 30,
        "{amp_tweets} tweets naming a brand with &"
    );
    assert_eq!(matched_escaped, 0);
    assert!(none_on_escaped >= 30, "{none_on_escaped}");
    eprintln!(
        "X fixture: {} brands with `&`, {amp_tweets} tweets name one of them by its `&` name \
         ({matched_escaped} would match it on the escaped text, {none_on_escaped} records would \
         match no keyword at all); {escaped} texts escaped \
         ({typed_entity} with a typed `&lt;`), {no_lang} without lang, {edited} edited, \
         {partial} partial answers naming {} deleted authors",
        amp_brands.len(),
        deleted_seen.len()
    );
}
