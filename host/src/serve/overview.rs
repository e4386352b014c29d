//! What the status page shows, gathered in one place: the plugin table,
//! refused files, each plugin's last runs from the frontier journal, field
//! coverage over those runs, the sink's partitions against the end of the
//! log, and the forward log's backlog.
//!
//! [`Overview::gather`] does the reading (journal, bus end offsets); the
//! page ([`super::page`]) only renders what it returns, so rendering is a
//! pure function tested without a server.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{PluginInfo, Refusal, Service};
use crate::bus::Backlog;
use crate::coverage::RunCoverage;
use crate::coverage::drift::DriftAlarm;
use crate::run::TaskFailure;
use crate::sink::status::{PartitionStatus, StatusView, lag};

/// Runs listed per plugin.
pub const RUNS_LISTED: usize = 10;
/// Runs the coverage chart spans per plugin.
pub const COVERAGE_RUNS: usize = 20;

/// Everything the page shows, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub now_ms: i64,
    pub stopping: bool,
    pub plugins: Vec<PluginInfo>,
    pub refused: Vec<Refusal>,
    /// Per plugin (the loaded ones), newest run first, up to
    /// [`COVERAGE_RUNS`].
    pub runs: BTreeMap<String, Vec<RunView>>,
    /// Set when the journal could not be read.
    pub runs_error: Option<String>,
    pub sink: Option<SinkOverview>,
    /// `None` on the embedded bus (no forward log).
    pub backlog: Option<Backlog>,
}

/// One run as the journal has it: the summary's fields the page shows,
/// each optional, so a summary written by an older or newer host still
/// shows what it has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunView {
    pub run_id: String,
    pub plugin_sha256: String,
    pub started_at_ms: i64,
    /// `running`, `finished`, `interrupted` or `abandoned` (the journal's).
    pub status: String,
    pub summary: Option<SummaryView>,
}

/// The parts of a run summary the page uses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SummaryView {
    pub plugin_version: String,
    pub duration_ms: u64,
    pub tasks_done: u64,
    pub tasks_failed: Vec<TaskFailure>,
    pub retries: u64,
    pub records: u64,
    pub records_by_topic: BTreeMap<String, u64>,
    pub dead_letters: u64,
    pub fatal: Option<String>,
    pub resumed: bool,
    pub interrupted: bool,
    pub coverage: RunCoverage,
    pub drift: Vec<DriftAlarm>,
}

impl RunView {
    /// What the run came to, in one word: `running`, `failed` (it could
    /// not complete), `interrupted`, `abandoned`, `partial` (some tasks
    /// failed for good) or `ok`.
    pub fn outcome(&self) -> &'static str {
        match (self.status.as_str(), &self.summary) {
            ("running", _) => "running",
            ("abandoned", _) => "abandoned",
            (_, Some(s)) if s.fatal.is_some() => "failed",
            ("interrupted", _) => "interrupted",
            (_, Some(s)) if s.interrupted => "interrupted",
            (_, Some(s)) if !s.tasks_failed.is_empty() => "partial",
            (_, Some(_)) => "ok",
            (_, None) => "unknown",
        }
    }
}

/// The sink `serve` runs.
#[derive(Debug, Clone, Default)]
pub struct SinkOverview {
    pub group: String,
    pub topics: Vec<String>,
    /// Where objects go, for people (bucket and prefix, or a directory).
    pub store: String,
    /// Why the sink stopped, when it did.
    pub error: Option<String>,
    pub status: StatusView,
    /// Per partition of `status`, in the same order: the end of the log
    /// (`None` when the bus could not say).
    pub ends: Vec<Option<u64>>,
}

impl SinkOverview {
    /// Rows of topic, partition, the sink's state and the lag behind the
    /// end of the log.
    pub fn rows(&self) -> impl Iterator<Item = (&str, u32, &PartitionStatus, Option<u64>)> {
        self.status
            .partitions
            .iter()
            .zip(&self.ends)
            .map(|((t, p, s), end)| (t.as_str(), *p, s, end.map(|e| lag(s.committed, e))))
    }
}

impl SinkOverview {
    /// The sink `service` runs, with the end of each of its partitions'
    /// logs asked of the bus now; `None` without a sink.
    pub async fn gather(service: &Service) -> Option<SinkOverview> {
        let h = service.sink_handle()?;
        let status = h.status.view();
        // Bounded and asked together: a broker that does not answer must
        // not hold the page (or a scrape) for its full timeout.
        let ends = crate::metrics::roles::partition_ends(
            service.host().bus.as_ref(),
            status.partitions.iter().map(|(t, p, _)| (t.as_str(), *p)),
        )
        .await;
        Some(SinkOverview {
            group: h.group.clone(),
            topics: h.topics.clone(),
            store: h.store.clone(),
            error: h.error(),
            status,
            ends,
        })
    }
}

/// Parse the journal's JSON summary; a summary that is not JSON is shown
/// as missing rather than failing the page.
pub fn parse_summary(json: Option<&str>) -> Option<SummaryView> {
    serde_json::from_str(json?).ok()
}

impl Overview {
    /// Read everything the page shows from `service`.
    pub async fn gather(service: &Service) -> Overview {
        let plugins = service.plugins();
        let mut runs = BTreeMap::new();
        let mut runs_error = None;
        for p in &plugins {
            match service
                .host()
                .journal
                .recent_runs(Some(&p.name), COVERAGE_RUNS)
            {
                Ok(rows) => {
                    let views = rows
                        .into_iter()
                        .map(|r| RunView {
                            summary: parse_summary(r.summary.as_deref()),
                            run_id: r.run_id,
                            plugin_sha256: r.plugin_hash,
                            started_at_ms: r.started_at_ms,
                            status: r.status,
                        })
                        .collect();
                    runs.insert(p.name.clone(), views);
                }
                Err(e) => runs_error = Some(e.to_string()),
            }
        }
        let sink = SinkOverview::gather(service).await;
        Overview {
            now_ms: crate::time::now_ms(),
            stopping: service.stopping(),
            plugins,
            refused: service.refused(),
            runs,
            runs_error,
            sink,
            backlog: service.host().bus.backlog(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_read_field_by_field() {
        // Unknown fields and a missing one do not lose the rest.
        let s = parse_summary(Some(
            r#"{"tasks_done": 4, "records": 9, "future_field": [1],
                "records_by_topic": {"t": 9},
                "tasks_failed": [{"key":"k","kind":"page","error_kind":"parse","error":"no title","attempts":1}]}"#,
        ))
        .unwrap();
        assert_eq!(s.tasks_done, 4);
        assert_eq!(s.records_by_topic["t"], 9);
        assert_eq!(s.tasks_failed[0].error, "no title");
        assert_eq!(s.duration_ms, 0);
        assert_eq!(parse_summary(Some("not json")), None);
        assert_eq!(parse_summary(None), None);
    }

    #[test]
    fn outcomes() {
        let run = |status: &str, summary: Option<SummaryView>| RunView {
            status: status.into(),
            summary,
            ..RunView::default()
        };
        let ok = SummaryView::default();
        assert_eq!(run("running", None).outcome(), "running");
        assert_eq!(run("finished", Some(ok.clone())).outcome(), "ok");
        assert_eq!(
            run(
                "finished",
                Some(SummaryView {
                    fatal: Some("plan failed".into()),
                    ..ok.clone()
                })
            )
            .outcome(),
            "failed"
        );
        let failed = TaskFailure {
            key: "k".into(),
            kind: "page".into(),
            error_kind: "parse".into(),
            error: "x".into(),
            attempts: 1,
        };
        assert_eq!(
            run(
                "finished",
                Some(SummaryView {
                    tasks_failed: vec![failed],
                    ..ok.clone()
                })
            )
            .outcome(),
            "partial"
        );
        assert_eq!(run("interrupted", Some(ok)).outcome(), "interrupted");
        assert_eq!(run("abandoned", None).outcome(), "abandoned");
        assert_eq!(run("finished", None).outcome(), "unknown");
    }
}
