//! Serving an [`Api`] over HTTP/1.1 with axum: one fallback route hands
//! every request (with its `Authorization` header) to [`Api::handle`].

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use super::api::Api;

/// The router for `api`.
pub fn router(api: Arc<Api>) -> Router {
    Router::new().fallback(answer).with_state(api)
}

/// Serve `api` on `listener` until the task is dropped or the listener
/// fails.
pub async fn serve(api: Arc<Api>, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(api)).await
}

/// Bind `127.0.0.1:0`, serve `api` on a spawned task, and return the base
/// URL (`http://127.0.0.1:PORT`) with the task's handle (abort it to stop).
pub async fn spawn(api: Arc<Api>) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let handle = tokio::spawn(async move {
        if let Err(e) = serve(api, listener).await {
            eprintln!("X API fixture stopped: {e}");
        }
    });
    Ok((base_url, handle))
}

async fn answer(
    State(api): State<Arc<Api>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let reply = api.handle(
        method.as_str(),
        path_and_query,
        authorization,
        SystemTime::now(),
    );
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
