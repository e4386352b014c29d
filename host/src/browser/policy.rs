//! Which pages a plugin's browser may show: the same allow-list and address
//! policy as `fetch`, applied to the URL before every navigation and to the
//! URL the page ends up on (after redirects, script navigation or a click),
//! and what a page's HTTP status means for the task. Pure.

use std::net::IpAddr;

use url::Url;

use crate::contract::CrawlError;
use crate::http::allow::{AddressPolicy, AllowList};

/// Why a navigation is refused. Every refusal is a `blocked` crawl error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NavRefusal {
    #[error("`{0}` is not a valid URL")]
    Invalid(String),
    #[error("{url}: only http and https pages may be opened")]
    Scheme { url: String },
    #[error("{host} is not in the plugin's allow-list (browser navigation to {url})")]
    NotAllowed { host: String, url: String },
    #[error("{url}: {reason}")]
    Address { url: String, reason: String },
}

impl NavRefusal {
    pub fn to_crawl_error(&self) -> CrawlError {
        CrawlError::Blocked(self.to_string())
    }
}

/// Check a URL the plugin (or the page) wants to show: scheme, allow-list,
/// and, for an IP literal, the address policy. Host names are resolved and
/// checked by [`check_addresses`].
pub fn check_url(allow: &AllowList, policy: &AddressPolicy, url: &str) -> Result<Url, NavRefusal> {
    let parsed = Url::parse(url).map_err(|_| NavRefusal::Invalid(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(NavRefusal::Scheme {
            url: url.to_string(),
        });
    }
    let host = parsed.host_str().unwrap_or("").to_string();
    if !allow.allows(&parsed) {
        return Err(NavRefusal::NotAllowed {
            host,
            url: url.to_string(),
        });
    }
    if let Some(ip) = ip_literal(&parsed) {
        policy.check(ip).map_err(|reason| NavRefusal::Address {
            url: url.to_string(),
            reason,
        })?;
    }
    Ok(parsed)
}

fn ip_literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Check what a host name resolves to. The browser resolves names itself
/// and may use any of the addresses, so every one must pass (unlike `fetch`,
/// which connects only to the addresses that pass).
pub fn check_addresses(
    policy: &AddressPolicy,
    url: &Url,
    addrs: &[IpAddr],
) -> Result<(), NavRefusal> {
    let host = url.host_str().unwrap_or("");
    if addrs.is_empty() {
        return Err(NavRefusal::Address {
            url: url.to_string(),
            reason: format!("{host} does not resolve"),
        });
    }
    for ip in addrs {
        policy.check(*ip).map_err(|reason| NavRefusal::Address {
            url: url.to_string(),
            reason: format!("{host} resolves to {reason}"),
        })?;
    }
    Ok(())
}

/// Where a page ended up, as the browser reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// A page the checks must pass.
    Page(String),
    /// Chromium's own error page (connection refused, DNS failure, timeout).
    LoadFailed,
    /// A blank page (nothing loaded yet).
    Blank,
}

/// Classify the browser's current URL.
pub fn landing(current: &str) -> Landing {
    if current.starts_with("chrome-error:") {
        Landing::LoadFailed
    } else if current == "about:blank" || current.is_empty() {
        Landing::Blank
    } else {
        Landing::Page(current.to_string())
    }
}

/// What the main document's HTTP status means (0 when the browser does not
/// report one): 429 and 403 are the site refusing the crawler (`blocked`, the
/// host backs off), 5xx a transient failure (`retryable`); anything else is
/// a page the plugin reads.
pub fn status_error(url: &str, status: u16) -> Option<CrawlError> {
    match status {
        429 => Some(CrawlError::Blocked(format!(
            "{url} answered HTTP 429 Too Many Requests"
        ))),
        403 => Some(CrawlError::Blocked(format!(
            "{url} answered HTTP 403 Forbidden"
        ))),
        500..=599 => Some(CrawlError::Retryable(format!(
            "{url} answered HTTP {status}"
        ))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> AllowList {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        AllowList::from_manifest(&p, &Default::default()).unwrap()
    }

    #[test]
    fn navigation_follows_the_fetch_allow_list() {
        let a = allow(&["www.instagram.com", "*.cdninstagram.com"]);
        let open = AddressPolicy::default();
        assert!(check_url(&a, &open, "https://www.instagram.com/explore/tags/x/").is_ok());
        assert!(check_url(&a, &open, "https://scontent.cdninstagram.com/v/a.jpg").is_ok());
        let e = check_url(&a, &open, "https://evil.example/login").unwrap_err();
        assert!(matches!(e, NavRefusal::NotAllowed { ref host, .. } if host == "evil.example"));
        assert!(matches!(e.to_crawl_error(), CrawlError::Blocked(m) if m.contains("allow-list")));
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,hi",
        ] {
            assert!(
                matches!(
                    check_url(&a, &open, bad),
                    Err(NavRefusal::Scheme { .. } | NavRefusal::NotAllowed { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            check_url(&a, &open, "not a url"),
            Err(NavRefusal::Invalid(_))
        ));
    }

    #[test]
    fn addresses_follow_the_fetch_address_policy() {
        let a = allow(&["127.0.0.1:8080", "169.254.169.254"]);
        let strict = AddressPolicy::default();
        let e = check_url(&a, &strict, "http://127.0.0.1:8080/").unwrap_err();
        assert!(matches!(e, NavRefusal::Address { .. }), "{e}");
        let private = AddressPolicy {
            allow_private: true,
            allowed_ranges: vec![],
        };
        assert!(check_url(&a, &private, "http://127.0.0.1:8080/").is_ok());
        // Metadata stays refused even with private addresses allowed.
        assert!(check_url(&a, &private, "http://169.254.169.254/latest/").is_err());

        let url = Url::parse("http://shop.example/").unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(check_addresses(&strict, &url, &[public]).is_ok());
        // One bad address is enough: the browser may pick it.
        assert!(check_addresses(&strict, &url, &[public, lo]).is_err());
        assert!(check_addresses(&strict, &url, &[]).is_err());
        assert!(check_addresses(&private, &url, &[lo]).is_ok());
    }

    #[test]
    fn landings_and_statuses() {
        assert_eq!(
            landing("chrome-error://chromewebdata/"),
            Landing::LoadFailed
        );
        assert_eq!(landing("about:blank"), Landing::Blank);
        assert_eq!(landing("http://a/"), Landing::Page("http://a/".into()));
        assert!(matches!(
            status_error("u", 429),
            Some(CrawlError::Blocked(_))
        ));
        assert!(matches!(
            status_error("u", 403),
            Some(CrawlError::Blocked(_))
        ));
        assert!(matches!(
            status_error("u", 503),
            Some(CrawlError::Retryable(_))
        ));
        assert!(status_error("u", 200).is_none());
        assert!(status_error("u", 404).is_none());
        assert!(status_error("u", 0).is_none());
    }
}
