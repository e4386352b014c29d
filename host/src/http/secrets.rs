//! Credentials the operator maps to hosts: the host adds them to requests
//! for matching hosts only, and the plugin never sees them.
//!
//! ```toml
//! [[http.secrets]]
//! hosts = ["api.x.com"]
//! header = "authorization"
//! value_env = "X_BEARER_TOKEN"
//! prefix = "Bearer "
//! ```
//!
//! The value is read from the environment when the configuration is checked
//! (a missing variable is an error naming it). It goes over TLS only: a
//! pattern names a host and port, not a scheme, so `http://api.x.com/` (or a
//! redirect from https to http on the same host) would otherwise carry the
//! token in clear text. `allow_http = true` lifts that for one secret (test
//! fixtures on loopback, an internal plain-HTTP API). It is added after every
//! allow-list and redirect check, per hop, so a redirect to another host
//! never carries it. A plugin may not set a header of the same name on a
//! request to a matching host (it could otherwise learn whether its guess is
//! right from the answer), and every byte handed back to the plugin
//! (headers, body, final URL, error messages) has the value replaced by
//! `[redacted]`, so a server that echoes the request cannot leak it. The
//! value's [`Debug`] form is redacted too (`config check` prints settings).

use serde::Deserialize;
use url::Url;

use super::allow::HostPattern;
use crate::secret::{Redactor, SecretString};

/// `[[http.secrets]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    /// Host patterns the header is sent to (`host`, `host:port`, `*.domain`).
    pub hosts: Vec<String>,
    /// Header name, e.g. `authorization` or `x-api-key`.
    pub header: String,
    /// Environment variable holding the value.
    pub value_env: String,
    /// Text put before the value, e.g. `Bearer `. Default empty.
    #[serde(default)]
    pub prefix: String,
    /// Send it over plain `http://` too. Default false: https only, so the
    /// value never crosses the network in clear text.
    #[serde(default)]
    pub allow_http: bool,
}

/// A checked secret with its value (`Debug` hides it: [`SecretString`]).
#[derive(Clone, Debug)]
pub struct Secret {
    hosts: Vec<HostPattern>,
    /// Lower-case header name.
    header: String,
    /// The whole header value (prefix + value).
    value: SecretString,
    /// The value from the environment alone.
    raw: SecretString,
    /// Sent over plain HTTP too (`allow_http`).
    allow_http: bool,
}

/// Headers a secret may not use: the host owns them.
const RESERVED: &[&str] = &[
    "host",
    "user-agent",
    "content-length",
    "transfer-encoding",
    "connection",
    "cookie",
    "te",
    "upgrade",
];

impl Secret {
    /// A secret from parts (tests and embedders that do not use the
    /// environment).
    pub fn new(hosts: &[&str], header: &str, prefix: &str, value: &str) -> Result<Self, String> {
        let header = header.trim().to_ascii_lowercase();
        if header.is_empty()
            || !header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(format!("header `{header}` is not a valid header name"));
        }
        if RESERVED.contains(&header.as_str()) {
            return Err(format!("header `{header}` is set by the host itself"));
        }
        if hosts.is_empty() {
            return Err("hosts must name at least one host".to_string());
        }
        let hosts = hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let raw = value.trim().to_string();
        if raw.len() < 4 {
            return Err("the value is empty or shorter than 4 characters".to_string());
        }
        let value = format!("{prefix}{raw}");
        if value.contains(['\r', '\n', '\0']) {
            return Err("the value contains a line break or NUL".to_string());
        }
        Ok(Self {
            hosts,
            header,
            value: value.into(),
            raw: raw.into(),
            allow_http: false,
        })
    }

    /// This secret, sent over plain `http://` too when `allow` is true (by
    /// default it goes over https only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Whether this secret goes with a request to `url`: a host pattern
    /// matches, and the request is https (or the secret allows http).
    pub fn applies_to(&self, url: &Url) -> bool {
        (url.scheme() == "https" || (self.allow_http && url.scheme() == "http"))
            && self.matches_host(url)
    }

    /// Whether a host pattern matches `url`, whatever the scheme.
    fn matches_host(&self, url: &Url) -> bool {
        self.hosts.iter().any(|p| p.matches(url))
    }

    /// Lower-case header name.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The header value to send.
    pub fn value(&self) -> &str {
        self.value.expose()
    }
}

impl SecretConfig {
    /// Resolve the value through `env` and check everything; `field` names
    /// this entry in errors.
    pub fn resolve(
        &self,
        field: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secret, (String, String)> {
        let value = env(&self.value_env)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                (
                    format!("{field}.value_env"),
                    format!(
                        "environment variable `{}` is not set or empty",
                        self.value_env
                    ),
                )
            })?;
        let hosts: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        Secret::new(&hosts, &self.header, &self.prefix, &value)
            .map(|s| s.allow_http(self.allow_http))
            .map_err(|e| {
                let part = if e.starts_with("header") {
                    "header"
                } else if e.starts_with("the value") {
                    "value_env"
                } else {
                    "hosts"
                };
                (format!("{field}.{part}"), e)
            })
    }
}

/// Every configured secret.
#[derive(Debug, Clone, Default)]
pub struct Secrets(pub Vec<Secret>);

impl Secrets {
    /// The secrets to add to a request to `url`.
    pub fn for_url<'a>(&'a self, url: &'a Url) -> impl Iterator<Item = &'a Secret> + 'a {
        self.0.iter().filter(move |s| s.applies_to(url))
    }

    /// Whether `name` is a secret's header for a request to `url`'s host,
    /// whatever the scheme: a plugin may not guess the value over plain HTTP
    /// either.
    pub fn is_secret_header(&self, url: &Url, name: &str) -> bool {
        self.0
            .iter()
            .any(|s| s.matches_host(url) && s.header.eq_ignore_ascii_case(name.trim()))
    }

    /// The matcher for the strings that must never reach a plugin: each
    /// value, whole header value, and percent-encoded form. Built once per
    /// client ([`super::HttpClient::new`]), not per response.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.0.iter().flat_map(|s| {
            let raw = s.raw.expose();
            let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            [s.value.expose().to_string(), raw.to_string(), encoded]
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets(vec![
            Secret::new(&["api.x.com"], "Authorization", "Bearer ", "tok/en+42").unwrap(),
        ])
    }

    #[test]
    fn applies_to_matching_hosts_only() {
        let s = secrets();
        let api = Url::parse("https://api.x.com/2/users").unwrap();
        let other = Url::parse("https://evil.example/").unwrap();
        assert_eq!(s.for_url(&api).count(), 1);
        assert_eq!(s.for_url(&other).count(), 0);
        assert!(s.is_secret_header(&api, " AUTHORIZATION"));
        assert!(!s.is_secret_header(&other, "authorization"));
        assert_eq!(s.0[0].value(), "Bearer tok/en+42");
    }

    /// Issue 15 item 5: the same host over plain HTTP (a link, or a redirect
    /// from https to http, which is injected per hop) gets no secret unless
    /// the secret allows it; the plugin still may not set the header there.
    #[test]
    fn plain_http_on_the_same_host_gets_no_secret_unless_allowed() {
        let s = secrets();
        let https = Url::parse("https://api.x.com/2/users").unwrap();
        let http = Url::parse("http://api.x.com/2/users").unwrap();
        let ws = Url::parse("ws://api.x.com/").unwrap();
        assert_eq!(s.for_url(&https).count(), 1);
        assert_eq!(s.for_url(&http).count(), 0);
        assert_eq!(s.for_url(&ws).count(), 0);
        assert!(s.is_secret_header(&http, "authorization"));
        let allowed = Secrets(vec![s.0[0].clone().allow_http(true)]);
        assert_eq!(allowed.for_url(&http).count(), 1);
        assert_eq!(allowed.for_url(&ws).count(), 0);
        // From the file: `allow_http = true`.
        let cfg: SecretConfig = toml::from_str(
            "hosts = [\"api.x.com\"]\nheader = \"x-key\"\nvalue_env = \"K\"\nallow_http = true\n",
        )
        .unwrap();
        let s = cfg.resolve("s", |_| Some("abcd1234".into())).unwrap();
        assert!(s.applies_to(&http));
    }

    #[test]
    fn redaction_covers_raw_whole_and_encoded_forms() {
        let s = secrets();
        let body = b"echo: Bearer tok/en+42; raw tok/en+42; query tok%2Fen%2B42".to_vec();
        let out = String::from_utf8(s.redactor().redact_bytes(body)).unwrap();
        assert_eq!(out, "echo: [redacted]; raw [redacted]; query [redacted]");
        assert_eq!(
            s.redactor().redact_str("nothing here".into()),
            "nothing here"
        );
        assert!(Secrets::default().redactor().is_empty());
    }

    #[test]
    fn debug_form_hides_the_value() {
        let text = format!("{:?}", secrets());
        assert!(!text.contains("tok/en"), "{text}");
        assert!(text.contains(crate::secret::HIDDEN), "{text}");
    }

    #[test]
    fn resolve_reads_the_environment_and_names_fields() {
        let cfg = SecretConfig {
            hosts: vec!["api.x.com".into()],
            header: "authorization".into(),
            value_env: "X_TOKEN".into(),
            prefix: "Bearer ".into(),
            allow_http: false,
        };
        let s = cfg
            .resolve("http.secrets[0]", |k| {
                (k == "X_TOKEN").then(|| "abcd1234".into())
            })
            .unwrap();
        assert_eq!(s.value(), "Bearer abcd1234");
        let (field, why) = cfg.resolve("http.secrets[0]", |_| None).unwrap_err();
        assert_eq!(field, "http.secrets[0].value_env");
        assert!(why.contains("X_TOKEN"), "{why}");
        let bad = SecretConfig {
            header: "user-agent".into(),
            ..cfg.clone()
        };
        let (field, _) = bad.resolve("s", |_| Some("abcd1234".into())).unwrap_err();
        assert_eq!(field, "s.header");
        let bad = SecretConfig {
            hosts: vec![],
            ..cfg
        };
        let (field, _) = bad.resolve("s", |_| Some("abcd1234".into())).unwrap_err();
        assert_eq!(field, "s.hosts");
    }
}
