//! The X API v2 recent search endpoint over a [`Corpus`], as a synchronous
//! function of (method, path and query, `Authorization` header, wall clock)
//! -> reply, with what a client of the real API runs into: the bearer-token
//! check (401), a request-count rate limit per window (429 with
//! `x-rate-limit-reset`), parameter validation (400 with X's problem JSON),
//! `tweet.fields` / `expansions` / `user.fields` honoured field by field,
//! `since_id`, `max_results` and `next_token` paging. Every request is
//! logged so tests can assert what a plugin sent.
//!
//! Answers look as X's do: `text` HTML-escaped (`&amp;`, `&lt;`, `&gt;`,
//! nothing else), `edit_history_tweet_ids` on every tweet, `lang` left out
//! where X has none, and authors who no longer exist left out of
//! `includes.users` and named in a top-level `errors` array beside `data`
//! (`resource-not-found`): a partial answer with status 200.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::corpus::{BrandSeed, Corpus, Tweet};
use super::search::{decode_token, encode_token, fnv1a, iso_utc, lower_term_matches, parse_query};

/// The path of recent search.
pub const SEARCH_PATH: &str = "/2/tweets/search/recent";

/// `tweet.fields` values the fixture serves (others are refused, as X
/// refuses unknown ones).
pub const TWEET_FIELDS: &[&str] = &[
    "created_at",
    "public_metrics",
    "author_id",
    "lang",
    "conversation_id",
];
/// `user.fields` values the fixture serves.
pub const USER_FIELDS: &[&str] = &["username", "name", "id", "verified"];

/// Requests allowed per window, X style (450 per 15 minutes for app-only
/// auth on recent search; tests use a few per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests answered per window; the next ones get 429.
    pub requests: u32,
    /// Window length in seconds; windows are aligned to multiples of it in
    /// Unix time, and `x-rate-limit-reset` is the end of the current one.
    pub window_secs: u64,
}

/// How the fixture behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The bearer token the API accepts (`Authorization: Bearer <token>`).
    pub token: String,
    /// None: every request is answered (headers still say 450 per 15 min).
    pub rate_limit: Option<RateLimit>,
}

/// One request as the fixture saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub path: String,
    pub query: Option<String>,
    pub since_id: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<String>,
    pub tweet_fields: Option<String>,
    pub expansions: Option<String>,
    pub user_fields: Option<String>,
    /// Whether the bearer token was right.
    pub authorized: bool,
    /// Status answered.
    pub status: u16,
}

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Headers besides `content-type` (always `application/json`).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The fixture API: a corpus that tests may grow between runs, the config,
/// the request log and the rate-limit window.
#[derive(Debug)]
pub struct Api {
    corpus: RwLock<Corpus>,
    config: ApiConfig,
    log: Mutex<Vec<LoggedRequest>>,
    /// (window number, requests counted in it).
    window: Mutex<(u64, u32)>,
}

fn problem(status: u16, title: &str, detail: &str, kind: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: json!({ "title": title, "detail": detail, "type": kind, "status": status })
            .to_string(),
    }
}

fn invalid(parameter: &str, value: &str, message: String) -> Reply {
    Reply {
        status: 400,
        headers: Vec::new(),
        body: json!({
            "errors": [{ "parameters": { parameter: [value] }, "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        })
        .to_string(),
    }
}

impl Api {
    /// An API over `corpus`.
    pub fn new(corpus: Corpus, config: ApiConfig) -> Self {
        Self {
            corpus: RwLock::new(corpus),
            config,
            log: Mutex::new(Vec::new()),
            window: Mutex::new((0, 0)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// Read the corpus.
    pub fn with_corpus<R>(&self, f: impl FnOnce(&Corpus) -> R) -> R {
        f(&self.corpus.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Post newer tweets (see [`Corpus::add_newer_tweets`]).
    pub fn add_newer_tweets(&self, plan: &[(&str, usize)]) -> Vec<u64> {
        self.corpus
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .add_newer_tweets(plan)
    }

    /// Move the fixture's clock on (see [`Corpus::advance_clock`]).
    pub fn advance_clock(&self, ms: i64) {
        self.corpus
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .advance_clock(ms)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Take the log (tests split it per run).
    pub fn take_requests(&self) -> Vec<LoggedRequest> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Answer one request. `now` is the wall clock (rate-limit windows).
    pub fn handle(
        &self,
        method: &str,
        path_and_query: &str,
        authorization: Option<&str>,
        now: SystemTime,
    ) -> Reply {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let authorized = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|t| t == self.config.token);
        let mut reply = self.answer(method, path, &params, authorized, now);
        let (limit, remaining, reset) = self.limit_headers(now);
        reply
            .headers
            .push(("x-rate-limit-limit".into(), limit.to_string()));
        reply
            .headers
            .push(("x-rate-limit-remaining".into(), remaining.to_string()));
        reply
            .headers
            .push(("x-rate-limit-reset".into(), reset.to_string()));
        let p = |k: &str| params.get(k).cloned();
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LoggedRequest {
                path: path.to_string(),
                query: p("query"),
                since_id: p("since_id"),
                next_token: p("next_token"),
                max_results: p("max_results"),
                tweet_fields: p("tweet.fields"),
                expansions: p("expansions"),
                user_fields: p("user.fields"),
                authorized,
                status: reply.status,
            });
        reply
    }

    fn window_of(&self, now: SystemTime) -> (u64, u64) {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let window = self.config.rate_limit.map_or(900, |r| r.window_secs.max(1));
        (secs / window, window)
    }

    /// Count a request against the window; false when over the limit.
    fn admit(&self, now: SystemTime) -> bool {
        let Some(limit) = self.config.rate_limit else {
            return true;
        };
        let (n, _) = self.window_of(now);
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.0 != n {
            *w = (n, 0);
        }
        if w.1 >= limit.requests {
            return false;
        }
        w.1 += 1;
        true
    }

    fn limit_headers(&self, now: SystemTime) -> (u32, u32, u64) {
        let (n, window) = self.window_of(now);
        let reset = (n + 1) * window;
        match self.config.rate_limit {
            None => (450, 449, reset),
            Some(limit) => {
                let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
                let used = if w.0 == n { w.1 } else { 0 };
                (limit.requests, limit.requests.saturating_sub(used), reset)
            }
        }
    }

    fn answer(
        &self,
        method: &str,
        path: &str,
        params: &HashMap<String, String>,
        authorized: bool,
        now: SystemTime,
    ) -> Reply {
        if path != SEARCH_PATH {
            return problem(
                404,
                "Not Found Error",
                &format!("Could not find the path {path}"),
                "https://api.twitter.com/2/problems/resource-not-found",
            );
        }
        if !method.eq_ignore_ascii_case("GET") {
            return problem(405, "Method Not Allowed", "Use GET", "about:blank");
        }
        if !authorized {
            return problem(401, "Unauthorized", "Unauthorized", "about:blank");
        }
        if !self.admit(now) {
            return problem(429, "Too Many Requests", "Too Many Requests", "about:blank");
        }
        match self.search(params) {
            Ok(body) => Reply {
                status: 200,
                headers: Vec::new(),
                body: body.to_string(),
            },
            Err(reply) => reply,
        }
    }

    fn search(&self, params: &HashMap<String, String>) -> Result<Value, Reply> {
        let known = [
            "query",
            "max_results",
            "since_id",
            "next_token",
            "tweet.fields",
            "expansions",
            "user.fields",
        ];
        if let Some(k) = params.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(
                k,
                &params[k],
                format!(
                    "The query parameter [{k}] is not one of [{}]",
                    known.join(",")
                ),
            ));
        }
        let query = params.get("query").map(String::as_str).unwrap_or("");
        let terms = parse_query(query).map_err(|why| {
            invalid(
                "query",
                query,
                format!("There were errors processing your request: {why}"),
            )
        })?;
        let terms: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
        let max_results = match params.get("max_results") {
            None => 10,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (10..=100).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "max_results",
                        v,
                        format!(
                            "The `max_results` query parameter value [{v}] is not between 10 and 100"
                        ),
                    ));
                }
            },
        };
        let since_id = match params.get("since_id") {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                invalid(
                    "since_id",
                    v,
                    format!(
                        "The `since_id` query parameter value [{v}] does not match ^[0-9]{{1,19}}$"
                    ),
                )
            })?),
        };
        let fields = |name: &str, allowed: &[&str]| -> Result<BTreeSet<String>, Reply> {
            let mut set = BTreeSet::new();
            for f in params
                .get(name)
                .map(String::as_str)
                .unwrap_or("")
                .split(',')
                .filter(|f| !f.is_empty())
            {
                if !allowed.contains(&f) {
                    return Err(invalid(
                        name,
                        f,
                        format!(
                            "The `{name}` query parameter value [{f}] is not one of [{}]",
                            allowed.join(",")
                        ),
                    ));
                }
                set.insert(f.to_string());
            }
            Ok(set)
        };
        let tweet_fields = fields("tweet.fields", TWEET_FIELDS)?;
        let user_fields = fields("user.fields", USER_FIELDS)?;
        let expansions = fields("expansions", &["author_id"])?;
        let salt = fnv1a(&format!("{query}|{since_id:?}"));

        let corpus = self.corpus.read().unwrap_or_else(|e| e.into_inner());
        // As X: a since_id older than the seven days recent search covers
        // is refused, not ignored.
        let oldest = corpus.now_ms() - super::corpus::WINDOW_MS;
        if let Some(s) = since_id
            && Corpus::id_time_ms(s) < oldest
        {
            let v = s.to_string();
            return Err(invalid(
                "since_id",
                &v,
                format!(
                    "Invalid 'since_id':'{v}'. 'since_id' must be a tweet id created after {}. Please use a 'since_id' that is newer.",
                    iso_utc(oldest)
                ),
            ));
        }
        let matching = |t: &&Tweet| {
            corpus.in_window(t)
                && since_id.is_none_or(|s| t.id > s)
                && terms
                    .iter()
                    .any(|term| lower_term_matches(&t.text_lower, term))
        };
        let anchor = match params.get("next_token") {
            None => None,
            Some(token) => {
                let bad = || {
                    invalid(
                        "next_token",
                        token,
                        format!(
                            "The `next_token` query parameter value [{token}] is not valid for this request"
                        ),
                    )
                };
                let anchor = decode_token(token, salt).ok_or_else(bad)?;
                if !corpus
                    .tweets()
                    .iter()
                    .filter(matching)
                    .any(|t| t.id == anchor)
                {
                    return Err(bad());
                }
                Some(anchor)
            }
        };
        let page: Vec<&Tweet> = corpus
            .tweets()
            .iter()
            .filter(|t| anchor.is_none_or(|a| t.id <= a))
            .filter(matching)
            .take(max_results + 1)
            .collect();
        let next = page.get(max_results).map(|t| encode_token(t.id, salt));
        let page = &page[..page.len().min(max_results)];

        let mut meta = Map::new();
        meta.insert("result_count".into(), json!(page.len()));
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            meta.insert("newest_id".into(), json!(first.id.to_string()));
            meta.insert("oldest_id".into(), json!(last.id.to_string()));
        }
        if let Some(token) = next {
            meta.insert("next_token".into(), json!(token));
        }
        let mut body = Map::new();
        if !page.is_empty() {
            let data: Vec<Value> = page
                .iter()
                .map(|t| tweet_json(&corpus, t, &tweet_fields))
                .collect();
            body.insert("data".into(), Value::Array(data));
            if expansions.contains("author_id") {
                let mut seen = BTreeSet::new();
                let authors: Vec<&Tweet> = page
                    .iter()
                    .copied()
                    .filter(|t| seen.insert(t.author))
                    .collect();
                let errors: Vec<Value> = authors
                    .iter()
                    .map(|t| &corpus.users()[t.author])
                    .filter(|u| u.deleted)
                    .map(|u| not_found_user(&u.id))
                    .collect();
                if !errors.is_empty() {
                    body.insert("errors".into(), Value::Array(errors));
                }
                let users: Vec<Value> = authors
                    .iter()
                    .filter(|t| !corpus.users()[t.author].deleted)
                    .map(|t| {
                        let u = &corpus.users()[t.author];
                        let mut o = Map::new();
                        o.insert("id".into(), json!(u.id));
                        o.insert("name".into(), json!(u.name));
                        o.insert("username".into(), json!(u.username));
                        if user_fields.contains("verified") {
                            o.insert("verified".into(), json!(false));
                        }
                        Value::Object(o)
                    })
                    .collect();
                body.insert("includes".into(), json!({ "users": users }));
            }
        }
        body.insert("meta".into(), Value::Object(meta));
        Ok(Value::Object(body))
    }
}

/// Tweet text as X sends it: `&`, `<` and `>` HTML-escaped, nothing else
/// (quotes and apostrophes stay as typed).
pub fn x_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The `errors` entry X writes for an expanded author who no longer
/// exists.
fn not_found_user(id: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find user with id: [{id}]."),
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "author_id",
        "resource_id": id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    })
}

/// A tweet as X serves it with these `tweet.fields` (`id`, `text` and
/// `edit_history_tweet_ids` always).
fn tweet_json(corpus: &Corpus, t: &Tweet, fields: &BTreeSet<String>) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.id.to_string()));
    o.insert("text".into(), json!(x_escape(&t.text)));
    let history: Vec<String> = t.edit_history.iter().map(u64::to_string).collect();
    o.insert("edit_history_tweet_ids".into(), json!(history));
    if fields.contains("created_at") {
        o.insert("created_at".into(), json!(iso_utc(t.created_at_ms)));
    }
    if fields.contains("author_id") {
        o.insert("author_id".into(), json!(corpus.users()[t.author].id));
    }
    if fields.contains("lang")
        && let Some(lang) = t.lang
    {
        o.insert("lang".into(), json!(lang));
    }
    if fields.contains("conversation_id") {
        o.insert("conversation_id".into(), json!(t.id.to_string()));
    }
    if fields.contains("public_metrics") {
        let m = &t.metrics;
        o.insert(
            "public_metrics".into(),
            json!({
                "retweet_count": m.retweet_count,
                "reply_count": m.reply_count,
                "like_count": m.like_count,
                "quote_count": m.quote_count,
                "bookmark_count": m.bookmark_count,
                "impression_count": m.impression_count,
            }),
        );
    }
    Value::Object(o)
}

/// The search query the `twitter` plugin sends for a brand: both names as
/// quoted phrases, joined by `OR` (the same name once).
pub fn brand_query(brand: &BrandSeed) -> String {
    let [ko, en] = brand.keywords();
    if ko.eq_ignore_ascii_case(en) {
        format!("\"{ko}\"")
    } else {
        format!("\"{ko}\" OR \"{en}\"")
    }
}
