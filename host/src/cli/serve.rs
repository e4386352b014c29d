//! `crawlhost serve`: the long-running host ([`crate::serve`]) with its
//! admin API, stopped gracefully by SIGTERM/SIGINT.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Settings;
use crate::shutdown::Shutdown;

use super::open_host;

/// Arguments of `crawlhost serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Admin API address (overrides `admin.listen`).
    #[arg(long)]
    pub admin_listen: Option<String>,
    /// No admin API.
    #[arg(long)]
    pub no_admin: bool,
}

/// `crawlhost serve`.
pub(super) async fn serve(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = settings;
    let mut admin_cfg = settings.admin.clone().unwrap_or_default();
    if let Some(listen) = args.admin_listen {
        admin_cfg.listen = listen;
    }
    // The router checks requests against the address actually listened on.
    settings.admin = Some(admin_cfg.clone());
    let host = open_host(settings)?;
    let service = crate::serve::Service::new(host);
    let listener = if args.no_admin || !admin_cfg.enabled {
        None
    } else {
        let addr = admin_cfg.addr().map_err(anyhow::Error::msg)?;
        if !addr.ip().is_loopback() && admin_cfg.token().is_none() {
            bail!(
                "refusing to serve the admin API on {addr} without a token: set ${} or bind 127.0.0.1",
                admin_cfg.token_env
            );
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the admin API to {addr}"))?;
        eprintln!("admin API on http://{}", listener.local_addr()?);
        Some(listener)
    };
    // Listen for signals from the first poll of this future, once the
    // service is up: a signal during start-up stops the process at once.
    let shutdown = async { Shutdown::on_signals().cancelled().await };
    crate::serve::serve(service, listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        match parse(&all).unwrap().command {
            Command::Serve(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn serve_keeps_the_configured_admin_api_unless_told() {
        let a = serve_args(&[]);
        assert!(a.admin_listen.is_none() && !a.no_admin);
        let a = serve_args(&["--admin-listen", "127.0.0.1:0", "--no-admin"]);
        assert_eq!(a.admin_listen.as_deref(), Some("127.0.0.1:0"));
        assert!(a.no_admin);
    }
}
