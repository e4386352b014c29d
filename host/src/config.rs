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
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a secret prints as, in `Debug`, `Display` and the summary of
/// `crawlhost config check`.
pub const HIDDEN: &str = "***";

/// A value that must never be printed: passwords, keys, tokens.
///
/// Every configuration field that holds a secret has this type, so redaction
/// lives in one place: `Debug`, `Display` and `Serialize` all give
/// [`HIDDEN`], and the value itself is reachable only through
/// [`SecretString::expose`], which makes each use visible in review.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wrap a value read from a file, the environment or a test.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(HIDDEN)
    }
}

/// `url` with the password of its user-info (`http://user:pass@proxy`)
/// replaced by [`HIDDEN`]; other text unchanged.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some(HIDDEN));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// A URL that may carry a password (`http://user:pass@proxy:3128`):
/// `Debug`, `Display` and `Serialize` give it with the password as
/// [`HIDDEN`]; [`UrlWithPassword::expose`] gives it whole.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct UrlWithPassword(String);

impl UrlWithPassword {
    /// Wrap a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for the client that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UrlWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

impl std::fmt::Display for UrlWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Serialize for UrlWithPassword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}

/// Errors reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
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

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where plugins and data live.
    #[serde(default)]
    pub host: HostConfig,
    /// Per-task sandbox limits.
    #[serde(default)]
    pub sandbox: SandboxConfig,
    /// How runs schedule and retry tasks.
    #[serde(default)]
    pub run: RunConfig,
    /// Outbound HTTP on behalf of plugins.
    #[serde(default)]
    pub http: HttpConfig,
    /// The record bus.
    #[serde(default)]
    pub bus: BusConfig,
    /// Kafka; when absent the embedded bus is used. Owned and checked by
    /// [`crate::bus::kafka`].
    #[serde(default)]
    pub kafka: Option<crate::bus::kafka::KafkaConfig>,
    /// The S3 sink; owned and checked by [`crate::sink`].
    #[serde(default)]
    pub sink: Option<crate::sink::SinkConfig>,
    /// The admin API of `crawlhost serve`; owned by [`crate::serve::admin`].
    #[serde(default)]
    pub admin: Option<crate::serve::admin::AdminConfig>,
    /// The headless browser behind the `browser` capability; absent means
    /// none. Owned and checked by [`crate::browser::config`].
    #[serde(default)]
    pub browser: Option<crate::browser::BrowserConfig>,
    /// Drift alarms: when a run's field coverage or record counts, compared
    /// with the plugin's last good run, say the site changed. Owned and
    /// checked by [`crate::coverage::drift`].
    #[serde(default)]
    pub drift: crate::coverage::DriftConfig,
    /// Per-plugin settings, by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// `[host]`
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Directory scanned for `*.wasm` plugins. Relative paths are relative to
    /// the working directory. Default `plugins`.
    #[serde(default = "default_plugins_dir")]
    pub plugins_dir: PathBuf,
    /// Directory for the embedded bus, plugin state and the compiled-component
    /// cache. Default `.crawlhost`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
}

fn default_plugins_dir() -> PathBuf {
    PathBuf::from("plugins")
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".crawlhost")
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            plugins_dir: default_plugins_dir(),
            data_dir: default_data_dir(),
        }
    }
}

/// `[sandbox]`
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    /// Linear memory a plugin instance may grow to, in MiB. Default 256.
    #[serde(default = "default_memory_limit_mb")]
    pub memory_limit_mb: u64,
    /// Wall-clock limit for one `crawl` call, host calls (fetches) included,
    /// in seconds. Default 120.
    #[serde(default = "default_task_timeout_secs")]
    pub task_timeout_secs: u64,
    /// Wall-clock limit for `manifest` and `plan`, in seconds. Default 30.
    #[serde(default = "default_plan_timeout_secs")]
    pub plan_timeout_secs: u64,
    /// Records one task may return. Default 100000.
    #[serde(default = "default_max_records_per_task")]
    pub max_records_per_task: usize,
    /// Follow-up tasks one task may return. Default 100000.
    #[serde(default = "default_max_follow_ups_per_task")]
    pub max_follow_ups_per_task: usize,
    /// Bytes a plugin may hand the host in one transfer: the whole result of
    /// a call (records and follow-up tasks, counted as the host would hold
    /// them) or the arguments of one host call (a request body, a state
    /// value). Enforced while the data is copied out of the instance, so a
    /// plugin cannot make the host allocate more, even by pointing many
    /// records at the same bytes. Default 64 MiB.
    #[serde(default = "default_max_output_bytes_per_task")]
    pub max_output_bytes_per_task: u64,
    /// Bytes of state (keys + values) per plugin. Default 64 MiB.
    #[serde(default = "default_state_quota_mb")]
    pub state_quota_mb: u64,
    /// Largest plugin file (`.wasm`) the host reads and compiles, in MiB;
    /// a bigger file is refused before compiling (compiling takes time and
    /// memory in proportion). Default 64, at most 1024.
    #[serde(default = "default_max_plugin_file_mb")]
    pub max_plugin_file_mb: u64,
    /// Use wasmtime's pooling allocator: `auto` (use it when the machine
    /// allows the address-space reservation, else fall back), `on`, `off`.
    #[serde(default)]
    pub pooling: Pooling,
}

/// Whether to use the pooling instance allocator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Try pooling, fall back to on-demand allocation.
    #[default]
    Auto,
    /// Pooling or fail.
    On,
    /// On-demand allocation only.
    Off,
}

fn default_memory_limit_mb() -> u64 {
    256
}
fn default_task_timeout_secs() -> u64 {
    120
}
fn default_plan_timeout_secs() -> u64 {
    30
}
fn default_max_records_per_task() -> usize {
    100_000
}
fn default_max_follow_ups_per_task() -> usize {
    100_000
}
fn default_max_output_bytes_per_task() -> u64 {
    64 * 1024 * 1024
}
fn default_state_quota_mb() -> u64 {
    64
}
fn default_max_plugin_file_mb() -> u64 {
    64
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            memory_limit_mb: default_memory_limit_mb(),
            task_timeout_secs: default_task_timeout_secs(),
            plan_timeout_secs: default_plan_timeout_secs(),
            max_records_per_task: default_max_records_per_task(),
            max_follow_ups_per_task: default_max_follow_ups_per_task(),
            max_output_bytes_per_task: default_max_output_bytes_per_task(),
            state_quota_mb: default_state_quota_mb(),
            max_plugin_file_mb: default_max_plugin_file_mb(),
            pooling: Pooling::Auto,
        }
    }
}

/// `[run]`
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Tasks of one plugin in flight at once (async tasks, not threads).
    /// Default 8.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Attempts for a task failing with a `retryable` error (timeouts, 5xx),
    /// the first one included. Default 4.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Attempts for a task failing with a `blocked` error. Default 2.
    #[serde(default = "default_blocked_max_attempts")]
    pub blocked_max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt, with full
    /// jitter. Default 1000.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// Longest retry delay in milliseconds. Default 60000.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// Multiplier on the delay after a `blocked` error. Default 10.
    #[serde(default = "default_blocked_backoff_factor")]
    pub blocked_backoff_factor: u64,
    /// Distinct tasks one run may create; beyond it follow-ups are refused and
    /// the run is reported as failed (stops endless fan-out). Default 1000000.
    #[serde(default = "default_max_tasks_per_run")]
    pub max_tasks_per_run: usize,
    /// Bytes (task keys + payloads) of the distinct tasks one run may
    /// accept; beyond it follow-ups are refused and the run is reported as
    /// failed. The frontier and the journal hold every accepted task, so
    /// this bounds what fat follow-ups can fill. Default 268435456 (256 MiB).
    #[serde(default = "default_max_task_bytes_per_run")]
    pub max_task_bytes_per_run: u64,
}

fn default_concurrency() -> usize {
    8
}
fn default_max_attempts() -> u32 {
    4
}
fn default_blocked_max_attempts() -> u32 {
    2
}
fn default_retry_base_ms() -> u64 {
    1000
}
fn default_retry_max_ms() -> u64 {
    60_000
}
fn default_blocked_backoff_factor() -> u64 {
    10
}
fn default_max_tasks_per_run() -> usize {
    1_000_000
}
fn default_max_task_bytes_per_run() -> u64 {
    256 << 20
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            concurrency: default_concurrency(),
            max_attempts: default_max_attempts(),
            blocked_max_attempts: default_blocked_max_attempts(),
            retry_base_ms: default_retry_base_ms(),
            retry_max_ms: default_retry_max_ms(),
            blocked_backoff_factor: default_blocked_backoff_factor(),
            max_tasks_per_run: default_max_tasks_per_run(),
            max_task_bytes_per_run: default_max_task_bytes_per_run(),
        }
    }
}

/// `[http]`: outbound HTTP for plugins. The sub-tables are owned by the
/// [`crate::http`] modules that enforce them.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `User-Agent` sent on every request; its first word (before `/`) is
    /// the token robots.txt groups are matched against. Default
    /// `crawlhost/<version>`.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Allow requests to loopback, private, link-local and other reserved
    /// addresses (checked after DNS). Off by default (blocks SSRF); fixture
    /// sites on 127.0.0.1 need it on. Cloud metadata endpoints
    /// (169.254.169.254 ...) stay refused even when on.
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// CIDR ranges reachable whatever their class, e.g. `["127.0.0.0/8"]`:
    /// the narrow form of `allow_private_addresses`, and the only way to
    /// reach a metadata endpoint. Default empty.
    #[serde(default)]
    pub allowed_private_ranges: Vec<String>,
    /// Largest response body accepted, in bytes, after decompression; a
    /// larger body is cut and the fetch fails naming the limit. Default 16 MiB.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: u64,
    /// TCP + TLS connect timeout in seconds. Default 10.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Seconds from sending a request to its response headers. Default 20.
    #[serde(default = "default_first_byte_timeout_secs")]
    pub first_byte_timeout_secs: u64,
    /// Whole-request timeout (connect to last body byte) in seconds, per
    /// attempt. Default 30.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Redirect hops followed; each hop is checked against the allow-list
    /// again. Default 10.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: u32,
    /// One proxy for every request (`http://host:port`). Unset: the
    /// `http_proxy` / `https_proxy` / `no_proxy` environment variables.
    /// A password in the URL prints as `***`.
    #[serde(default)]
    pub proxy: Option<UrlWithPassword>,
    /// Per-host rate limit, concurrency, jitter, auto-throttle.
    #[serde(default)]
    pub politeness: crate::http::politeness::PolitenessConfig,
    /// robots.txt handling.
    #[serde(default)]
    pub robots: crate::http::robots::RobotsConfig,
    /// Fetch-level retries and the retry budget.
    #[serde(default)]
    pub retry: crate::http::retry::RetryConfig,
    /// The per-host circuit breaker.
    #[serde(default)]
    pub circuit: crate::http::retry::CircuitConfig,
    /// Cookie jars.
    #[serde(default)]
    pub cookies: crate::http::cookies::CookieConfig,
    /// Credentials added to requests for matching hosts, over https only
    /// unless an entry says `allow_http = true`.
    #[serde(default)]
    pub secrets: Vec<crate::http::secrets::SecretConfig>,
    /// Per-plugin HTTP settings (robots opt-out, proxies), by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, crate::http::proxy::PluginHttpConfig>,
}

fn default_user_agent() -> String {
    format!("crawlhost/{}", env!("CARGO_PKG_VERSION"))
}
fn default_max_response_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_first_byte_timeout_secs() -> u64 {
    20
}
fn default_request_timeout_secs() -> u64 {
    30
}
fn default_max_redirects() -> u32 {
    10
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: default_user_agent(),
            allow_private_addresses: false,
            allowed_private_ranges: Vec::new(),
            max_response_bytes: default_max_response_bytes(),
            connect_timeout_secs: default_connect_timeout_secs(),
            first_byte_timeout_secs: default_first_byte_timeout_secs(),
            request_timeout_secs: default_request_timeout_secs(),
            max_redirects: default_max_redirects(),
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
    pub fn check(&self, env: impl Fn(&str) -> Option<String>) -> Result<HttpSettings, ConfigError> {
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
            crate::http::proxy::check_proxy_url(p.expose())
                .map_err(|e| invalid("http.proxy", e))?;
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
            secrets: crate::http::secrets::Secrets(secrets),
            plugins: h.plugins.clone(),
            mode: crate::http::record::Mode::Live,
        })
    }
}

/// `[bus]`: with no `[kafka]` section the embedded SQLite bus is used.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// Partitions of topics the embedded bus creates on first use. Default 1.
    #[serde(default = "default_partitions")]
    pub partitions: u32,
    /// Topic receiving records whose value is not valid JSON, with the cause
    /// in headers. Default `crawlhost.dead-letter`.
    #[serde(default = "default_dead_letter_topic")]
    pub dead_letter_topic: String,
}

fn default_partitions() -> u32 {
    1
}
fn default_dead_letter_topic() -> String {
    "crawlhost.dead-letter".to_string()
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            partitions: default_partitions(),
            dead_letter_topic: default_dead_letter_topic(),
        }
    }
}

/// `[plugins.<name>]`
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Skip this plugin in `run` and `serve`. Default false.
    #[serde(default)]
    pub disabled: bool,
    /// Values for the plugin's config keys (see `crawlhost plugin inspect`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Overrides `run.concurrency` for this plugin.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Overrides the manifest's cron schedule in `serve`
    /// (`sec min hour day-of-month month day-of-week [year]`); `off` disables
    /// scheduled runs.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Time zone the schedule is evaluated in (IANA name). Default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Topics this plugin may consume as `triggers` (another plugin's or
    /// producer's output): a trigger topic not listed here is refused when
    /// its trigger consumer starts. The host's own topics are refused even
    /// when listed. Default none.
    #[serde(default)]
    pub allow_triggers: Vec<String>,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub plugins_dir: PathBuf,
    pub data_dir: PathBuf,
    pub sandbox: SandboxSettings,
    pub run: RunConfig,
    pub http: HttpSettings,
    pub bus: BusConfig,
    /// `[kafka]` as written; [`crate::bus::kafka`] checks it when it connects.
    pub kafka: Option<crate::bus::kafka::KafkaConfig>,
    /// `[sink]` as written; [`crate::sink`] checks it when it starts.
    pub sink: Option<crate::sink::SinkConfig>,
    /// `[admin]` as written.
    pub admin: Option<crate::serve::admin::AdminConfig>,
    /// `[browser]`, checked (secret values resolved).
    pub browser: Option<crate::browser::BrowserSettings>,
    /// `[drift]`, checked.
    pub drift: crate::coverage::DriftPolicy,
    pub plugins: BTreeMap<String, PluginConfig>,
}

/// Checked sandbox limits.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    pub memory_limit_bytes: usize,
    pub task_timeout: Duration,
    pub plan_timeout: Duration,
    pub max_records_per_task: usize,
    pub max_follow_ups_per_task: usize,
    /// `sandbox.max_output_bytes_per_task`.
    pub max_output_bytes: usize,
    pub state_quota_bytes: u64,
    /// `sandbox.max_plugin_file_mb`, in bytes.
    pub max_plugin_file_bytes: u64,
    pub pooling: Pooling,
}

/// Checked HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub user_agent: String,
    pub allow_private_addresses: bool,
    pub allowed_private_ranges: Vec<ipnet::IpNet>,
    pub max_response_bytes: u64,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub request_timeout: Duration,
    pub max_redirects: u32,
    pub proxy: Option<UrlWithPassword>,
    pub politeness: crate::http::politeness::PolitenessSettings,
    pub robots: crate::http::robots::RobotsConfig,
    pub retry: crate::http::retry::RetryConfig,
    pub circuit: crate::http::retry::CircuitConfig,
    pub cookies: crate::http::cookies::CookieConfig,
    /// Values already read from the environment; `Debug` redacts them.
    pub secrets: crate::http::secrets::Secrets,
    pub plugins: BTreeMap<String, crate::http::proxy::PluginHttpConfig>,
    /// Live, `--record DIR` or `--replay DIR` (set by the CLI, not the file).
    pub mode: crate::http::record::Mode,
}

impl HttpSettings {
    /// The address policy applied after DNS and to IP literals.
    pub fn address_policy(&self) -> crate::http::allow::AddressPolicy {
        crate::http::allow::AddressPolicy {
            allow_private: self.allow_private_addresses,
            allowed_ranges: self.allowed_private_ranges.clone(),
        }
    }
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
        let s = &self.sandbox;
        let state_quota_bytes = s
            .state_quota_mb
            .checked_mul(1024 * 1024)
            .ok_or_else(|| invalid("sandbox.state_quota_mb", "is too large"))?;
        if !(1..=1024).contains(&s.max_plugin_file_mb) {
            return Err(invalid(
                "sandbox.max_plugin_file_mb",
                "must be between 1 and 1024",
            ));
        }
        if !(16..=4096).contains(&s.memory_limit_mb) {
            return Err(invalid(
                "sandbox.memory_limit_mb",
                "must be between 16 and 4096",
            ));
        }
        if s.task_timeout_secs == 0 || s.task_timeout_secs > 3600 {
            return Err(invalid(
                "sandbox.task_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if s.plan_timeout_secs == 0 || s.plan_timeout_secs > 3600 {
            return Err(invalid(
                "sandbox.plan_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if s.max_records_per_task == 0 {
            return Err(invalid(
                "sandbox.max_records_per_task",
                "must be at least 1",
            ));
        }
        if !(64 * 1024..=4 << 30).contains(&s.max_output_bytes_per_task) {
            return Err(invalid(
                "sandbox.max_output_bytes_per_task",
                "must be between 65536 (64 KiB) and 4294967296 (4 GiB)",
            ));
        }
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
        let http = self.http.check(env)?;
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
                crate::serve::schedule::CronSchedule::parse(expr, tz)
                    .map_err(|e| invalid(&format!("plugins.{name}.schedule"), e.to_string()))?;
            } else if p.timezone.is_some() {
                crate::serve::schedule::CronSchedule::parse("0 0 0 * * *", tz)
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
            data_dir: self.host.data_dir,
            sandbox: SandboxSettings {
                memory_limit_bytes: (s.memory_limit_mb * 1024 * 1024) as usize,
                task_timeout: Duration::from_secs(s.task_timeout_secs),
                plan_timeout: Duration::from_secs(s.plan_timeout_secs),
                max_records_per_task: s.max_records_per_task,
                max_follow_ups_per_task: s.max_follow_ups_per_task,
                max_output_bytes: s.max_output_bytes_per_task as usize,
                state_quota_bytes,
                max_plugin_file_bytes: s.max_plugin_file_mb * 1024 * 1024,
                pooling: s.pooling,
            },
            run: self.run,
            http,
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
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Config::parse(text, Path::new("test.toml"))?.validate()
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
