//! `crawlhost sink`: write topics out as objects (Kafka Connect S3 sink
//! semantics) to S3 or a local directory, configured by `[sink]` or by a
//! Kafka Connect connector config, until a signal, once, or until idle.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Settings;
use crate::metrics::listen::MetricsServer;
use crate::metrics::roles::SinkRole;
use crate::shutdown::Shutdown;
use crate::sink::connect_config::ConnectConfig;
use crate::sink::{RunMode, Sink, SinkReport, SystemClock};

use super::open_host;

/// Arguments of `crawlhost sink`.
#[derive(Debug, Args)]
pub struct SinkArgs {
    /// A Kafka Connect S3 sink connector config (JSON), used unchanged
    /// instead of `[sink]`; unknown properties are listed as ignored.
    #[arg(long, value_name = "FILE.json")]
    pub connect_config: Option<PathBuf>,
    /// Write the records present at start, flush every open file, exit.
    #[arg(long, conflicts_with = "until_idle")]
    pub once: bool,
    /// Run until a poll finds no new record, flush every open file, exit.
    #[arg(long)]
    pub until_idle: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Serve `GET /metrics` (Prometheus text: partitions, lag, rebalances)
    /// and `GET /healthz` on this address, e.g. 127.0.0.1:9101 (default:
    /// off). No token: read-only, it shows counts and topic and group names;
    /// bind a loopback address to keep it off the network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

/// `crawlhost sink`.
pub(super) async fn sink(settings: Settings, args: SinkArgs) -> anyhow::Result<ExitCode> {
    let sink_settings = match &args.connect_config {
        Some(path) => {
            let connect = ConnectConfig::load(path)?;
            if !connect.ignored.is_empty() {
                eprintln!(
                    "ignored connector properties (not used by crawlhost): {}",
                    connect.ignored.join(", ")
                );
            }
            connect.validate(&settings.data_dir)?
        }
        None => match &settings.sink {
            Some(config) => config.validate(&settings.data_dir)?,
            None => {
                bail!("no [sink] section in the configuration and no --connect-config FILE.json")
            }
        },
    };
    for note in &sink_settings.notes {
        eprintln!("note: {note}");
    }
    let topics = sink_settings.topics.join(", ");
    let group = sink_settings.group.clone();
    let host = open_host(settings)?;
    let mut sink = Sink::new(sink_settings, host.bus.clone(), Arc::new(SystemClock))
        .await
        .context("cannot start the sink")?;
    eprintln!(
        "sink: {topics} -> {} (group {group})",
        sink.store().describe()
    );
    let shutdown = Shutdown::on_signals();
    let role = || {
        Arc::new(SinkRole {
            group: group.clone(),
            status: sink.status(),
            reader: sink.reader(),
            bus: host.bus.clone(),
        }) as _
    };
    let metrics = MetricsServer::start_if(args.metrics_listen, role, shutdown.clone()).await?;
    if let Some(m) = &metrics {
        eprintln!("metrics on http://{}/metrics", m.local_addr());
    }
    let mode = run_mode(args.once, args.until_idle);
    let report = sink.run(mode, shutdown.cancelled()).await;
    if let Some(m) = metrics {
        m.stop().await;
    }
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report_text(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// How long the sink runs: `--once`, `--until-idle`, or until a signal.
fn run_mode(once: bool, until_idle: bool) -> RunMode {
    if once {
        RunMode::Once
    } else if until_idle {
        RunMode::UntilIdle
    } else {
        RunMode::Forever
    }
}

/// The sink's report as one line (no newline).
fn report_text(report: &SinkReport) -> String {
    format!(
        "sink: {} records in {} objects ({} batches committed, {} recovered after a restart), {} dead letters, {} null values skipped, {} partitions{}",
        report.records_written,
        report.objects_written,
        report.batches_committed,
        report.batches_recovered,
        report.dead_letters,
        report.nulls_skipped,
        report.partitions,
        if report.interrupted { "; stopped" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    fn sink_args(args: &[&str]) -> Result<SinkArgs, clap::Error> {
        let mut all = vec!["sink"];
        all.extend_from_slice(args);
        match parse(&all)?.command {
            Command::Sink(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_sink_runs_until_a_signal_unless_told_once_or_until_idle() {
        let a = sink_args(&[]).unwrap();
        assert!(a.connect_config.is_none() && !a.json && a.metrics_listen.is_none());
        assert_eq!(run_mode(a.once, a.until_idle), RunMode::Forever);
        let a = sink_args(&["--once"]).unwrap();
        assert_eq!(run_mode(a.once, a.until_idle), RunMode::Once);
        let a = sink_args(&["--until-idle", "--connect-config", "c.json"]).unwrap();
        assert_eq!(run_mode(a.once, a.until_idle), RunMode::UntilIdle);
        assert_eq!(a.connect_config, Some(PathBuf::from("c.json")));
    }

    #[test]
    fn metrics_listen_takes_an_address_and_port() {
        let a = sink_args(&["--metrics-listen", "127.0.0.1:9101"]).unwrap();
        assert_eq!(a.metrics_listen, Some("127.0.0.1:9101".parse().unwrap()));
        let a = sink_args(&["--metrics-listen", "[::1]:0"]).unwrap();
        assert_eq!(a.metrics_listen.unwrap().port(), 0);
        let err = sink_args(&["--metrics-listen", "9101"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation);
    }

    #[test]
    fn once_and_until_idle_exclude_each_other() {
        let err = sink_args(&["--once", "--until-idle"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn the_report_line_counts_and_says_when_a_signal_stopped_it() {
        let mut report = SinkReport {
            records_written: 120,
            objects_written: 3,
            batches_committed: 3,
            batches_recovered: 1,
            dead_letters: 2,
            nulls_skipped: 0,
            partitions: 6,
            interrupted: false,
        };
        assert_eq!(
            report_text(&report),
            "sink: 120 records in 3 objects (3 batches committed, 1 recovered after a restart), \
             2 dead letters, 0 null values skipped, 6 partitions"
        );
        report.interrupted = true;
        assert!(report_text(&report).ends_with(", 6 partitions; stopped"));
    }
}
