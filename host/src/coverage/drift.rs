//! Drift: when a run's coverage says the site changed under the plugin.
//!
//! Pure policy, no I/O. A run is compared with the plugin's *baseline*: the
//! last complete run that raised no alarm (the first complete run sets it).
//! A run with an alarm does not replace the baseline, so the alarm fires
//! again on every run until the plugin is fixed (or the site comes back), or
//! an operator resets the baseline (`crawlhost coverage reset`). Three kinds
//! of alarm, each against the baseline:
//!
//! - **coverage**: a field filled in at least `min_before` of the topic's
//!   records (default 90%) is now filled in fewer than `max_after` (default
//!   50%), a field that disappeared included;
//! - **volume**: a topic's record count fell by more than `max_count_drop`
//!   (default 0.5: to less than half), a topic that produced nothing
//!   included;
//! - **vanished flag**: a boolean field `true` in at least `min_flag_share`
//!   of the baseline's records (default 1%) is `true` in none now, although
//!   this run's record count makes at least `min_flag_expected` (default 10)
//!   of them expected. A renamed "sold out" or "on promotion" marker shows
//!   this way: the field is still filled (`false`), its coverage does not
//!   move.
//!
//! The `[drift]` section of `crawlhost.toml` ([`DriftConfig`]) sets the
//! thresholds; [`DriftPolicy`] is its checked form.

use crate::time::format_time;
use serde::{Deserialize, Serialize};

use super::{RunCoverage, share, thousands};

/// `[drift]` in crawlhost.toml: when a run's coverage raises a drift alarm.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Compare every complete scheduled run with the plugin's baseline and
    /// raise alarms. Coverage is measured and stored either way. Default true.
    pub enabled: bool,
    /// A field alarms only if the baseline filled it in at least this share
    /// of the topic's records (0-1). Default 0.9.
    pub min_before: f64,
    /// ... and this run fills it in less than this share (0-1, at most
    /// `min_before`). Default 0.5.
    pub max_after: f64,
    /// A topic alarms when its record count fell by more than this share of
    /// the baseline's (0-1; 0.5: to less than half). Default 0.5.
    pub max_count_drop: f64,
    /// A boolean field alarms when it was `true` in at least this share of
    /// the baseline's records (0-1) and is `true` in none now. Default 0.01.
    pub min_flag_share: f64,
    /// ... provided this run's records times that share is at least this
    /// many (so a small run does not alarm by chance). Default 10.
    pub min_flag_expected: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_before: 0.9,
            max_after: 0.5,
            max_count_drop: 0.5,
            min_flag_share: 0.01,
            min_flag_expected: 10.0,
        }
    }
}

/// A `[drift]` value out of range: the field (without the `drift.` prefix)
/// and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("drift.{field}: {reason}")]
pub struct DriftConfigError {
    pub field: &'static str,
    pub reason: String,
}

/// The checked `[drift]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPolicy {
    pub enabled: bool,
    pub min_before: f64,
    pub max_after: f64,
    pub max_count_drop: f64,
    pub min_flag_share: f64,
    pub min_flag_expected: f64,
}

impl Default for DriftPolicy {
    fn default() -> Self {
        DriftConfig::default()
            .check()
            .expect("the defaults are valid")
    }
}

impl DriftConfig {
    /// Check every bound.
    pub fn check(&self) -> Result<DriftPolicy, DriftConfigError> {
        let err = |field, reason: &str| DriftConfigError {
            field,
            reason: reason.to_string(),
        };
        let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if !share(self.min_before) || self.min_before == 0.0 {
            return Err(err("min_before", "must be above 0 and at most 1"));
        }
        if !share(self.max_after) {
            return Err(err("max_after", "must be between 0 and 1"));
        }
        if self.max_after > self.min_before {
            return Err(err(
                "max_after",
                "must not be above drift.min_before (a steady field would alarm)",
            ));
        }
        if !share(self.max_count_drop) || self.max_count_drop == 0.0 {
            return Err(err("max_count_drop", "must be above 0 and at most 1"));
        }
        if !share(self.min_flag_share) || self.min_flag_share == 0.0 {
            return Err(err("min_flag_share", "must be above 0 and at most 1"));
        }
        if !self.min_flag_expected.is_finite() || self.min_flag_expected < 1.0 {
            return Err(err("min_flag_expected", "must be at least 1"));
        }
        Ok(DriftPolicy {
            enabled: self.enabled,
            min_before: self.min_before,
            max_after: self.max_after,
            max_count_drop: self.max_count_drop,
            min_flag_share: self.min_flag_share,
            min_flag_expected: self.min_flag_expected,
        })
    }
}

/// What kind of change an alarm reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// A field's fill rate fell past the thresholds.
    Coverage,
    /// A topic's record count fell by more than `max_count_drop`.
    Volume,
    /// A boolean field that used to be `true` now never is.
    VanishedFlag,
}

impl DriftKind {
    /// `coverage`, `volume` or `vanished_flag` (metrics labels, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Coverage => "coverage",
            DriftKind::Volume => "volume",
            DriftKind::VanishedFlag => "vanished_flag",
        }
    }
}

/// One drift alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftAlarm {
    pub kind: DriftKind,
    pub topic: String,
    /// The field (coverage, vanished flag); `None` for volume.
    pub field: Option<String>,
    /// The baseline's figure: share of records with the field filled
    /// (coverage), with it `true` (vanished flag), or the record count
    /// (volume).
    pub before: f64,
    /// This run's figure, in the same unit.
    pub now: f64,
    /// The topic's records in the baseline and in this run.
    pub records_before: u64,
    pub records_now: u64,
    pub baseline_run: String,
    pub baseline_started_at_ms: i64,
    /// The alarm as one sentence naming plugin, topic, field and both
    /// figures; printed after `DRIFT `.
    pub message: String,
}

/// A stored run: what the next run compares against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub run_id: String,
    pub started_at_ms: i64,
    pub plugin_version: String,
    pub coverage: RunCoverage,
    /// The alarms this run raised.
    #[serde(default)]
    pub alarms: Vec<DriftAlarm>,
}

/// What the drift check did with a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DriftCheck {
    /// Not compared; `reason` says why (a triggered run, a run that did not
    /// complete or resumed, `[drift] enabled = false`, the store failed).
    Skipped { reason: String },
    /// No baseline yet (first run, or after a reset): this run is now the
    /// baseline.
    BaselineSet,
    /// Compared with the baseline run; `replaced` when this run raised no
    /// alarm and became the new baseline.
    Compared {
        baseline_run: String,
        baseline_started_at_ms: i64,
        replaced: bool,
    },
}

impl Default for DriftCheck {
    fn default() -> Self {
        DriftCheck::Skipped {
            reason: "not checked".into(),
        }
    }
}

/// A plugin's stored coverage: its baseline and its last checked run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginCoverage {
    pub plugin: String,
    /// What runs are compared against; `None` until a complete run
    /// (again after `coverage reset`).
    pub baseline: Option<Snapshot>,
    /// The last run checked, with its alarms.
    pub last: Option<Snapshot>,
}

/// Compare `run` with `state`'s baseline under `policy`; returns the alarms
/// and what happened to the baseline, and updates `state` (the new last
/// run; the new baseline when the run raised no alarm or there was none).
pub fn check_run(
    policy: &DriftPolicy,
    state: &mut PluginCoverage,
    mut run: Snapshot,
) -> (Vec<DriftAlarm>, DriftCheck) {
    let plugin = state.plugin.clone();
    let (alarms, check) = match &state.baseline {
        None => (Vec::new(), DriftCheck::BaselineSet),
        Some(_) if !policy.enabled => (
            Vec::new(),
            DriftCheck::Skipped {
                reason: "drift alarms are off ([drift] enabled = false)".into(),
            },
        ),
        Some(baseline) => {
            let alarms = detect(policy, &plugin, baseline, &run.coverage);
            let check = DriftCheck::Compared {
                baseline_run: baseline.run_id.clone(),
                baseline_started_at_ms: baseline.started_at_ms,
                replaced: alarms.is_empty(),
            };
            (alarms, check)
        }
    };
    run.alarms = alarms.clone();
    if alarms.is_empty() && !matches!(check, DriftCheck::Skipped { .. }) {
        state.baseline = Some(run.clone());
    }
    state.last = Some(run);
    (alarms, check)
}

/// The alarms `now` raises against `baseline` (ordered by topic, then
/// volume before field alarms, fields by name).
pub fn detect(
    policy: &DriftPolicy,
    plugin: &str,
    baseline: &Snapshot,
    now: &RunCoverage,
) -> Vec<DriftAlarm> {
    let mut alarms = Vec::new();
    let when = format_time(baseline.started_at_ms);
    let origin = format!("baseline run {}, {when}", baseline.run_id);
    let empty = Default::default();
    for (topic, before) in &baseline.coverage.topics {
        if before.records == 0 {
            continue;
        }
        let current = now.topics.get(topic).unwrap_or(&empty);
        let alarm = |kind, field: Option<&str>, b: f64, n: f64, message: String| DriftAlarm {
            kind,
            topic: topic.clone(),
            field: field.map(str::to_string),
            before: b,
            now: n,
            records_before: before.records,
            records_now: current.records,
            baseline_run: baseline.run_id.clone(),
            baseline_started_at_ms: baseline.started_at_ms,
            message,
        };
        if (current.records as f64) < before.records as f64 * (1.0 - policy.max_count_drop) {
            alarms.push(alarm(
                DriftKind::Volume,
                None,
                before.records as f64,
                current.records as f64,
                format!(
                    "{plugin}/{topic}: {} records, was {} ({origin})",
                    thousands(current.records),
                    thousands(before.records)
                ),
            ));
        }
        if current.records == 0 {
            // Nothing to measure fields on; the volume alarm says it.
            continue;
        }
        for (field, f) in &before.fields {
            // A field not counted now because the topic hit its field limit
            // is unknown, not missing.
            if current.fields_truncated && !current.fields.contains_key(field) {
                continue;
            }
            let filled_before = before.filled_share(field);
            let filled_now = current.filled_share(field);
            if filled_before >= policy.min_before && filled_now < policy.max_after {
                alarms.push(alarm(
                    DriftKind::Coverage,
                    Some(field),
                    filled_before,
                    filled_now,
                    format!(
                        "{plugin}/{topic}: field {field} filled in {:.1}% of {} records, \
                         was {:.1}% of {} ({origin})",
                        100.0 * filled_now,
                        thousands(current.records),
                        100.0 * filled_before,
                        thousands(before.records)
                    ),
                ));
                continue;
            }
            // Still filled, but empty where it used to hold something: a
            // list the parser no longer fills (`"category": []`).
            let content_before = before.content_share(field);
            let content_now = current.content_share(field);
            if content_before >= policy.min_before && content_now < policy.max_after {
                alarms.push(alarm(
                    DriftKind::Coverage,
                    Some(field),
                    content_before,
                    content_now,
                    format!(
                        "{plugin}/{topic}: field {field} non-empty in {:.1}% of {} records, \
                         was {:.1}% of {} ({origin})",
                        100.0 * content_now,
                        thousands(current.records),
                        100.0 * content_before,
                        thousands(before.records)
                    ),
                ));
                continue;
            }
            let true_before = share(f.true_count, before.records);
            let expected = current.records as f64 * true_before;
            let true_now = current.fields.get(field).map_or(0, |f| f.true_count);
            if f.true_count > 0
                && true_before >= policy.min_flag_share
                && expected >= policy.min_flag_expected
                && true_now == 0
            {
                alarms.push(alarm(
                    DriftKind::VanishedFlag,
                    Some(field),
                    true_before,
                    0.0,
                    format!(
                        "{plugin}/{topic}: field {field} true in none of {} records \
                         (about {expected:.0} expected), was true in {:.1}% of {} ({origin})",
                        thousands(current.records),
                        100.0 * true_before,
                        thousands(before.records)
                    ),
                ));
            }
        }
    }
    alarms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::scan;

    /// A topic of `n` records; `price` filled in the first `priced`, `sold_out`
    /// true in the first `flagged` (false in the rest).
    fn products(n: u64, priced: u64, flagged: u64) -> RunCoverage {
        let mut c = RunCoverage::default();
        for i in 0..n {
            let price = if i < priced { "100" } else { "null" };
            let flag = i < flagged;
            let value = format!(r#"{{"goods_no":"{i}","price":{price},"sold_out":{flag}}}"#);
            c.add_record("products", &scan(&value).unwrap());
        }
        c
    }

    fn snapshot(id: &str, coverage: RunCoverage) -> Snapshot {
        Snapshot {
            run_id: id.into(),
            started_at_ms: 1_746_068_400_000,
            plugin_version: "0.1.0".into(),
            coverage,
            alarms: vec![],
        }
    }

    fn detect_default(baseline: RunCoverage, now: RunCoverage) -> Vec<DriftAlarm> {
        detect(
            &DriftPolicy::default(),
            "oliveyoung",
            &snapshot("base", baseline),
            &now,
        )
    }

    #[test]
    fn an_empty_drift_table_is_the_default() {
        let empty: DriftConfig = toml::from_str("").unwrap();
        assert_eq!(empty, DriftConfig::default());
        assert!(empty.check().is_ok());
    }

    #[test]
    fn a_steady_run_raises_nothing() {
        assert!(detect_default(products(5000, 4950, 200), products(4800, 4700, 150)).is_empty());
        // Coverage that was never high does not alarm when it falls.
        assert!(detect_default(products(100, 80, 0), products(100, 0, 0)).is_empty());
    }

    #[test]
    fn a_field_that_falls_past_the_thresholds_alarms_with_both_figures() {
        let alarms = detect_default(products(5000, 4950, 0), products(5000, 1550, 0));
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let a = &alarms[0];
        assert_eq!(a.kind, DriftKind::Coverage);
        assert_eq!(a.topic, "products");
        assert_eq!(a.field.as_deref(), Some("price"));
        assert_eq!((a.before, a.now), (0.99, 0.31));
        assert_eq!(
            a.message,
            "oliveyoung/products: field price filled in 31.0% of 5,000 records, was 99.0% of \
             5,000 (baseline run base, 2025-05-01 03:00 UTC)"
        );
        // Exactly at the bounds: 90% before counts, 50% now does not alarm.
        assert_eq!(
            detect_default(products(100, 90, 0), products(100, 49, 0)).len(),
            1
        );
        assert!(detect_default(products(100, 90, 0), products(100, 50, 0)).is_empty());
        assert!(detect_default(products(100, 89, 0), products(100, 0, 0)).is_empty());
    }

    #[test]
    fn a_field_that_disappeared_alarms() {
        let mut now = RunCoverage::default();
        for i in 0..50 {
            now.add_record(
                "products",
                &scan(&format!(r#"{{"goods_no":"{i}","sold_out":false}}"#)).unwrap(),
            );
        }
        let alarms = detect_default(products(50, 50, 0), now);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].field.as_deref(), Some("price"));
        assert_eq!(alarms[0].now, 0.0);
    }

    #[test]
    fn a_list_that_comes_back_empty_alarms_as_non_empty_coverage() {
        let brands = |n: u64, listed: u64| {
            let mut c = RunCoverage::default();
            for i in 0..n {
                let category = if i < listed {
                    r#"["스킨케어_토너"]"#
                } else {
                    "[]"
                };
                let failed = if i == 0 { r#"["u"]"# } else { "[]" };
                c.add_record(
                    "brands",
                    &scan(&format!(
                        r#"{{"code":"{i}","category":{category},"failed_pages":{failed},"note":""}}"#
                    ))
                    .unwrap(),
                );
            }
            c
        };
        let before = brands(300, 294);
        assert_eq!(before.topics["brands"].fields["category"].empty, 6);
        assert_eq!(before.topics["brands"].filled_share("category"), 1.0);
        let alarms = detect_default(before.clone(), brands(300, 0));
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].kind, DriftKind::Coverage);
        assert_eq!(alarms[0].field.as_deref(), Some("category"));
        assert_eq!((alarms[0].before, alarms[0].now), (0.98, 0.0));
        assert!(
            alarms[0].message.starts_with(
                "oliveyoung/brands: field category non-empty in 0.0% of 300 records, was 98.0%"
            ),
            "{}",
            alarms[0].message
        );
        // Mostly-empty fields (failed_pages, a blank note) never alarm.
        assert!(detect_default(before, brands(300, 290)).is_empty());
    }

    #[test]
    fn volume_alarms_below_half_and_for_a_silent_topic() {
        let alarms = detect_default(products(5000, 5000, 0), products(2499, 2499, 0));
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].kind, DriftKind::Volume);
        assert_eq!(alarms[0].field, None);
        assert_eq!((alarms[0].before, alarms[0].now), (5000.0, 2499.0));
        assert_eq!(
            alarms[0].message,
            "oliveyoung/products: 2,499 records, was 5,000 (baseline run base, 2025-05-01 03:00 UTC)"
        );
        assert!(detect_default(products(5000, 5000, 0), products(2500, 2500, 0)).is_empty());
        // A topic with no record at all: one volume alarm, no field alarms.
        let alarms = detect_default(products(10, 10, 0), RunCoverage::default());
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].kind, DriftKind::Volume);
        assert_eq!(alarms[0].records_now, 0);
        // Growth never alarms, nor does a new topic.
        let mut grown = products(20, 20, 0);
        grown.add_record("brands", &scan("{}").unwrap());
        assert!(detect_default(products(10, 10, 0), grown).is_empty());
    }

    #[test]
    fn a_flag_that_is_never_true_any_more_alarms() {
        // 2% true before; 1,000 records now expect about 20.
        let alarms = detect_default(products(1000, 1000, 20), products(1000, 1000, 0));
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let a = &alarms[0];
        assert_eq!(a.kind, DriftKind::VanishedFlag);
        assert_eq!(a.field.as_deref(), Some("sold_out"));
        assert_eq!((a.before, a.now), (0.02, 0.0));
        assert!(
            a.message.starts_with(
                "oliveyoung/products: field sold_out true in none of 1,000 records \
                 (about 20 expected), was true in 2.0% of 1,000"
            ),
            "{}",
            a.message
        );
        // One true record is enough to keep quiet.
        assert!(detect_default(products(1000, 1000, 20), products(1000, 1000, 1)).is_empty());
        // Too rare before (0.5% < 1%).
        assert!(detect_default(products(1000, 1000, 5), products(1000, 1000, 0)).is_empty());
        // Too few records now to expect 10 (400 x 2% = 8); 500 x 2% = 10
        // is enough. (400 is also a volume alarm: look at the flags only.)
        let flags = |now| {
            detect_default(products(1000, 1000, 20), now)
                .into_iter()
                .filter(|a| a.kind == DriftKind::VanishedFlag)
                .count()
        };
        assert_eq!(flags(products(400, 400, 0)), 0);
        assert_eq!(flags(products(500, 500, 0)), 1);
    }

    #[test]
    fn a_flag_field_that_disappeared_alarms_once() {
        let mut now = RunCoverage::default();
        for i in 0..1000 {
            now.add_record(
                "products",
                &scan(&format!(r#"{{"goods_no":"{i}","price":1}}"#)).unwrap(),
            );
        }
        let alarms = detect_default(products(1000, 1000, 100), now);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].kind, DriftKind::Coverage);
        assert_eq!(alarms[0].field.as_deref(), Some("sold_out"));
    }

    #[test]
    fn a_truncated_topic_does_not_report_uncounted_fields_missing() {
        let mut now = products(100, 100, 0);
        now.topics
            .get_mut("products")
            .unwrap()
            .fields
            .remove("price");
        now.topics.get_mut("products").unwrap().fields_truncated = true;
        assert!(detect_default(products(100, 100, 0), now).is_empty());
    }

    #[test]
    fn thresholds_come_from_the_policy() {
        let policy = DriftPolicy {
            min_before: 0.5,
            max_after: 0.4,
            max_count_drop: 0.1,
            ..DriftPolicy::default()
        };
        let alarms = detect(
            &policy,
            "p",
            &snapshot("b", products(100, 60, 0)),
            &products(89, 30, 0),
        );
        let kinds: Vec<_> = alarms.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, vec![DriftKind::Volume, DriftKind::Coverage]);
    }

    #[test]
    fn the_baseline_moves_only_on_runs_without_alarms() {
        let policy = DriftPolicy::default();
        let mut state = PluginCoverage {
            plugin: "oliveyoung".into(),
            ..Default::default()
        };
        // The first run sets the baseline, even a poor one.
        let (alarms, check) = check_run(&policy, &mut state, snapshot("r1", products(100, 95, 0)));
        assert!(alarms.is_empty());
        assert_eq!(check, DriftCheck::BaselineSet);
        assert_eq!(state.baseline.as_ref().unwrap().run_id, "r1");
        // A good run replaces it.
        let (alarms, check) = check_run(&policy, &mut state, snapshot("r2", products(100, 99, 0)));
        assert!(alarms.is_empty());
        assert!(
            matches!(check, DriftCheck::Compared { ref baseline_run, replaced: true, .. } if baseline_run == "r1")
        );
        assert_eq!(state.baseline.as_ref().unwrap().run_id, "r2");
        // A drifted run alarms and keeps the baseline, again and again.
        for id in ["r3", "r4"] {
            let (alarms, check) =
                check_run(&policy, &mut state, snapshot(id, products(100, 10, 0)));
            assert_eq!(alarms.len(), 1, "{id}");
            assert!(
                matches!(check, DriftCheck::Compared { ref baseline_run, replaced: false, .. } if baseline_run == "r2")
            );
            assert_eq!(state.baseline.as_ref().unwrap().run_id, "r2");
            let last = state.last.as_ref().unwrap();
            assert_eq!(last.run_id, id);
            assert_eq!(last.alarms, alarms);
        }
        // Fixed: no alarm, the baseline moves on.
        let (alarms, _) = check_run(&policy, &mut state, snapshot("r5", products(100, 97, 0)));
        assert!(alarms.is_empty());
        assert_eq!(state.baseline.as_ref().unwrap().run_id, "r5");
        // A reset (no baseline) accepts whatever comes next.
        state.baseline = None;
        let (alarms, check) = check_run(&policy, &mut state, snapshot("r6", products(100, 0, 0)));
        assert!(alarms.is_empty());
        assert_eq!(check, DriftCheck::BaselineSet);
        assert_eq!(state.baseline.as_ref().unwrap().run_id, "r6");
    }

    #[test]
    fn disabled_alarms_keep_the_baseline_but_compare_nothing() {
        let policy = DriftPolicy {
            enabled: false,
            ..DriftPolicy::default()
        };
        let mut state = PluginCoverage::default();
        check_run(&policy, &mut state, snapshot("r1", products(100, 100, 0)));
        let (alarms, check) = check_run(&policy, &mut state, snapshot("r2", products(10, 0, 0)));
        assert!(alarms.is_empty());
        assert!(matches!(check, DriftCheck::Skipped { .. }));
        assert_eq!(state.baseline.as_ref().unwrap().run_id, "r1");
        assert_eq!(state.last.as_ref().unwrap().run_id, "r2");
    }

    #[test]
    fn config_ranges_name_the_field() {
        assert_eq!(
            DriftConfig::default().check().unwrap(),
            DriftPolicy::default()
        );
        for (config, field) in [
            (
                DriftConfig {
                    min_before: 0.0,
                    ..Default::default()
                },
                "min_before",
            ),
            (
                DriftConfig {
                    min_before: 1.5,
                    ..Default::default()
                },
                "min_before",
            ),
            (
                DriftConfig {
                    max_after: -0.1,
                    ..Default::default()
                },
                "max_after",
            ),
            (
                DriftConfig {
                    max_after: 0.95,
                    ..Default::default()
                },
                "max_after",
            ),
            (
                DriftConfig {
                    max_count_drop: 0.0,
                    ..Default::default()
                },
                "max_count_drop",
            ),
            (
                DriftConfig {
                    min_flag_share: f64::NAN,
                    ..Default::default()
                },
                "min_flag_share",
            ),
            (
                DriftConfig {
                    min_flag_expected: 0.5,
                    ..Default::default()
                },
                "min_flag_expected",
            ),
        ] {
            let err = config.check().unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().starts_with(&format!("drift.{field}: ")));
        }
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(format_time(1_746_068_400_000), "2025-05-01 03:00 UTC");
    }
}
