//! The plugin conformance kit behind `crawlhost plugin test FILE.wasm`: tells
//! a plugin author whether a new `.wasm` will work before it is dropped into
//! the plugins directory.
//!
//! The kit loads the file with the real engine (contract and manifest
//! checks), then runs it twice through the real run loop
//! ([`crate::run::run_plugin`]) on the embedded bus in a temporary data
//! directory, against recorded traffic (`--replay DIR`, see
//! [`crate::http::record`]) or a local fixture site (`--fixture URL`). It
//! owns the checks made on what those runs did ([`judge`], pure) and the
//! pass/fail table ([`Report`]). Each run gets a fresh data directory, so
//! plugin state from the first run does not change the second.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bus::Bus;
use crate::config::{Config, ConfigError, PluginConfig, Settings};
use crate::contract::{BusRecord, PlanInput};
use crate::host::{Host, HostError};
use crate::http::record::Mode;
use crate::manifest;
use crate::run::{RunSummary, run_plugin};

/// Default task budget: a crawl that needs more distinct tasks than this on
/// fixture or recorded traffic is treated as not terminating.
pub const DEFAULT_MAX_TASKS: usize = 10_000;

/// Where the plugin's traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// Answer every fetch from a recording made with `crawlhost run --record`.
    Replay(PathBuf),
    /// Fetch live from a local fixture site at this URL: loopback addresses
    /// are allowed and, when the manifest declares a `base_url` config key,
    /// it is set to this URL (unless `--set base_url=...` says otherwise).
    Fixture(String),
    /// Live traffic with the host's usual rules (nothing private).
    Live,
}

/// What to test and how.
#[derive(Debug, Clone)]
pub struct KitOptions {
    /// The `.wasm` file.
    pub wasm: PathBuf,
    pub traffic: Traffic,
    /// Plugin config values (`--set KEY=VALUE`).
    pub config: BTreeMap<String, String>,
    /// Distinct tasks a run may create before it counts as endless.
    pub max_tasks: usize,
    /// For trigger-only plugins: the value of a record of the first trigger
    /// topic to plan from (`--trigger JSON`); `None` plans a scheduled run.
    pub trigger: Option<String>,
    /// Credentials the host adds to matching requests, as in a normal run
    /// (the CLI passes the configuration's `[[http.secrets]]`), so a plugin
    /// for an API with a bearer token can be tested against its fixture.
    pub secrets: crate::http::secrets::Secrets,
    /// The configuration's `[browser]` (with its secrets), for plugins that
    /// use the browser; not used with a replay (a recording holds no pages).
    pub browser: Option<crate::browser::BrowserSettings>,
}

impl KitOptions {
    /// Options with the defaults: live traffic, no config, default budget.
    pub fn new(wasm: impl Into<PathBuf>, traffic: Traffic) -> Self {
        Self {
            wasm: wasm.into(),
            traffic,
            config: BTreeMap::new(),
            max_tasks: DEFAULT_MAX_TASKS,
            trigger: None,
            secrets: crate::http::secrets::Secrets::default(),
            browser: None,
        }
    }
}

/// Errors that stop the kit before it can judge the plugin (the plugin's own
/// faults are failed checks, not errors).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("cannot make a temporary data directory {path}")]
    TempDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("kit configuration")]
    Config(#[from] ConfigError),
    #[error("cannot start the host")]
    Host(#[from] HostError),
    #[error("--replay {0}: no such directory (make one with `crawlhost run --once --record DIR`)")]
    NoReplayDir(PathBuf),
    #[error("cannot read the bus of the test run")]
    Bus(#[from] crate::bus::BusError),
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Worth reading, not a failure (a fixture's deliberately broken page).
    Warn,
    Fail,
    /// Not run because an earlier check failed.
    Skipped,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
        }
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub plugin: String,
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The check called `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The pass/fail table as text.
    pub fn table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("plugin test: {}\n", self.plugin);
        out.push_str(&format!("{:<width$}  {:<4}  detail\n", "check", "ok"));
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skipped => "SKIP",
            };
            out.push_str(&format!("{:<width$}  {status}  {}\n", c.name, c.detail));
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        if failed == 0 {
            out.push_str("result: PASS\n");
        } else {
            out.push_str(&format!("result: FAIL ({failed} check(s) failed)\n"));
        }
        out
    }
}

/// One record as the kit compares them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeenRecord {
    pub topic: String,
    pub key: Option<String>,
    pub value: String,
    /// `crawlhost-error` header (dead letters).
    pub error: Option<String>,
    /// `crawlhost-original-topic` header (dead letters).
    pub original_topic: Option<String>,
}

/// What one run left behind.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub summary: RunSummary,
    pub records: Vec<SeenRecord>,
}

/// A data directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, KitError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "crawlhost-kit-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).map_err(|source| KitError::TempDir {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The host settings of a kit run: fast politeness and short retry backoff
/// (fixtures are local), the task budget, the plugin's config. Fetches are
/// retried as a production host retries them (3 attempts, the default), so
/// a plugin that keeps a page's failure in its records instead of failing
/// the task sees the same transient faults hidden in both runs of the
/// determinism check.
fn kit_settings(
    data: &Path,
    opts: &KitOptions,
    name: &str,
    has_base_url: bool,
) -> Result<Settings, KitError> {
    let text = format!(
        "[host]\nplugins_dir = {plugins:?}\ndata_dir = {data:?}\n\
         [http]\nallow_private_addresses = {private}\n\
         [http.politeness]\nrequests_per_second = 100000.0\nburst = 10000\nconcurrency = 64\njitter_ms = 0\n\
         [http.retry]\nmax_attempts = 3\nbase_ms = 5\nmax_ms = 50\n[http.circuit]\nfailure_threshold = 0\n\
         [run]\nconcurrency = 8\nretry_base_ms = 20\nretry_max_ms = 200\nblocked_max_attempts = 1\nmax_tasks_per_run = {max}\n",
        plugins = data.join("plugins").display().to_string(),
        data = data.display().to_string(),
        private = matches!(opts.traffic, Traffic::Fixture(_)),
        max = opts.max_tasks.max(1),
    );
    let mut settings = Config::parse(&text, Path::new("<plugin test>"))?.validate()?;
    let mut values = opts.config.clone();
    if let Traffic::Fixture(url) = &opts.traffic
        && has_base_url
    {
        values
            .entry("base_url".into())
            .or_insert_with(|| url.clone());
    }
    settings.plugins.insert(
        name.to_string(),
        PluginConfig {
            config: values,
            ..PluginConfig::default()
        },
    );
    settings.http.secrets = opts.secrets.clone();
    if !matches!(opts.traffic, Traffic::Replay(_)) {
        settings.browser = opts.browser.clone();
    }
    match &opts.traffic {
        Traffic::Replay(dir) => settings.http.mode = Mode::Replay(dir.clone()),
        Traffic::Fixture(_) | Traffic::Live => settings.http.mode = Mode::Live,
    }
    Ok(settings)
}

/// Every record on every topic of `bus`.
async fn read_all(bus: &dyn Bus) -> Result<Vec<SeenRecord>, KitError> {
    let mut out = Vec::new();
    for (topic, partitions) in bus.topics().await? {
        for p in 0..partitions {
            let mut offset = 0;
            loop {
                let batch = bus.fetch(&topic, p, offset, 1000).await?;
                let Some(last) = batch.last() else { break };
                offset = last.offset + 1;
                for r in batch {
                    let error = r
                        .headers
                        .iter()
                        .find(|(n, _)| n == "crawlhost-error")
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
                    let original_topic = r
                        .headers
                        .iter()
                        .find(|(n, _)| n == "crawlhost-original-topic")
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
                    out.push(SeenRecord {
                        original_topic,
                        topic: topic.clone(),
                        key: r.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
                        value: String::from_utf8_lossy(&r.value).into_owned(),
                        error,
                    });
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Run the kit: load, two runs, judge.
pub async fn test_plugin(opts: &KitOptions) -> Result<Report, KitError> {
    if let Traffic::Replay(dir) = &opts.traffic
        && !dir.is_dir()
    {
        return Err(KitError::NoReplayDir(dir.clone()));
    }
    let mut report = Report {
        plugin: opts.wasm.display().to_string(),
        checks: Vec::new(),
    };
    // Load with the real engine: contract, compile, link, manifest checks.
    let probe_dir = TempDir::new()?;
    let probe = kit_settings(&probe_dir.0, opts, "probe", false)?;
    let engine = Host::inspect_engine(&probe)?;
    let loaded = match engine.load(&opts.wasm).await {
        Ok(p) => p,
        Err(e) => {
            let name = match &e {
                crate::engine::LoadError::Manifest { .. }
                | crate::engine::LoadError::ManifestCall { .. } => "manifest",
                _ => "load",
            };
            if name == "manifest" {
                report.checks.push(Check::new(
                    "load",
                    Status::Pass,
                    "a crawlhost:plugin component",
                ));
            }
            report
                .checks
                .push(Check::new(name, Status::Fail, crate::error_text::chain(&e)));
            for rest in [
                "config",
                "plan",
                "terminates",
                "hosts",
                "limits",
                "follow-ups",
                "records",
                "deterministic",
            ] {
                report
                    .checks
                    .push(Check::new(rest, Status::Skipped, "the plugin did not load"));
            }
            return Ok(report);
        }
    };
    drop(engine);
    let m = loaded.manifest.clone();
    report.plugin = format!("{} {} ({})", m.name, m.version, opts.wasm.display());
    report.checks.push(Check::new(
        "load",
        Status::Pass,
        format!(
            "contract {}",
            crate::engine::contract::describe(&loaded.contract)
        ),
    ));
    report.checks.push(Check::new(
        "manifest",
        Status::Pass,
        format!(
            "topics [{}], hosts [{}], schedule {}, triggers [{}]",
            m.topics.join(", "),
            m.hosts.join(", "),
            m.schedule.as_deref().unwrap_or("none"),
            m.triggers.join(", ")
        ),
    ));
    let has_base_url = m.config.iter().any(|k| k.name == "base_url");
    let first_settings = kit_settings(&probe_dir.0, opts, &m.name, has_base_url)?;
    let operator = first_settings.plugin_values(&m.name);
    if let Err(e) = manifest::effective_config(&m, &operator)
        .and_then(|c| manifest::allow_list(&m, &c).map(|_| ()))
    {
        report
            .checks
            .push(Check::new("config", Status::Fail, e.to_string()));
        for rest in [
            "plan",
            "terminates",
            "hosts",
            "limits",
            "follow-ups",
            "records",
            "deterministic",
        ] {
            report
                .checks
                .push(Check::new(rest, Status::Skipped, "no usable configuration"));
        }
        return Ok(report);
    }
    report
        .checks
        .push(Check::new("config", Status::Pass, "every required key set"));

    let input = match (&opts.trigger, m.triggers.first()) {
        (Some(value), Some(topic)) => PlanInput::Trigger(BusRecord {
            topic: topic.clone(),
            partition: 0,
            offset: 0,
            key: None,
            value: value.clone(),
            timestamp_ms: 0,
        }),
        _ => PlanInput::Scheduled,
    };
    let wasm_bytes = std::fs::read(&opts.wasm).map_err(|source| KitError::TempDir {
        path: opts.wasm.clone(),
        source,
    })?;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let dir = TempDir::new()?;
        let settings = kit_settings(&dir.0, opts, &m.name, has_base_url)?;
        let host = Host::open(settings)?;
        let plugin = match host.engine.load_bytes(&opts.wasm, wasm_bytes.clone()).await {
            Ok(p) => Arc::new(p),
            Err(e) => {
                report.checks.push(Check::new(
                    "plan",
                    Status::Fail,
                    format!("reload failed: {}", crate::error_text::chain(&e)),
                ));
                return Ok(report);
            }
        };
        let summary = run_plugin(host.run_context(), plugin, input.clone(), &mut |_| {}).await;
        let records = read_all(host.bus.as_ref()).await?;
        runs.push(RunResult { summary, records });
        // A run that failed outright says everything; no second run.
        if runs[0].summary.fatal.is_some() {
            break;
        }
    }
    report
        .checks
        .extend(judge(&m.topics, opts.max_tasks, &runs));
    Ok(report)
}

/// The host's message for a fetch outside the allow-list, as the plugin
/// (and the task failure) sees it.
const NOT_ALLOWED: &str = " is not allowed: its host is not in the plugin's allow-list";

/// The host of the URL a "not allowed" message names.
fn refused_host(error: &str) -> Option<String> {
    let at = error.find(NOT_ALLOWED)?;
    let url = error[..at].rsplit(' ').next()?;
    Some(
        url::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| url.to_string()),
    )
}

/// Replace what depends on the run's start time (the one input that differs
/// between two runs) so two runs' records can be compared.
fn normalise(value: &str, started_at_ms: i64) -> String {
    value
        .replace(&started_at_ms.to_string(), "<started_at_ms>")
        .replace(&(started_at_ms / 1000).to_string(), "<started_at_s>")
}

/// Judge the runs (the first, and a second on the same traffic when the
/// first did not fail outright). Pure: every verdict comes from the summaries
/// and the records.
pub fn judge(topics: &[String], max_tasks: usize, runs: &[RunResult]) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(first) = runs.first() else {
        return checks;
    };
    let s = &first.summary;
    let fatal = s.fatal.as_deref().unwrap_or("");

    // plan
    if fatal.starts_with("plan failed") || fatal.starts_with("plan returned") {
        checks.push(Check::new("plan", Status::Fail, fatal));
    } else {
        checks.push(Check::new(
            "plan",
            Status::Pass,
            "plan returned valid seed tasks",
        ));
    }

    // terminates
    if fatal.contains("task budget") {
        checks.push(Check::new(
            "terminates",
            Status::Fail,
            format!(
                "the crawl did not terminate: it kept creating new follow-up tasks past the budget of {max_tasks} distinct tasks ({} done)",
                s.tasks_done
            ),
        ));
    } else if s.fatal.is_some() {
        checks.push(Check::new(
            "terminates",
            Status::Fail,
            format!("the run failed: {fatal}"),
        ));
    } else {
        checks.push(Check::new(
            "terminates",
            Status::Pass,
            format!(
                "{} tasks done, {} failed, within {max_tasks}",
                s.tasks_done,
                s.tasks_failed.len()
            ),
        ));
    }

    // hosts
    let refused: BTreeSet<String> = runs
        .iter()
        .flat_map(|r| r.summary.tasks_failed.iter())
        .filter_map(|f| refused_host(&f.error))
        .collect();
    if refused.is_empty() {
        let hosts: Vec<&String> = s.fetch.by_host.keys().collect();
        checks.push(Check::new(
            "hosts",
            Status::Pass,
            format!(
                "only declared hosts contacted ({} requests to {})",
                s.fetch.requests,
                if hosts.is_empty() {
                    "no host".to_string()
                } else {
                    hosts
                        .iter()
                        .map(|h| h.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ));
    } else {
        checks.push(Check::new(
            "hosts",
            Status::Fail,
            format!(
                "contacted undeclared host(s): {} (declare them in the manifest's `hosts`)",
                refused.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }

    // limits
    let over: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| {
            matches!(
                f.error_kind.as_str(),
                "deadline" | "memory" | "trap" | "instantiate"
            ) || (f.error_kind == "output" && !f.error.contains("follow-up"))
        })
        .map(|f| format!("task `{}` ({}): {}", f.key, f.error_kind, f.error))
        .collect();
    if over.is_empty() {
        checks.push(Check::new(
            "limits",
            Status::Pass,
            "no deadline, memory, output or trap failure",
        ));
    } else {
        checks.push(Check::new("limits", Status::Fail, summarise(&over)));
    }

    // follow-ups
    let bad_follow: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| f.error_kind == "output" && f.error.contains("follow-up"))
        .map(|f| format!("task `{}`: {}", f.key, f.error))
        .collect();
    if bad_follow.is_empty() {
        checks.push(Check::new(
            "follow-ups",
            Status::Pass,
            format!("well-formed ({} duplicates merged)", s.duplicate_tasks),
        ));
    } else {
        checks.push(Check::new(
            "follow-ups",
            Status::Fail,
            summarise(&bad_follow),
        ));
    }

    // records
    let mut problems = Vec::new();
    let mut good = 0;
    for r in &first.records {
        if let Some(error) = &r.error {
            problems.push(format!(
                "a record for topic `{}` was rejected: {error}",
                original_topic(r)
            ));
        } else if !topics.contains(&r.topic) {
            problems.push(format!("record on undeclared topic `{}`", r.topic));
        } else if r.key.is_none() {
            problems.push(format!("a record on `{}` has no key", r.topic));
        } else if serde_json::from_str::<serde_json::Value>(&r.value).is_err() {
            problems.push(format!("a record on `{}` is not JSON", r.topic));
        } else {
            good += 1;
        }
    }
    if !problems.is_empty() {
        checks.push(Check::new("records", Status::Fail, summarise(&problems)));
    } else if good == 0 {
        checks.push(Check::new(
            "records",
            Status::Fail,
            "the run produced no records (point it at a fixture with --fixture or a recording with --replay)",
        ));
    } else {
        let by_topic: Vec<String> = s
            .records_by_topic
            .iter()
            .map(|(t, n)| format!("{t}: {n}"))
            .collect();
        checks.push(Check::new(
            "records",
            Status::Pass,
            format!("{good} keyed JSON records ({})", by_topic.join(", ")),
        ));
    }

    // task errors that are the site's, not the plugin's (a fixture's broken
    // page): everything not judged above, reported, not failed
    let site: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| {
            !matches!(
                f.error_kind.as_str(),
                "deadline" | "memory" | "trap" | "instantiate" | "output"
            ) && refused_host(&f.error).is_none()
        })
        .map(|f| format!("task `{}` ({}): {}", f.key, f.error_kind, f.error))
        .collect();
    if !site.is_empty() {
        checks.push(Check::new("task-errors", Status::Warn, summarise(&site)));
    }

    // deterministic
    match runs.get(1) {
        None => checks.push(Check::new(
            "deterministic",
            Status::Skipped,
            "the first run failed",
        )),
        Some(second) => {
            let a: BTreeSet<(String, Option<String>, String)> = first
                .records
                .iter()
                .map(|r| {
                    (
                        r.topic.clone(),
                        r.key.clone(),
                        normalise(&r.value, first.summary.started_at_ms),
                    )
                })
                .collect();
            let b: BTreeSet<(String, Option<String>, String)> = second
                .records
                .iter()
                .map(|r| {
                    (
                        r.topic.clone(),
                        r.key.clone(),
                        normalise(&r.value, second.summary.started_at_ms),
                    )
                })
                .collect();
            if a == b {
                checks.push(Check::new(
                    "deterministic",
                    Status::Pass,
                    format!("two runs produced the same {} records", a.len()),
                ));
            } else {
                let only_a = a.difference(&b).next();
                let only_b = b.difference(&a).next();
                let show = |r: Option<&(String, Option<String>, String)>| match r {
                    Some((t, k, _)) => format!("{t}/{}", k.as_deref().unwrap_or("<no key>")),
                    None => "-".into(),
                };
                checks.push(Check::new(
                    "deterministic",
                    Status::Fail,
                    format!(
                        "two runs on the same traffic differ: {} vs {} records; first difference: run 1 {} , run 2 {}",
                        a.len(),
                        b.len(),
                        show(only_a),
                        show(only_b)
                    ),
                ));
            }
        }
    }
    checks
}

fn original_topic(r: &SeenRecord) -> &str {
    r.original_topic.as_deref().unwrap_or(&r.topic)
}

/// The first three problems and a count of the rest.
fn summarise(items: &[String]) -> String {
    let mut s = items.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > 3 {
        s.push_str(&format!(" (and {} more)", items.len() - 3));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_refused_host() {
        let e = "http://evil.example:8080/x is not allowed: its host is not in the plugin's allow-list [a.com]";
        assert_eq!(refused_host(e).as_deref(), Some("evil.example:8080"));
        assert_eq!(refused_host("HTTP 500"), None);
    }

    #[test]
    fn normalise_masks_the_start_time() {
        assert_eq!(
            normalise(r#"{"t":1700000000123}"#, 1_700_000_000_123),
            r#"{"t":<started_at_ms>}"#
        );
        assert_eq!(
            normalise(r#"{"t":1700000000}"#, 1_700_000_000_123),
            r#"{"t":<started_at_s>}"#
        );
    }
}
