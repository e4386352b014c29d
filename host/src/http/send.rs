//! One request on the wire and its body: the part of [`HttpClient`] that
//! sends with politeness, circuit, retries and retry budget, and that reads a
//! response body (streamed, size-limited, charset detected). Redirects,
//! checks and headers stay with the caller ([`HttpClient::fetch`]).

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use reqwest::header::HeaderMap;
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

use super::politeness::host_key;
use super::retry::{self, RetryDecision};
use super::{Event, FetchError, FetchScope, HttpClient, charset, transport_error};
use crate::contract::{Header, HttpResponse};

impl HttpClient {
    /// One request with politeness, circuit, retries and budget. Returns the
    /// response and the host slot (hold it until the body is read).
    pub(super) async fn send(
        &self,
        scope: &FetchScope,
        client: &reqwest::Client,
        url: &Url,
        method: &reqwest::Method,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<(reqwest::Response, OwnedSemaphorePermit), FetchError> {
        let key = host_key(url);
        let gate = self.politeness.gate(url);
        let cfg = &self.settings.retry;
        let first = Instant::now();
        self.with_health(&key, |h| h.budget.on_request());
        let mut failed = 0u32;
        loop {
            let admitted = self.with_health(&key, |h| {
                h.circuit.admit(&self.settings.circuit, Instant::now())
            });
            if let Err(until) = admitted {
                scope.stats.count(&key, Event::CircuitRejected);
                return Err(FetchError::CircuitOpen {
                    host: key,
                    secs: until
                        .saturating_duration_since(Instant::now())
                        .as_secs()
                        .max(1),
                });
            }
            let (permit, waited) = self.politeness.acquire(&gate).await;
            if waited >= Duration::from_millis(1) {
                scope.stats.count(&key, Event::Throttled(waited));
            }
            scope.stats.count(&key, Event::Request);
            let mut builder = client
                .request(method.clone(), url.clone())
                .headers(headers.clone())
                .timeout(self.settings.request_timeout);
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            let started = Instant::now();
            let sent = tokio::time::timeout(self.settings.first_byte_timeout, builder.send()).await;
            let latency = started.elapsed();
            let (result, retryable, hint) = match sent {
                Err(_) => (
                    Err(FetchError::Timeout {
                        url: url.to_string(),
                        phase: "no response within http.first_byte_timeout_secs",
                    }),
                    true,
                    None,
                ),
                Ok(Err(e)) => {
                    let transient = e.is_connect() || e.is_timeout();
                    let err = transport_error(url, e);
                    let retryable = transient && !matches!(err, FetchError::Restricted { .. });
                    if retryable {
                        scope.stats.count(&key, Event::TransportError);
                    }
                    (Err(err), retryable, None)
                }
                Ok(Ok(resp)) => {
                    let status = resp.status().as_u16();
                    scope.stats.count(&key, Event::Status(status));
                    let hint = retry::server_delay(
                        status,
                        |name| resp.headers().get(name).and_then(|v| v.to_str().ok()),
                        SystemTime::now(),
                    );
                    (Ok(resp), retry::is_retryable_status(status), hint)
                }
            };
            if matches!(result, Err(FetchError::Restricted { .. })) {
                return result.map(|r| (r, permit));
            }
            let now = Instant::now();
            self.with_health(&key, |h| {
                h.circuit.record(&self.settings.circuit, !retryable, now)
            });
            self.politeness.observe(&gate, latency, retryable);
            if let Some(h) = hint.filter(|h| !h.is_zero()) {
                let cap = Duration::from_secs(cfg.max_retry_after_secs);
                self.politeness.pause(&gate, now + h.min(cap));
            }
            if !retryable {
                return result.map(|r| (r, permit));
            }
            failed += 1;
            let mut decision = retry::decide(
                cfg,
                failed,
                first.elapsed(),
                hint,
                rand::random::<f64>(),
                true,
            );
            if matches!(decision, RetryDecision::Retry(_))
                && !self.with_health(&key, |h| h.budget.try_spend(cfg))
            {
                decision = RetryDecision::GiveUp("the host's retry budget is spent");
            }
            match decision {
                RetryDecision::Retry(delay) => {
                    scope.stats.count(&key, Event::Retry);
                    tracing::debug!(plugin = %scope.plugin, url = %url, attempt = failed, delay_ms = delay.as_millis() as u64, "Request failed; retrying.");
                    drop(permit);
                    drop(result);
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::GiveUp(why) => {
                    tracing::debug!(plugin = %scope.plugin, url = %url, attempts = failed, reason = why, "Request failed; not retrying.");
                    return result.map(|r| (r, permit));
                }
            }
        }
    }

    /// Read the body (streamed, at most `limit` bytes after decompression),
    /// detect the charset. A longer body is an error when `cut_is_error`,
    /// else silently cut (robots.txt).
    pub(super) async fn read_response(
        &self,
        scope: &FetchScope,
        url: Url,
        response: reqwest::Response,
        permit: OwnedSemaphorePermit,
        limit: u64,
        cut_is_error: bool,
    ) -> Result<HttpResponse, FetchError> {
        let key = host_key(&url);
        let status = response.status().as_u16();
        let headers: Vec<Header> = response
            .headers()
            .iter()
            .map(|(name, value)| Header {
                name: name.as_str().to_string(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        let mut cut = false;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    scope.stats.count(&key, Event::Bytes(body.len() as u64));
                    return Err(transport_error(&url, e));
                }
            };
            if body.len() as u64 + chunk.len() as u64 > limit {
                let room = (limit - body.len() as u64) as usize;
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        drop(stream);
        drop(permit);
        scope.stats.count(&key, Event::Bytes(body.len() as u64));
        if cut && cut_is_error {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let charset = charset::detect(content_type.as_deref(), &body);
        Ok(HttpResponse {
            status,
            headers,
            body,
            final_url: url.to_string(),
            charset,
        })
    }
}
