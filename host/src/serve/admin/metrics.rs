//! `GET /metrics`: the process's counters ([`crate::metrics`]) plus the
//! gauges only `serve` knows: plugins loaded and their health, the sink's
//! partitions and lag, the forward log's backlog (the last two written by
//! [`crate::metrics::series`], which `crawlhost sink` uses too).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{AppState, authorized};
use crate::metrics::series::{render_backlog, render_sink};
use crate::serve::overview::SinkOverview;

pub(super) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
    let mut body = state.service.metrics.render(&gauges);
    // The sink's series only with a sink in this process.
    if let Some(sink) = SinkOverview::gather(&state.service).await {
        render_sink(&mut body, &sink.status, &sink.ends);
    }
    render_backlog(&mut body, state.service.host().bus.backlog());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}
