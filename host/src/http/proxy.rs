//! Per-plugin HTTP settings (`[http.plugins.<name>]`: robots opt-out, proxy
//! list) and proxy plumbing.
//!
//! Proxies: `http.proxy` (one proxy for everything) or, when unset, the usual
//! `http_proxy` / `https_proxy` / `all_proxy` / `no_proxy` environment
//! variables; a plugin's own `proxies` list replaces both for that plugin,
//! used round-robin. Behind a proxy the proxy resolves names, so the host
//! resolves each name itself first and refuses it when any address is one
//! the address policy forbids (a name that does not resolve locally is
//! refused too).

use serde::Deserialize;

/// `[http.plugins.<name>]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginHttpConfig {
    /// Overrides `http.robots.obey` for this plugin (e.g. `false` for an API
    /// whose terms allow automated access).
    #[serde(default)]
    pub obey_robots: Option<bool>,
    /// Proxies for this plugin's requests (`http://host:port`,
    /// `https://...`, `socks5://` is not supported), used in turn. A
    /// password in a URL prints as `***` in `config check`.
    #[serde(default)]
    pub proxies: Vec<crate::secret::UrlWithPassword>,
}

/// Environment variables that make reqwest use a proxy.
const PROXY_ENV: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

/// Whether the environment configures a proxy.
pub fn env_proxy_set() -> bool {
    PROXY_ENV
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// Check a proxy URL; `Err(reason)`.
pub fn check_proxy_url(value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{value}`: only http:// and https:// proxies are supported"
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("`{value}` has no host"));
    }
    Ok(())
}

impl PluginHttpConfig {
    /// Check every proxy URL; `Err((field, reason))`.
    pub fn check(&self, plugin: &str) -> Result<(), (String, String)> {
        for (i, p) in self.proxies.iter().enumerate() {
            check_proxy_url(p.expose())
                .map_err(|e| (format!("http.plugins.{plugin}.proxies[{i}]"), e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls() {
        assert!(check_proxy_url("http://127.0.0.1:3128").is_ok());
        assert!(check_proxy_url("https://proxy.corp:443").is_ok());
        assert!(
            check_proxy_url("socks5://x:1080")
                .unwrap_err()
                .contains("only http")
        );
        assert!(check_proxy_url("nope").is_err());
        let cfg = PluginHttpConfig {
            obey_robots: None,
            proxies: vec![
                crate::secret::UrlWithPassword::new("http://ok:1"),
                crate::secret::UrlWithPassword::new("ftp://bad"),
            ],
        };
        assert_eq!(cfg.check("p").unwrap_err().0, "http.plugins.p.proxies[1]");
    }
}
