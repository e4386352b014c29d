//! Why a fetch failed ([`FetchError`]) and how each cause maps to the typed
//! error a plugin sees (`blocked`, `retryable`, `other`), plus the reading of
//! a transport error from the HTTP library into one of those causes.

use url::Url;

use super::record::{RecordError, RecordedError};
use crate::contract::CrawlError;

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
    /// robots.txt disallows the URL for our user-agent.
    #[error("{url} is disallowed by the site's robots.txt")]
    RobotsDisallowed { url: String },
    /// robots.txt could not be fetched (5xx, network), so nothing is allowed
    /// for now.
    #[error("{url} is not fetched: robots.txt is unreachable ({reason})")]
    RobotsUnreachable { url: String, reason: String },
    /// The host's circuit is open after repeated failures.
    #[error("{host} is paused for {secs}s after repeated failures (circuit open)")]
    CircuitOpen { host: String, secs: u64 },
    /// The plugin set a header the operator's secret for this host uses.
    #[error("the plugin may not set header `{header}` for {url}: the host sets it from a secret")]
    SecretHeader { header: String, url: String },
    /// The body exceeded `http.max_response_bytes`.
    #[error(
        "response from {url} exceeds the limit of {limit} bytes (http.max_response_bytes) and was cut"
    )]
    TooLarge { url: String, limit: u64 },
    /// More redirects than `http.max_redirects`.
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects { url: String, max: u32 },
    /// Connect, first-byte or total timeout.
    #[error("timed out fetching {url} ({phase})")]
    Timeout { url: String, phase: &'static str },
    /// Connection failure or protocol error.
    #[error("fetching {url} failed: {message}")]
    Transport { url: String, message: String },
    /// `--replay` has no recording for the request, or it is unreadable.
    #[error(transparent)]
    Replay(RecordError),
    /// `--replay` found a recorded error.
    #[error("{}", .0.message)]
    Replayed(RecordedError),
    /// `--record` could not write.
    #[error(transparent)]
    Record(RecordError),
}

impl FetchError {
    /// The typed error handed to the plugin: policy refusals are `blocked`,
    /// transient failures `retryable`, the rest `other`. Messages are not
    /// redacted here; use [`super::HttpClient::crawl_error`] for plugin-bound ones.
    pub fn to_crawl_error(&self) -> CrawlError {
        let msg = self.to_string();
        match self {
            FetchError::NotAllowed { .. }
            | FetchError::Restricted { .. }
            | FetchError::RobotsDisallowed { .. }
            | FetchError::SecretHeader { .. } => CrawlError::Blocked(msg),
            FetchError::Timeout { .. }
            | FetchError::Transport { .. }
            | FetchError::CircuitOpen { .. }
            | FetchError::RobotsUnreachable { .. } => CrawlError::Retryable(msg),
            FetchError::Replayed(e) => match e.kind.as_str() {
                "blocked" => CrawlError::Blocked(msg),
                "retryable" => CrawlError::Retryable(msg),
                "parse" => CrawlError::Parse(msg),
                _ => CrawlError::Other(msg),
            },
            FetchError::Invalid(_)
            | FetchError::TooLarge { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::Replay(_)
            | FetchError::Record(_) => CrawlError::Other(msg),
        }
    }
}

pub(super) fn kind_of(e: &CrawlError) -> (&'static str, &str) {
    match e {
        CrawlError::Retryable(m) => ("retryable", m),
        CrawlError::Blocked(m) => ("blocked", m),
        CrawlError::Parse(m) => ("parse", m),
        CrawlError::Other(m) => ("other", m),
    }
}

pub(super) fn transport_error(url: &Url, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
            phase: "http.request_timeout_secs or http.connect_timeout_secs",
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
    fn error_kinds_map_to_the_retry_policy() {
        let blocked = FetchError::NotAllowed {
            url: "u".into(),
            allowed: String::new(),
        };
        assert!(matches!(blocked.to_crawl_error(), CrawlError::Blocked(_)));
        let robots = FetchError::RobotsDisallowed { url: "u".into() };
        assert!(matches!(robots.to_crawl_error(), CrawlError::Blocked(_)));
        let timeout = FetchError::Timeout {
            url: "u".into(),
            phase: "x",
        };
        assert!(matches!(timeout.to_crawl_error(), CrawlError::Retryable(_)));
        let open = FetchError::CircuitOpen {
            host: "h".into(),
            secs: 3,
        };
        assert!(matches!(open.to_crawl_error(), CrawlError::Retryable(_)));
        let big = FetchError::TooLarge {
            url: "u".into(),
            limit: 1,
        };
        assert!(matches!(big.to_crawl_error(), CrawlError::Other(_)));
        let replayed = FetchError::Replayed(RecordedError {
            kind: "blocked".into(),
            message: "m".into(),
        });
        assert!(matches!(replayed.to_crawl_error(), CrawlError::Blocked(m) if m == "m"));
    }
}
