//! The admin API (axum): plugins, runs, refused files, manual runs,
//! pause/resume, coverage baselines, `/metrics` and `/healthz`.
//!
//! Bound to 127.0.0.1 by default. A token (from the environment variable
//! named by `admin.token_env`) is required on every request except
//! `/healthz` when one is set, and the host refuses to bind a non-loopback
//! address without one: the API can start crawls.

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

/// `[admin]` in crawlhost.toml.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Serve the admin API in `crawlhost serve`. Default true.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Address to bind. Default `127.0.0.1:7878`. A non-loopback address
    /// requires a token.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Environment variable holding the bearer token. Default
    /// `CRAWLHOST_ADMIN_TOKEN`; when it is set, every request but `/healthz`
    /// needs `Authorization: Bearer <token>`.
    #[serde(default = "default_token_env")]
    pub token_env: String,
}

fn default_enabled() -> bool {
    true
}
fn default_listen() -> String {
    "127.0.0.1:7878".to_string()
}
fn default_token_env() -> String {
    "CRAWLHOST_ADMIN_TOKEN".to_string()
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: default_enabled(),
            listen: default_listen(),
            token_env: default_token_env(),
        }
    }
}

impl AdminConfig {
    /// The address to bind, checked.
    pub fn addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|e| format!("admin.listen `{}` is not host:port: {e}", self.listen))
    }

    /// The token, if the environment variable is set and non-empty.
    pub fn token(&self) -> Option<crate::config::SecretString> {
        std::env::var(&self.token_env)
            .ok()
            .filter(|t| !t.is_empty())
            .map(Into::into)
    }
}

#[derive(Clone)]
struct AppState {
    service: Arc<Service>,
    token: Option<Arc<str>>,
}

/// Build the router for a listener bound to `bound` (checked against the
/// token rule).
pub fn router(service: Arc<Service>, settings: &Settings) -> Result<Router, String> {
    let cfg = settings.admin.clone().unwrap_or_default();
    let token = cfg.token().map(|t| t.expose().to_string());
    router_with(service, token, cfg.addr()?)
}

/// [`router`] with an explicit token and bind address (tests).
pub fn router_with(
    service: Arc<Service>,
    token: Option<String>,
    bound: SocketAddr,
) -> Result<Router, String> {
    if !bound.ip().is_loopback() && token.is_none() {
        return Err(format!(
            "refusing to serve the admin API on {bound} without a token: set the \
             environment variable named by admin.token_env, or bind 127.0.0.1"
        ));
    }
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
        .with_state(state))
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
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
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
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
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
