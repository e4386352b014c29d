//! `[http]`: the section of `crawlhost.toml` the `fetch` capability owns, as
//! written ([`HttpConfig`]) and checked ([`HttpSettings`]). The sub-tables
//! (politeness, robots, retry, circuit, cookies, secrets, per-plugin) are
//! defined by the modules that enforce them; [`crate::config`] only places
//! this section in the file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::UrlWithPassword;

/// A bad `[http]` value: the field, by its full name (`http.…`), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value `{field}`: {reason}")]
pub struct HttpConfigError {
    /// The field, e.g. `http.user_agent` or `http.secrets[0].value_env`.
    pub field: String,
    /// What is wrong with its value.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> HttpConfigError {
    HttpConfigError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `[http]`: outbound HTTP for plugins. The sub-tables are owned by the
/// `http` modules that enforce them. A field left out takes its value from
/// [`HttpConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// `User-Agent` sent on every request; its first word (before `/`) is
    /// the token robots.txt groups are matched against. Default
    /// `crawlhost/<version>`.
    pub user_agent: String,
    /// Allow requests to loopback, private, link-local and other reserved
    /// addresses (checked after DNS). Off by default (blocks SSRF); fixture
    /// sites on 127.0.0.1 need it on. Cloud metadata endpoints
    /// (169.254.169.254 ...) stay refused even when on.
    pub allow_private_addresses: bool,
    /// CIDR ranges reachable whatever their class, e.g. `["127.0.0.0/8"]`:
    /// the narrow form of `allow_private_addresses`, and the only way to
    /// reach a metadata endpoint. Default empty.
    pub allowed_private_ranges: Vec<String>,
    /// Largest response body accepted, in bytes, after decompression; a
    /// larger body is cut and the fetch fails naming the limit. Default 16 MiB.
    pub max_response_bytes: u64,
    /// TCP + TLS connect timeout in seconds. Default 10.
    pub connect_timeout_secs: u64,
    /// Seconds from sending a request to its response headers. Default 20.
    pub first_byte_timeout_secs: u64,
    /// Whole-request timeout (connect to last body byte) in seconds, per
    /// attempt. Default 30.
    pub request_timeout_secs: u64,
    /// Redirect hops followed; each hop is checked against the allow-list
    /// again. Default 10.
    pub max_redirects: u32,
    /// One proxy for every request (`http://host:port`). Unset: the
    /// `http_proxy` / `https_proxy` / `no_proxy` environment variables.
    /// A password in the URL prints as `***`.
    pub proxy: Option<UrlWithPassword>,
    /// Per-host rate limit, concurrency, jitter, auto-throttle.
    pub politeness: super::politeness::PolitenessConfig,
    /// robots.txt handling.
    pub robots: super::robots::RobotsConfig,
    /// Fetch-level retries and the retry budget.
    pub retry: super::retry::RetryConfig,
    /// The per-host circuit breaker.
    pub circuit: super::retry::CircuitConfig,
    /// Cookie jars.
    pub cookies: super::cookies::CookieConfig,
    /// Credentials added to requests for matching hosts, over https only
    /// unless an entry says `allow_http = true`.
    pub secrets: Vec<super::secrets::SecretConfig>,
    /// Per-plugin HTTP settings (robots opt-out, proxies), by plugin name.
    pub plugins: BTreeMap<String, super::proxy::PluginHttpConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: format!("crawlhost/{}", env!("CARGO_PKG_VERSION")),
            allow_private_addresses: false,
            allowed_private_ranges: Vec::new(),
            max_response_bytes: 16 * 1024 * 1024,
            connect_timeout_secs: 10,
            first_byte_timeout_secs: 20,
            request_timeout_secs: 30,
            max_redirects: 10,
            proxy: None,
            politeness: Default::default(),
            robots: Default::default(),
            retry: Default::default(),
            circuit: Default::default(),
            cookies: Default::default(),
            secrets: Vec::new(),
            plugins: BTreeMap::new(),
        }
    }
}

impl HttpConfig {
    /// Check every `[http]` bound into [`HttpSettings`]; `env` reads secret
    /// values.
    pub fn check(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<HttpSettings, HttpConfigError> {
        let h = self;
        let field = |(f, r): (String, String)| invalid(&f, r);
        if h.user_agent.trim().is_empty() || h.user_agent.contains(['\r', '\n']) {
            return Err(invalid("http.user_agent", "must be one non-empty line"));
        }
        if h.max_response_bytes == 0 {
            return Err(invalid("http.max_response_bytes", "must be at least 1"));
        }
        for (name, v) in [
            ("http.connect_timeout_secs", h.connect_timeout_secs),
            ("http.first_byte_timeout_secs", h.first_byte_timeout_secs),
            ("http.request_timeout_secs", h.request_timeout_secs),
        ] {
            if v == 0 || v > 3600 {
                return Err(invalid(name, "must be between 1 and 3600"));
            }
        }
        let mut ranges = Vec::new();
        for (i, r) in h.allowed_private_ranges.iter().enumerate() {
            let net = r
                .parse::<ipnet::IpNet>()
                .or_else(|_| r.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        &format!("http.allowed_private_ranges[{i}]"),
                        format!("`{r}` is not an address or CIDR range (e.g. 127.0.0.0/8)"),
                    )
                })?;
            ranges.push(net);
        }
        if let Some(p) = &h.proxy {
            super::proxy::check_proxy_url(p.expose()).map_err(|e| invalid("http.proxy", e))?;
        }
        let politeness = h.politeness.check().map_err(field)?;
        h.retry.check().map_err(field)?;
        h.circuit.check().map_err(field)?;
        let mut secrets = Vec::new();
        for (i, s) in h.secrets.iter().enumerate() {
            secrets.push(
                s.resolve(&format!("http.secrets[{i}]"), &env)
                    .map_err(field)?,
            );
        }
        for (name, p) in &h.plugins {
            p.check(name).map_err(field)?;
        }
        Ok(HttpSettings {
            user_agent: h.user_agent.clone(),
            allow_private_addresses: h.allow_private_addresses,
            allowed_private_ranges: ranges,
            max_response_bytes: h.max_response_bytes,
            connect_timeout: Duration::from_secs(h.connect_timeout_secs),
            first_byte_timeout: Duration::from_secs(h.first_byte_timeout_secs),
            request_timeout: Duration::from_secs(h.request_timeout_secs),
            max_redirects: h.max_redirects,
            proxy: h.proxy.clone(),
            politeness,
            robots: h.robots.clone(),
            retry: h.retry.clone(),
            circuit: h.circuit.clone(),
            cookies: h.cookies.clone(),
            secrets: super::secrets::Secrets(secrets),
            plugins: h.plugins.clone(),
            mode: super::record::Mode::Live,
        })
    }
}

/// Checked HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `http.user_agent`.
    pub user_agent: String,
    /// `http.allow_private_addresses`.
    pub allow_private_addresses: bool,
    /// `http.allowed_private_ranges`, parsed.
    pub allowed_private_ranges: Vec<ipnet::IpNet>,
    /// `http.max_response_bytes`.
    pub max_response_bytes: u64,
    /// `http.connect_timeout_secs`.
    pub connect_timeout: Duration,
    /// `http.first_byte_timeout_secs`.
    pub first_byte_timeout: Duration,
    /// `http.request_timeout_secs`.
    pub request_timeout: Duration,
    /// `http.max_redirects`.
    pub max_redirects: u32,
    /// `http.proxy`, checked.
    pub proxy: Option<UrlWithPassword>,
    /// `[http.politeness]`, checked.
    pub politeness: super::politeness::PolitenessSettings,
    /// `[http.robots]`.
    pub robots: super::robots::RobotsConfig,
    /// `[http.retry]`, checked.
    pub retry: super::retry::RetryConfig,
    /// `[http.circuit]`, checked.
    pub circuit: super::retry::CircuitConfig,
    /// `[http.cookies]`.
    pub cookies: super::cookies::CookieConfig,
    /// Values already read from the environment; `Debug` redacts them.
    pub secrets: super::secrets::Secrets,
    /// `[http.plugins.<name>]`, checked.
    pub plugins: BTreeMap<String, super::proxy::PluginHttpConfig>,
    /// Live, `--record DIR` or `--replay DIR` (set by the CLI, not the file).
    pub mode: super::record::Mode,
}

impl HttpSettings {
    /// The address policy applied after DNS and to IP literals.
    pub fn address_policy(&self) -> super::allow::AddressPolicy {
        super::allow::AddressPolicy {
            allow_private: self.allow_private_addresses,
            allowed_ranges: self.allowed_private_ranges.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: HttpConfig = toml::from_str("").unwrap();
        assert_eq!(
            toml::to_string(&empty).unwrap(),
            toml::to_string(&HttpConfig::default()).unwrap()
        );
        let s = empty.check(|_| None).unwrap();
        assert_eq!(
            s.user_agent,
            concat!("crawlhost/", env!("CARGO_PKG_VERSION"))
        );
        assert!(!s.allow_private_addresses && s.allowed_private_ranges.is_empty());
        assert_eq!(s.max_response_bytes, 16 << 20);
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        assert_eq!(s.first_byte_timeout, Duration::from_secs(20));
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.max_redirects, 10);
    }
}
