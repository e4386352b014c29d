//! The JSON endpoints: health, plugins, refused files, runs, manual runs,
//! pause and resume, coverage baselines.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::web::{form_answer, wants_html};
use super::{AppState, authorized, error, start_error, start_status};

pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    let status = if state.service.stopping() {
        "stopping"
    } else {
        "ok"
    };
    Json(serde_json::json!({ "status": status, "plugins": state.service.plugins().len() }))
        .into_response()
}

pub(super) async fn plugins(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    Json(state.service.plugins()).into_response()
}

pub(super) async fn refused(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    Json(state.service.refused()).into_response()
}

pub(super) async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return *r;
    }
    let result = state.service.start_run(&name).await;
    if wants_html(&headers) {
        return form_answer(result.map_err(|e| (start_status(&e), e.to_string())));
    }
    match result {
        Ok(run) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "started": run })),
        )
            .into_response(),
        Err(e) => start_error(e),
    }
}

pub(super) async fn pause(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    set_paused(&state, &headers, name, true)
}

pub(super) async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    set_paused(&state, &headers, name, false)
}

/// Pause or resume `name`: `{"paused": name}` / `{"resumed": name}`, or
/// the page's answer to a plain form.
fn set_paused(state: &AppState, headers: &HeaderMap, name: String, paused: bool) -> Response {
    if let Err(r) = authorized(state, headers) {
        return *r;
    }
    let result = state.service.set_paused(&name, paused);
    if wants_html(headers) {
        return form_answer(
            result
                .map(|()| name)
                .map_err(|e| (start_status(&e), e.to_string())),
        );
    }
    let verb = if paused { "paused" } else { "resumed" };
    match result {
        Ok(()) => Json(serde_json::json!({ verb: name })).into_response(),
        Err(e) => start_error(e),
    }
}

/// `GET /plugins/{name}/coverage`: the stored baseline and last run.
pub(super) async fn coverage(
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
pub(super) async fn coverage_reset(
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
pub(super) struct RunsQuery {
    plugin: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn runs(
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
