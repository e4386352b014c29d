//! `GET /metrics`: the process's counters ([`crate::metrics`]) plus the
//! gauges only `serve` knows: plugins loaded and their health, the sink's
//! partitions and lag, the forward log's backlog.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use std::fmt::Write;

use super::{AppState, authorized};
use crate::bus::Backlog;
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
    let sink = SinkOverview::gather(&state.service).await;
    render_sink(&mut body, sink.as_ref());
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

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value in the exposition format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The sink's series: nothing without a sink in this process.
fn render_sink(out: &mut String, sink: Option<&SinkOverview>) {
    let Some(sink) = sink else {
        return;
    };
    let v = &sink.status;
    family(
        out,
        "crawlhost_sink_partitions",
        "gauge",
        "Partitions the sink in this process serves.",
    );
    let _ = writeln!(out, "crawlhost_sink_partitions {}", v.partitions.len());
    for (name, help, value) in [
        (
            "crawlhost_sink_records_written_total",
            "Records the sink wrote into durable objects.",
            v.records_written,
        ),
        (
            "crawlhost_sink_objects_written_total",
            "Objects the sink made visible.",
            v.objects_written,
        ),
        (
            "crawlhost_sink_dead_letters_total",
            "Records the sink sent to its dead-letter topic.",
            v.dead_letters,
        ),
    ] {
        family(out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        out,
        "crawlhost_sink_lag_records",
        "gauge",
        "Records in the partition's log past the sink's committed offset (not yet durable in the store).",
    );
    for (topic, partition, _, lag) in sink.rows() {
        if let Some(lag) = lag {
            let _ = writeln!(
                out,
                "crawlhost_sink_lag_records{{topic=\"{}\",partition=\"{partition}\"}} {lag}",
                label(topic)
            );
        }
    }
    family(
        out,
        "crawlhost_sink_open_records",
        "gauge",
        "Records read into the partition's open batch, not yet uploaded.",
    );
    for (topic, partition, p) in &v.partitions {
        let _ = writeln!(
            out,
            "crawlhost_sink_open_records{{topic=\"{}\",partition=\"{partition}\"}} {}",
            label(topic),
            p.open_records
        );
    }
}

/// The forward log's series; zero on a bus without one, so a dashboard
/// panel reads 0 rather than "no data".
fn render_backlog(out: &mut String, backlog: Option<Backlog>) {
    let b = backlog.unwrap_or(Backlog {
        forwarding: false,
        pending_bytes: 0,
        forwarded: 0,
    });
    family(
        out,
        "crawlhost_forward_backlog_bytes",
        "gauge",
        "Bytes of records waiting in the local forward log for the broker (0 without a forward log).",
    );
    let _ = writeln!(out, "crawlhost_forward_backlog_bytes {}", b.pending_bytes);
    family(
        out,
        "crawlhost_forward_active",
        "gauge",
        "1 while records go to the local forward log instead of the broker.",
    );
    let _ = writeln!(out, "crawlhost_forward_active {}", u8::from(b.forwarding));
    family(
        out,
        "crawlhost_forward_forwarded_records_total",
        "counter",
        "Records delivered to the broker through the forward log since start.",
    );
    let _ = writeln!(
        out,
        "crawlhost_forward_forwarded_records_total {}",
        b.forwarded
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::status::{PartitionStatus, StatusView};

    #[test]
    fn sink_series_per_partition_and_lag_only_where_known() {
        let sink = SinkOverview {
            status: StatusView {
                records_written: 40,
                partitions: vec![
                    (
                        "items".into(),
                        0,
                        PartitionStatus {
                            committed: 40,
                            position: 45,
                            open_records: 5,
                        },
                    ),
                    ("items".into(), 1, PartitionStatus::default()),
                ],
                ..StatusView::default()
            },
            ends: vec![Some(50), None],
            ..SinkOverview::default()
        };
        let mut out = String::new();
        render_sink(&mut out, Some(&sink));
        assert!(out.contains("crawlhost_sink_lag_records{topic=\"items\",partition=\"0\"} 10\n"));
        assert!(!out.contains("partition=\"1\"} 0\ncrawlhost_sink_open"));
        assert!(out.contains("crawlhost_sink_open_records{topic=\"items\",partition=\"1\"} 0\n"));
        assert!(out.contains("crawlhost_sink_records_written_total 40\n"));
        assert!(out.contains("# TYPE crawlhost_sink_records_written_total counter"));
        let mut none = String::new();
        render_sink(&mut none, None);
        assert!(none.is_empty());
    }

    #[test]
    fn the_forward_log_reads_zero_without_one() {
        let mut out = String::new();
        render_backlog(&mut out, None);
        assert!(out.contains("crawlhost_forward_backlog_bytes 0\n"));
        let mut out = String::new();
        render_backlog(
            &mut out,
            Some(Backlog {
                forwarding: true,
                pending_bytes: 900,
                forwarded: 3,
            }),
        );
        assert!(out.contains("crawlhost_forward_backlog_bytes 900\n"));
        assert!(out.contains("crawlhost_forward_active 1\n"));
        assert!(out.contains("crawlhost_forward_forwarded_records_total 3\n"));
        assert_eq!(label("a\"b"), "a\\\"b");
    }
}
