//! `crawlhost triggers`: run plugins on the records of their trigger topics
//! (one `plan` per record), until stopped or, with `--once`, until caught
//! up; each run's summary, then a line and the coverage of each plugin's
//! pass.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::metrics::listen::MetricsServer;
use crate::metrics::roles::{TriggerConsumer, TriggersRole};
use crate::shutdown::Shutdown;
use crate::trigger::{Observe, TriggerReport, Until, consume_observed, trigger_group};

use super::report::{coverage_text, summary_text};
use super::{
    EXIT_DRIFT, combine_exit, flush_bus, open_host, run_exit_code, select_plugins, warn_refused,
};

/// Arguments of `crawlhost triggers`.
#[derive(Debug, Args)]
pub struct TriggersArgs {
    /// Only this plugin (default: every enabled plugin with triggers).
    #[arg(long)]
    pub plugin: Option<String>,
    /// Handle the records present now, then exit (default: keep
    /// waiting for new ones).
    #[arg(long)]
    pub once: bool,
    /// Triggered runs at once per plugin.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Print the reports as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Serve `GET /metrics` (Prometheus text: trigger partitions held per
    /// plugin, their lag, rebalances, run counters) and `GET /healthz` on
    /// this address, e.g. 127.0.0.1:9101 (default: off). No token:
    /// read-only, it shows counts and topic and group names; bind a loopback
    /// address to keep it off the network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

/// `crawlhost triggers`: consume the trigger topics of triggered plugins.
pub(super) async fn triggers(settings: Settings, args: TriggersArgs) -> anyhow::Result<ExitCode> {
    let host = open_host(settings)?;
    let scan = host.scan_plugins().await?;
    warn_refused(&scan);
    let selected = select_plugins(&host, &scan, args.plugin.as_deref(), |p| {
        !p.manifest.triggers.is_empty()
    })?;
    if selected.is_empty() {
        bail!(
            "no plugins with triggers in {}",
            host.settings.plugins_dir.display()
        );
    }
    let until = if args.once {
        Until::CaughtUp
    } else {
        Until::Forever
    };
    // The triggered runs count into `metrics`; each consumer reports its
    // share of its plugin's trigger group for `--metrics-listen`.
    let metrics = Arc::new(Metrics::default());
    metrics
        .plugins_refused
        .store(scan.refused.len() as u64, Ordering::Relaxed);
    // SIGINT/SIGTERM: runs in flight finish and are committed, then each
    // consumer leaves its group (see `trigger::Observe::stop`).
    let stop = Shutdown::on_signals();
    let mut consumers = tokio::task::JoinSet::new();
    let mut observed = Vec::new();
    for plugin in selected {
        let ctx = host.run_context();
        let name = plugin.manifest.name.clone();
        let observe = Observe {
            member: Arc::default(),
            metrics: Some(metrics.plugin(&name)),
            stop: Some(stop.clone()),
        };
        observed.push(TriggerConsumer {
            group: trigger_group(&ctx, &name),
            plugin: name,
            member: observe.member.clone(),
        });
        consumers.spawn(consume_observed(
            ctx,
            plugin,
            args.concurrency,
            until,
            observe,
        ));
    }
    let role = || {
        Arc::new(TriggersRole {
            consumers: observed,
            metrics,
            bus: host.bus.clone(),
        }) as _
    };
    // No graceful stop here (a signal ends the process, and the runs in
    // flight are planned again from the committed positions), so the
    // endpoint's stop flag is never set: it stops when the passes are over,
    // or with the process.
    let endpoint = MetricsServer::start_if(args.metrics_listen, role, stop.clone()).await?;
    if let Some(m) = &endpoint {
        eprintln!("metrics on http://{}/metrics", m.local_addr());
    }
    let mut reports = Vec::new();
    let mut worst = 0u8;
    while let Some(joined) = consumers.join_next().await {
        let report = joined.context("a trigger consumer crashed")??;
        worst = combine_exit(worst, pass_exit_code(&report));
        if !args.json {
            print!("{}", report_text(&report));
        }
        reports.push(report);
    }
    if let Some(m) = endpoint {
        m.stop().await;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    flush_bus(&host).await?;
    Ok(ExitCode::from(worst))
}

/// The exit code of one plugin's pass: the worst of its runs, and drift (3)
/// when the pass's coverage raised alarms.
fn pass_exit_code(report: &TriggerReport) -> u8 {
    let mut worst = 0u8;
    for s in &report.summaries {
        worst = combine_exit(worst, run_exit_code(s));
    }
    if !report.drift.is_empty() {
        worst = combine_exit(worst, EXIT_DRIFT);
    }
    worst
}

/// One plugin's pass: each run's summary (one run per trigger record, so
/// without coverage), the pass's counts, and its coverage once.
fn report_text(report: &TriggerReport) -> String {
    let mut text = String::new();
    for s in &report.summaries {
        text += &summary_text(s, false);
    }
    text += &format!(
        "triggers of {} (group {}): {} record(s), {} run(s), {} dead-lettered\n",
        report.plugin, report.group, report.records, report.runs, report.dead_letters
    );
    text += &coverage_text(
        &report.plugin,
        &report.coverage,
        &report.drift_check,
        &report.drift,
    );
    text
}

#[cfg(test)]
mod tests {
    use super::super::report::tests::{alarm, summary};
    use super::super::tests::parse;
    use super::super::{Command, EXIT_FATAL, EXIT_TASK_FAILURES};
    use super::*;
    use crate::coverage::{DriftCheck, RunCoverage};

    fn triggers_args(args: &[&str]) -> TriggersArgs {
        let mut all = vec!["triggers"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Triggers(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn triggers_wait_for_records_four_runs_at_a_time_by_default() {
        let a = triggers_args(&[]);
        assert!(!a.once && !a.json && a.plugin.is_none() && a.metrics_listen.is_none());
        assert_eq!(a.concurrency, 4);
        let a = triggers_args(&["--once", "--concurrency", "1", "--plugin", "twitter"]);
        assert!(a.once);
        assert_eq!((a.concurrency, a.plugin.as_deref()), (1, Some("twitter")));
        let err = parse(&["triggers", "--concurrency", "many"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    fn report() -> TriggerReport {
        TriggerReport {
            plugin: "twitter".into(),
            group: "crawlhost.triggers.twitter".into(),
            records: 2,
            runs: 3,
            dead_letters: 1,
            summaries: vec![summary()],
            coverage: RunCoverage::default(),
            drift: Vec::new(),
            drift_check: DriftCheck::BaselineSet,
        }
    }

    #[test]
    fn a_pass_prints_its_runs_then_its_counts_then_its_coverage() {
        let text = report_text(&report());
        let run = text.find("run echo-1-abcd of echo").unwrap();
        let counts = text
            .find(
                "triggers of twitter (group crawlhost.triggers.twitter): 2 record(s), 3 run(s), 1 dead-lettered\n",
            )
            .unwrap();
        let baseline = text.find("  coverage baseline: this run").unwrap();
        assert!(run < counts && counts < baseline, "{text}");
        assert_eq!(text.matches("coverage baseline").count(), 1, "{text}");
    }

    #[test]
    fn a_pass_exits_with_its_worst_run_and_drift() {
        let mut r = report();
        assert_eq!(pass_exit_code(&r), EXIT_TASK_FAILURES);
        r.drift.push(alarm("x"));
        assert_eq!(pass_exit_code(&r), EXIT_DRIFT);
        r.summaries[0].fatal = Some("boom".into());
        assert_eq!(pass_exit_code(&r), EXIT_FATAL);
        r.summaries.clear();
        r.drift.clear();
        assert_eq!(pass_exit_code(&r), 0);
    }
}
