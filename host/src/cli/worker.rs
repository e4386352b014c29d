//! `crawlhost worker`: join the distributed workers group and run the
//! group's tasks until SIGTERM/SIGINT, then finish the tasks in flight and
//! leave the group.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::config::Settings;
use crate::metrics::listen::MetricsServer;
use crate::metrics::member::WorkerStatus;
use crate::metrics::roles::WorkerRole;
use crate::shutdown::Shutdown;

use super::{flush_bus, open_host, warn_refused};

/// Arguments of `crawlhost worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Serve `GET /metrics` (Prometheus text: task partitions held,
    /// rebalances, politeness share, tasks) and `GET /healthz` on this
    /// address, e.g. 127.0.0.1:9101 (default: off). No token: read-only, it
    /// shows counts and topic and group names; bind a loopback address to
    /// keep it off the network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

/// `crawlhost worker`.
pub(super) async fn worker(settings: Settings, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let host = open_host(settings)?;
    let kafka = crate::distributed::kafka_settings(&host.run_context())?;
    let scan = host.scan_plugins().await?;
    warn_refused(&scan);
    let host_id = crate::distributed::new_host_id();
    let shutdown = Shutdown::on_signals();
    let status = Arc::new(WorkerStatus::default());
    for name in scan.plugins.keys() {
        status.register(name);
    }
    let role = || {
        Arc::new(WorkerRole {
            group: kafka.workers_group(),
            status: status.clone(),
            fleet: host.settings.http.politeness.fleet.clone(),
            bus: host.bus.clone(),
        }) as _
    };
    let metrics = MetricsServer::start_if(args.metrics_listen, role, shutdown.clone()).await?;
    if let Some(m) = &metrics {
        eprintln!("metrics on http://{}/metrics", m.local_addr());
    }
    eprintln!("{}", waiting_text(&host_id, scan.plugins.len()));
    let done = crate::distributed::worker::run_worker_observed(
        host.run_context(),
        scan.plugins.clone(),
        host_id,
        shutdown.subscribe(),
        status,
    )
    .await;
    if let Some(m) = metrics {
        m.stop().await;
    }
    eprintln!("worker stopped after {} task(s)", done?);
    flush_bus(&host).await?;
    Ok(ExitCode::SUCCESS)
}

/// The line a worker starts with (tests and operators wait for it).
fn waiting_text(host_id: &str, plugins: usize) -> String {
    format!("worker {host_id}: {plugins} plugin(s) loaded; waiting for tasks")
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn the_worker_says_who_it_is_and_what_it_loaded() {
        assert_eq!(
            waiting_text("h-1-0000abcd", 2),
            "worker h-1-0000abcd: 2 plugin(s) loaded; waiting for tasks"
        );
    }

    #[test]
    fn worker_takes_only_the_metrics_address() {
        let err = parse(&["worker", "--once"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        match parse(&["worker"]).unwrap().command {
            Command::Worker(a) => assert!(a.metrics_listen.is_none()),
            other => panic!("parsed as {other:?}"),
        }
        match parse(&["worker", "--metrics-listen", "0.0.0.0:9101"])
            .unwrap()
            .command
        {
            Command::Worker(a) => {
                assert_eq!(a.metrics_listen, Some("0.0.0.0:9101".parse().unwrap()))
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
