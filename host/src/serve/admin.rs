//! The admin API (axum): plugins, runs, refused files, manual runs,
//! pause/resume, coverage baselines, `/metrics` and `/healthz`.
//!
//! Bound to 127.0.0.1 by default. A token (from the environment variable
//! named by `admin.token_env`) is required on every request except
//! `/healthz` when one is set, and the host refuses to bind a non-loopback
//! address without one: the API can start crawls.
//!
//! Without a token, loopback is not a boundary against the operator's own
//! browser: any web page can send requests to 127.0.0.1, and a name the
//! attacker rebinds to 127.0.0.1 can even read the answers. So the API
//! answers only requests addressed to itself ([`RequestGuard`]): a `Host`
//! that is `localhost`, `127.0.0.1`, `[::1]`, the listen address or a name
//! in `admin.hosts` (checked when there is no token; with one, a browser
//! cannot authenticate on its own), and, on every state-changing request, an
//! `Origin` that is the API's own, or none unless the browser says the
//! request is cross-site (`Sec-Fetch-Site`). `/healthz` is exempt.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{Service, StartError};
use crate::config::Settings;

#[derive(Clone)]
struct AppState {
    service: Arc<Service>,
    token: Option<Arc<str>>,
}

/// Which requests the admin API accepts before looking at the route: see
/// the module documentation. Pure, so the policy is testable without a
/// server.
#[derive(Debug, Clone)]
pub struct RequestGuard {
    /// Lower-case host names (IPv6 without brackets) accepted in `Host`.
    names: Vec<String>,
    /// Check `Host` (no token is set).
    check_host: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the admin API does not answer to host `{0}` (add it to admin.hosts)")]
    Host(String),
    #[error("cross-origin request refused (origin `{0}` is not the admin API's own)")]
    Origin(String),
    #[error("cross-site request refused (Sec-Fetch-Site: {0})")]
    FetchSite(String),
}

/// `host[:port]` of a `Host` header or an origin's authority, the host
/// lower-case and IPv6 without brackets; `None` when it is not that form.
fn split_authority(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (value, None),
        }
    };
    if host.is_empty() || (host.contains([':', '/', '@', ' ']) && !value.starts_with('[')) {
        return None;
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

impl RequestGuard {
    /// The guard of an API bound to `bound`; `extra` are `admin.hosts`;
    /// `has_token` turns the `Host` check off.
    pub fn new(bound: SocketAddr, extra: &[String], has_token: bool) -> Self {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !bound.ip().is_unspecified() {
            names.push(bound.ip().to_string());
        }
        names.extend(
            extra
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase()),
        );
        Self {
            names,
            check_host: !has_token,
        }
    }

    /// Check one request: its method, path and headers (`host`, `origin`,
    /// `sec-fetch-site`).
    pub fn check(
        &self,
        method: &axum::http::Method,
        path: &str,
        host: Option<&str>,
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> Result<(), Refusal> {
        if path == "/healthz" {
            return Ok(());
        }
        if self.check_host {
            let ok = host
                .and_then(split_authority)
                .is_some_and(|(h, _)| self.names.contains(&h));
            if !ok {
                return Err(Refusal::Host(host.unwrap_or("").to_string()));
            }
        }
        let safe = matches!(
            *method,
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
        if safe {
            return Ok(());
        }
        match origin {
            Some(origin) => {
                // Same origin: http://<the Host the request was sent to>.
                let own = host
                    .and_then(split_authority)
                    .map(|(h, p)| (h, p.unwrap_or(80)));
                let given = origin
                    .trim()
                    .strip_prefix("http://")
                    .and_then(split_authority)
                    .map(|(h, p)| (h, p.unwrap_or(80)));
                if own.is_none() || own != given {
                    return Err(Refusal::Origin(origin.to_string()));
                }
            }
            None => {
                if let Some(site) = fetch_site
                    && !matches!(site.trim(), "same-origin" | "none")
                {
                    return Err(Refusal::FetchSite(site.to_string()));
                }
            }
        }
        Ok(())
    }
}

async fn guard(
    State(guard): State<Arc<RequestGuard>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let text = |name: axum::http::HeaderName| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not text>"))
    };
    let host = text(axum::http::header::HOST)
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let verdict = guard.check(
        request.method(),
        request.uri().path(),
        host.as_deref(),
        text(axum::http::header::ORIGIN),
        text(axum::http::HeaderName::from_static("sec-fetch-site")),
    );
    match verdict {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                reason = %refusal,
                "Admin API request refused."
            );
            error(StatusCode::FORBIDDEN, refusal)
        }
    }
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
        token: token.map(Arc::from),
    };
    Ok(Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/plugins", get(plugins))
        .route("/plugins/refused", get(refused))
        .route("/plugins/{name}/run", post(run))
        .route("/plugins/{name}/pause", post(pause))
        .route("/plugins/{name}/resume", post(resume))
        .route("/plugins/{name}/coverage", get(coverage))
        .route("/plugins/{name}/coverage/reset", post(coverage_reset))
        .route("/runs", get(runs))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(request_guard, guard)))
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(token) = &state.token else {
        return Ok(());
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compare in constant time for equal lengths.
    let ok = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if ok {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn guard(token: bool) -> RequestGuard {
        RequestGuard::new(
            "127.0.0.1:7878".parse().unwrap(),
            &["crawler.local".into()],
            token,
        )
    }

    #[test]
    fn hosts_addressed_to_the_api_only() {
        let g = guard(false);
        let get = |host| g.check(&Method::GET, "/runs", host, None, None);
        for ok in [
            "127.0.0.1:7878",
            "127.0.0.1",
            "LOCALHOST:7878",
            "[::1]:7878",
            "[::1]",
            "crawler.local:7878",
        ] {
            assert_eq!(get(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7878",
            "127.0.0.1.evil.example",
            "localhost.",
            "localhost:78x",
            "localhost:",
            "[::1",
            "user@localhost",
            "::1",
            "",
        ] {
            assert!(matches!(get(Some(bad)), Err(Refusal::Host(_))), "{bad}");
        }
        assert!(get(None).is_err());
        // /healthz is exempt; with a token the Host is not checked.
        assert_eq!(
            g.check(&Method::GET, "/healthz", Some("evil"), None, None),
            Ok(())
        );
        assert_eq!(
            guard(true).check(&Method::GET, "/runs", Some("evil"), None, None),
            Ok(())
        );
        // A bound address other than loopback is accepted as itself.
        let g = RequestGuard::new("10.0.0.5:7878".parse().unwrap(), &[], false);
        assert_eq!(
            g.check(&Method::GET, "/runs", Some("10.0.0.5:7878"), None, None),
            Ok(())
        );
    }

    #[test]
    fn state_changes_need_the_apis_own_origin() {
        for g in [guard(false), guard(true)] {
            let post = |origin, site| {
                g.check(
                    &Method::POST,
                    "/plugins/x/run",
                    Some("127.0.0.1:7878"),
                    origin,
                    site,
                )
            };
            assert_eq!(post(None, None), Ok(()));
            assert_eq!(post(Some("http://127.0.0.1:7878"), None), Ok(()));
            assert_eq!(post(None, Some("same-origin")), Ok(()));
            assert_eq!(post(None, Some("none")), Ok(()));
            for bad in [
                "http://evil.example",
                "http://127.0.0.1:7879",
                "http://127.0.0.1",
                "https://127.0.0.1:7878",
                "http://localhost:7878",
                "null",
                "",
            ] {
                assert!(
                    matches!(post(Some(bad), None), Err(Refusal::Origin(_))),
                    "{bad}"
                );
            }
            for site in ["cross-site", "same-site"] {
                assert!(matches!(post(None, Some(site)), Err(Refusal::FetchSite(_))));
            }
            // Reads are not state changes.
            assert_eq!(
                g.check(
                    &Method::GET,
                    "/runs",
                    Some("127.0.0.1:7878"),
                    Some("http://evil.example"),
                    None
                ),
                Ok(())
            );
        }
        // Port 80 is the default of both.
        assert_eq!(
            guard(false).check(
                &Method::POST,
                "/plugins/x/run",
                Some("localhost"),
                Some("http://localhost:80"),
                None
            ),
            Ok(())
        );
    }
}

fn error(status: StatusCode, e: impl ToString) -> Response {
    (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

async fn healthz(State(state): State<AppState>) -> Response {
    let status = if state.service.stopping() {
        "stopping"
    } else {
        "ok"
    };
    Json(serde_json::json!({ "status": status, "plugins": state.service.plugins().len() }))
        .into_response()
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let plugins = state.service.plugins();
    let mut gauges = vec![(
        "crawlhost_plugins_loaded",
        "Plugins serving.",
        vec![],
        plugins.len() as f64,
    )];
    for p in &plugins {
        gauges.push((
            "crawlhost_plugin_healthy",
            "0 after repeated failed runs (unhealthy), else 1.",
            vec![("plugin", p.name.clone())],
            if p.health.starts_with("unhealthy") {
                0.0
            } else {
                1.0
            },
        ));
    }
    for p in &plugins {
        gauges.push((
            "crawlhost_plugin_degraded",
            "1 when the plugin's last complete run raised drift alarms.",
            vec![("plugin", p.name.clone())],
            if p.health.starts_with("degraded") {
                1.0
            } else {
                0.0
            },
        ));
    }
    for p in &plugins {
        gauges.push((
            "crawlhost_plugin_run_active",
            "1 while the plugin has a run in progress.",
            vec![("plugin", p.name.clone())],
            if p.active_run.is_some() { 1.0 } else { 0.0 },
        ));
    }
    let body = state.service.metrics.render(&gauges);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

async fn plugins(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    Json(state.service.plugins()).into_response()
}

async fn refused(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    Json(state.service.refused()).into_response()
}

fn start_error(e: StartError) -> Response {
    let status = match e {
        StartError::Unknown(_) => StatusCode::NOT_FOUND,
        StartError::Paused(_) | StartError::Busy { .. } => StatusCode::CONFLICT,
        StartError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e)
}

async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    match state.service.start_run(&name).await {
        Ok(run) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "started": run })),
        )
            .into_response(),
        Err(e) => start_error(e),
    }
}

async fn pause(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    match state.service.set_paused(&name, true) {
        Ok(()) => Json(serde_json::json!({ "paused": name })).into_response(),
        Err(e) => start_error(e),
    }
}

async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    match state.service.set_paused(&name, false) {
        Ok(()) => Json(serde_json::json!({ "resumed": name })).into_response(),
        Err(e) => start_error(e),
    }
}

/// `GET /plugins/{name}/coverage`: the stored baseline and last run.
async fn coverage(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    match state.service.coverage(&name) {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no coverage kept for `{name}` (no complete run yet)"),
        ),
        Err(crate::coverage::store::StoreError::BadName(n)) => {
            error(StatusCode::NOT_FOUND, format!("`{n}` is not a plugin name"))
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error_text::chain(&e),
        ),
    }
}

/// `POST /plugins/{name}/coverage/reset`: forget the baseline; the next
/// complete run sets a new one.
async fn coverage_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    match state.service.reset_coverage(&name) {
        Ok(had) => Json(serde_json::json!({ "reset": name, "had_baseline": had })).into_response(),
        Err(crate::coverage::store::StoreError::BadName(n)) => {
            error(StatusCode::NOT_FOUND, format!("`{n}` is not a plugin name"))
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::error_text::chain(&e),
        ),
    }
}

#[derive(Deserialize)]
struct RunsQuery {
    plugin: Option<String>,
    limit: Option<usize>,
}

async fn runs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RunsQuery>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let limit = q.limit.unwrap_or(50).min(1000);
    match state
        .service
        .host()
        .journal
        .recent_runs(q.plugin.as_deref(), limit)
    {
        Ok(rows) => {
            let rows: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|r| {
                    let summary = r
                        .summary
                        .as_deref()
                        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
                    serde_json::json!({
                        "run_id": r.run_id,
                        "plugin": r.plugin,
                        "plugin_sha256": r.plugin_hash,
                        "started_at_ms": r.started_at_ms,
                        "status": r.status,
                        "summary": summary,
                    })
                })
                .collect();
            Json(rows).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
