//! Outbound HTTP on behalf of plugins: the implementation of the `fetch`
//! import ([`imports`] links it into instances, [`config`] is its section of
//! `crawlhost.toml`). Every byte a plugin sends or receives goes through here.
//!
//! One fetch, in order:
//! 1. **Replay** (`--replay DIR`): answer from the recording, no network.
//! 2. **Checks per hop**: the plugin's [`allow::AllowList`], the address
//!    policy for IP literals (and, behind a proxy, for resolved names), and
//!    robots.txt ([`robots`]). Names are otherwise resolved by
//!    [`GuardedResolver`], which drops forbidden addresses after DNS, so a
//!    public name pointing at 127.0.0.1 or 169.254.169.254 gets nowhere.
//!    Redirects are followed here, not by the HTTP library, so every hop is
//!    checked again.
//! 3. **Headers**: the plugin's (minus those the host owns), the run's
//!    cookies ([`cookies`]), then operator secrets for this hop's host
//!    ([`secrets`]).
//! 4. **Send with politeness and retries**: wait for the host's gate
//!    ([`politeness`]), send with connect / first-byte / total timeouts,
//!    retry connect errors, timeouts, 429 and 5xx with backoff or the
//!    server's `Retry-After` within the host's circuit and retry budget
//!    ([`retry`]). This per-host state (and the robots.txt cache) is kept
//!    while it still matters and bounded in size ([`evict`]).
//! 5. **Body**: streamed, decompressed (gzip/br/deflate), cut at
//!    `http.max_response_bytes`; charset detected ([`charset`]).
//! 6. **Hand back**: secrets redacted from everything the plugin gets;
//!    recorded when `--record DIR` is on; counted ([`stats`]).
//!
//! This file keeps steps 1-3 and the redirect loop; `send.rs` holds steps 4-5,
//! `robots_fetch.rs` the robots.txt check on the wire, `error.rs` [`FetchError`]
//! and `resolver.rs` [`GuardedResolver`].

pub mod allow;
pub mod charset;
pub mod config;
pub mod cookies;
mod error;
pub mod evict;
pub mod imports;
pub mod politeness;
pub mod proxy;
pub mod record;
mod resolver;
pub mod retry;
pub mod robots;
mod robots_fetch;
pub mod secrets;
mod send;
pub mod stats;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::contract::{CrawlError, HttpRequest, HttpResponse};
use crate::secret::Redactor;
use allow::AllowList;
use config::HttpSettings;
pub use cookies::Session;
pub use error::FetchError;
use error::{kind_of, transport_error};
use evict::HostTable;
use politeness::Politeness;
use record::{Mode, RecordedError};
pub use resolver::GuardedResolver;
use retry::HostHealth;
use robots::RobotsCache;
pub use stats::{Event, FetchStats, FetchTotals, HostTotals};

/// Which plugin a request is for: its allow-list, counters and per-run
/// session (cookie jar, proxy rotation).
#[derive(Clone)]
pub struct FetchScope {
    pub plugin: String,
    pub allow: Arc<AllowList>,
    pub stats: Arc<FetchStats>,
    pub session: Arc<Session>,
}

impl FetchScope {
    /// A scope with a fresh session (one per plugin run).
    pub fn new(plugin: impl Into<String>, allow: Arc<AllowList>, stats: Arc<FetchStats>) -> Self {
        Self {
            plugin: plugin.into(),
            allow,
            stats,
            session: Arc::default(),
        }
    }
}

/// The shared HTTP client (connection pools, per-host politeness, robots
/// cache, circuits: one for the whole host process).
pub struct HttpClient {
    direct: reqwest::Client,
    /// Whether `direct` goes through a proxy (`http.proxy` or environment).
    direct_proxied: bool,
    /// Clients of per-plugin proxies, by proxy URL.
    proxied: HashMap<crate::secret::UrlWithPassword, reqwest::Client>,
    settings: HttpSettings,
    /// The secrets' matcher, built once from `settings.secrets`.
    redactor: Redactor,
    politeness: Politeness,
    robots: RobotsCache,
    agent: String,
    health: Mutex<HostTable<HostHealth>>,
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
    FORBIDDEN
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name.trim()))
}

/// Headers dropped when a redirect leaves the origin the plugin asked for.
fn is_credential_header(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name.trim()))
}

fn origin(url: &Url) -> (String, String, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().unwrap_or("").to_ascii_lowercase(),
        url.port_or_known_default(),
    )
}

fn build_client(
    settings: &HttpSettings,
    proxy: Option<&str>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .dns_resolver(GuardedResolver::new(settings.address_policy()));
    if let Some(p) = proxy {
        let proxy = reqwest::Proxy::all(p)
            .map_err(|e| FetchError::Invalid(format!("bad proxy `{p}`: {e}")))?;
        builder = builder.no_proxy().proxy(proxy);
    }
    builder
        .build()
        .map_err(|e| FetchError::Invalid(format!("cannot build HTTP client: {e}")))
}

impl HttpClient {
    /// Build the client from checked settings.
    pub fn new(settings: HttpSettings) -> Result<Self, FetchError> {
        // rustls needs a process-wide crypto provider; a second install fails
        // harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let direct = build_client(
            &settings,
            settings
                .proxy
                .as_ref()
                .map(crate::secret::UrlWithPassword::expose),
        )?;
        let mut proxied = HashMap::new();
        for p in settings.plugins.values().flat_map(|p| p.proxies.iter()) {
            if !proxied.contains_key(p) {
                proxied.insert(p.clone(), build_client(&settings, Some(p.expose()))?);
            }
        }
        Ok(Self {
            direct,
            direct_proxied: settings.proxy.is_some() || proxy::env_proxy_set(),
            proxied,
            politeness: Politeness::new(settings.politeness.clone()),
            robots: RobotsCache::new(&settings.robots),
            agent: robots::agent_token(&settings.user_agent),
            health: Mutex::new(HostTable::new("circuits", settings.circuit.max_hosts)),
            redactor: settings.secrets.redactor(),
            settings,
        })
    }

    /// The settings the client was built with.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// The plugin-bound form of an error: typed, with secrets redacted.
    pub fn crawl_error(&self, e: &FetchError) -> CrawlError {
        let redact = |m: &str| self.redactor.redact_str(m.to_string());
        match e.to_crawl_error() {
            CrawlError::Retryable(m) => CrawlError::Retryable(redact(&m)),
            CrawlError::Blocked(m) => CrawlError::Blocked(redact(&m)),
            CrawlError::Parse(m) => CrawlError::Parse(redact(&m)),
            CrawlError::Other(m) => CrawlError::Other(redact(&m)),
        }
    }

    fn with_health<R>(&self, key: &str, f: impl FnOnce(&mut HostHealth) -> R) -> R {
        let mut map = self.health.lock().unwrap_or_else(|p| p.into_inner());
        f(map.get_or_insert_with(key, Instant::now(), HostHealth::default))
    }

    /// Whether `host_key`'s circuit is open now (for tests and metrics).
    pub fn circuit_open(&self, host_key: &str) -> bool {
        self.with_health(host_key, |h| h.circuit.is_open(Instant::now()))
    }

    fn obeys_robots(&self, plugin: &str) -> bool {
        self.settings
            .plugins
            .get(plugin)
            .and_then(|p| p.obey_robots)
            .unwrap_or(self.settings.robots.obey)
    }

    /// The client for this scope's next request and whether it is proxied.
    fn client_for(&self, scope: &FetchScope) -> (&reqwest::Client, bool) {
        if let Some(list) = self.settings.plugins.get(&scope.plugin).map(|p| &p.proxies)
            && !list.is_empty()
        {
            let p = &list[scope.session.next_proxy(list.len())];
            if let Some(c) = self.proxied.get(p) {
                return (c, true);
            }
        }
        (&self.direct, self.direct_proxied)
    }

    /// Check that `url` may be requested by this scope.
    async fn check(&self, scope: &FetchScope, url: &Url, proxied: bool) -> Result<(), FetchError> {
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
        let restricted = |reason: String| FetchError::Restricted {
            url: url.to_string(),
            reason,
        };
        let policy = self.settings.address_policy();
        match url.host() {
            // IP literals never reach the resolver: check them here.
            Some(url::Host::Ipv4(ip)) => policy.check(IpAddr::V4(ip)).map_err(restricted)?,
            Some(url::Host::Ipv6(ip)) => policy.check(IpAddr::V6(ip)).map_err(restricted)?,
            // Behind a proxy the proxy resolves names: check them first.
            Some(url::Host::Domain(name)) if proxied => {
                let addrs = tokio::net::lookup_host((name, 0)).await.map_err(|e| {
                    FetchError::Transport {
                        url: url.to_string(),
                        message: format!("cannot resolve {name} to check it before proxying: {e}"),
                    }
                })?;
                for a in addrs {
                    policy.check(a.ip()).map_err(restricted)?;
                }
            }
            Some(url::Host::Domain(_)) => {}
            None => return Err(FetchError::Invalid(format!("{url} has no host"))),
        }
        Ok(())
    }

    /// Send a plugin's request: replay, or live (recorded when asked).
    pub async fn fetch(
        &self,
        scope: &FetchScope,
        request: HttpRequest,
    ) -> Result<HttpResponse, FetchError> {
        let result = match &self.settings.mode {
            Mode::Replay(dir) => {
                scope
                    .stats
                    .replayed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match record::load(dir, &scope.plugin, &request) {
                    Ok(Ok(resp)) => Ok(resp),
                    Ok(Err(recorded)) => Err(FetchError::Replayed(recorded)),
                    Err(e) => Err(FetchError::Replay(e)),
                }
            }
            Mode::Live | Mode::Record(_) => {
                let recorded =
                    matches!(self.settings.mode, Mode::Record(_)).then(|| request.clone());
                let result = self
                    .fetch_live(scope, request)
                    .await
                    .map(|r| self.redact(r));
                match (&self.settings.mode, recorded) {
                    (Mode::Record(dir), Some(req)) => {
                        let outcome = result.as_ref().map(Clone::clone).map_err(|e| {
                            let ce = self.crawl_error(e);
                            let (kind, message) = kind_of(&ce);
                            RecordedError {
                                kind: kind.to_string(),
                                message: message.to_string(),
                            }
                        });
                        match record::save(dir, &scope.plugin, &req, &outcome) {
                            Ok(()) => result,
                            Err(e) => Err(FetchError::Record(e)),
                        }
                    }
                    _ => result,
                }
            }
        };
        if result.is_err() {
            scope
                .stats
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    /// Replace secrets in everything a plugin will see.
    fn redact(&self, mut resp: HttpResponse) -> HttpResponse {
        let redactor = &self.redactor;
        if redactor.is_empty() {
            return resp;
        }
        resp.body = redactor.redact_bytes(resp.body);
        resp.final_url = redactor.redact_str(resp.final_url);
        for h in &mut resp.headers {
            h.value = redactor.redact_str(std::mem::take(&mut h.value));
        }
        resp
    }

    async fn fetch_live(
        &self,
        scope: &FetchScope,
        request: HttpRequest,
    ) -> Result<HttpResponse, FetchError> {
        let mut url = Url::parse(&request.url)
            .map_err(|e| FetchError::Invalid(format!("bad URL `{}`: {e}", request.url)))?;
        let mut method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| FetchError::Invalid(format!("bad method `{}`", request.method)))?;
        let secrets = &self.settings.secrets;
        for h in &request.headers {
            if secrets.is_secret_header(&url, &h.name) {
                return Err(FetchError::SecretHeader {
                    header: h.name.trim().to_ascii_lowercase(),
                    url: url.to_string(),
                });
            }
        }
        let mut plugin_headers = HeaderMap::new();
        for h in &request.headers {
            if is_forbidden_header(&h.name) {
                continue;
            }
            let name = HeaderName::from_bytes(h.name.trim().as_bytes())
                .map_err(|_| FetchError::Invalid(format!("bad header name `{}`", h.name)))?;
            let value = HeaderValue::from_str(&h.value)
                .map_err(|_| FetchError::Invalid(format!("bad value for header `{}`", h.name)))?;
            plugin_headers.append(name, value);
        }
        let mut body = request.body;
        let start_url = url.to_string();
        let first_origin = origin(&url);
        let obey_robots = self.obeys_robots(&scope.plugin);
        let mut hops = 0;
        loop {
            let (client, proxied) = self.client_for(scope);
            self.check(scope, &url, proxied).await?;
            if obey_robots {
                self.robots_check(scope, &url).await?;
            }
            let mut headers = HeaderMap::new();
            let cross_origin = origin(&url) != first_origin;
            for (name, value) in &plugin_headers {
                if secrets.is_secret_header(&url, name.as_str())
                    || (cross_origin && is_credential_header(name.as_str()))
                {
                    continue;
                }
                headers.append(name.clone(), value.clone());
            }
            if self.settings.cookies.enabled
                && !headers.contains_key(reqwest::header::COOKIE)
                && let Some(c) = scope.session.header_for(&url)
                && let Ok(v) = HeaderValue::from_str(&c)
            {
                headers.insert(reqwest::header::COOKIE, v);
            }
            for s in secrets.for_url(&url) {
                if let (Ok(n), Ok(mut v)) = (
                    HeaderName::from_bytes(s.header().as_bytes()),
                    HeaderValue::from_str(s.value()),
                ) {
                    v.set_sensitive(true);
                    headers.insert(n, v);
                }
            }
            let (response, permit) = self
                .send(scope, client, &url, &method, headers, body.clone())
                .await?;
            if self.settings.cookies.enabled {
                let set = response.headers().get_all(reqwest::header::SET_COOKIE);
                scope
                    .session
                    .store(&url, set.iter().filter_map(|v| v.to_str().ok()));
            }
            let status = response.status();
            if status.is_redirection()
                && let Some(location) = response.headers().get(reqwest::header::LOCATION)
            {
                drop(permit);
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
                    plugin_headers.remove(reqwest::header::CONTENT_TYPE);
                }
                continue;
            }
            return self
                .read_response(
                    scope,
                    url,
                    response,
                    permit,
                    self.settings.max_response_bytes,
                    true,
                )
                .await;
        }
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
        assert!(is_credential_header("Authorization"));
        assert!(!is_credential_header("accept"));
    }
}
