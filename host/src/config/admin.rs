//! `[admin]`: the admin API's section of `crawlhost.toml`. Kept with the
//! configuration rather than in [`crate::serve::admin`] (which serves it), so
//! the configuration does not depend on the long-running host.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::secret::SecretString;

/// `[admin]` in crawlhost.toml. A field left out takes its value from
/// [`AdminConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Serve the admin API in `crawlhost serve`. Default true.
    pub enabled: bool,
    /// Address to bind. Default `127.0.0.1:7878`. A non-loopback address
    /// requires a token.
    pub listen: String,
    /// Environment variable holding the bearer token. Default
    /// `CRAWLHOST_ADMIN_TOKEN`; when it is set, every request but `/healthz`
    /// needs `Authorization: Bearer <token>`.
    pub token_env: String,
    /// Names the admin API answers to (the `Host` header) when no token is
    /// set, besides `localhost`, `127.0.0.1`, `[::1]` and the listen
    /// address, e.g. `["crawler.local"]`. Any other name is refused, which
    /// stops DNS rebinding. Default none.
    pub hosts: Vec<String>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:7878".to_string(),
            token_env: "CRAWLHOST_ADMIN_TOKEN".to_string(),
            hosts: Vec::new(),
        }
    }
}

impl AdminConfig {
    /// The address to bind, checked.
    pub fn addr(&self) -> Result<SocketAddr, String> {
        self.listen
            .parse()
            .map_err(|e| format!("admin.listen `{}` is not host:port: {e}", self.listen))
    }

    /// The token, if the environment variable is set and non-empty.
    pub fn token(&self) -> Option<SecretString> {
        std::env::var(&self.token_env)
            .ok()
            .filter(|t| !t.is_empty())
            .map(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: AdminConfig = toml::from_str("").unwrap();
        assert_eq!(
            toml::to_string(&empty).unwrap(),
            toml::to_string(&AdminConfig::default()).unwrap()
        );
        assert!(empty.enabled);
        assert_eq!(empty.addr().unwrap().to_string(), "127.0.0.1:7878");
        assert_eq!(empty.token_env, "CRAWLHOST_ADMIN_TOKEN");
    }
}
