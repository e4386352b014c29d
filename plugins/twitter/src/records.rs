//! The record the plugin emits per tweet (topic `twitter`, key = tweet id)
//! and the timestamp it carries. Pure functions.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{ApiTweet, ApiUser};
use crate::brand::Brand;

/// Topic of tweet records.
pub const TOPIC: &str = "twitter";

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
    pub text: String,
    /// As X sends it (`2024-08-20T03:00:00.000Z`).
    pub created_at: Option<String>,
    pub lang: Option<String>,
    pub author: Author,
    /// `public_metrics` as X sends it (retweets, replies, likes, quotes,
    /// and whatever counters X adds).
    pub metrics: Map<String, Value>,
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

/// The record of `tweet`, found by `query` for `brand`.
pub fn tweet_record(
    tweet: &ApiTweet,
    users: &HashMap<&str, &ApiUser>,
    brand: &Brand,
    query: &str,
) -> TweetRecord {
    let user = tweet
        .author_id
        .as_deref()
        .and_then(|id| users.get(id).copied());
    let username = user.and_then(|u| u.username.clone());
    let url = match &username {
        Some(u) => format!("https://x.com/{u}/status/{}", tweet.id),
        None => format!("https://x.com/i/status/{}", tweet.id),
    };
    TweetRecord {
        id: tweet.id.clone(),
        text: tweet.text.clone(),
        created_at: tweet.created_at.clone(),
        lang: tweet.lang.clone(),
        author: Author {
            id: tweet.author_id.clone(),
            username,
            name: user.and_then(|u| u.name.clone()),
        },
        metrics: tweet.public_metrics.clone().unwrap_or_default(),
        url,
        brand: brand.name_ko.clone(),
        brand_code: brand.code.clone(),
        brand_name_en: brand.name_en.clone(),
        matched_keywords: brand.matched_keywords(&tweet.text),
        query: query.to_string(),
    }
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

    #[test]
    fn builds_the_record_with_its_author() {
        let brand = Brand {
            code: "A1".into(),
            name_ko: "모마".into(),
            name_en: "Moma".into(),
            keywords: vec!["모마".into(), "Moma".into()],
        };
        let tweet: ApiTweet = serde_json::from_str(
            r#"{"id":"5","text":"Moma toner","author_id":"9","lang":"en",
                "created_at":"2024-08-20T03:00:00.000Z","public_metrics":{"like_count":2}}"#,
        )
        .unwrap();
        let user = ApiUser {
            id: "9".into(),
            username: Some("glow".into()),
            name: Some("Mina".into()),
        };
        let users = HashMap::from([("9", &user)]);
        let r = tweet_record(&tweet, &users, &brand, "q");
        assert_eq!(r.url, "https://x.com/glow/status/5");
        assert_eq!(r.author.name.as_deref(), Some("Mina"));
        assert_eq!(r.matched_keywords, ["Moma"]);
        assert_eq!(r.metrics["like_count"], 2);
        // An author missing from `includes` still gives a record.
        let r = tweet_record(&tweet, &HashMap::new(), &brand, "q");
        assert_eq!(r.url, "https://x.com/i/status/5");
        assert_eq!(r.author.id.as_deref(), Some("9"));
        assert_eq!(r.author.username, None);
    }
}
