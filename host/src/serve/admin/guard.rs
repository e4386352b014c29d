//! Which requests the admin API answers before looking at the route
//! ([`RequestGuard`], pure) and the middleware that applies it.
//!
//! Without a token, loopback is not a boundary against the operator's own
//! browser: any web page can send requests to 127.0.0.1, and a name the
//! attacker rebinds to 127.0.0.1 can even read the answers. So the API
//! answers only requests addressed to itself: a `Host` that is `localhost`,
//! `127.0.0.1`, `[::1]`, the listen address or a name in `admin.hosts`
//! (checked when there is no token; with one, every request needs the token
//! or the session cookie, which a browser sends only to the name it signed
//! in at), and, on every state-changing request, an `Origin` that is the
//! API's own, or none unless the browser says the request is cross-site
//! (`Sec-Fetch-Site`). `/healthz` is exempt.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::error;

/// Which requests the admin API accepts before looking at the route: see
/// the module documentation. Pure, so the policy is testable without a
/// server.
#[derive(Debug, Clone)]
pub struct RequestGuard {
    /// Lower-case host names (IPv6 without brackets) accepted in `Host`.
    names: Vec<String>,
    /// Check `Host` (no token is set).
    check_host: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the admin API does not answer to host `{0}` (add it to admin.hosts)")]
    Host(String),
    #[error("cross-origin request refused (origin `{0}` is not the admin API's own)")]
    Origin(String),
    #[error("cross-site request refused (Sec-Fetch-Site: {0})")]
    FetchSite(String),
}

/// `host[:port]` of a `Host` header or an origin's authority, the host
/// lower-case and IPv6 without brackets; `None` when it is not that form.
fn split_authority(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (value, None),
        }
    };
    if host.is_empty() || (host.contains([':', '/', '@', ' ']) && !value.starts_with('[')) {
        return None;
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

impl RequestGuard {
    /// The guard of an API bound to `bound`; `extra` are `admin.hosts`;
    /// `has_token` turns the `Host` check off.
    pub fn new(bound: SocketAddr, extra: &[String], has_token: bool) -> Self {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !bound.ip().is_unspecified() {
            names.push(bound.ip().to_string());
        }
        names.extend(
            extra
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase()),
        );
        Self {
            names,
            check_host: !has_token,
        }
    }

    /// Check one request: its method, path and headers (`host`, `origin`,
    /// `sec-fetch-site`).
    pub fn check(
        &self,
        method: &axum::http::Method,
        path: &str,
        host: Option<&str>,
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> Result<(), Refusal> {
        if path == "/healthz" {
            return Ok(());
        }
        if self.check_host {
            let ok = host
                .and_then(split_authority)
                .is_some_and(|(h, _)| self.names.contains(&h));
            if !ok {
                return Err(Refusal::Host(host.unwrap_or("").to_string()));
            }
        }
        let safe = matches!(
            *method,
            axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
        );
        if safe {
            return Ok(());
        }
        match origin {
            Some(origin) => {
                // Same origin: http://<the Host the request was sent to>.
                let own = host
                    .and_then(split_authority)
                    .map(|(h, p)| (h, p.unwrap_or(80)));
                let given = origin
                    .trim()
                    .strip_prefix("http://")
                    .and_then(split_authority)
                    .map(|(h, p)| (h, p.unwrap_or(80)));
                if own.is_none() || own != given {
                    return Err(Refusal::Origin(origin.to_string()));
                }
            }
            None => {
                if let Some(site) = fetch_site
                    && !matches!(site.trim(), "same-origin" | "none")
                {
                    return Err(Refusal::FetchSite(site.to_string()));
                }
            }
        }
        Ok(())
    }
}

pub(super) async fn guard(
    State(guard): State<Arc<RequestGuard>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let text = |name: axum::http::HeaderName| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not text>"))
    };
    let host = text(axum::http::header::HOST)
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let verdict = guard.check(
        request.method(),
        request.uri().path(),
        host.as_deref(),
        text(axum::http::header::ORIGIN),
        text(axum::http::HeaderName::from_static("sec-fetch-site")),
    );
    match verdict {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                reason = %refusal,
                "Admin API request refused."
            );
            error(StatusCode::FORBIDDEN, refusal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn guard(token: bool) -> RequestGuard {
        RequestGuard::new(
            "127.0.0.1:7878".parse().unwrap(),
            &["crawler.local".into()],
            token,
        )
    }

    #[test]
    fn hosts_addressed_to_the_api_only() {
        let g = guard(false);
        let get = |host| g.check(&Method::GET, "/runs", host, None, None);
        for ok in [
            "127.0.0.1:7878",
            "127.0.0.1",
            "LOCALHOST:7878",
            "[::1]:7878",
            "[::1]",
            "crawler.local:7878",
        ] {
            assert_eq!(get(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7878",
            "127.0.0.1.evil.example",
            "localhost.",
            "localhost:78x",
            "localhost:",
            "[::1",
            "user@localhost",
            "::1",
            "",
        ] {
            assert!(matches!(get(Some(bad)), Err(Refusal::Host(_))), "{bad}");
        }
        assert!(get(None).is_err());
        // /healthz is exempt; with a token the Host is not checked.
        assert_eq!(
            g.check(&Method::GET, "/healthz", Some("evil"), None, None),
            Ok(())
        );
        assert_eq!(
            guard(true).check(&Method::GET, "/runs", Some("evil"), None, None),
            Ok(())
        );
        // A bound address other than loopback is accepted as itself.
        let g = RequestGuard::new("10.0.0.5:7878".parse().unwrap(), &[], false);
        assert_eq!(
            g.check(&Method::GET, "/runs", Some("10.0.0.5:7878"), None, None),
            Ok(())
        );
    }

    #[test]
    fn state_changes_need_the_apis_own_origin() {
        for g in [guard(false), guard(true)] {
            let post = |origin, site| {
                g.check(
                    &Method::POST,
                    "/plugins/x/run",
                    Some("127.0.0.1:7878"),
                    origin,
                    site,
                )
            };
            assert_eq!(post(None, None), Ok(()));
            assert_eq!(post(Some("http://127.0.0.1:7878"), None), Ok(()));
            assert_eq!(post(None, Some("same-origin")), Ok(()));
            assert_eq!(post(None, Some("none")), Ok(()));
            for bad in [
                "http://evil.example",
                "http://127.0.0.1:7879",
                "http://127.0.0.1",
                "https://127.0.0.1:7878",
                "http://localhost:7878",
                "null",
                "",
            ] {
                assert!(
                    matches!(post(Some(bad), None), Err(Refusal::Origin(_))),
                    "{bad}"
                );
            }
            for site in ["cross-site", "same-site"] {
                assert!(matches!(post(None, Some(site)), Err(Refusal::FetchSite(_))));
            }
            // Reads are not state changes.
            assert_eq!(
                g.check(
                    &Method::GET,
                    "/runs",
                    Some("127.0.0.1:7878"),
                    Some("http://evil.example"),
                    None
                ),
                Ok(())
            );
        }
        // Port 80 is the default of both.
        assert_eq!(
            guard(false).check(
                &Method::POST,
                "/plugins/x/run",
                Some("localhost"),
                Some("http://localhost:80"),
                None
            ),
            Ok(())
        );
    }
}
