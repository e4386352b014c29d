//! The X API v2 recent search as the plugin uses it: checked settings, the
//! request of one page, the response shape, and what each status means.
//! Pure (the request is built, not sent).

use std::collections::HashMap;

use crawlhost_sdk::http::Request;
use crawlhost_sdk::{CrawlError, Run};
use serde::Deserialize;

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://api.x.com";
/// Tweets per page (X allows 10..=100).
pub const DEFAULT_MAX_RESULTS: u64 = 100;
/// Pages read per brand and run.
pub const DEFAULT_MAX_PAGES: u64 = 10;
/// Recent search.
pub const SEARCH_PATH: &str = "/2/tweets/search/recent";
/// The tweet fields the record needs.
pub const TWEET_FIELDS: &str = "created_at,public_metrics,author_id,lang";
/// Authors come with the page.
pub const EXPANSIONS: &str = "author_id";
/// The user fields the record needs.
pub const USER_FIELDS: &str = "username,name";

/// The plugin's configuration, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// API root without a trailing `/`.
    pub base_url: String,
    pub max_results: u64,
    pub max_pages: u64,
}

impl Settings {
    /// Read and check the run's configuration.
    pub fn from_run(run: &Run) -> Result<Settings, CrawlError> {
        let base_url = run
            .config("base_url")
            .unwrap_or(DEFAULT_BASE_URL)
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(CrawlError::Other(format!(
                "config key `base_url` must be an http(s) URL, got `{base_url}`"
            )));
        }
        let max_results = run.config_u64("max_results", DEFAULT_MAX_RESULTS)?;
        if !(10..=100).contains(&max_results) {
            return Err(CrawlError::Other(format!(
                "config key `max_results` must be between 10 and 100 (X's limits), got {max_results}"
            )));
        }
        let max_pages = run.config_u64("max_pages", DEFAULT_MAX_PAGES)?;
        if max_pages == 0 {
            return Err(CrawlError::Other(
                "config key `max_pages` must be at least 1".into(),
            ));
        }
        Ok(Settings {
            base_url,
            max_results,
            max_pages,
        })
    }

    /// One page of recent search for `query`.
    pub fn search(
        &self,
        query: &str,
        since_id: Option<&str>,
        next_token: Option<&str>,
    ) -> Result<Request, CrawlError> {
        let mut req = crawlhost_sdk::http::get(&format!("{}{SEARCH_PATH}", self.base_url))?
            .query("query", query)
            .query("max_results", self.max_results.to_string())
            .query("tweet.fields", TWEET_FIELDS)
            .query("expansions", EXPANSIONS)
            .query("user.fields", USER_FIELDS);
        if let Some(id) = since_id {
            req = req.query("since_id", id);
        }
        if let Some(t) = next_token {
            req = req.query("next_token", t);
        }
        Ok(req.header("accept", "application/json"))
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchPage {
    /// Absent when nothing matched.
    #[serde(default)]
    pub data: Vec<ApiTweet>,
    #[serde(default)]
    pub includes: Includes,
    pub meta: Meta,
}

/// A tweet with the requested fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiTweet {
    pub id: String,
    pub text: String,
    pub created_at: Option<String>,
    pub author_id: Option<String>,
    pub lang: Option<String>,
    /// Kept as sent (X adds counters over time: bookmarks, impressions).
    pub public_metrics: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Expanded objects.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Includes {
    #[serde(default)]
    pub users: Vec<ApiUser>,
}

/// An author.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiUser {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// Paging and cursor data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub result_count: u64,
    pub newest_id: Option<String>,
    pub oldest_id: Option<String>,
    pub next_token: Option<String>,
}

impl SearchPage {
    /// Parse a 200 body.
    pub fn parse(body: &[u8], url: &str) -> Result<SearchPage, CrawlError> {
        serde_json::from_slice(body).map_err(|e| {
            CrawlError::Parse(format!("{url} did not return a recent-search page: {e}"))
        })
    }

    /// Authors by id.
    pub fn users(&self) -> HashMap<&str, &ApiUser> {
        self.includes
            .users
            .iter()
            .map(|u| (u.id.as_str(), u))
            .collect()
    }
}

/// What X says went wrong, from its problem JSON (`errors[0].message`,
/// else `detail`, else `title`).
pub fn problem_text(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let pick = |v: &serde_json::Value, k: &str| v.get(k)?.as_str().map(str::to_string);
    v.get("errors")
        .and_then(|e| e.get(0))
        .and_then(|e| pick(e, "message"))
        .or_else(|| pick(&v, "detail"))
        .or_else(|| pick(&v, "title"))
}

/// Whether a 400 body refuses the `since_id` parameter: X refuses a
/// `since_id` older than the seven days recent search covers (a brand
/// nobody tweeted about for a week), and the cure is to search the whole
/// window, which is all newer than that cursor anyway.
pub fn since_id_refused(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    v.get("errors")
        .and_then(|e| e.as_array())
        .is_some_and(|errors| {
            errors.iter().any(|e| {
                e.get("parameters")
                    .and_then(|p| p.get("since_id"))
                    .is_some()
            })
        })
}

/// The error for a non-2xx answer from the API (`None` for 2xx). `host`
/// names the API host for the 401 hint; `reset` is `x-rate-limit-reset`.
pub fn status_error(
    status: u16,
    body: &[u8],
    url: &str,
    host: &str,
    reset: Option<&str>,
) -> Option<CrawlError> {
    let said = problem_text(body)
        .map(|p| format!(": {p}"))
        .unwrap_or_default();
    Some(match status {
        200..=299 => return None,
        401 => CrawlError::Other(format!(
            "the X API refused the bearer token (HTTP 401 from {url}{said}). The host adds the \
             token: configure [[http.secrets]] with hosts = [\"{host}\"], header = \"authorization\", \
             prefix = \"Bearer \" and value_env naming a variable that holds a valid app token"
        )),
        403 => CrawlError::Blocked(format!(
            "the X API forbids this request (HTTP 403 from {url}{said}); check the app's access level"
        )),
        429 => CrawlError::Blocked(format!(
            "the X API rate limit is still exhausted after the host's wait (HTTP 429 from {url}; \
             the window resets at {} Unix time)",
            reset.unwrap_or("an unknown")
        )),
        400 => CrawlError::Other(format!(
            "the X API rejected the request (HTTP 400 from {url}{said})"
        )),
        408 | 500..=599 => CrawlError::Retryable(format!("HTTP {status} from {url}{said}")),
        _ => CrawlError::Other(format!("HTTP {status} from {url}{said}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crawlhost_sdk::RunInfo;

    fn run(config: &[(&str, &str)]) -> Run {
        Run::new(RunInfo {
            run_id: "r".into(),
            started_at_ms: 0,
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    #[test]
    fn settings_are_checked() {
        let s = Settings::from_run(&run(&[])).unwrap();
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert_eq!(s.max_results, 100);
        let s = Settings::from_run(&run(&[
            ("base_url", "http://127.0.0.1:9/"),
            ("max_results", "10"),
        ]))
        .unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:9");
        assert!(Settings::from_run(&run(&[("max_results", "5")])).is_err());
        assert!(Settings::from_run(&run(&[("max_pages", "0")])).is_err());
        assert!(Settings::from_run(&run(&[("base_url", "ftp://x")])).is_err());
    }

    #[test]
    fn the_request_asks_for_every_field_the_record_needs() {
        let s = Settings::from_run(&run(&[("max_results", "20")])).unwrap();
        let r = s
            .search("\"라운드랩\" OR \"Round Lab\"", Some("17"), Some("tok"))
            .unwrap();
        let url = url::Url::parse(r.url()).unwrap();
        assert_eq!(url.path(), SEARCH_PATH);
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["query"], "\"라운드랩\" OR \"Round Lab\"");
        assert_eq!(q["max_results"], "20");
        assert_eq!(q["tweet.fields"], TWEET_FIELDS);
        assert_eq!(q["expansions"], "author_id");
        assert_eq!(q["user.fields"], "username,name");
        assert_eq!(q["since_id"], "17");
        assert_eq!(q["next_token"], "tok");
        let r = s.search("x", None, None).unwrap();
        assert!(!r.url().contains("since_id") && !r.url().contains("next_token"));
    }

    #[test]
    fn parses_pages_with_and_without_data() {
        let empty = SearchPage::parse(br#"{"meta":{"result_count":0}}"#, "u").unwrap();
        assert!(empty.data.is_empty() && empty.meta.newest_id.is_none());
        let page = SearchPage::parse(
            br#"{"data":[{"id":"2","text":"hi","created_at":"2024-08-20T03:00:00.000Z",
              "author_id":"9","lang":"en","edit_history_tweet_ids":["2"],
              "public_metrics":{"like_count":3}}],
              "includes":{"users":[{"id":"9","username":"a","name":"A"}]},
              "meta":{"result_count":1,"newest_id":"2","oldest_id":"2","next_token":"t"}}"#,
            "u",
        )
        .unwrap();
        assert_eq!(page.data[0].id, "2");
        assert_eq!(page.users()["9"].username.as_deref(), Some("a"));
        assert_eq!(page.meta.next_token.as_deref(), Some("t"));
        assert!(matches!(
            SearchPage::parse(b"<html>", "u"),
            Err(CrawlError::Parse(_))
        ));
    }

    #[test]
    fn recognises_a_refused_since_id() {
        assert!(since_id_refused(
            br#"{"errors":[{"parameters":{"since_id":["17"]},"message":"Invalid 'since_id'"}],"title":"Invalid Request"}"#
        ));
        assert!(!since_id_refused(
            br#"{"errors":[{"parameters":{"max_results":["5"]}}]}"#
        ));
        assert!(!since_id_refused(b"not json"));
    }

    #[test]
    fn statuses_explain_themselves() {
        assert!(status_error(200, b"", "u", "api.x.com", None).is_none());
        let Some(CrawlError::Other(m)) = status_error(
            401,
            br#"{"title":"Unauthorized","detail":"Unauthorized"}"#,
            "u",
            "api.x.com",
            None,
        ) else {
            panic!()
        };
        assert!(
            m.contains("401") && m.contains("[[http.secrets]]") && m.contains("api.x.com"),
            "{m}"
        );
        let Some(CrawlError::Other(m)) = status_error(
            400,
            br#"{"errors":[{"message":"max_results is bad"}],"title":"Invalid Request"}"#,
            "u",
            "h",
            None,
        ) else {
            panic!()
        };
        assert!(m.ends_with(": max_results is bad)"), "{m}");
        assert!(
            matches!(status_error(429, b"", "u", "h", Some("17")), Some(CrawlError::Blocked(m)) if m.contains("17"))
        );
        assert!(matches!(
            status_error(503, b"", "u", "h", None),
            Some(CrawlError::Retryable(_))
        ));
        assert!(matches!(
            status_error(403, b"", "u", "h", None),
            Some(CrawlError::Blocked(_))
        ));
    }
}
