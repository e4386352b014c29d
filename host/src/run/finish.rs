//! The end of a run: totals into the summary, the drift check against the
//! plugin's baseline, metrics, the journal's end-of-run entry and the log
//! line. (The exit status a run asks of the CLI is
//! [`crate::cli::run_exit_code`].)

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::config::Settings;
use crate::coverage::DriftCheck;
use crate::http::FetchStats;
use crate::metrics::PluginMetrics;

use super::journal::Journal;
use super::{RunSummary, log_journal_error};

/// Close the books: the run's duration and fetch totals, its failures in
/// key order. Every run that got as far as calling `plan` ends here, those
/// `plan` stopped included.
pub(super) fn close(mut summary: RunSummary, stats: &FetchStats, started: Instant) -> RunSummary {
    summary.duration_ms = started.elapsed().as_millis() as u64;
    summary.fetch = stats.totals();
    summary.tasks_failed.sort_by(|a, b| a.key.cmp(&b.key));
    summary
}

/// After the task loop: compare coverage with the baseline (complete
/// scheduled runs), count the run in `metrics`, end it in the journal
/// (`interrupted` runs resume on the next start) and log it.
pub(super) fn conclude(
    settings: &Settings,
    journal: Option<&Journal>,
    metrics: Option<&PluginMetrics>,
    scheduled: bool,
    summary: &mut RunSummary,
) {
    check_drift(settings, scheduled, summary);
    if let Some(m) = metrics {
        count(m, summary);
    }
    if let Some(j) = journal {
        let status = if summary.interrupted {
            "interrupted"
        } else {
            "finished"
        };
        let json = serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into());
        if let Err(e) = j.end_run(&summary.run_id, status, &json) {
            log_journal_error(e);
        }
    }
    tracing::info!(
        plugin = %summary.plugin,
        run = %summary.run_id,
        tasks_done = summary.tasks_done,
        tasks_failed = summary.tasks_failed.len(),
        records = summary.records,
        interrupted = summary.interrupted,
        "Run finished."
    );
}

/// The run's share of the plugin's `/metrics` counters (its fetches are
/// counted live, see [`crate::metrics::fetch`]).
fn count(m: &PluginMetrics, summary: &RunSummary) {
    m.observe_coverage(&summary.coverage, &summary.drift);
    m.run_seconds.observe(summary.duration_ms as f64 / 1000.0);
    let counter = if summary.fatal.is_some() {
        &m.runs_failed
    } else {
        &m.runs_finished
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Compare a finished run's coverage with the plugin's baseline and store
/// it (see [`crate::coverage`]); fills `summary.drift` and
/// `summary.drift_check`. Only complete scheduled runs are compared: a
/// triggered run covers one trigger record, an incomplete or resumed one
/// part of the site.
fn check_drift(settings: &Settings, scheduled: bool, summary: &mut RunSummary) {
    if !scheduled {
        summary.drift_check = DriftCheck::Skipped {
            reason: "a triggered run (one trigger record) is not compared".into(),
        };
        return;
    }
    if !summary.is_complete() {
        let why = if summary.fatal.is_some() {
            "the run could not complete"
        } else if summary.interrupted {
            "the run was interrupted"
        } else {
            "a resumed run counts only part of its records"
        };
        summary.drift_check = DriftCheck::Skipped { reason: why.into() };
        return;
    }
    let store = crate::coverage::store::CoverageStore::new(&settings.data_dir);
    let run = crate::coverage::drift::Snapshot {
        run_id: summary.run_id.clone(),
        started_at_ms: summary.started_at_ms,
        plugin_version: summary.plugin_version.clone(),
        coverage: summary.coverage.clone(),
        alarms: Vec::new(),
    };
    match store.check_and_record(&settings.drift, &summary.plugin, run) {
        Ok((alarms, check)) => {
            for a in &alarms {
                tracing::warn!(plugin = %summary.plugin, run = %summary.run_id, topic = %a.topic, field = a.field.as_deref().unwrap_or(""), kind = a.kind.as_str(), "Drift: {}", a.message);
            }
            summary.drift = alarms;
            summary.drift_check = check;
        }
        Err(e) => {
            let e = crate::error_text::chain(&e);
            tracing::error!(plugin = %summary.plugin, error = %e, "Cannot keep the run's coverage; drift not checked.");
            summary.drift_check = DriftCheck::Skipped {
                reason: format!("coverage store: {e}"),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::TaskFailure;

    fn summary() -> RunSummary {
        let manifest = crate::contract::test_manifest("echo");
        RunSummary::empty(&manifest, "echo-1-0001".into(), 1, false)
    }

    fn failure(key: &str) -> TaskFailure {
        TaskFailure {
            key: key.into(),
            kind: "page".into(),
            error_kind: "parse".into(),
            error: "no list".into(),
            attempts: 1,
        }
    }

    #[test]
    fn closing_a_run_orders_its_failures_by_key() {
        let mut s = summary();
        s.tasks_failed = vec![failure("b"), failure("a"), failure("c")];
        let s = close(s, &FetchStats::default(), Instant::now());
        let keys: Vec<&str> = s.tasks_failed.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(s.fetch.requests, 0);
    }

    #[test]
    fn a_finished_run_counts_as_finished_or_failed() {
        let m = PluginMetrics::default();
        count(&m, &summary());
        count(&m, &summary());
        let mut failed = summary();
        failed.fatal = Some("plan failed".into());
        count(&m, &failed);
        assert_eq!(m.runs_finished.load(Ordering::Relaxed), 2);
        assert_eq!(m.runs_failed.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn only_complete_scheduled_runs_are_compared_for_drift() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings: Settings = crate::config::Config::default().validate().unwrap();
        settings.data_dir = dir.path().to_path_buf();
        let reason = |s: &RunSummary| match &s.drift_check {
            DriftCheck::Skipped { reason } => reason.clone(),
            other => panic!("compared: {other:?}"),
        };
        let mut s = summary();
        check_drift(&settings, false, &mut s);
        assert!(reason(&s).contains("triggered"), "{}", reason(&s));
        let mut s = summary();
        s.interrupted = true;
        check_drift(&settings, true, &mut s);
        assert_eq!(reason(&s), "the run was interrupted");
        let mut s = summary();
        s.resumed = true;
        check_drift(&settings, true, &mut s);
        assert!(reason(&s).starts_with("a resumed run"), "{}", reason(&s));
        let mut s = summary();
        s.fatal = Some("x".into());
        check_drift(&settings, true, &mut s);
        assert_eq!(reason(&s), "the run could not complete");
        let mut s = summary();
        check_drift(&settings, true, &mut s);
        assert_eq!(
            s.drift_check,
            DriftCheck::BaselineSet,
            "the first complete run"
        );
    }
}
