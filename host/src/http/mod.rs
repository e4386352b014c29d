//! Outbound HTTP on behalf of plugins: the implementation of the `fetch`
//! import.
//!
//! Every request is checked against the plugin's [`allow::AllowList`] before it
//! leaves, redirects are followed here (not by the HTTP library) so each hop is
//! checked again, and names are resolved by [`GuardedResolver`], which drops
//! loopback/private/link-local/metadata addresses after resolution unless the
//! operator allowed them, so DNS tricks cannot reach the inside network.
//! Bodies are streamed and cut at the configured size; the charset is detected
//! and handed to the plugin with the raw bytes.

pub mod allow;
pub mod charset;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::config::HttpSettings;
use crate::engine::bindings::{CrawlError, Header, HttpRequest, HttpResponse};
use allow::{AllowList, is_restricted_ip};

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed or uses an unsupported scheme/method.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The host is not in the plugin's allow-list.
    #[error("{url} is not allowed: its host is not in the plugin's allow-list [{allowed}]")]
    NotAllowed { url: String, allowed: String },
    /// The host resolves to (or is) an address crawlers must not reach.
    #[error("{url} is not allowed: {reason}")]
    Restricted { url: String, reason: String },
    /// The body exceeded `http.max_response_bytes`.
    #[error("response from {url} exceeds the limit of {limit} bytes and was cut")]
    TooLarge { url: String, limit: u64 },
    /// More redirects than `http.max_redirects`.
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects { url: String, max: u32 },
    /// Connect/read timeout.
    #[error("timed out fetching {url}")]
    Timeout { url: String },
    /// Connection failure or protocol error.
    #[error("fetching {url} failed: {message}")]
    Transport { url: String, message: String },
}

impl FetchError {
    /// The typed error handed to the plugin: policy refusals are `blocked`,
    /// transient transport failures `retryable`, the rest `other`.
    pub fn to_crawl_error(&self) -> CrawlError {
        let msg = self.to_string();
        match self {
            FetchError::NotAllowed { .. } | FetchError::Restricted { .. } => {
                CrawlError::Blocked(msg)
            }
            FetchError::Timeout { .. } | FetchError::Transport { .. } => {
                CrawlError::Retryable(msg)
            }
            FetchError::Invalid(_)
            | FetchError::TooLarge { .. }
            | FetchError::TooManyRedirects { .. } => CrawlError::Other(msg),
        }
    }
}

/// Counters for one plugin (or the whole host), read by the run summary.
#[derive(Debug, Default)]
pub struct FetchStats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
    pub status_2xx: AtomicU64,
    pub status_3xx: AtomicU64,
    pub status_4xx: AtomicU64,
    pub status_5xx: AtomicU64,
}

impl FetchStats {
    fn record_status(&self, status: u16) {
        let counter = match status {
            200..=299 => &self.status_2xx,
            300..=399 => &self.status_3xx,
            400..=499 => &self.status_4xx,
            _ => &self.status_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Resolver that removes restricted addresses after DNS resolution.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_restricted_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private, link-local or metadata addresses"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The shared HTTP client (one connection pool for the whole host).
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
}

/// Which plugin a request is for: its allow-list and counters.
#[derive(Clone)]
pub struct FetchScope {
    pub plugin: String,
    pub allow: Arc<AllowList>,
    pub stats: Arc<FetchStats>,
}

impl HttpClient {
    /// Build the client from checked settings.
    pub fn new(settings: HttpSettings) -> Result<Self, FetchError> {
        // rustls needs a process-wide crypto provider; a second install fails
        // harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .dns_resolver(GuardedResolver {
                allow_private: settings.allow_private_addresses,
            })
            .build()
            .map_err(|e| FetchError::Invalid(format!("cannot build HTTP client: {e}")))?;
        Ok(Self { client, settings })
    }

    /// Check that `url` may be requested by this scope.
    fn check(&self, scope: &FetchScope, url: &Url) -> Result<(), FetchError> {
        if !scope.allow.allows(url) {
            let allowed = scope
                .allow
                .patterns()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(FetchError::NotAllowed {
                url: url.to_string(),
                allowed,
            });
        }
        // IP literals never reach the resolver: check them here.
        if !self.settings.allow_private_addresses {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_restricted_ip(*ip)) {
                return Err(FetchError::Restricted {
                    url: url.to_string(),
                    reason: format!(
                        "{ip} is a loopback, private, link-local or metadata address \
                         (set http.allow_private_addresses to allow it)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Send a plugin's request, following redirects with a check at every hop.
    pub async fn fetch(
        &self,
        scope: &FetchScope,
        request: HttpRequest,
    ) -> Result<HttpResponse, FetchError> {
        let result = self.fetch_inner(scope, request).await;
        if result.is_err() {
            scope.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn fetch_inner(
        &self,
        scope: &FetchScope,
        request: HttpRequest,
    ) -> Result<HttpResponse, FetchError> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| FetchError::Invalid(format!("bad URL `{}`: {e}", request.url)))?;
        let mut method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| FetchError::Invalid(format!("bad method `{}`", request.method)))?;
        let mut body = request.body;
        let start_url = url.to_string();
        let mut hops = 0;
        loop {
            self.check(scope, &url)?;
            let mut builder = self.client.request(method.clone(), url.clone());
            for h in &request.headers {
                if is_forbidden_header(&h.name) {
                    continue;
                }
                builder = builder.header(h.name.as_str(), h.value.as_str());
            }
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            }
            scope.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = builder.send().await.map_err(|e| transport_error(&url, e))?;
            let status = response.status();
            scope.stats.record_status(status.as_u16());
            if status.is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                hops += 1;
                if hops > self.settings.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        url: start_url,
                        max: self.settings.max_redirects,
                    });
                }
                let location = location.to_str().map_err(|_| FetchError::Transport {
                    url: url.to_string(),
                    message: "redirect location is not valid text".into(),
                })?;
                url = url.join(location).map_err(|e| FetchError::Transport {
                    url: url.to_string(),
                    message: format!("bad redirect location `{location}`: {e}"),
                })?;
                // 303, and 301/302 after POST, become GET without a body (as browsers do).
                if status == reqwest::StatusCode::SEE_OTHER
                    || (method == reqwest::Method::POST && status.as_u16() <= 302)
                {
                    method = reqwest::Method::GET;
                    body = None;
                }
                continue;
            }
            return self.read_response(scope, url, response).await;
        }
    }

    async fn read_response(
        &self,
        scope: &FetchScope,
        url: Url,
        response: reqwest::Response,
    ) -> Result<HttpResponse, FetchError> {
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
        let limit = self.settings.max_response_bytes;
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| transport_error(&url, e))?;
            if body.len() as u64 + chunk.len() as u64 > limit {
                scope
                    .stats
                    .bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        scope
            .stats
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
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

/// Headers a plugin may not set: the host owns identity, framing and hop-by-hop
/// headers.
fn is_forbidden_header(name: &str) -> bool {
    const FORBIDDEN: &[&str] = &[
        "host",
        "user-agent",
        "content-length",
        "transfer-encoding",
        "connection",
        "proxy-authorization",
        "te",
        "upgrade",
    ];
    FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name.trim()))
}

fn transport_error(url: &Url, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
        };
    }
    // Walk the source chain: the resolver's refusal is a policy decision.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("resolves only to loopback") {
            return FetchError::Restricted {
                url: url.to_string(),
                reason: text,
            };
        }
        message = format!("{message}: {text}");
        source = s.source();
    }
    FetchError::Transport {
        url: url.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_headers() {
        assert!(is_forbidden_header("Host"));
        assert!(is_forbidden_header("user-agent"));
        assert!(!is_forbidden_header("accept"));
    }

    #[test]
    fn error_kinds_map_to_the_retry_policy() {
        let blocked = FetchError::NotAllowed {
            url: "u".into(),
            allowed: String::new(),
        };
        assert!(matches!(blocked.to_crawl_error(), CrawlError::Blocked(_)));
        let timeout = FetchError::Timeout { url: "u".into() };
        assert!(matches!(timeout.to_crawl_error(), CrawlError::Retryable(_)));
        let big = FetchError::TooLarge {
            url: "u".into(),
            limit: 1,
        };
        assert!(matches!(big.to_crawl_error(), CrawlError::Other(_)));
    }
}
