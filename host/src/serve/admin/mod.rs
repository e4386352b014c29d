//! The admin API (axum): the status page at `/`, plugins, runs, refused
//! files, manual runs, pause/resume, coverage baselines, `/metrics` and
//! `/healthz`.
//!
//! Bound to 127.0.0.1 by default. A token (from the environment variable
//! named by `admin.token_env`) is required on every request except
//! `/healthz`, `/login` and the page's assets when one is set, and the host
//! refuses to bind a non-loopback address without one: the API can start
//! crawls. Programs send the token as `Authorization: Bearer`; a browser
//! signs in once at `/login` and then sends a session cookie derived from
//! the token (`HttpOnly`, `SameSite=Strict`), so the status page and its
//! buttons work without a proxy that adds the header.
//!
//! Which requests are answered at all (`Host`, `Origin`) is
//! [`guard::RequestGuard`]'s policy.
//!
//! Layout: `guard.rs` the request policy, `api.rs` the JSON endpoints,
//! `metrics.rs` `/metrics`, `web.rs` the status page, sign-in and assets.

mod api;
mod guard;
mod metrics;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

pub use guard::{Refusal, RequestGuard};

use super::{Service, StartError};
use crate::config::Settings;

/// The cookie a signed-in browser sends.
const SESSION_COOKIE: &str = "crawlhost_session";

#[derive(Clone)]
struct AppState {
    service: Arc<Service>,
    token: Option<Arc<str>>,
    /// The session cookie's value: derived from the token, so changing the
    /// token signs every browser out, and the cookie never holds the token.
    session: Option<Arc<str>>,
}

/// The session cookie's value for `token`.
fn session_value(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"crawlhost admin session\n");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Compare in constant time for equal lengths.
fn same(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Build the router for a listener bound to `bound` (checked against the
/// token rule).
pub fn router(service: Arc<Service>, settings: &Settings) -> Result<Router, String> {
    let cfg = settings.admin.clone().unwrap_or_default();
    let token = cfg.token().map(|t| t.expose().to_string());
    router_for(service, token, cfg.addr()?, &cfg.hosts)
}

/// [`router`] with an explicit token and bind address (tests).
pub fn router_with(
    service: Arc<Service>,
    token: Option<String>,
    bound: SocketAddr,
) -> Result<Router, String> {
    router_for(service, token, bound, &[])
}

/// [`router_with`] with the extra host names of `admin.hosts`.
pub fn router_for(
    service: Arc<Service>,
    token: Option<String>,
    bound: SocketAddr,
    hosts: &[String],
) -> Result<Router, String> {
    if !bound.ip().is_loopback() && token.is_none() {
        return Err(format!(
            "refusing to serve the admin API on {bound} without a token: set the \
             environment variable named by admin.token_env, or bind 127.0.0.1"
        ));
    }
    let request_guard = Arc::new(RequestGuard::new(bound, hosts, token.is_some()));
    let state = AppState {
        service,
        session: token.as_deref().map(|t| Arc::from(session_value(t))),
        token: token.map(Arc::from),
    };
    Ok(Router::new()
        .route("/", get(web::page))
        .route("/login", get(web::login_form).post(web::login))
        .route("/assets/page.css", get(web::style))
        .route("/assets/page.js", get(web::script))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/plugins", get(api::plugins))
        .route("/plugins/refused", get(api::refused))
        .route("/plugins/{name}/run", post(api::run))
        .route("/plugins/{name}/pause", post(api::pause))
        .route("/plugins/{name}/resume", post(api::resume))
        .route("/plugins/{name}/coverage", get(api::coverage))
        .route("/plugins/{name}/coverage/reset", post(api::coverage_reset))
        .route("/runs", get(api::runs))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            request_guard,
            guard::guard,
        )))
}

/// Whether the request carries the token (header) or a signed-in
/// browser's session cookie; always when no token is set.
fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    let (Some(token), Some(session)) = (&state.token, &state.session) else {
        return true;
    };
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.is_some_and(|b| same(b, token))
        || cookie(headers, SESSION_COOKIE).is_some_and(|c| same(c, session))
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if signed_in(state, headers) {
        Ok(())
    } else {
        Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({ "error": "missing or wrong bearer token" })),
            )
                .into_response(),
        ))
    }
}

fn error(status: StatusCode, e: impl ToString) -> Response {
    (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

fn start_status(e: &StartError) -> StatusCode {
    match e {
        StartError::Unknown(_) => StatusCode::NOT_FOUND,
        StartError::Paused(_) | StartError::Busy { .. } => StatusCode::CONFLICT,
        StartError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn start_error(e: StartError) -> Response {
    error(start_status(&e), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.append(
            "cookie",
            "a=1; crawlhost_session=abc ; b=2".parse().unwrap(),
        );
        h.append("cookie", "c=3".parse().unwrap());
        assert_eq!(cookie(&h, "crawlhost_session"), Some("abc"));
        assert_eq!(cookie(&h, "c"), Some("3"));
        assert_eq!(cookie(&h, "session"), None);
    }

    #[test]
    fn the_session_is_derived_from_the_token_and_is_not_it() {
        let v = session_value("secret");
        assert_eq!(v.len(), 64);
        assert!(!v.contains("secret"));
        assert_ne!(v, session_value("secret2"));
        assert!(same(&v, &session_value("secret")));
        assert!(!same("", &v));
    }
}
