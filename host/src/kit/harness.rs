//! Running the plugin under test: the kit's host settings (fast politeness,
//! the task budget, fixture or replay traffic), a fresh temporary data
//! directory per run, reading back every record the run put on the bus, and
//! [`test_plugin`], which loads the file, checks manifest and config, runs it
//! twice and hands the runs to [`super::judge`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Check, KitError, KitOptions, Report, RunResult, SeenRecord, Status, Traffic, judge};
use crate::bus::Bus;
use crate::config::{Config, PluginConfig, Settings};
use crate::contract::{BusRecord, PlanInput};
use crate::host::Host;
use crate::http::record::Mode;
use crate::manifest;
use crate::run::run_plugin;

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
    cache: &Path,
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
    // One compile cache for the probe and both runs: the operator's, or the
    // probe's directory (which outlives the runs), so the kit compiles the
    // plugin at most once.
    settings.cache_dir = opts
        .cache_dir
        .clone()
        .unwrap_or_else(|| cache.to_path_buf());
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
    let cache = probe_dir.0.join("cache");
    let probe = kit_settings(&probe_dir.0, opts, "probe", false, &cache)?;
    let engine = Host::compile_engine(&probe)?;
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
    let first_settings = kit_settings(&probe_dir.0, opts, &m.name, has_base_url, &cache)?;
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
        let settings = kit_settings(&dir.0, opts, &m.name, has_base_url, &cache)?;
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
