//! Coverage kept per plugin under `data_dir`: `coverage/<plugin>.json`
//! holds the plugin's baseline and its last checked run
//! ([`PluginCoverage`]), so the next run (the next process, with `run
//! --once` from cron) can compare.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then
//! renamed over the old one), so a crash leaves the old file or the new one.
//! Two hosts sharing a `data_dir` and running the same plugin at once would
//! race (the last writer wins); one run per plugin at a time is the normal
//! setup (`serve` refuses a second one, distributed runs have one
//! coordinator).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::drift::{self, DriftAlarm, DriftCheck, DriftPolicy, PluginCoverage, Snapshot};

/// Errors reading or writing the coverage files.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a coverage file: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("`{0}` is not a plugin name")]
    BadName(String),
}

/// The coverage files of one `data_dir`.
#[derive(Debug, Clone)]
pub struct CoverageStore {
    dir: PathBuf,
}

impl CoverageStore {
    /// The store under `data_dir` (`data_dir/coverage`; created on the
    /// first write).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("coverage"),
        }
    }

    /// The file of `plugin`.
    pub fn path(&self, plugin: &str) -> Result<PathBuf, StoreError> {
        if !crate::manifest::is_valid_plugin_name(plugin) {
            return Err(StoreError::BadName(plugin.to_string()));
        }
        Ok(self.dir.join(format!("{plugin}.json")))
    }

    /// What is stored for `plugin`; `None` when nothing is.
    pub fn load(&self, plugin: &str) -> Result<Option<PluginCoverage>, StoreError> {
        let path = self.path(plugin)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path,
                message: e.to_string(),
            })
    }

    /// Replace what is stored for `state.plugin`, atomically.
    pub fn save(&self, state: &PluginCoverage) -> Result<(), StoreError> {
        let path = self.path(&state.plugin)?;
        let write_err = |source| StoreError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(write_err)?;
        let json = serde_json::to_vec_pretty(state).map_err(|e| write_err(e.into()))?;
        let tmp = self.dir.join(format!(".{}.json.tmp", state.plugin));
        let mut file = std::fs::File::create(&tmp).map_err(write_err)?;
        file.write_all(&json).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(write_err)?;
        Ok(())
    }

    /// Forget `plugin`'s baseline: its next complete run sets a new one.
    /// The last run is kept for `coverage show`. Returns whether there was
    /// a baseline.
    pub fn reset(&self, plugin: &str) -> Result<bool, StoreError> {
        let Some(mut state) = self.load(plugin)? else {
            return Ok(false);
        };
        let had = state.baseline.take().is_some();
        self.save(&state)?;
        Ok(had)
    }

    /// Check a complete run of `plugin` against its baseline and store the
    /// result (see [`drift::check_run`]). A file that cannot be parsed is
    /// replaced (logged): its baseline is lost, the run sets a new one.
    pub fn check_and_record(
        &self,
        policy: &DriftPolicy,
        plugin: &str,
        run: Snapshot,
    ) -> Result<(Vec<DriftAlarm>, DriftCheck), StoreError> {
        let mut state = match self.load(plugin) {
            Ok(Some(s)) => s,
            Ok(None) => PluginCoverage::default(),
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::warn!(plugin = %plugin, error = %e, "Coverage file unreadable; this run sets a new baseline.");
                PluginCoverage::default()
            }
            Err(e) => return Err(e),
        };
        state.plugin = plugin.to_string();
        let (alarms, check) = drift::check_run(policy, &mut state, run);
        self.save(&state)?;
        Ok((alarms, check))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::{RunCoverage, scan};

    fn snapshot(id: &str, priced: bool) -> Snapshot {
        let mut coverage = RunCoverage::default();
        for i in 0..20 {
            let value = if priced {
                format!(r#"{{"id":{i},"price":1}}"#)
            } else {
                format!(r#"{{"id":{i},"price":null}}"#)
            };
            coverage.add_record("items", &scan(&value).unwrap());
        }
        Snapshot {
            run_id: id.into(),
            started_at_ms: 0,
            plugin_version: "1.0.0".into(),
            coverage,
            alarms: vec![],
        }
    }

    #[test]
    fn runs_are_compared_across_store_instances_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let policy = DriftPolicy::default();
        let store = CoverageStore::new(dir.path());
        assert!(store.load("shop").unwrap().is_none());
        let (alarms, check) = store
            .check_and_record(&policy, "shop", snapshot("r1", true))
            .unwrap();
        assert!(alarms.is_empty());
        assert_eq!(check, DriftCheck::BaselineSet);
        assert!(dir.path().join("coverage/shop.json").is_file());

        // A new process: a fresh store over the same directory.
        let store = CoverageStore::new(dir.path());
        let (alarms, _) = store
            .check_and_record(&policy, "shop", snapshot("r2", false))
            .unwrap();
        assert_eq!(alarms.len(), 1);
        let saved = store.load("shop").unwrap().unwrap();
        assert_eq!(saved.baseline.as_ref().unwrap().run_id, "r1");
        assert_eq!(saved.last.as_ref().unwrap().alarms, alarms);

        assert!(store.reset("shop").unwrap());
        assert!(!store.reset("shop").unwrap());
        assert!(!store.reset("never-ran").unwrap());
        let saved = store.load("shop").unwrap().unwrap();
        assert!(saved.baseline.is_none());
        assert_eq!(saved.last.as_ref().unwrap().run_id, "r2");
        let (alarms, check) = store
            .check_and_record(&policy, "shop", snapshot("r3", false))
            .unwrap();
        assert!(alarms.is_empty());
        assert_eq!(check, DriftCheck::BaselineSet);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("coverage"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["shop.json"]);
    }

    #[test]
    fn a_corrupt_file_is_replaced_and_bad_names_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = CoverageStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("coverage")).unwrap();
        std::fs::write(dir.path().join("coverage/shop.json"), "{not json").unwrap();
        assert!(matches!(
            store.load("shop"),
            Err(StoreError::Corrupt { .. })
        ));
        let (_, check) = store
            .check_and_record(&DriftPolicy::default(), "shop", snapshot("r1", true))
            .unwrap();
        assert_eq!(check, DriftCheck::BaselineSet);
        assert!(store.load("shop").unwrap().is_some());
        assert!(matches!(
            store.path("../etc/passwd"),
            Err(StoreError::BadName(_))
        ));
    }
}
