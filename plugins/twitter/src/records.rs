//! The record the plugin emits per tweet (topic `twitter`, key = tweet id),
//! read from one page tweet by tweet, and the timestamp it carries. Pure
//! functions.
//!
//! A tweet's identity is its `id` and `text`: a tweet without either is
//! skipped and counted, never its page. Everything else (`created_at`,
//! `lang`, the author, `public_metrics`) is nullable and counted as a miss
//! when X leaves it out, as it does for authors who no longer exist.

use std::collections::HashMap;

use crawlhost_sdk::extract::{Item, Missing, Tally};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{self, ApiUser, SearchPage};
use crate::brand::Brand;

/// Topic of tweet records.
pub const TOPIC: &str = "twitter";

/// The counters of `public_metrics` a complete one has, with the name a
/// missing one is counted under (X may add more; those are kept as sent).
pub const METRICS: [(&str, &str); 4] = [
    ("retweet_count", "metrics.retweet_count"),
    ("reply_count", "metrics.reply_count"),
    ("like_count", "metrics.like_count"),
    ("quote_count", "metrics.quote_count"),
];

/// The author of a tweet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Author {
    pub id: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// One tweet record. `brand*` name the brand whose search found it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TweetRecord {
    pub id: String,
    /// The text with X's HTML escapes undone (see [`unescape_text`]).
    pub text: String,
    /// As X sends it (`2024-08-20T03:00:00.000Z`).
    pub created_at: Option<String>,
    pub lang: Option<String>,
    pub author: Author,
    /// `public_metrics` as X sends it (retweets, replies, likes, quotes,
    /// and whatever counters X adds); null when X sent none.
    pub metrics: Option<Map<String, Value>>,
    /// `https://x.com/<username>/status/<id>` (`/i/status/<id>` without
    /// the author).
    pub url: String,
    /// Korean brand name.
    pub brand: String,
    /// Oliveyoung brand code (or the brand's identity, see [`Brand::code`]).
    pub brand_code: String,
    /// English brand name.
    pub brand_name_en: String,
    /// The brand keywords the text contains.
    pub matched_keywords: Vec<String>,
    /// The search query that found the tweet.
    pub query: String,
}

/// A record with the timestamp it goes on the bus with.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub record: TweetRecord,
    /// `created_at` in ms; none when missing or unparsable.
    pub timestamp_ms: Option<i64>,
}

/// Undo X's escaping of tweet text: exactly `&amp;`, `&lt;` and `&gt;`,
/// in one left-to-right pass, so `&amp;lt;` (a user who typed `&lt;`)
/// becomes `&lt;` and every other entity (`&quot;`, `&#39;`) stays as sent.
pub fn unescape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (ch, len) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(ch);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Read one tweet of a page into its record: `id` and `text` are its
/// identity; every other field is optional and counted as a miss on `item`.
pub fn tweet_record(
    tweet: &Value,
    users: &HashMap<&str, &ApiUser>,
    brand: &Brand,
    query: &str,
    item: &mut Item,
) -> Result<Read, Missing> {
    let id = item.identity("id", api::id_text(tweet.get("id")))?;
    let text = item.identity(
        "text",
        api::text(tweet.get("text")).map(|t| unescape_text(&t)),
    )?;
    let created_at = item.optional("created_at", api::text(tweet.get("created_at")));
    let timestamp_ms = created_at.as_deref().and_then(parse_created_at);
    if created_at.is_some() && timestamp_ms.is_none() {
        // Kept as sent, but the record has no time of its own.
        item.miss("created_at");
    }
    let lang = item.optional("lang", api::text(tweet.get("lang")));
    let author_id = item.optional("author.id", api::id_text(tweet.get("author_id")));
    let user = author_id.as_deref().and_then(|id| users.get(id).copied());
    let username = item.optional("author.username", user.and_then(|u| u.username.clone()));
    let name = item.optional("author.name", user.and_then(|u| u.name.clone()));
    let metrics = tweet
        .get("public_metrics")
        .and_then(Value::as_object)
        .cloned();
    match &metrics {
        None => item.miss("metrics"),
        // A partial one is kept as sent; each missing counter is a miss.
        Some(m) => {
            for (counter, field) in METRICS {
                if m.get(counter).is_none_or(Value::is_null) {
                    item.miss(field);
                }
            }
        }
    }
    let url = match &username {
        Some(u) => format!("https://x.com/{u}/status/{id}"),
        None => format!("https://x.com/i/status/{id}"),
    };
    let matched_keywords = brand.matched_keywords(&text);
    Ok(Read {
        record: TweetRecord {
            id,
            text,
            created_at,
            lang,
            author: Author {
                id: author_id,
                username,
                name,
            },
            metrics,
            url,
            brand: brand.name_ko.clone(),
            brand_code: brand.code.clone(),
            brand_name_en: brand.name_en.clone(),
            matched_keywords,
            query: query.to_string(),
        },
        timestamp_ms,
    })
}

/// Every readable tweet of a page, in page order, and the tally of what
/// could not be read (`page_url` names where a skipped tweet was).
pub fn read_page(
    page: &SearchPage,
    brand: &Brand,
    query: &str,
    page_url: &str,
) -> (Vec<Read>, Tally) {
    let users = page.users();
    let mut tally = Tally::new(TOPIC);
    let reads = page
        .data
        .iter()
        .enumerate()
        .filter_map(|(i, tweet)| {
            tally.item(
                || format!("tweet #{} of {page_url}", i + 1),
                |item| tweet_record(tweet, &users, brand, query, item),
            )
        })
        .collect();
    (reads, tally)
}

/// Milliseconds since the epoch of an RFC 3339 UTC time as X writes it
/// (`2024-08-20T03:00:00.000Z`, fraction optional); none when it does not
/// parse. Plugins have no date library; this is all they need.
pub fn parse_created_at(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    if zone != "Z" {
        return None;
    }
    let ms = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'));
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_x_timestamps() {
        assert_eq!(
            parse_created_at("2024-08-20T03:00:00.000Z"),
            Some(1_724_122_800_000)
        );
        assert_eq!(
            parse_created_at("2024-08-20T03:00:01.5Z"),
            Some(1_724_122_801_500)
        );
        assert_eq!(
            parse_created_at("2024-08-20T03:00:01Z"),
            Some(1_724_122_801_000)
        );
        assert_eq!(
            parse_created_at("2000-02-29T00:00:00.000Z"),
            Some(951_782_400_000)
        );
        assert_eq!(parse_created_at("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_created_at("2024-08-20T03:00:00+09:00"), None);
        assert_eq!(parse_created_at("2024-13-20T03:00:00.000Z"), None);
        assert_eq!(parse_created_at("yesterday"), None);
        assert_eq!(parse_created_at("2024-08-20T03:0a:00.000Z"), None);
    }

    fn brand() -> Brand {
        Brand {
            code: "A1".into(),
            name_ko: "모마".into(),
            name_en: "Moma".into(),
            keywords: vec!["모마".into(), "Moma".into()],
        }
    }

    fn page(body: &str) -> SearchPage {
        SearchPage::parse(body.as_bytes(), "u").unwrap()
    }

    #[test]
    fn builds_the_record_with_its_author() {
        let p = page(
            r#"{"data":[{"id":"5","text":"Moma toner","author_id":"9","lang":"en",
                "created_at":"2024-08-20T03:00:00.000Z","edit_history_tweet_ids":["5"],
                "public_metrics":{"retweet_count":0,"reply_count":1,"like_count":2,"quote_count":0}}],
                "includes":{"users":[{"id":"9","username":"glow","name":"Mina"}]},
                "meta":{"result_count":1,"newest_id":"5"}}"#,
        );
        let (reads, tally) = read_page(&p, &brand(), "q", "u");
        let r = &reads[0].record;
        assert_eq!(reads[0].timestamp_ms, Some(1_724_122_800_000));
        assert_eq!(r.url, "https://x.com/glow/status/5");
        assert_eq!(r.author.name.as_deref(), Some("Mina"));
        assert_eq!(r.matched_keywords, ["Moma"]);
        assert_eq!(r.metrics.as_ref().unwrap()["like_count"], 2);
        assert_eq!((tally.kept(), tally.skipped()), (1, 0));
        assert!(tally.misses().is_empty(), "{:?}", tally.misses());
    }

    #[test]
    fn a_tweet_without_public_metrics_is_still_a_tweet() {
        let p = page(
            r#"{"data":[
                {"id":"1","text":"Moma one"},
                {"id":"2","text":"Moma two","public_metrics":{"like_count":4}},
                {"id":"3","text":"Moma three","public_metrics":"n/a","lang":7,"created_at":"yesterday"}],
               "meta":{}}"#,
        );
        let (reads, tally) = read_page(&p, &brand(), "q", "u");
        assert_eq!(reads.len(), 3);
        let r = &reads[0].record;
        assert_eq!(
            (r.metrics.as_ref(), r.created_at.as_ref(), r.lang.as_ref()),
            (None, None, None)
        );
        assert_eq!(reads[0].timestamp_ms, None);
        assert_eq!(
            r.author,
            Author {
                id: None,
                username: None,
                name: None
            }
        );
        assert_eq!(r.url, "https://x.com/i/status/1");
        // A partial one is kept as sent, its missing counters counted.
        let m = reads[1].record.metrics.as_ref().unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["like_count"], 4);
        // Unreadable optional fields are null; an unparsable time is kept.
        let r = &reads[2].record;
        assert_eq!((r.metrics.as_ref(), r.lang.as_ref()), (None, None));
        assert_eq!(r.created_at.as_deref(), Some("yesterday"));
        assert_eq!(reads[2].timestamp_ms, None);
        assert_eq!(tally.kept(), 3);
        assert_eq!(tally.skipped(), 0);
        assert_eq!(tally.misses_of("metrics"), 2);
        assert_eq!(tally.misses_of("metrics.retweet_count"), 1);
        assert_eq!(tally.misses_of("metrics.like_count"), 0);
        assert_eq!(tally.misses_of("created_at"), 3);
        assert_eq!(tally.misses_of("lang"), 3);
        assert_eq!(tally.misses_of("author.id"), 3);
        // The record's JSON names every field, null where X sent nothing.
        let v = serde_json::to_value(&reads[0].record).unwrap();
        assert!(v["metrics"].is_null() && v["lang"].is_null() && v["author"]["id"].is_null());
    }

    #[test]
    fn a_tweet_without_id_is_skipped_and_counted_while_its_siblings_land() {
        let p = page(
            r#"{"data":[
                {"id":"1","text":"Moma one"},
                {"text":"Moma without an id"},
                {"id":"","text":"Moma with an empty id"},
                {"id":"4"},
                "not a tweet",
                {"id":6,"text":"Moma with a numeric id"}],
               "meta":{"newest_id":"6"}}"#,
        );
        let (reads, tally) = read_page(
            &p,
            &brand(),
            "q",
            "https://api.x.com/2/tweets/search/recent?query=q",
        );
        let ids: Vec<&str> = reads.iter().map(|r| r.record.id.as_str()).collect();
        assert_eq!(ids, ["1", "6"]);
        assert_eq!(tally.kept(), 2);
        assert_eq!(tally.skipped_by("id"), 3);
        assert_eq!(tally.skipped_by("text"), 1);
        assert_eq!(
            tally.skips()["id"].first_at,
            "tweet #2 of https://api.x.com/2/tweets/search/recent?query=q"
        );
        let lines = tally.log_lines();
        assert!(
            lines
                .iter()
                .any(|(_, l)| l.contains("without `id`")
                    && l.contains("tweet #2 of https://api.x.com")),
            "{lines:?}"
        );
    }

    #[test]
    fn deleted_authors_and_errors_beside_data_are_a_partial_answer() {
        let p = page(
            r#"{"data":[
                {"id":"1","text":"Moma one","author_id":"9","lang":"en"},
                {"id":"2","text":"Moma two","author_id":"404"}],
               "includes":{"users":[{"id":"9","username":"glow","name":"Mina"},{"username":"no id"}]},
               "errors":[{"value":"404","detail":"Could not find user with id: [404].","title":"Not Found Error",
                 "resource_type":"user","parameter":"author_id","resource_id":"404",
                 "type":"https://api.twitter.com/2/problems/resource-not-found"}],
               "meta":{"result_count":2,"newest_id":"2","oldest_id":"1"}}"#,
        );
        assert_eq!(
            p.errors_summary().as_deref(),
            Some("1 (resource-not-found user 404)")
        );
        let (reads, tally) = read_page(&p, &brand(), "q", "u");
        assert_eq!(reads.len(), 2);
        let r = &reads[1].record;
        assert_eq!(r.author.id.as_deref(), Some("404"));
        assert_eq!(
            (r.author.username.as_ref(), r.author.name.as_ref()),
            (None, None)
        );
        assert_eq!(r.url, "https://x.com/i/status/2");
        assert_eq!(r.lang, None);
        assert_eq!(tally.misses_of("author.username"), 1);
        assert_eq!(tally.misses_of("lang"), 1);
    }

    #[test]
    fn unescapes_exactly_three_entities_in_one_pass() {
        assert_eq!(
            unescape_text("rom&amp;nd &lt;3 -&gt; ok"),
            "rom&nd <3 -> ok"
        );
        // A user who typed `&lt;` is sent `&amp;lt;`: one pass gives it back.
        assert_eq!(unescape_text("&amp;lt; &amp;amp;"), "&lt; &amp;");
        // Nothing else is touched.
        assert_eq!(
            unescape_text("&quot;hi&quot; &#39; &nbsp; &AMP; &amp & ;"),
            "&quot;hi&quot; &#39; &nbsp; &AMP; &amp & ;"
        );
        assert_eq!(unescape_text("&&amp;&"), "&&&");
        assert_eq!(
            unescape_text("올리브영 &amp; 롬앤 ✨"),
            "올리브영 & 롬앤 ✨"
        );
        assert_eq!(unescape_text(""), "");
    }

    #[test]
    fn brands_with_ampersands_match_the_unescaped_text() {
        let b = Brand {
            code: "A2".into(),
            name_ko: "롬앤".into(),
            name_en: "rom&nd".into(),
            keywords: vec!["롬앤".into(), "rom&nd".into(), "Raun & Co.".into()],
        };
        let p = page(
            r#"{"data":[{"id":"1","text":"rom&amp;nd tint &gt; everything, Raun &amp; Co. too &lt;3"}]}"#,
        );
        let (reads, _) = read_page(&p, &b, "q", "u");
        let r = &reads[0].record;
        assert_eq!(r.text, "rom&nd tint > everything, Raun & Co. too <3");
        assert_eq!(r.matched_keywords, ["rom&nd", "Raun & Co."]);
    }
}
