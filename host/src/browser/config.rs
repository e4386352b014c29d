//! `[browser]`: the headless browser behind the `browser` capability, its
//! session pool and the credentials the host types for plugins. Absent means
//! plugins that call `browser` get an `other` error naming the section.
//!
//! ```toml
//! [browser]
//! # Either an already-running WebDriver endpoint ...
//! # webdriver_url = "http://127.0.0.1:9515"
//! # ... or the chromedriver binary the host starts on a free loopback port.
//! chromedriver = "chromedriver"
//! chromium = "/usr/bin/chromium"
//! max_sessions = 2
//! page_deadline_secs = 30
//! args = ["--headless", "--no-sandbox", "--disable-gpu"]
//!
//! [[browser.secrets]]
//! name = "instagram_password"
//! hosts = ["www.instagram.com"]
//! value_env = "INSTAGRAM_PASSWORD"
//! # allow_http = false   # https pages only (the default)
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::secrets::{BrowserSecret, BrowserSecrets};

/// The Chromium flags used when `args` is not set: headless, no sandbox (the
/// host usually runs as an unprivileged container user or root in CI), and
/// none of Chromium's own background traffic (updates, sync, field trials),
/// which a crawler host must not send and a closed network refuses.
pub const DEFAULT_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// Flags the host adds after `args` on every session. WebRTC may use only
/// connections through the proxy (`disable_non_proxied_udp`): without it a
/// page's `RTCPeerConnection` sends STUN and ICE checks over UDP straight to
/// any address it names, around the egress proxy (HTTP proxies carry no
/// UDP), which both reaches undeclared hosts and tells them the machine's
/// addresses. With it Chromium gathers no host or server-reflexive
/// candidates at all (so it sends no mDNS for them either) and only TURN over
/// TCP through the proxy remains, which the proxy checks like any request.
pub const ENFORCED_ARGS: &[&str] = &["--webrtc-ip-handling-policy=disable_non_proxied_udp"];

/// Flags `args` may not contain: the host sets them itself (the per-session
/// proxy, the per-session profile, the WebRTC policy), and another value
/// would undo what they guarantee (a shared profile carries one plugin's
/// cookies to another; no proxy lets pages reach any host).
const RESERVED_FLAGS: &[&str] = &[
    "--proxy-server",
    "--proxy-bypass-list",
    "--proxy-pac-url",
    "--proxy-auto-detect",
    "--no-proxy-server",
    "--user-data-dir",
    "--profile-directory",
    "--webrtc-ip-handling-policy",
    "--force-webrtc-ip-handling-policy",
    "--remote-debugging-port",
    "--remote-debugging-pipe",
];

/// `[browser]` as written. A field left out takes its value from
/// [`BrowserConfig::default`].
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrowserConfig {
    /// URL of a running WebDriver server (chromedriver, Selenium), e.g.
    /// `http://127.0.0.1:9515` (plain `http://` only). When set, the host
    /// starts nothing itself, and its egress proxy is not used (that
    /// Chromium may run elsewhere): only navigations are checked.
    pub webdriver_url: Option<String>,
    /// The chromedriver binary the host starts on a free 127.0.0.1 port
    /// (first browser use; stopped with the host) when `webdriver_url` is not
    /// set. A bare name is looked up on `PATH`. Default `chromedriver`.
    pub chromedriver: PathBuf,
    /// The Chromium binary (WebDriver `goog:chromeOptions.binary`); unset
    /// lets chromedriver find it (`chromium` / `google-chrome` on `PATH`).
    pub chromium: Option<PathBuf>,
    /// Browser sessions alive at once, across all plugins (each is one
    /// Chromium with its own profile). A page waits for a free session up to
    /// its deadline. A session belongs to the plugin it was opened for and is
    /// reused only by that plugin's tasks (its cookies, such as a login,
    /// survive between them); at the cap, another plugin's idle session is
    /// closed and a new one with an empty profile opened. Default 2, at most
    /// 64.
    pub max_sessions: usize,
    /// Deadline of one page load (`open`, `navigate`, a click's navigation)
    /// and of waiting for a free session, in seconds, when the plugin gives
    /// none. Default 30.
    pub page_deadline_secs: u64,
    /// Chromium command-line flags. Default [`DEFAULT_ARGS`]: `--headless
    /// --no-sandbox --disable-gpu --disable-background-networking
    /// --disable-component-update --disable-sync --no-first-run`. The host
    /// adds [`ENFORCED_ARGS`], the proxy and the profile flags itself; the
    /// flags that would override them are refused.
    pub args: Vec<String>,
    /// Credentials the host types into pages for plugins (`type-secret`).
    pub secrets: Vec<BrowserSecretConfig>,
}

/// `[[browser.secrets]]`: one credential a plugin may ask the host to type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSecretConfig {
    /// The name plugins use in `type-secret` (e.g. `instagram_username`).
    pub name: String,
    /// Host patterns (`host`, `host:port`, `*.domain`) of the pages it may be
    /// typed into; on any other page `type-secret` fails with `blocked`.
    pub hosts: Vec<String>,
    /// Environment variable holding the value (read when the configuration
    /// is checked; a missing variable is an error naming it).
    pub value_env: String,
    /// Also type it into plain-HTTP (`http://`) pages of its hosts. Default
    /// false: only https pages get it, because a form on an `http://` page
    /// sends what is typed in clear text to anyone on the path (the same
    /// rule as `allow_http` of `[[http.secrets]]`). Set it only for a site
    /// that has no https, such as a loopback test fixture.
    #[serde(default)]
    pub allow_http: bool,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            webdriver_url: None,
            chromedriver: PathBuf::from("chromedriver"),
            chromium: None,
            max_sessions: 2,
            page_deadline_secs: 30,
            args: DEFAULT_ARGS.iter().map(|s| s.to_string()).collect(),
            secrets: Vec::new(),
        }
    }
}

/// Where the WebDriver endpoint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A server someone else runs.
    Url(String),
    /// Start this chromedriver binary.
    Spawn(PathBuf),
}

/// `[browser]`, checked.
#[derive(Debug, Clone)]
pub struct BrowserSettings {
    pub endpoint: Endpoint,
    pub chromium: Option<PathBuf>,
    pub max_sessions: usize,
    pub page_deadline: Duration,
    pub args: Vec<String>,
    pub secrets: BrowserSecrets,
}

/// A field of `[browser]` that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("browser.{field}: {reason}")]
pub struct BrowserConfigError {
    /// The field below `browser.` (`max_sessions`, `secrets[0].value_env`).
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> BrowserConfigError {
    BrowserConfigError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl BrowserConfig {
    /// Check every field; secret values come from `env`.
    pub fn check(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BrowserSettings, BrowserConfigError> {
        let endpoint = match &self.webdriver_url {
            Some(u) => {
                let parsed =
                    url::Url::parse(u).map_err(|e| err("webdriver_url", format!("`{u}`: {e}")))?;
                if parsed.scheme() != "http" {
                    return Err(err(
                        "webdriver_url",
                        "must be an http:// URL (the WebDriver client speaks plain HTTP; \
                         reach a remote server through a tunnel)",
                    ));
                }
                Endpoint::Url(u.clone())
            }
            None => {
                if self.chromedriver.as_os_str().is_empty() {
                    return Err(err("chromedriver", "must not be empty"));
                }
                Endpoint::Spawn(self.chromedriver.clone())
            }
        };
        if !(1..=64).contains(&self.max_sessions) {
            return Err(err("max_sessions", "must be between 1 and 64"));
        }
        if !(1..=600).contains(&self.page_deadline_secs) {
            return Err(err("page_deadline_secs", "must be between 1 and 600"));
        }
        if let Some(bad) = self.args.iter().find(|a| !a.starts_with("--")) {
            return Err(err(
                "args",
                format!("`{bad}` is not a Chromium flag (flags start with --)"),
            ));
        }
        let reserved = |a: &str| {
            let name = a.split('=').next().unwrap_or(a);
            RESERVED_FLAGS.iter().any(|r| name.eq_ignore_ascii_case(r))
        };
        if let Some(bad) = self.args.iter().find(|a| reserved(a)) {
            return Err(err(
                "args",
                format!(
                    "`{bad}`: the host sets this flag itself (egress proxy, per-session \
                     profile, WebRTC policy) and may not be overridden"
                ),
            ));
        }
        let mut secrets = Vec::new();
        for (i, s) in self.secrets.iter().enumerate() {
            let field = format!("secrets[{i}]");
            if secrets.iter().any(|o: &BrowserSecret| o.name() == s.name) {
                return Err(err(
                    format!("{field}.name"),
                    format!("`{}` is defined twice", s.name),
                ));
            }
            let value = env(&s.value_env).filter(|v| !v.is_empty()).ok_or_else(|| {
                err(
                    format!("{field}.value_env"),
                    format!("environment variable `{}` is not set or empty", s.value_env),
                )
            })?;
            let hosts: Vec<&str> = s.hosts.iter().map(String::as_str).collect();
            let secret = BrowserSecret::new(&s.name, &hosts, &value)
                .map_err(|(part, reason)| err(format!("{field}.{part}"), reason))?
                .allow_http(s.allow_http);
            secrets.push(secret);
        }
        Ok(BrowserSettings {
            endpoint,
            chromium: self.chromium.clone(),
            max_sessions: self.max_sessions,
            page_deadline: Duration::from_secs(self.page_deadline_secs),
            args: self.args.clone(),
            secrets: BrowserSecrets(secrets),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> BrowserConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn an_empty_table_is_the_default() {
        assert_eq!(parse(""), BrowserConfig::default());
    }

    #[test]
    fn defaults_spawn_chromedriver_with_the_quiet_flags() {
        let s = parse("").check(&|_| None).unwrap();
        assert_eq!(s.endpoint, Endpoint::Spawn("chromedriver".into()));
        assert_eq!(s.max_sessions, 2);
        assert_eq!(s.page_deadline, Duration::from_secs(30));
        assert!(
            s.args
                .contains(&"--disable-background-networking".to_string())
        );
        assert!(s.args.contains(&"--headless".to_string()));
        let caps = crate::browser::driver::capabilities(&s);
        let args = caps["goog:chromeOptions"]["args"].as_array().unwrap();
        assert_eq!(
            args.last().unwrap(),
            "--webrtc-ip-handling-policy=disable_non_proxied_udp",
            "the host's flags come last, after the configured ones"
        );
    }

    #[test]
    fn refuses_bad_fields_naming_them() {
        let e = parse("max_sessions = 0").check(&|_| None).unwrap_err();
        assert_eq!(e.field, "max_sessions");
        let e = parse("webdriver_url = \"ftp://x\"")
            .check(&|_| None)
            .unwrap_err();
        assert_eq!(e.field, "webdriver_url");
        let e = parse("args = [\"headless\"]").check(&|_| None).unwrap_err();
        assert_eq!(e.field, "args");
        for flag in [
            "--user-data-dir=/tmp/shared",
            "--proxy-server=direct://",
            "--no-proxy-server",
            "--webrtc-ip-handling-policy=default",
        ] {
            let e = parse(&format!("args = [\"--headless\", \"{flag}\"]"))
                .check(&|_| None)
                .unwrap_err();
            assert_eq!(e.field, "args", "{flag}");
            assert!(e.reason.contains("sets this flag itself"), "{e}");
        }
        let text = "[[secrets]]\nname = \"pw\"\nhosts = [\"a.example\"]\nvalue_env = \"NOPE\"\n";
        let e = parse(text).check(&|_| None).unwrap_err();
        assert_eq!(e.field, "secrets[0].value_env");
        assert!(e.to_string().contains("NOPE"), "{e}");
        let twice = format!("{text}{text}");
        let e = parse(&twice)
            .check(&|_| Some("hunter22".into()))
            .unwrap_err();
        assert_eq!(e.field, "secrets[1].name");
    }

    #[test]
    fn secrets_resolve_and_never_print() {
        let text = "[[secrets]]\nname = \"pw\"\nhosts = [\"a.example\"]\nvalue_env = \"PW\"\n";
        let s = parse(text)
            .check(&|n| (n == "PW").then(|| "hunter22".to_string()))
            .unwrap();
        assert_eq!(s.secrets.0.len(), 1);
        assert!(!format!("{s:?}").contains("hunter22"));
    }
}
