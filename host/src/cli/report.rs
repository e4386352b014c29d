//! What `run` and `triggers` print about a run: its summary (counts,
//! fetches, failed tasks, the fatal cause) and its field coverage with the
//! drift check and alarms. Text only; printing is the caller's.

use crate::coverage::{DriftAlarm, DriftCheck, RunCoverage};
use crate::run::RunSummary;
use crate::time::format_time;

use super::lines;

/// A run's summary, with its coverage lines when `with_coverage` (a
/// `triggers` pass prints one coverage block for all its runs instead).
pub(super) fn summary_text(s: &RunSummary, with_coverage: bool) -> String {
    let mut out = vec![format!(
        "run {} of {} {}: {} tasks done, {} failed, {} retries, {} records in {:.1}s",
        s.run_id,
        s.plugin,
        s.plugin_version,
        s.tasks_done,
        s.tasks_failed.len(),
        s.retries,
        s.records,
        s.duration_ms as f64 / 1000.0
    )];
    for (topic, n) in &s.records_by_topic {
        out.push(format!("  {topic}: {n} records"));
    }
    if s.dead_letters > 0 {
        out.push(format!("  ({} of them dead letters)", s.dead_letters));
    }
    let f = &s.fetch;
    out.push(format!(
        "  fetches: {} requests, {} bytes, {} errors (2xx {}, 3xx {}, 4xx {}, 5xx {})",
        f.requests, f.bytes, f.errors, f.status_2xx, f.status_3xx, f.status_4xx, f.status_5xx
    ));
    if f.retries + f.throttled_ms + f.circuit_rejections + f.robots_denied + f.replayed > 0 {
        out.push(format!(
            "  http: {} retries, {:.1}s waiting for politeness, {} refused by open circuits, {} by robots.txt, {} replayed",
            f.retries,
            f.throttled_ms as f64 / 1000.0,
            f.circuit_rejections,
            f.robots_denied,
            f.replayed
        ));
    }
    if !s.tasks_failed.is_empty() {
        out.push("  failed tasks:".into());
        for f in &s.tasks_failed {
            out.push(format!(
                "    {} [{}] after {} attempt(s): {}: {}",
                f.key, f.kind, f.attempts, f.error_kind, f.error
            ));
        }
    }
    let mut text = lines(out);
    if with_coverage {
        text += &coverage_text(&s.plugin, &s.coverage, &s.drift_check, &s.drift);
    }
    if let Some(fatal) = &s.fatal {
        text += &format!("  RUN FAILED: {fatal}\n");
    }
    text
}

/// The coverage lines, the drift check and the alarms of a run (or of a
/// `triggers --once` pass).
pub(super) fn coverage_text(
    plugin: &str,
    coverage: &RunCoverage,
    check: &DriftCheck,
    drift: &[DriftAlarm],
) -> String {
    let mut out = Vec::new();
    let report = coverage.report_lines();
    if !report.is_empty() {
        out.push("  coverage (records with the field present and not null):".to_string());
        out.extend(report.into_iter().map(|line| format!("    {line}")));
    }
    match check {
        DriftCheck::BaselineSet => out
            .push("  coverage baseline: this run (the next runs are compared with it)".to_string()),
        DriftCheck::Compared {
            baseline_run,
            baseline_started_at_ms,
            replaced,
        } => out.push(format!(
            "  coverage compared with baseline run {baseline_run} ({}){}",
            format_time(*baseline_started_at_ms),
            if *replaced {
                "; this run is the new baseline"
            } else {
                "; baseline kept"
            }
        )),
        DriftCheck::Skipped { .. } => {}
    }
    for a in drift {
        out.push(format!("DRIFT {}", a.message));
    }
    if !drift.is_empty() {
        out.push(format!(
            "  the site probably changed: see `crawlhost coverage show {plugin}`; after fixing \
             the plugin, or to accept the change, `crawlhost coverage reset {plugin}`"
        ));
    }
    lines(out)
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::coverage::drift::DriftKind;
    use crate::run::{FetchTotals, TaskFailure};

    /// A finished run with two topics, one failed task and a baseline set.
    pub(in crate::cli) fn summary() -> RunSummary {
        let mut coverage = RunCoverage::default();
        coverage.add_record(
            "products",
            &crate::coverage::scan(r#"{"name":"a","price":null}"#).unwrap(),
        );
        RunSummary {
            run_id: "echo-1-abcd".into(),
            plugin: "echo".into(),
            plugin_version: "0.1.0".into(),
            started_at_ms: 0,
            duration_ms: 1300,
            tasks_done: 3,
            tasks_failed: vec![TaskFailure {
                key: "page-2".into(),
                kind: "page".into(),
                error_kind: "blocked".into(),
                error: "403".into(),
                attempts: 4,
            }],
            retries: 3,
            duplicate_tasks: 0,
            records: 5,
            records_by_topic: BTreeMap::from([("brands".into(), 1), ("products".into(), 4)]),
            dead_letters: 0,
            fetch: FetchTotals {
                requests: 7,
                bytes: 1024,
                errors: 1,
                status_2xx: 6,
                status_4xx: 1,
                ..FetchTotals::default()
            },
            fatal: None,
            resumed: false,
            interrupted: false,
            coverage,
            drift: Vec::new(),
            drift_check: DriftCheck::BaselineSet,
        }
    }

    pub(in crate::cli) fn alarm(message: &str) -> DriftAlarm {
        DriftAlarm {
            kind: DriftKind::Coverage,
            topic: "products".into(),
            field: Some("price".into()),
            before: 0.9,
            now: 0.1,
            records_before: 10,
            records_now: 10,
            baseline_run: "echo-0".into(),
            baseline_started_at_ms: 0,
            message: message.into(),
        }
    }

    #[test]
    fn a_summary_names_counts_topics_fetches_and_failed_tasks() {
        let text = summary_text(&summary(), false);
        let want = "\
run echo-1-abcd of echo 0.1.0: 3 tasks done, 1 failed, 3 retries, 5 records in 1.3s
  brands: 1 records
  products: 4 records
  fetches: 7 requests, 1024 bytes, 1 errors (2xx 6, 3xx 0, 4xx 1, 5xx 0)
  failed tasks:
    page-2 [page] after 4 attempt(s): blocked: 403
";
        assert_eq!(text, want);
    }

    #[test]
    fn http_politeness_dead_letters_and_a_fatal_cause_show_when_present() {
        let mut s = summary();
        s.tasks_failed.clear();
        s.dead_letters = 2;
        s.fetch.throttled_ms = 1500;
        s.fetch.robots_denied = 1;
        s.fatal = Some("plan failed: boom".into());
        let text = summary_text(&s, false);
        assert!(text.contains("\n  (2 of them dead letters)\n"), "{text}");
        assert!(
            text.contains(
                "\n  http: 0 retries, 1.5s waiting for politeness, 0 refused by open circuits, 1 by robots.txt, 0 replayed\n"
            ),
            "{text}"
        );
        assert!(!text.contains("failed tasks"), "{text}");
        assert!(
            text.ends_with("  RUN FAILED: plan failed: boom\n"),
            "{text}"
        );
    }

    #[test]
    fn coverage_comes_before_the_fatal_cause_when_asked_for() {
        let mut s = summary();
        s.fatal = Some("x".into());
        let text = summary_text(&s, true);
        let coverage = text.find("  coverage (records").expect("coverage lines");
        let baseline = text.find("  coverage baseline: this run").expect("check");
        let fatal = text.find("  RUN FAILED: x").unwrap();
        assert!(coverage < baseline && baseline < fatal, "{text}");
        assert!(
            text.contains("\n    products"),
            "coverage lines indented: {text}"
        );
    }

    #[test]
    fn a_compared_run_names_its_baseline_and_what_became_of_it() {
        let check = |replaced| DriftCheck::Compared {
            baseline_run: "echo-0".into(),
            baseline_started_at_ms: 0,
            replaced,
        };
        let empty = RunCoverage::default();
        assert_eq!(
            coverage_text("echo", &empty, &check(true), &[]),
            "  coverage compared with baseline run echo-0 (1970-01-01 00:00 UTC); this run is the new baseline\n"
        );
        assert!(coverage_text("echo", &empty, &check(false), &[]).ends_with("; baseline kept\n"));
        let skipped = DriftCheck::Skipped {
            reason: "triggered".into(),
        };
        assert_eq!(coverage_text("echo", &empty, &skipped, &[]), "");
    }

    #[test]
    fn drift_alarms_are_listed_with_what_to_do() {
        let skipped = DriftCheck::Skipped { reason: "x".into() };
        let text = coverage_text(
            "echo",
            &RunCoverage::default(),
            &skipped,
            &[alarm("price fell"), alarm("name fell")],
        );
        assert_eq!(
            text,
            "DRIFT price fell\nDRIFT name fell\n  the site probably changed: see `crawlhost coverage \
             show echo`; after fixing the plugin, or to accept the change, `crawlhost coverage \
             reset echo`\n"
        );
    }
}
