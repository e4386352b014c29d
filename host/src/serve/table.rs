//! The plugin table: which version of each plugin serves ([`Slot`]), which
//! files were refused and why ([`Refusal`]), and the views of it the admin
//! API reads ([`PluginInfo`]), plus pausing a plugin.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{RunBrief, Service, StartError};
use crate::run::CurrentPlugin;
use crate::schedule::CronSchedule;

/// One loaded plugin.
pub(super) struct Slot {
    pub(super) current: Arc<CurrentPlugin>,
    pub(super) path: PathBuf,
    pub(super) paused: bool,
    pub(super) schedule: Option<CronSchedule>,
    /// The tick to fire next.
    pub(super) next_tick: Option<DateTime<Utc>>,
    pub(super) active_run: Option<String>,
    pub(super) last_runs: VecDeque<RunBrief>,
    pub(super) health: crate::health::PluginHealth,
    pub(super) loaded_at_ms: i64,
    /// The topic-trigger consumer of a triggered plugin (restarted on swap).
    pub(super) triggers: Option<tokio::task::AbortHandle>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(t) = &self.triggers {
            t.abort();
        }
    }
}

/// A refused file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub path: PathBuf,
    pub reason: String,
    pub at_ms: i64,
}

/// What the admin API reports about a plugin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub path: PathBuf,
    pub contract: String,
    pub paused: bool,
    /// `healthy`; `degraded: <reason>` when the last complete run raised
    /// drift alarms; `unhealthy: <reason>` after repeated failed runs.
    pub health: String,
    pub schedule: Option<String>,
    /// When the schedule fires next (ms since the epoch).
    pub next_tick_ms: Option<i64>,
    pub active_run: Option<String>,
    pub loaded_at_ms: i64,
    pub last_runs: Vec<RunBrief>,
}

#[derive(Default)]
pub(super) struct Table {
    pub(super) slots: BTreeMap<String, Slot>,
    pub(super) refused: BTreeMap<PathBuf, Refusal>,
}

impl Service {
    /// Pause (no scheduled or manual runs) or resume a plugin.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<(), StartError> {
        let mut table = self.table();
        let slot = table
            .slots
            .get_mut(name)
            .ok_or_else(|| StartError::Unknown(name.to_string()))?;
        slot.paused = paused;
        if paused {
            if let Some(t) = slot.triggers.take() {
                t.abort();
            }
        } else if slot.triggers.is_none() {
            slot.triggers = self.spawn_triggers(&slot.current.get());
        }
        drop(table);
        self.changed.notify_one();
        Ok(())
    }

    /// Loaded plugins, for the admin API.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        let table = self.table();
        table
            .slots
            .iter()
            .map(|(name, s)| {
                let p = s.current.get();
                PluginInfo {
                    name: name.clone(),
                    version: p.manifest.version.clone(),
                    sha256: p.hash.clone(),
                    path: s.path.clone(),
                    contract: p.contract.to_string(),
                    paused: s.paused,
                    health: s.health.health().to_string(),
                    schedule: s.schedule.as_ref().map(|_| {
                        self.host
                            .settings
                            .plugins
                            .get(name)
                            .and_then(|c| c.schedule.clone())
                            .or(p.manifest.schedule.clone())
                            .unwrap_or_default()
                    }),
                    next_tick_ms: s.next_tick.map(|t| t.timestamp_millis()),
                    active_run: s.active_run.clone(),
                    loaded_at_ms: s.loaded_at_ms,
                    last_runs: s.last_runs.iter().cloned().collect(),
                }
            })
            .collect()
    }

    /// Refused files, for the admin API.
    pub fn refused(&self) -> Vec<Refusal> {
        self.table().refused.values().cloned().collect()
    }
}
