//! Serving a [`Site`] over HTTP/1.1 with axum: one fallback route that hands
//! every request to a [`Handler`] (routing and faults live there).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use super::handler::Handler;
use super::model::Site;

/// The router for `site`, with a fresh [`Handler`] (fresh fault counters).
pub fn router(site: Arc<Site>) -> Router {
    Router::new()
        .fallback(answer)
        .with_state(Arc::new(Handler::new(site)))
}

/// Serve `site` on `listener` until the task is dropped or the listener
/// fails. Each call has its own fault counters.
pub async fn serve(site: Arc<Site>, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(site)).await
}

/// Bind `127.0.0.1:0`, serve `site` on a spawned task, and return the base
/// URL (`http://127.0.0.1:PORT`, no trailing slash) with the task's handle
/// (abort it to stop the server).
pub async fn spawn(site: Site) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let handle = tokio::spawn(async move {
        if let Err(e) = serve(Arc::new(site), listener).await {
            eprintln!("oliveyoung fixture site stopped: {e}");
        }
    });
    Ok((base_url, handle))
}

async fn answer(State(handler): State<Arc<Handler>>, method: Method, uri: Uri) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let reply = handler.handle(method.as_str(), path_and_query);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}
