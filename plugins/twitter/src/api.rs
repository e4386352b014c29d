//! The X API v2 recent search as the plugin uses it: checked settings, the
//! request of one page, the response shape, and what each status means.
//! Pure (the request is built, not sent).

use std::collections::HashMap;

use crawlhost_sdk::http::Request;
use crawlhost_sdk::{CrawlError, Run};
use serde_json::Value;

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

/// One page of results, read leniently: only a body that is not a JSON
/// object fails the page. Each tweet stays raw JSON here and is read on its
/// own (see [`crate::records::read_page`]), so one unreadable tweet cannot
/// fail its siblings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchPage {
    /// The tweets as sent; empty when nothing matched (X omits `data`).
    pub data: Vec<Value>,
    /// The authors in `includes.users` that carry an id.
    pub users: Vec<ApiUser>,
    pub meta: Meta,
    /// The top-level `errors` beside `data`: a partial answer (an author
    /// who no longer exists is missing from `includes` and named here as
    /// `resource-not-found`), not a failure.
    pub errors: Vec<Problem>,
}

/// An author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUser {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// Paging and cursor data; every field may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    pub result_count: Option<u64>,
    pub newest_id: Option<String>,
    pub oldest_id: Option<String>,
    pub next_token: Option<String>,
}

/// One entry of a top-level `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problem {
    /// The problem type's last path segment (`resource-not-found`).
    pub kind: Option<String>,
    /// `resource_type` (`user`, `tweet`).
    pub resource_type: Option<String>,
    /// `resource_id`, else `value`.
    pub resource_id: Option<String>,
    /// `detail`, else `message`, else `title`.
    pub detail: Option<String>,
}

/// A string field, or a number written as one (X ids are strings; a proxy
/// that turns them into numbers should not cost the tweet).
pub fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A string field; anything else is missing.
pub fn text(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(str::to_string)
}

impl SearchPage {
    /// Parse a 200 body. Fails only when the body is not a JSON object or
    /// `data` is there but not a list (the answer is not a search page).
    pub fn parse(body: &[u8], url: &str) -> Result<SearchPage, CrawlError> {
        let not_a_page = |why: String| {
            CrawlError::Parse(format!("{url} did not return a recent-search page: {why}"))
        };
        let v: Value = serde_json::from_slice(body).map_err(|e| not_a_page(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| not_a_page("the body is not a JSON object".into()))?;
        let data = match obj.get("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(not_a_page("`data` is not a list".into())),
        };
        let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
        let users = list(v.pointer("/includes/users"))
            .iter()
            .filter_map(|u| {
                Some(ApiUser {
                    id: id_text(u.get("id"))?,
                    username: text(u.get("username")),
                    name: text(u.get("name")),
                })
            })
            .collect();
        let meta = obj.get("meta").map_or_else(Meta::default, |m| Meta {
            result_count: m.get("result_count").and_then(Value::as_u64),
            newest_id: id_text(m.get("newest_id")),
            oldest_id: id_text(m.get("oldest_id")),
            next_token: text(m.get("next_token")).filter(|t| !t.is_empty()),
        });
        let errors = list(obj.get("errors"))
            .iter()
            .map(|e| Problem {
                kind: text(e.get("type"))
                    .and_then(|t| t.rsplit('/').next().map(str::to_string))
                    .filter(|t| !t.is_empty()),
                resource_type: text(e.get("resource_type")),
                resource_id: id_text(e.get("resource_id")).or_else(|| id_text(e.get("value"))),
                detail: text(e.get("detail"))
                    .or_else(|| text(e.get("message")))
                    .or_else(|| text(e.get("title"))),
            })
            .collect();
        Ok(SearchPage {
            data,
            users,
            meta,
            errors,
        })
    }

    /// Authors by id.
    pub fn users(&self) -> HashMap<&str, &ApiUser> {
        self.users.iter().map(|u| (u.id.as_str(), u)).collect()
    }

    /// The page's `errors`, summed up for a log line: `2 (resource-not-found
    /// user 17, resource-not-found user 18)`; none without errors.
    pub fn errors_summary(&self) -> Option<String> {
        if self.errors.is_empty() {
            return None;
        }
        const SHOWN: usize = 5;
        let mut parts: Vec<String> = self
            .errors
            .iter()
            .take(SHOWN)
            .map(|p| {
                let words: Vec<&str> = [&p.kind, &p.resource_type, &p.resource_id]
                    .into_iter()
                    .filter_map(|w| w.as_deref())
                    .collect();
                if words.is_empty() {
                    p.detail.clone().unwrap_or_else(|| "unnamed".into())
                } else {
                    words.join(" ")
                }
            })
            .collect();
        if self.errors.len() > SHOWN {
            parts.push("...".into());
        }
        Some(format!("{} ({})", self.errors.len(), parts.join(", ")))
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
        assert_eq!(empty.meta.result_count, Some(0));
        let page = SearchPage::parse(
            br#"{"data":[{"id":"2","text":"hi","created_at":"2024-08-20T03:00:00.000Z",
              "author_id":"9","lang":"en","edit_history_tweet_ids":["2"],
              "public_metrics":{"like_count":3}}],
              "includes":{"users":[{"id":"9","username":"a","name":"A"}]},
              "meta":{"result_count":1,"newest_id":"2","oldest_id":"2","next_token":"t"}}"#,
            "u",
        )
        .unwrap();
        assert_eq!(page.data[0]["id"], "2");
        assert_eq!(page.users()["9"].username.as_deref(), Some("a"));
        assert_eq!(page.meta.next_token.as_deref(), Some("t"));
        assert_eq!(page.errors_summary(), None);
        for bad in [&b"<html>"[..], b"[]", br#"{"data":{"id":"1"}}"#] {
            assert!(
                matches!(SearchPage::parse(bad, "u"), Err(CrawlError::Parse(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn only_an_unreadable_body_fails_a_page() {
        // No meta, odd includes, a user without an id, an unreadable
        // meta field and errors without data: still a page.
        let page = SearchPage::parse(
            br#"{"data":[{"text":"no id"},{"id":"3","text":"x"}],
              "includes":{"users":[{"username":"ghost"},{"id":17,"username":"n"}]},
              "errors":[{"title":"Not Found Error"},{"type":"about:blank","value":"4"}]}"#,
            "u",
        )
        .unwrap();
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.meta, Meta::default());
        assert_eq!(page.users.len(), 1);
        assert_eq!(page.users()["17"].username.as_deref(), Some("n"));
        assert_eq!(
            page.errors_summary().as_deref(),
            Some("2 (Not Found Error, about:blank 4)")
        );
        let page = SearchPage::parse(
            br#"{"errors":[{"detail":"gone"}],"meta":{"newest_id":null,"next_token":5,"result_count":"1"}}"#,
            "u",
        )
        .unwrap();
        assert!(page.data.is_empty());
        assert_eq!(page.meta, Meta::default());
        assert_eq!(page.errors_summary().as_deref(), Some("1 (gone)"));
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
