//! `--metrics-listen ADDR`: a small HTTP endpoint for the roles that have no
//! admin API (`crawlhost sink`, `triggers`, `worker`), so that in a fleet
//! each process's share of its consumer groups can be scraped.
//!
//! Two routes: `GET /metrics` (Prometheus text, written by the role's
//! [`Exposition`] at scrape time) and `GET /healthz` (`{"status": "ok"}`, or
//! `"stopping"` once the command's [`Shutdown`] is set). Nothing else: no
//! token and no Host check, because it is read-only and shows counts and
//! topic and group names, never records or configuration. An operator who
//! does not want even that on the network binds a loopback address (the
//! `--help` text says so).
//!
//! **Who stops it.** The command, with [`MetricsServer::stop`], after its
//! role has finished its own graceful stop: a scrape during the drain (a
//! sink flushing, a worker finishing its tasks in flight) still answers.
//! `stop` ends the server with axum's graceful shutdown (requests in flight
//! finish) and waits for it; dropping the [`MetricsServer`] (a command
//! returning an error) starts the same stop without waiting.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;

use crate::shutdown::Shutdown;

/// What a role exports.
#[async_trait]
pub trait Exposition: Send + Sync {
    /// The role's name, for `/healthz` (`sink`, `triggers`, `worker`).
    fn role(&self) -> &'static str;
    /// The whole exposition now.
    async fn render(&self) -> String;
}

/// The listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for /metrics on {addr}")]
pub struct ListenError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// A running `/metrics` endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Shutdown,
    /// `None` once [`MetricsServer::stop`] took it.
    task: Option<JoinHandle<()>>,
}

#[derive(Clone)]
struct Endpoint {
    exposition: Arc<dyn Exposition>,
    /// The command's stop flag: `/healthz` says `stopping` once it is set.
    stopping: Shutdown,
}

impl MetricsServer {
    /// Bind `addr` and serve `exposition` until [`MetricsServer::stop`].
    /// `stopping` is the command's stop flag (read, never set, here).
    pub async fn start(
        addr: SocketAddr,
        exposition: Arc<dyn Exposition>,
        stopping: Shutdown,
    ) -> Result<Self, ListenError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ListenError { addr, source })?;
        let router = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .with_state(Endpoint {
                exposition,
                stopping,
            });
        let stop = Shutdown::new();
        let stopped = stop.cancelled();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(error = %e, "The /metrics endpoint stopped.");
            }
        });
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// [`MetricsServer::start`] when the command was given an address
    /// (`--metrics-listen`); `role` is only built then.
    pub async fn start_if(
        addr: Option<SocketAddr>,
        role: impl FnOnce() -> Arc<dyn Exposition>,
        stopping: Shutdown,
    ) -> Result<Option<Self>, ListenError> {
        match addr {
            Some(addr) => Ok(Some(Self::start(addr, role(), stopping).await?)),
            None => Ok(None),
        }
    }

    /// The address it listens on (the port chosen when `addr` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let requests in flight finish, and wait for that.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn metrics(State(e): State<Endpoint>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        e.exposition.render().await,
    )
        .into_response()
}

async fn healthz(State(e): State<Endpoint>) -> Response {
    let status = if e.stopping.is_cancelled() {
        "stopping"
    } else {
        "ok"
    };
    axum::Json(serde_json::json!({ "status": status, "role": e.exposition.role() })).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    struct Fixed;

    #[async_trait]
    impl Exposition for Fixed {
        fn role(&self) -> &'static str {
            "sink"
        }
        async fn render(&self) -> String {
            "# TYPE x gauge\nx 1\n".into()
        }
    }

    async fn get_text(addr: SocketAddr, path: &str) -> (String, String) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let resp = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        (kind, resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn serves_metrics_and_health_until_stopped() {
        let flag = Shutdown::new();
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Fixed),
            flag.clone(),
        )
        .await
        .unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);
        let (kind, body) = get_text(addr, "/metrics").await;
        assert_eq!(kind, "text/plain; version=0.0.4");
        assert_eq!(body, "# TYPE x gauge\nx 1\n");
        let (_, health) = get_text(addr, "/healthz").await;
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        assert_eq!(health, serde_json::json!({"status": "ok", "role": "sink"}));
        flag.cancel();
        let (_, health) = get_text(addr, "/healthz").await;
        assert!(health.contains("\"stopping\""), "{health}");
        let nothing = reqwest::get(format!("http://{addr}/plugins"))
            .await
            .unwrap();
        assert_eq!(nothing.status().as_u16(), 404);
        tokio::time::timeout(Duration::from_secs(10), server.stop())
            .await
            .expect("the server stops");
        assert!(
            reqwest::get(format!("http://{addr}/metrics"))
                .await
                .is_err(),
            "nothing listens after stop"
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_an_error_naming_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = MetricsServer::start(addr, Arc::new(Fixed), Shutdown::new())
            .await
            .err()
            .expect("the port is taken");
        assert_eq!(
            err.to_string(),
            format!("cannot listen for /metrics on {addr}")
        );
    }
}
