//! The browser's side of the admin API: the status page (`GET /`), signing
//! in with the token (`/login`, sets the session cookie), the page's
//! stylesheet and script, and HTML answers to the page's buttons when they
//! were posted as plain forms (no script).
//!
//! Every HTML answer carries a Content-Security-Policy that allows only the
//! page's own assets and requests to the API itself, and refuses framing:
//! the page has buttons that start crawls.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, SESSION_COOKIE, error, same, signed_in};
use crate::serve::overview::Overview;
use crate::serve::page;

/// How long a browser stays signed in.
const SESSION_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

/// An HTML answer with the page's security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not `no-referrer`: with it Chromium sends `Origin: null` on the
    // page's own form posts, which the origin check rightly refuses.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn see_other(to: &'static str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

/// `GET /`: the status page, or the sign-in form (401) when a token is set
/// and the request has neither it nor a session.
pub(super) async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !signed_in(&state, &headers) {
        return html(StatusCode::UNAUTHORIZED, page::login(false));
    }
    let overview = Overview::gather(&state.service).await;
    html(StatusCode::OK, page::render(&overview))
}

/// `GET /login`: the form (straight to the page when no token is set).
pub(super) async fn login_form(State(state): State<AppState>) -> Response {
    if state.token.is_none() {
        return see_other("/");
    }
    html(StatusCode::OK, page::login(false))
}

/// `POST /login` with the form field `token`: on the right token, set the
/// session cookie and go to the page.
pub(super) async fn login(State(state): State<AppState>, body: String) -> Response {
    let (Some(token), Some(session)) = (&state.token, &state.session) else {
        return see_other("/");
    };
    let given = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !same(&given, token) {
        tracing::warn!("Admin API sign-in with a wrong token.");
        return html(StatusCode::UNAUTHORIZED, page::login(true));
    }
    let mut r = see_other("/");
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_MAX_AGE_SECS}"
    );
    match HeaderValue::from_str(&cookie) {
        Ok(v) => {
            r.headers_mut().insert(header::SET_COOKIE, v);
            r
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /assets/page.css`.
pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", page::STYLE)
}

/// `GET /assets/page.js`.
pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", page::SCRIPT)
}

/// Whether a POST came from a plain HTML form (a browser without the
/// page's script): it accepts HTML and not JSON.
pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html") && !accept.contains("application/json")
}

/// The answer to a button posted as a plain form: back to the page on
/// success, a short page with the reason otherwise.
pub(super) fn form_answer(result: Result<String, (StatusCode, String)>) -> Response {
    match result {
        Ok(_) => see_other("/"),
        Err((status, why)) => html(status, page::result(&why, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_form_posts_get_html() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, accept.parse().unwrap());
            wants_html(&h)
        };
        assert!(with(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!with("application/json"));
        assert!(!with("*/*"));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
