//! Serving the fixture with axum: sessions, redirects to the login page,
//! the HTML shells, the JSON the shells fetch, images, the [`Mode`] switch
//! and request counters.
//!
//! Routes (as Instagram's web app, simplified):
//! - `GET /accounts/login/?next=P`: the login shell.
//! - `POST /api/v1/web/accounts/login/ajax/` (form `username`, `password`):
//!   on the configured credentials sets cookie `sessionid` and answers
//!   `{"authenticated": true}`; else `{"authenticated": false, "message"}`.
//! - `GET /explore/tags/<tag>/`, `GET /p/<code>/`: shells; without a valid
//!   session a 302 to `/accounts/login/?next=<path>`.
//! - `GET /api/v1/tags/web_info/?tag_name=T&max_id=N`: one grid page
//!   (`items`: `code`, `thumbnail`, `accessibility_caption`;
//!   `more_available`, `next_max_id`); 401 without a session.
//! - `GET /api/v1/media/<code>/info/`: the post (`username`, `taken_at`,
//!   `like_count` or null, `images`, `comments`); 401 without a session.
//! - `GET /media/<file>`: a tiny GIF.
//!
//! [`Mode::Suspicious`] renders the popup instead of content on tag and post
//! pages; [`Mode::RateLimited`] answers every request with HTTP 429 and
//! `Retry-After: 3600`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::net::TcpListener;

use super::corpus::Corpus;
use super::pages;
use crate::twitter::iso_utc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sessionid";

/// How the site treats the crawler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// The "suspicious activity" popup on every tag and post page.
    Suspicious,
    /// HTTP 429 on every request.
    RateLimited,
}

/// What the site saw.
#[derive(Debug, Default)]
pub struct Counters {
    /// Successful logins (one per browser session that logged in).
    pub logins: AtomicU64,
    pub failed_logins: AtomicU64,
    /// Tag page shells served to a logged-in client.
    pub tag_pages: AtomicU64,
    /// Grid JSON pages served.
    pub grid_pages: AtomicU64,
    /// Post page shells served to a logged-in client.
    pub post_pages: AtomicU64,
    /// Redirects to the login page.
    pub login_redirects: AtomicU64,
    /// Requests answered 429.
    pub rate_limited: AtomicU64,
}

/// The fixture: corpus, credentials, sessions, mode and counters.
pub struct Fixture {
    pub corpus: Corpus,
    username: String,
    password: String,
    sessions: Mutex<HashSet<String>>,
    mode: Mutex<Mode>,
    next_session: AtomicU64,
    pub counters: Counters,
}

impl Fixture {
    pub fn new(corpus: Corpus, username: &str, password: &str) -> Self {
        Self {
            corpus,
            username: username.to_string(),
            password: password.to_string(),
            sessions: Mutex::new(HashSet::new()),
            mode: Mutex::new(Mode::Normal),
            next_session: AtomicU64::new(1),
            counters: Counters::default(),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }

    fn logged_in(&self, headers: &HeaderMap) -> bool {
        let sessions = self.sessions.lock().unwrap();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(n, v)| n == SESSION_COOKIE && sessions.contains(v))
    }

    /// Answer one request.
    pub fn handle(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let path = uri.path();
        let query: BTreeMap<String, String> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if self.mode() == Mode::RateLimited {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/html; charset=utf-8"),
                    ),
                    (header::RETRY_AFTER, HeaderValue::from_static("3600")),
                ],
                pages::RATE_LIMITED,
            )
                .into_response();
        }
        let challenge = self.mode() == Mode::Suspicious;
        let logged_in = self.logged_in(headers);
        match (method.as_str(), path) {
            ("GET", "/accounts/login/") => html(pages::login(
                query.get("next").map(String::as_str).unwrap_or("/"),
            )),
            ("POST", "/api/v1/web/accounts/login/ajax/") => self.login(body),
            ("GET", p) if p.starts_with("/explore/tags/") => {
                let Some(tag) = segment(p, "/explore/tags/") else {
                    return not_found();
                };
                if !logged_in {
                    return self.to_login(p);
                }
                self.counters.tag_pages.fetch_add(1, Ordering::Relaxed);
                html(pages::tag(&tag, challenge))
            }
            ("GET", p) if p.starts_with("/p/") => {
                let Some(code) = segment(p, "/p/") else {
                    return not_found();
                };
                if !logged_in {
                    return self.to_login(p);
                }
                if self.corpus.post(&code).is_none() {
                    return not_found();
                }
                self.counters.post_pages.fetch_add(1, Ordering::Relaxed);
                html(pages::post(&code, challenge))
            }
            ("GET", "/api/v1/tags/web_info/") => {
                if !logged_in {
                    return unauthorized();
                }
                let tag = query.get("tag_name").cloned().unwrap_or_default();
                let cursor = query
                    .get("max_id")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                self.counters.grid_pages.fetch_add(1, Ordering::Relaxed);
                let (items, next) = self.corpus.page(&tag, cursor);
                let items: Vec<_> = items
                    .iter()
                    .map(|p| {
                        json!({
                            "code": p.code,
                            "thumbnail": p.images[0],
                            "accessibility_caption": p.caption,
                        })
                    })
                    .collect();
                json_response(json!({
                    "items": items,
                    "more_available": next.is_some(),
                    "next_max_id": next,
                }))
            }
            ("GET", p) if p.starts_with("/api/v1/media/") => {
                if !logged_in {
                    return unauthorized();
                }
                let code = p
                    .trim_start_matches("/api/v1/media/")
                    .trim_end_matches("/info/");
                let Some(post) = self.corpus.post(code) else {
                    return not_found();
                };
                let comments: Vec<_> = post
                    .comments_ms
                    .iter()
                    .map(|ms| json!({ "text": "😍", "at": iso_utc(*ms) }))
                    .collect();
                json_response(json!({
                    "code": post.code,
                    "username": post.username,
                    "taken_at": post.date(),
                    "like_count": post.likes,
                    "images": post.images,
                    "comments": comments,
                }))
            }
            ("GET", p) if p.starts_with("/media/") => (
                [(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"))],
                GIF,
            )
                .into_response(),
            _ => not_found(),
        }
    }

    fn to_login(&self, path: &str) -> Response {
        self.counters
            .login_redirects
            .fetch_add(1, Ordering::Relaxed);
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        let location = format!("/accounts/login/?next={next}");
        (
            StatusCode::FOUND,
            [(
                header::LOCATION,
                HeaderValue::try_from(location).expect("ASCII location"),
            )],
        )
            .into_response()
    }

    fn login(&self, body: &[u8]) -> Response {
        let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let ok = form.get("username") == Some(&self.username)
            && form.get("password") == Some(&self.password);
        if !ok {
            self.counters.failed_logins.fetch_add(1, Ordering::Relaxed);
            return json_response(json!({
                "authenticated": false,
                "message": "Sorry, your password was incorrect. Please double-check your password.",
            }));
        }
        self.counters.logins.fetch_add(1, Ordering::Relaxed);
        let n = self.next_session.fetch_add(1, Ordering::Relaxed);
        let token = format!("{n:08x}{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        self.sessions.lock().unwrap().insert(token.clone());
        let mut response = json_response(json!({ "authenticated": true, "user": true }));
        response.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::try_from(format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
            ))
            .expect("ASCII cookie"),
        );
        response
    }
}

/// The first path segment after `prefix`, percent-decoded.
fn segment(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let raw = rest.split('/').next().filter(|s| !s.is_empty())?;
    let decoded: Vec<u8> = percent_decode(raw);
    String::from_utf8(decoded).ok()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A 1x1 transparent GIF.
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn html(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn json_response(v: serde_json::Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        v.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        "{\"message\":\"login_required\",\"status\":\"fail\"}",
    )
        .into_response()
}

async fn answer(
    State(fixture): State<Arc<Fixture>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fixture.handle(&method, &uri, &headers, &body)
}

/// The router for `fixture`.
pub fn router(fixture: Arc<Fixture>) -> Router {
    Router::new().fallback(answer).with_state(fixture)
}

/// Serve `fixture` on `listener` until the task is dropped or the listener
/// fails.
pub async fn serve(fixture: Arc<Fixture>, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(fixture)).await
}

/// Bind `127.0.0.1:0`, serve `fixture` on a spawned task; the base URL and
/// the task (abort it to stop).
pub async fn spawn(
    fixture: Arc<Fixture>,
) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let handle = tokio::spawn(async move {
        if let Err(e) = serve(fixture, listener).await {
            eprintln!("Instagram fixture stopped: {e}");
        }
    });
    Ok((base_url, handle))
}
