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

pub mod allow;
pub mod charset;
pub mod config;
pub mod cookies;
pub mod evict;
pub mod imports;
pub mod politeness;
pub mod proxy;
pub mod record;
pub mod retry;
pub mod robots;
pub mod secrets;
pub mod stats;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

use crate::contract::{CrawlError, Header, HttpRequest, HttpResponse};
use crate::secret::Redactor;
use allow::{AddressPolicy, AllowList};
use config::HttpSettings;
pub use cookies::Session;
use evict::HostTable;
use politeness::{Politeness, host_key};
use record::{Mode, RecordError, RecordedError};
use retry::{HostHealth, RetryDecision};
use robots::{RobotsCache, Rules};
pub use stats::{Event, FetchStats, FetchTotals, HostTotals};

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
    /// redacted here; use [`HttpClient::crawl_error`] for plugin-bound ones.
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

fn kind_of(e: &CrawlError) -> (&'static str, &str) {
    match e {
        CrawlError::Retryable(m) => ("retryable", m),
        CrawlError::Blocked(m) => ("blocked", m),
        CrawlError::Parse(m) => ("parse", m),
        CrawlError::Other(m) => ("other", m),
    }
}

/// Resolver that removes forbidden addresses after DNS resolution.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.check(a.ip()).is_ok())
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
        .dns_resolver(GuardedResolver {
            policy: settings.address_policy(),
        });
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

    /// One request with politeness, circuit, retries and budget. Returns the
    /// response and the host slot (hold it until the body is read).
    async fn send(
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
    async fn read_response(
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

    /// Refuse `url` when its site's robots.txt disallows it for our agent.
    async fn robots_check(&self, scope: &FetchScope, url: &Url) -> Result<(), FetchError> {
        if url.path() == "/robots.txt" {
            return Ok(());
        }
        let Some((origin, robots_url)) = robots::robots_url(url) else {
            return Ok(());
        };
        let slot = self.robots.slot(&origin);
        let rules = {
            let mut entry = slot.lock().await;
            let ttl = Duration::from_secs(self.settings.robots.cache_secs);
            match robots::fresh(&entry, ttl, Instant::now()) {
                Some(rules) => rules,
                None => {
                    let rules = Arc::new(self.fetch_robots(scope, robots_url).await?);
                    tracing::debug!(origin = %origin, rules = ?rules, "Fetched robots.txt.");
                    if rules.cacheable() {
                        *entry = Some((Instant::now(), rules.clone()));
                    }
                    rules
                }
            }
        };
        let max_delay = Duration::from_secs(self.settings.robots.max_crawl_delay_secs);
        if let Some(delay) = rules.crawl_delay().filter(|_| !max_delay.is_zero()) {
            self.politeness
                .slow_down(&self.politeness.gate(url), delay.min(max_delay));
        }
        if rules.allowed(url) {
            return Ok(());
        }
        scope.stats.count(&host_key(url), Event::RobotsDenied);
        Err(match &*rules {
            Rules::Unreachable(reason) => FetchError::RobotsUnreachable {
                url: url.to_string(),
                reason: reason.clone(),
            },
            _ => FetchError::RobotsDisallowed {
                url: url.to_string(),
            },
        })
    }

    /// Fetch and interpret a robots.txt, following up to five redirects
    /// within the allow-list.
    async fn fetch_robots(&self, scope: &FetchScope, mut url: Url) -> Result<Rules, FetchError> {
        for _ in 0..=5 {
            let (client, proxied) = self.client_for(scope);
            if self.check(scope, &url, proxied).await.is_err() {
                // A redirect off the allowed hosts: treat as unavailable.
                return Ok(Rules::AllowAll);
            }
            let sent = self
                .send(
                    scope,
                    client,
                    &url,
                    &reqwest::Method::GET,
                    HeaderMap::new(),
                    None,
                )
                .await;
            let (response, permit) = match sent {
                Ok(pair) => pair,
                // The address policy refused the site itself: that is the
                // answer for the request too.
                Err(e @ FetchError::Restricted { .. }) => return Err(e),
                Err(e) => return Ok(Rules::Unreachable(e.to_string())),
            };
            let status = response.status();
            if status.is_redirection()
                && let Some(next) = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                url = next;
                continue;
            }
            let read = self
                .read_response(
                    scope,
                    url.clone(),
                    response,
                    permit,
                    robots::MAX_ROBOTS_BYTES,
                    false,
                )
                .await;
            return Ok(match read {
                Ok(resp) => robots::rules_from_response(resp.status, &resp.body, &self.agent),
                Err(e) => Rules::Unreachable(e.to_string()),
            });
        }
        Ok(Rules::AllowAll)
    }
}

fn transport_error(url: &Url, e: reqwest::Error) -> FetchError {
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
    fn forbidden_headers() {
        assert!(is_forbidden_header("Host"));
        assert!(is_forbidden_header("user-agent"));
        assert!(!is_forbidden_header("accept"));
        assert!(is_credential_header("Authorization"));
        assert!(!is_credential_header("accept"));
    }

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
