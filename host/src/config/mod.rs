//! `crawlhost.toml`: the operator's configuration, parsed and then checked.
//!
//! Parsing ([`Config`]) is serde with `deny_unknown_fields`, so a typo is an
//! error that names the field instead of a silently ignored setting. Checking
//! ([`Config::validate`]) turns it into [`Settings`], the only form the rest of
//! the host accepts; every bound is enforced there, with the field named.
//! Every field has a default, so an empty file (or none) is a valid config:
//! embedded bus, `./plugins`, `./.crawlhost`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secret::{HIDDEN, SecretString};

pub mod admin;

/// Errors reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (unknown field, wrong type).
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value is outside its allowed range.
    #[error("invalid config value `{field}`: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// The whole file. A section left out takes its value from
/// [`Config::default`] (every section has defaults).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where plugins and data live.
    pub host: HostConfig,
    /// Per-task sandbox limits.
    pub sandbox: crate::engine::config::SandboxConfig,
    /// How runs schedule and retry tasks.
    pub run: RunConfig,
    /// Outbound HTTP on behalf of plugins.
    pub http: crate::http::config::HttpConfig,
    /// Caps of the `html` capability; owned and checked by [`crate::html`].
    pub html: crate::html::HtmlConfig,
    /// The record bus.
    pub bus: BusConfig,
    /// Kafka; when absent the embedded bus is used. Owned and checked by
    /// [`crate::bus::kafka`].
    pub kafka: Option<crate::bus::kafka::KafkaConfig>,
    /// The S3 sink; owned and checked by [`crate::sink`].
    pub sink: Option<crate::sink::SinkConfig>,
    /// The admin API of `crawlhost serve` ([`admin`]).
    pub admin: Option<crate::config::admin::AdminConfig>,
    /// The headless browser behind the `browser` capability; absent means
    /// none. Owned and checked by [`crate::browser::config`].
    pub browser: Option<crate::browser::BrowserConfig>,
    /// Drift alarms: when a run's field coverage or record counts, compared
    /// with the plugin's last good run, say the site changed. Owned and
    /// checked by [`crate::coverage::drift`].
    pub drift: crate::coverage::DriftConfig,
    /// Per-plugin settings, by plugin name.
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// `[host]`. A field left out takes its value from [`HostConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// Directory scanned for `*.wasm` plugins. Relative paths are relative to
    /// the working directory. Default `plugins`.
    pub plugins_dir: PathBuf,
    /// Directory for the embedded bus, plugin state and the compiled-component
    /// cache. Default `.crawlhost`.
    pub data_dir: PathBuf,
    /// Directory of compiled plugins: each `.wasm` is compiled to machine
    /// code once per file content and host build, and loads from here in
    /// milliseconds afterwards. `crawlhost plugin compile` fills it ahead of
    /// time; `plugin test` and every load fill it too.
    /// Must be writable by the host's user only. Default `<data_dir>/cache`.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            plugins_dir: PathBuf::from("plugins"),
            data_dir: PathBuf::from(".crawlhost"),
            cache_dir: None,
        }
    }
}

/// `[run]`. A field left out takes its value from [`RunConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Tasks of one plugin in flight at once (async tasks, not threads).
    /// Default 8.
    pub concurrency: usize,
    /// Attempts for a task failing with a `retryable` error (timeouts, 5xx),
    /// the first one included. Default 4.
    pub max_attempts: u32,
    /// Attempts for a task failing with a `blocked` error. Default 2.
    pub blocked_max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt, with full
    /// jitter. Default 1000.
    pub retry_base_ms: u64,
    /// Longest retry delay in milliseconds. Default 60000.
    pub retry_max_ms: u64,
    /// Multiplier on the delay after a `blocked` error. Default 10.
    pub blocked_backoff_factor: u64,
    /// Distinct tasks one run may create; beyond it follow-ups are refused and
    /// the run is reported as failed (stops endless fan-out). Default 1000000.
    pub max_tasks_per_run: usize,
    /// Bytes (task keys + payloads) of the distinct tasks one run may
    /// accept; beyond it follow-ups are refused and the run is reported as
    /// failed. The frontier and the journal hold every accepted task, so
    /// this bounds what fat follow-ups can fill. Default 268435456 (256 MiB).
    pub max_task_bytes_per_run: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            max_attempts: 4,
            blocked_max_attempts: 2,
            retry_base_ms: 1000,
            retry_max_ms: 60_000,
            blocked_backoff_factor: 10,
            max_tasks_per_run: 1_000_000,
            max_task_bytes_per_run: 256 << 20,
        }
    }
}

/// `[bus]`: with no `[kafka]` section the embedded SQLite bus is used. A
/// field left out takes its value from [`BusConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// Partitions of topics the embedded bus creates on first use. Default 1.
    pub partitions: u32,
    /// Topic receiving records whose value is not valid JSON, with the cause
    /// in headers. Default `crawlhost.dead-letter`.
    pub dead_letter_topic: String,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            partitions: 1,
            dead_letter_topic: "crawlhost.dead-letter".to_string(),
        }
    }
}

/// `[plugins.<name>]`. Every field is optional (see
/// [`PluginConfig::default`]).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginConfig {
    /// Skip this plugin in `run` and `serve`. Default false.
    pub disabled: bool,
    /// Values for the plugin's config keys (see `crawlhost plugin inspect`).
    pub config: BTreeMap<String, String>,
    /// Overrides `run.concurrency` for this plugin.
    pub concurrency: Option<usize>,
    /// Overrides the manifest's cron schedule in `serve`
    /// (`sec min hour day-of-month month day-of-week [year]`); `off` disables
    /// scheduled runs.
    pub schedule: Option<String>,
    /// Time zone the schedule is evaluated in (IANA name). Default `UTC`.
    pub timezone: Option<String>,
    /// Topics this plugin may consume as `triggers` (another plugin's or
    /// producer's output): a trigger topic not listed here is refused when
    /// its trigger consumer starts. The host's own topics are refused even
    /// when listed. Default none.
    pub allow_triggers: Vec<String>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub plugins_dir: PathBuf,
    pub data_dir: PathBuf,
    /// `host.cache_dir`, resolved (default `<data_dir>/cache`).
    pub cache_dir: PathBuf,
    pub sandbox: crate::engine::config::SandboxSettings,
    pub run: RunConfig,
    pub http: crate::http::config::HttpSettings,
    pub html: crate::html::HtmlConfig,
    pub bus: BusConfig,
    /// `[kafka]` as written; [`crate::bus::kafka`] checks it when it connects.
    pub kafka: Option<crate::bus::kafka::KafkaConfig>,
    /// `[sink]` as written; [`crate::sink`] checks it when it starts.
    pub sink: Option<crate::sink::SinkConfig>,
    /// `[admin]` as written.
    pub admin: Option<crate::config::admin::AdminConfig>,
    /// `[browser]`, checked (secret values resolved).
    pub browser: Option<crate::browser::BrowserSettings>,
    /// `[drift]`, checked.
    pub drift: crate::coverage::DriftPolicy,
    pub plugins: BTreeMap<String, PluginConfig>,
}

impl Config {
    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse TOML text; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The effective configuration as TOML, for `crawlhost config check`:
    /// every default filled in, environment overrides applied, and every
    /// secret (and proxy password) shown as `"***"`. A header says which
    /// secrets come from which environment variable, and whether each is
    /// set. `env` reads the environment (a map in tests).
    pub fn summary(&self, env: &dyn Fn(&str) -> Option<String>) -> String {
        let mut effective = self.clone();
        let mut from_env: Vec<String> = Vec::new();
        let mut note = |what: String, var: &str| {
            let set = env(var).is_some_and(|v| !v.is_empty());
            from_env.push(format!(
                "#   {what} <- ${var} ({})",
                if set { "set" } else { "not set" }
            ));
            set
        };
        if let Some(k) = effective.kafka.as_mut() {
            use crate::bus::kafka::{SASL_PASSWORD_ENV, SSL_KEY_PASSWORD_ENV};
            if note("kafka.sasl_password".into(), SASL_PASSWORD_ENV) {
                k.sasl_password = Some(SecretString::new(HIDDEN));
            }
            if note("kafka.ssl_key_password".into(), SSL_KEY_PASSWORD_ENV) {
                k.ssl_key_password = Some(SecretString::new(HIDDEN));
            }
        }
        for (i, s) in self.http.secrets.iter().enumerate() {
            note(format!("http.secrets[{i}] ({})", s.header), &s.value_env);
        }
        if let Some(b) = &self.browser {
            for (i, s) in b.secrets.iter().enumerate() {
                note(format!("browser.secrets[{i}] ({})", s.name), &s.value_env);
            }
        }
        let admin = self.admin.clone().unwrap_or_default();
        note("admin token".into(), &admin.token_env);
        let body = toml::to_string(&effective)
            .unwrap_or_else(|e| format!("# the configuration cannot be shown as TOML: {e}\n"));
        format!(
            "# Effective configuration (defaults filled in). Secrets print as \"{HIDDEN}\".\n\
             # Secrets read from the environment:\n{}\n\n{body}",
            from_env.join("\n")
        )
    }

    /// The configuration without the secrets that fetches attach
    /// (`[[http.secrets]]`, `[[browser.secrets]]`), for commands that never
    /// fetch: they should not demand environment variables they do not use.
    pub fn without_fetch_secrets(mut self) -> Self {
        self.http.secrets.clear();
        if let Some(browser) = self.browser.as_mut() {
            browser.secrets.clear();
        }
        self
    }

    /// Check every bound and produce [`Settings`]; secrets come from the
    /// process environment.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        self.validate_with(&|name| std::env::var(name).ok())
    }

    /// [`Config::validate`] with secrets read through `env`.
    pub fn validate_with(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let sandbox = self
            .sandbox
            .check()
            .map_err(|e| invalid(&e.field, e.reason))?;
        let r = &self.run;
        if r.concurrency == 0 || r.concurrency > 10_000 {
            return Err(invalid("run.concurrency", "must be between 1 and 10000"));
        }
        if r.max_attempts == 0 {
            return Err(invalid(
                "run.max_attempts",
                "must be at least 1 (the first attempt)",
            ));
        }
        if r.blocked_max_attempts == 0 {
            return Err(invalid("run.blocked_max_attempts", "must be at least 1"));
        }
        if r.retry_max_ms < r.retry_base_ms {
            return Err(invalid(
                "run.retry_max_ms",
                "must not be below run.retry_base_ms",
            ));
        }
        if r.max_tasks_per_run == 0 {
            return Err(invalid("run.max_tasks_per_run", "must be at least 1"));
        }
        if r.max_task_bytes_per_run == 0 {
            return Err(invalid("run.max_task_bytes_per_run", "must be at least 1"));
        }
        let http = self
            .http
            .check(env)
            .map_err(|e| invalid(&e.field, e.reason))?;
        self.html
            .validate()
            .map_err(|e| invalid(&e.field, e.reason))?;
        if self.bus.partitions == 0 || self.bus.partitions > 10_000 {
            return Err(invalid("bus.partitions", "must be between 1 and 10000"));
        }
        if self.bus.dead_letter_topic.trim().is_empty() {
            return Err(invalid("bus.dead_letter_topic", "must not be empty"));
        }
        if let Some(kafka) = &self.kafka {
            // Checked here too so `config check` names a bad [kafka] field.
            kafka
                .check(env)
                .map_err(|e| invalid(&format!("kafka.{}", e.field), e.reason))?;
        }
        for (name, p) in &self.plugins {
            if p.concurrency == Some(0) {
                return Err(invalid(
                    &format!("plugins.{name}.concurrency"),
                    "must be at least 1",
                ));
            }
            let tz = p.timezone.as_deref().unwrap_or("UTC");
            if let Some(expr) = p
                .schedule
                .as_deref()
                .filter(|e| !e.trim().eq_ignore_ascii_case("off"))
            {
                crate::schedule::CronSchedule::parse(expr, tz)
                    .map_err(|e| invalid(&format!("plugins.{name}.schedule"), e.to_string()))?;
            } else if p.timezone.is_some() {
                crate::schedule::CronSchedule::parse("0 0 0 * * *", tz)
                    .map_err(|e| invalid(&format!("plugins.{name}.timezone"), e.to_string()))?;
            }
        }
        if let Some(admin) = &self.admin {
            admin.addr().map_err(|e| invalid("admin.listen", e))?;
        }
        let browser = match &self.browser {
            Some(b) => Some(
                b.check(env)
                    .map_err(|e| invalid(&format!("browser.{}", e.field), e.reason))?,
            ),
            None => None,
        };
        let drift = self
            .drift
            .check()
            .map_err(|e| invalid(&format!("drift.{}", e.field), e.reason))?;
        Ok(Settings {
            plugins_dir: self.host.plugins_dir,
            cache_dir: self
                .host
                .cache_dir
                .unwrap_or_else(|| self.host.data_dir.join("cache")),
            data_dir: self.host.data_dir,
            sandbox,
            run: self.run,
            http,
            html: self.html,
            bus: self.bus,
            kafka: self.kafka,
            sink: self.sink,
            admin: self.admin,
            browser,
            drift,
            plugins: self.plugins,
        })
    }
}

/// The host's own topics under their configured names: the dead-letter
/// topic, and with Kafka the `--distributed` tasks, results and claims
/// topics. No plugin may write or trigger on them.
pub fn internal_topics(settings: &Settings) -> Vec<&str> {
    let mut topics = vec![settings.bus.dead_letter_topic.as_str()];
    if let Some(k) = &settings.kafka {
        topics.extend([
            k.tasks_topic.as_str(),
            k.results_topic.as_str(),
            k.claims_topic.as_str(),
            k.journal_topic.as_str(),
        ]);
    }
    topics
}

impl Settings {
    /// Tasks in flight for `plugin`.
    pub fn concurrency_for(&self, plugin: &str) -> usize {
        self.plugins
            .get(plugin)
            .and_then(|p| p.concurrency)
            .unwrap_or(self.run.concurrency)
    }

    /// Operator config values for `plugin`.
    pub fn plugin_values(&self, plugin: &str) -> BTreeMap<String, String> {
        self.plugins
            .get(plugin)
            .map(|p| p.config.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Config::parse(text, Path::new("test.toml"))?.validate()
    }

    /// `T` parsed from an empty table, as the effective TOML it prints.
    fn empty_and_default<T>() -> (String, String)
    where
        T: serde::de::DeserializeOwned + serde::Serialize + Default,
    {
        let empty: T = toml::from_str("").unwrap();
        (
            toml::to_string(&empty).unwrap(),
            toml::to_string(&T::default()).unwrap(),
        )
    }

    #[test]
    fn an_empty_table_is_the_default() {
        for (name, (empty, default)) in [
            ("Config", empty_and_default::<Config>()),
            ("HostConfig", empty_and_default::<HostConfig>()),
            ("RunConfig", empty_and_default::<RunConfig>()),
            ("BusConfig", empty_and_default::<BusConfig>()),
            ("PluginConfig", empty_and_default::<PluginConfig>()),
        ] {
            assert_eq!(empty, default, "{name}");
        }
        // The defaults the docs promise.
        let d = Config::default();
        assert_eq!(
            (d.host.plugins_dir, d.host.data_dir),
            (PathBuf::from("plugins"), PathBuf::from(".crawlhost"))
        );
        let r = d.run;
        assert_eq!(
            (r.concurrency, r.max_attempts, r.blocked_max_attempts),
            (8, 4, 2)
        );
        assert_eq!(
            (r.retry_base_ms, r.retry_max_ms, r.blocked_backoff_factor),
            (1000, 60_000, 10)
        );
        assert_eq!(
            (r.max_tasks_per_run, r.max_task_bytes_per_run),
            (1_000_000, 256 << 20)
        );
        assert_eq!(
            (d.bus.partitions, d.bus.dead_letter_topic.as_str()),
            (1, "crawlhost.dead-letter")
        );
    }

    #[test]
    fn empty_file_is_the_embedded_default() {
        let s = parse("").unwrap();
        assert_eq!(s.plugins_dir, PathBuf::from("plugins"));
        assert_eq!(s.run.concurrency, 8);
        assert_eq!(s.bus.partitions, 1);
        assert!(!s.http.allow_private_addresses);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = parse("[run]\nconcurency = 3\n").unwrap_err().to_string();
        assert!(err.contains("concurency"), "{err}");
    }

    #[test]
    fn out_of_range_value_names_the_field() {
        let err = parse("[run]\nconcurrency = 0\n").unwrap_err().to_string();
        assert!(err.contains("run.concurrency"), "{err}");
        let err = parse("[plugins.x]\nconcurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plugins.x.concurrency"), "{err}");
        let err = parse("[sandbox]\nmemory_limit_mb = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox.memory_limit_mb"), "{err}");
        let err = parse("[sandbox]\nmax_output_bytes_per_task = 100\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox.max_output_bytes_per_task"), "{err}");
    }

    /// Issue 15 (low): MiB values that overflow in bytes are refused, naming
    /// the field (was: a panic in debug builds, a wrapped quota in release).
    #[test]
    fn sizes_in_mib_that_overflow_are_refused() {
        let err = parse(&format!("[sandbox]\nstate_quota_mb = {}\n", u64::MAX))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox.state_quota_mb"), "{err}");
        let err = parse("[sandbox]\nmax_plugin_file_mb = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox.max_plugin_file_mb"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = parse("[run]\nconcurrency = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("concurrency"), "{err}");
    }

    #[test]
    fn http_sections_parse_and_name_bad_fields() {
        let s = parse(
            "[http]\nallowed_private_ranges = [\"127.0.0.0/8\", \"::1\"]\n\
             [http.politeness]\nrequests_per_second = 50\njitter_ms = 0\n\
             [[http.politeness.hosts]]\nhosts = [\"api.x.com\"]\nconcurrency = 4\n\
             [http.retry]\nmax_attempts = 2\n[http.robots]\nobey = false\n\
             [http.plugins.oliveyoung]\nobey_robots = true\nproxies = [\"http://127.0.0.1:3128\"]\n",
        )
        .unwrap();
        assert_eq!(s.http.allowed_private_ranges.len(), 2);
        assert_eq!(s.http.politeness.default.period, Duration::from_millis(20));
        assert_eq!(s.http.retry.max_attempts, 2);
        assert!(!s.http.robots.obey);
        assert_eq!(s.http.plugins["oliveyoung"].obey_robots, Some(true));
        // Defaults stay polite.
        let d = parse("").unwrap();
        assert_eq!(d.http.politeness.default.period, Duration::from_secs(1));
        assert!(d.http.robots.obey);
        for (text, field) in [
            (
                "[http]\nallowed_private_ranges = [\"nope\"]\n",
                "http.allowed_private_ranges[0]",
            ),
            (
                "[http.politeness]\nconcurrency = 0\n",
                "http.politeness.concurrency",
            ),
            (
                "[http.retry]\nmax_attempts = 0\n",
                "http.retry.max_attempts",
            ),
            (
                "[http]\nfirst_byte_timeout_secs = 0\n",
                "http.first_byte_timeout_secs",
            ),
            ("[http]\nproxy = \"socks5://x:1\"\n", "http.proxy"),
            (
                "[http.plugins.p]\nproxies = [\"x\"]\n",
                "http.plugins.p.proxies[0]",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
        let err = parse("[http.politeness]\nrps = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rps"), "{err}");
    }

    /// Issue 19: `crawlhost tail twitter` refused to read the bus until
    /// `X_BEARER_TOKEN` was set. A command that never fetches checks the
    /// configuration without the fetch secrets; one that fetches still
    /// demands them.
    #[test]
    fn commands_that_never_fetch_do_not_demand_fetch_secrets() {
        let text = "[[http.secrets]]\nhosts = [\"api.x.com\"]\nheader = \"authorization\"\n\
                    value_env = \"X_BEARER_TOKEN\"\n\
                    [browser]\n[[browser.secrets]]\nname = \"password\"\n\
                    hosts = [\"www.instagram.com\"]\nvalue_env = \"INSTAGRAM_PASSWORD\"\n";
        let config = Config::parse(text, Path::new("t.toml")).unwrap();
        let unset = |_: &str| None;
        let err = config
            .clone()
            .validate_with(&unset)
            .unwrap_err()
            .to_string();
        assert!(err.contains("X_BEARER_TOKEN"), "{err}");
        let settings = config
            .without_fetch_secrets()
            .validate_with(&unset)
            .unwrap();
        let url = url::Url::parse("https://api.x.com/2/users").unwrap();
        assert_eq!(settings.http.secrets.for_url(&url).count(), 0);
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let text = "[[http.secrets]]\nhosts = [\"api.x.com\"]\nheader = \"authorization\"\n\
                    value_env = \"CRAWLHOST_TEST_TOKEN\"\nprefix = \"Bearer \"\n";
        let config = Config::parse(text, Path::new("t.toml")).unwrap();
        let err = config.http.check(|_| None).unwrap_err().to_string();
        assert!(
            err.contains("http.secrets[0].value_env") && err.contains("CRAWLHOST_TEST_TOKEN"),
            "{err}"
        );
        let http = config.http.check(|_| Some("s3cr3t-value".into())).unwrap();
        let url = url::Url::parse("https://api.x.com/2/users").unwrap();
        assert_eq!(
            http.secrets.for_url(&url).next().unwrap().value(),
            "Bearer s3cr3t-value"
        );
        let shown = format!("{http:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    /// Issue 15 item 4: every secret of the file, and those read from the
    /// environment, stays out of `Debug` of the settings and out of the
    /// `config check` summary.
    #[test]
    fn no_secret_in_debug_or_summary() {
        let text = r#"
[http]
proxy = "http://u:MARKER-proxy@127.0.0.1:3128"
[[http.secrets]]
hosts = ["api.x.com"]
header = "x-api-key"
value_env = "HTTP_SECRET"
[http.plugins.p]
proxies = ["http://u:MARKER-pproxy@127.0.0.1:3128"]
[kafka]
bootstrap_servers = "127.0.0.1:9092"
security_protocol = "sasl_plaintext"
sasl_username = "user"
sasl_password = "MARKER-sasl"
[kafka.properties]
"sasl.oauthbearer.client.secret" = "MARKER-prop"
[sink]
topics = ["t"]
[sink.store]
kind = "s3"
bucket = "bronze"
access_key_id = "MARKER-ak"
secret_access_key = "MARKER-sk"
session_token = "MARKER-st"
[admin]
token_env = "ADMIN_TOKEN"
[browser]
webdriver_url = "http://127.0.0.1:4444"
[[browser.secrets]]
name = "pw"
hosts = ["login.example"]
value_env = "BROWSER_SECRET"
"#;
        let env = |k: &str| match k {
            "HTTP_SECRET" => Some("MARKER-http".to_string()),
            "BROWSER_SECRET" => Some("MARKER-browser".to_string()),
            "ADMIN_TOKEN" => Some("MARKER-admin".to_string()),
            crate::bus::kafka::SASL_PASSWORD_ENV => Some("MARKER-env".to_string()),
            _ => None,
        };
        let config = Config::parse(text, Path::new("t.toml")).unwrap();
        let mut settings = config.clone().validate_with(&env).unwrap();
        assert_eq!(settings.http.secrets.0[0].value(), "MARKER-http");
        assert_eq!(settings.browser.as_ref().unwrap().secrets.0.len(), 1);
        settings.http.mode = crate::http::record::Mode::Live;
        let shown = format!("{settings:?}\n{settings:#?}");
        assert!(!shown.contains("MARKER"), "{shown}");
        let summary = config.summary(&env);
        assert!(!summary.contains("MARKER"), "{summary}");
        assert!(summary.contains("secret_access_key = \"***\""), "{summary}");
        assert!(summary.contains("http://u:***@127.0.0.1:3128"), "{summary}");
        assert!(summary.contains("ADMIN_TOKEN (set)"), "{summary}");
        // The summary is the configuration: it parses back.
        let back = Config::parse(&summary, Path::new("summary.toml")).unwrap();
        assert_eq!(back.sink.unwrap().store.bucket.as_deref(), Some("bronze"));
        // The values themselves are still there for the code that sends them.
        let s = SecretString::new("MARKER-x");
        assert_eq!(s.expose(), "MARKER-x");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
    }

    #[test]
    fn drift_section_parses_and_names_bad_fields() {
        let d = parse("").unwrap();
        assert!(d.drift.enabled);
        assert_eq!(d.drift.min_before, 0.9);
        assert_eq!(d.drift.max_after, 0.5);
        let s = parse("[drift]\nenabled = false\nmax_count_drop = 0.8\nmin_flag_expected = 25\n")
            .unwrap();
        assert!(!s.drift.enabled);
        assert_eq!(s.drift.max_count_drop, 0.8);
        assert_eq!(s.drift.min_flag_expected, 25.0);
        assert_eq!(s.drift.min_before, 0.9);
        let err = parse("[drift]\nmax_after = 2\n").unwrap_err().to_string();
        assert!(err.contains("drift.max_after"), "{err}");
        let err = parse("[drift]\nmin_before = 0.3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("drift.max_after"), "{err}");
        let err = parse("[drift]\nthreshold = 0.3\n").unwrap_err().to_string();
        assert!(err.contains("threshold"), "{err}");
    }

    #[test]
    fn plugin_values_and_overrides() {
        let s =
            parse("[plugins.oliveyoung]\nconcurrency = 3\nconfig = { base_url = \"http://x\" }\n")
                .unwrap();
        assert_eq!(s.concurrency_for("oliveyoung"), 3);
        assert_eq!(s.concurrency_for("other"), 8);
        assert_eq!(s.plugin_values("oliveyoung")["base_url"], "http://x");
    }
}
