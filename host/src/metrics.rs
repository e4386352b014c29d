//! Process metrics in the Prometheus text format (`/metrics`).
//!
//! Counters per plugin are updated by the run loop as tasks finish (live);
//! the fetch counters (requests, bytes, errors, responses by status class,
//! retries, politeness wait, circuit and robots refusals) are read from the
//! runs in progress at scrape time and kept from the finished ones
//! ([`fetch`]), so they are live too. Histograms use fixed buckets.
//! The process series (`process_*`, the names every exporter uses) are read
//! from `/proc/self` at scrape time on Linux (see `process`).
//!
//! The exposition is written by hand: the format is small and stable, and
//! this keeps the host free of a metrics framework. Every per-plugin series
//! has a sample for every plugin seen since start, zero included, so a
//! dashboard query never finds a family with only a `# HELP` line.
//!
//! Beside the per-plugin counters: [`series`] writes the series more than
//! one exposition shares (sink, forward log, group membership, triggers,
//! worker); [`member`] is what a group consumer updates as its share
//! changes; [`roles`] is what `crawlhost sink`, `triggers` and `worker`
//! export; [`listen`] serves it on `--metrics-listen`.

pub mod fetch;
pub mod listen;
pub mod member;
mod process;
pub mod roles;
pub mod series;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `class` label of [`fetch::FetchSums::responses`], in index order.
pub const STATUS_CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// An extra gauge sample for [`Metrics::render`]: name, help, labels, value.
pub type Gauge<'a> = (&'a str, &'a str, Vec<(&'a str, String)>, f64);

type CounterRow = (
    &'static str,
    &'static str,
    fn(&PluginMetrics, &fetch::FetchSums) -> f64,
);
type HistogramRow = (&'static str, &'static str, fn(&PluginMetrics) -> &Histogram);

/// A fixed-bucket histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    inner: Mutex<HistogramData>,
}

#[derive(Debug, Default, Clone)]
struct HistogramData {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    /// Record one observation in seconds.
    pub fn observe(&self, secs: f64) {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                d.buckets[i] += 1;
            }
        }
        d.count += 1;
        d.sum += secs;
    }

    fn snapshot(&self) -> HistogramData {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Counters of one plugin.
#[derive(Debug, Default)]
pub struct PluginMetrics {
    pub runs_finished: AtomicU64,
    pub runs_failed: AtomicU64,
    pub tasks_done: AtomicU64,
    pub tasks_failed: AtomicU64,
    pub task_retries: AtomicU64,
    pub records: AtomicU64,
    pub dead_letters: AtomicU64,
    /// HTTP fetches, live (see [`fetch`]).
    pub fetch: fetch::FetchCounters,
    /// Seconds per task attempt (fresh instance + crawl + produce).
    pub task_seconds: Histogram,
    /// Seconds per run.
    pub run_seconds: Histogram,
    /// Field coverage and drift, per topic and field.
    coverage: Mutex<CoverageMetrics>,
}

/// The coverage series of one plugin (see [`crate::coverage`]).
#[derive(Debug, Default, Clone)]
struct CoverageMetrics {
    /// The last run's share of records with the field filled, by (topic,
    /// field).
    ratio: BTreeMap<(String, String), f64>,
    /// Records counted for coverage, by topic (counter).
    records: BTreeMap<String, u64>,
    /// Items skipped for a missing identity field, by (topic, field)
    /// (counter).
    skipped: BTreeMap<(String, String), u64>,
    /// Drift alarms, by (topic, field, kind) (counter; `field` empty for a
    /// volume alarm).
    alarms: BTreeMap<(String, String, String), u64>,
}

impl PluginMetrics {
    /// Account for a finished run's coverage and drift alarms. The ratio
    /// gauges show the last run: a field of a topic that still has records
    /// but no longer the field drops to 0 instead of keeping its old value.
    pub fn observe_coverage(
        &self,
        coverage: &crate::coverage::RunCoverage,
        alarms: &[crate::coverage::DriftAlarm],
    ) {
        let mut m = self.coverage.lock().unwrap_or_else(|p| p.into_inner());
        let mut ratio = BTreeMap::new();
        for (topic, t) in &coverage.topics {
            if t.records > 0 {
                for (field, f) in &t.fields {
                    ratio.insert(
                        (topic.clone(), field.clone()),
                        crate::coverage::share(f.filled, t.records),
                    );
                }
            }
            *m.records.entry(topic.clone()).or_default() += t.records;
            for (field, n) in &t.skipped {
                *m.skipped.entry((topic.clone(), field.clone())).or_default() += n;
            }
        }
        for ((topic, field), _) in std::mem::take(&mut m.ratio) {
            if coverage.topics.get(&topic).is_some_and(|t| t.records > 0) {
                ratio.entry((topic, field)).or_insert(0.0);
            }
        }
        m.ratio = ratio;
        for a in alarms {
            let key = (
                a.topic.clone(),
                a.field.clone().unwrap_or_default(),
                a.kind.as_str().to_string(),
            );
            *m.alarms.entry(key).or_default() += 1;
        }
    }
}

/// All plugins' metrics plus host-wide gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    plugins: Mutex<BTreeMap<String, std::sync::Arc<PluginMetrics>>>,
    /// Plugin files refused since start.
    pub plugins_refused: AtomicU64,
    /// Successful hot swaps since start.
    pub plugin_swaps: AtomicU64,
}

impl Metrics {
    /// The counters of `plugin`, created on first use.
    pub fn plugin(&self, plugin: &str) -> std::sync::Arc<PluginMetrics> {
        self.plugins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(plugin.to_string())
            .or_default()
            .clone()
    }

    /// Render the exposition. `gauges` are extra `(name, help, labels, value)`
    /// samples computed by the caller (plugins loaded, sink lag, ...).
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let plugins = self
            .plugins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::new();
        fn get(c: &AtomicU64) -> f64 {
            c.load(Ordering::Relaxed) as f64
        }
        let counters: [CounterRow; 14] = [
            (
                "crawlhost_runs_finished_total",
                "Runs that completed.",
                |m, _| get(&m.runs_finished),
            ),
            (
                "crawlhost_runs_failed_total",
                "Runs that could not complete.",
                |m, _| get(&m.runs_failed),
            ),
            (
                "crawlhost_tasks_done_total",
                "Tasks done (records acknowledged by the bus).",
                |m, _| get(&m.tasks_done),
            ),
            (
                "crawlhost_tasks_failed_total",
                "Tasks that failed for good.",
                |m, _| get(&m.tasks_failed),
            ),
            (
                "crawlhost_task_retries_total",
                "Task attempts that were retried.",
                |m, _| get(&m.task_retries),
            ),
            (
                "crawlhost_records_total",
                "Records produced to the bus.",
                |m, _| get(&m.records),
            ),
            (
                "crawlhost_dead_letters_total",
                "Records sent to the dead-letter topic.",
                |m, _| get(&m.dead_letters),
            ),
            (
                "crawlhost_fetch_requests_total",
                "HTTP requests sent for the plugin.",
                |_, f| f.requests as f64,
            ),
            (
                "crawlhost_fetch_bytes_total",
                "Response body bytes received for the plugin.",
                |_, f| f.bytes as f64,
            ),
            (
                "crawlhost_fetch_errors_total",
                "Fetches that failed.",
                |_, f| f.errors as f64,
            ),
            (
                "crawlhost_fetch_retries_total",
                "Fetch-level retries.",
                |_, f| f.retries as f64,
            ),
            (
                "crawlhost_fetch_circuit_rejections_total",
                "Requests refused because the host's circuit was open.",
                |_, f| f.circuit_rejections as f64,
            ),
            (
                "crawlhost_fetch_robots_denied_total",
                "Requests refused by robots.txt.",
                |_, f| f.robots_denied as f64,
            ),
            (
                "crawlhost_politeness_wait_seconds_total",
                "Seconds requests waited for a host's politeness gate, summed over requests.",
                |_, f| f.throttled_ms as f64 / 1000.0,
            ),
        ];
        let fetches: BTreeMap<&String, fetch::FetchSums> =
            plugins.iter().map(|(p, m)| (p, m.fetch.sums())).collect();
        for (name, help, get) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (plugin, m) in &plugins {
                let value = get(m, &fetches[plugin]);
                let _ = writeln!(out, "{name}{{plugin=\"{}\"}} {value}", escape(plugin));
            }
        }
        let name = "crawlhost_fetch_responses_total";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP responses by status class.\n# TYPE {name} counter"
        );
        for plugin in plugins.keys() {
            let p = escape(plugin);
            for (class, n) in STATUS_CLASSES.iter().zip(fetches[plugin].responses) {
                let _ = writeln!(out, "{name}{{plugin=\"{p}\",class=\"{class}\"}} {n}");
            }
        }
        let histograms: [HistogramRow; 2] = [
            (
                "crawlhost_task_duration_seconds",
                "Duration of one task attempt.",
                |m| &m.task_seconds,
            ),
            (
                "crawlhost_run_duration_seconds",
                "Duration of a run.",
                |m| &m.run_seconds,
            ),
        ];
        for (name, help, get) in histograms {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for (plugin, m) in &plugins {
                let d = get(m).snapshot();
                let p = escape(plugin);
                for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{{plugin=\"{p}\",le=\"{bound}\"}} {}",
                        d.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{{plugin=\"{p}\",le=\"+Inf\"}} {}",
                    d.count
                );
                let _ = writeln!(out, "{name}_sum{{plugin=\"{p}\"}} {}", d.sum);
                let _ = writeln!(out, "{name}_count{{plugin=\"{p}\"}} {}", d.count);
            }
        }
        let host_counters = [
            (
                "crawlhost_plugins_refused_total",
                "Plugin files refused since start.",
                self.plugins_refused.load(Ordering::Relaxed),
            ),
            (
                "crawlhost_plugin_swaps_total",
                "Plugin versions swapped in since start.",
                self.plugin_swaps.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in host_counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        render_coverage(&mut out, &plugins);
        let mut last = "";
        for (name, help, labels, value) in gauges {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
            }
        }
        if let Some(sample) = process::read() {
            process::render(&mut out, &sample);
        }
        out
    }
}

/// The coverage series of every plugin.
fn render_coverage(out: &mut String, plugins: &BTreeMap<String, std::sync::Arc<PluginMetrics>>) {
    let snapshots: Vec<(String, CoverageMetrics)> = plugins
        .iter()
        .map(|(name, m)| {
            let c = m.coverage.lock().unwrap_or_else(|p| p.into_inner()).clone();
            (escape(name), c)
        })
        .collect();
    let header = |out: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    let name = "crawlhost_field_coverage_ratio";
    header(
        out,
        name,
        "Share of the last run's records of the topic in which the field is present and not null.",
        "gauge",
    );
    for (p, c) in &snapshots {
        for ((topic, field), v) in &c.ratio {
            let _ = writeln!(
                out,
                "{name}{{plugin=\"{p}\",topic=\"{}\",field=\"{}\"}} {v}",
                escape(topic),
                escape(field)
            );
        }
    }
    let name = "crawlhost_topic_records_total";
    header(
        out,
        name,
        "Records published to the topic, as counted for field coverage.",
        "counter",
    );
    for (p, c) in &snapshots {
        for (topic, v) in &c.records {
            let _ = writeln!(
                out,
                "{name}{{plugin=\"{p}\",topic=\"{}\"}} {v}",
                escape(topic)
            );
        }
    }
    let name = "crawlhost_skipped_items_total";
    header(
        out,
        name,
        "Items the plugin skipped because the identity field was missing.",
        "counter",
    );
    for (p, c) in &snapshots {
        for ((topic, field), v) in &c.skipped {
            let _ = writeln!(
                out,
                "{name}{{plugin=\"{p}\",topic=\"{}\",field=\"{}\"}} {v}",
                escape(topic),
                escape(field)
            );
        }
    }
    let name = "crawlhost_drift_alarms_total";
    header(
        out,
        name,
        "Drift alarms raised against the plugin's baseline run (kind: coverage, volume, vanished_flag; field empty for volume).",
        "counter",
    );
    for (p, c) in &snapshots {
        for ((topic, field, kind), v) in &c.alarms {
            let _ = writeln!(
                out,
                "{name}{{plugin=\"{p}\",topic=\"{}\",field=\"{}\",kind=\"{kind}\"}} {v}",
                escape(topic),
                escape(field)
            );
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        let p = m.plugin("oliveyoung");
        p.tasks_done.fetch_add(3, Ordering::Relaxed);
        p.task_seconds.observe(0.2);
        p.task_seconds.observe(3.0);
        let text = m.render(&[("crawlhost_plugins_loaded", "Plugins serving.", vec![], 1.0)]);
        assert!(
            text.contains("crawlhost_tasks_done_total{plugin=\"oliveyoung\"} 3"),
            "{text}"
        );
        assert!(text.contains(
            "crawlhost_task_duration_seconds_bucket{plugin=\"oliveyoung\",le=\"0.25\"} 1"
        ));
        assert!(
            text.contains(
                "crawlhost_task_duration_seconds_bucket{plugin=\"oliveyoung\",le=\"5\"} 2"
            )
        );
        assert!(text.contains("crawlhost_task_duration_seconds_count{plugin=\"oliveyoung\"} 2"));
        assert!(text.contains("crawlhost_plugins_loaded 1"));
    }

    #[test]
    fn renders_fetch_counters_per_plugin_and_status_class() {
        let m = Metrics::default();
        let p = m.plugin("shop");
        let stats = std::sync::Arc::new(crate::http::FetchStats::default());
        // A run in progress: its counts show before it ends.
        let _run = fetch::FetchCounters::track(&p, stats.clone());
        let add = |c: &AtomicU64, n| {
            c.fetch_add(n, Ordering::Relaxed);
        };
        add(&stats.status_2xx, 7);
        add(&stats.status_5xx, 2);
        add(&stats.retries, 2);
        add(&stats.throttled_ms, 1_500);
        add(&stats.circuit_rejections, 1);
        add(&stats.robots_denied, 4);
        m.plugin("idle");
        let text = m.render(&[]);
        for line in [
            "# TYPE crawlhost_fetch_responses_total counter",
            "crawlhost_fetch_responses_total{plugin=\"shop\",class=\"2xx\"} 7",
            "crawlhost_fetch_responses_total{plugin=\"shop\",class=\"3xx\"} 0",
            "crawlhost_fetch_responses_total{plugin=\"shop\",class=\"4xx\"} 0",
            "crawlhost_fetch_responses_total{plugin=\"shop\",class=\"5xx\"} 2",
            "crawlhost_fetch_retries_total{plugin=\"shop\"} 2",
            "crawlhost_politeness_wait_seconds_total{plugin=\"shop\"} 1.5",
            "crawlhost_fetch_circuit_rejections_total{plugin=\"shop\"} 1",
            "crawlhost_fetch_robots_denied_total{plugin=\"shop\"} 4",
            // A plugin without fetches still has its samples, at zero.
            "crawlhost_fetch_responses_total{plugin=\"idle\",class=\"2xx\"} 0",
            "crawlhost_politeness_wait_seconds_total{plugin=\"idle\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let unique: std::collections::BTreeSet<&str> =
            text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        assert_eq!(families, unique.len(), "a family declared twice:\n{text}");
    }

    #[test]
    fn renders_coverage_and_drift_series() {
        use crate::coverage::{DriftAlarm, DriftKind, RunCoverage, scan};
        let m = Metrics::default();
        let p = m.plugin("shop");
        let mut run = RunCoverage::default();
        for v in [r#"{"id":1,"price":2}"#, r#"{"id":2,"price":null}"#] {
            run.add_record("items", &scan(v).unwrap());
        }
        run.add_skipped("items", "id", 3);
        let alarm = DriftAlarm {
            kind: DriftKind::Coverage,
            topic: "items".into(),
            field: Some("price".into()),
            before: 1.0,
            now: 0.5,
            records_before: 2,
            records_now: 2,
            baseline_run: "r0".into(),
            baseline_started_at_ms: 0,
            message: String::new(),
        };
        p.observe_coverage(&run, std::slice::from_ref(&alarm));
        let text = m.render(&[]);
        for line in [
            "crawlhost_field_coverage_ratio{plugin=\"shop\",topic=\"items\",field=\"id\"} 1",
            "crawlhost_field_coverage_ratio{plugin=\"shop\",topic=\"items\",field=\"price\"} 0.5",
            "crawlhost_topic_records_total{plugin=\"shop\",topic=\"items\"} 2",
            "crawlhost_skipped_items_total{plugin=\"shop\",topic=\"items\",field=\"id\"} 3",
            "crawlhost_drift_alarms_total{plugin=\"shop\",topic=\"items\",field=\"price\",kind=\"coverage\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        // The next run: counters add up, the gauge shows that run only; a
        // field gone from a topic that still has records reads 0.
        let mut next = RunCoverage::default();
        next.add_record("items", &scan(r#"{"id":3}"#).unwrap());
        p.observe_coverage(&next, &[alarm]);
        let text = m.render(&[]);
        for line in [
            "crawlhost_field_coverage_ratio{plugin=\"shop\",topic=\"items\",field=\"price\"} 0",
            "crawlhost_topic_records_total{plugin=\"shop\",topic=\"items\"} 3",
            "crawlhost_drift_alarms_total{plugin=\"shop\",topic=\"items\",field=\"price\",kind=\"coverage\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
