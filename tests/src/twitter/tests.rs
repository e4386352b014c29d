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
