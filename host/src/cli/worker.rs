//! `crawlhost worker`: join the distributed workers group and run the
//! group's tasks until SIGTERM/SIGINT, then finish the tasks in flight and
//! leave the group.

use std::process::ExitCode;

use crate::config::Settings;
use crate::shutdown::Shutdown;

use super::{flush_bus, open_host, warn_refused};

/// `crawlhost worker`.
pub(super) async fn worker(settings: Settings) -> anyhow::Result<ExitCode> {
    let host = open_host(settings)?;
    crate::distributed::kafka_settings(&host.run_context())?;
    let scan = host.scan_plugins().await?;
    warn_refused(&scan);
    let host_id = crate::distributed::new_host_id();
    let shutdown = Shutdown::on_signals();
    eprintln!("{}", waiting_text(&host_id, scan.plugins.len()));
    let done = crate::distributed::run_worker(
        host.run_context(),
        scan.plugins.clone(),
        host_id,
        shutdown.subscribe(),
    )
    .await?;
    eprintln!("worker stopped after {done} task(s)");
    flush_bus(&host).await?;
    Ok(ExitCode::SUCCESS)
}

/// The line a worker starts with (tests and operators wait for it).
fn waiting_text(host_id: &str, plugins: usize) -> String {
    format!("worker {host_id}: {plugins} plugin(s) loaded; waiting for tasks")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_says_who_it_is_and_what_it_loaded() {
        assert_eq!(
            waiting_text("h-1-0000abcd", 2),
            "worker h-1-0000abcd: 2 plugin(s) loaded; waiting for tasks"
        );
    }

    #[test]
    fn worker_takes_no_arguments() {
        let err = super::super::tests::parse(&["worker", "--once"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
