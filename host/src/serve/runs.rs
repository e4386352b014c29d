//! Runs started by the service (scheduled or from the admin API): starting
//! one in the background, one at a time per plugin, and recording how it
//! ended ([`RunBrief`], plugin health).

use std::sync::Arc;

use super::{Service, StartError};
use crate::contract::PlanInput;
use crate::run::{RunRequest, RunSummary, execute_run};
use crate::time::now_ms;

/// Runs remembered per plugin for the admin API.
const LAST_RUNS: usize = 20;

/// A run as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunBrief {
    pub run_id: String,
    pub plugin_version: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub tasks_done: u64,
    pub tasks_failed: usize,
    pub records: u64,
    pub resumed: bool,
    pub interrupted: bool,
    pub fatal: Option<String>,
    /// Items the plugin skipped for missing identity fields.
    pub skipped_items: u64,
    /// The run's drift alarms, as sentences.
    pub drift: Vec<String>,
}

impl From<&RunSummary> for RunBrief {
    fn from(s: &RunSummary) -> Self {
        Self {
            run_id: s.run_id.clone(),
            plugin_version: s.plugin_version.clone(),
            started_at_ms: s.started_at_ms,
            duration_ms: s.duration_ms,
            tasks_done: s.tasks_done,
            tasks_failed: s.tasks_failed.len(),
            records: s.records,
            resumed: s.resumed,
            interrupted: s.interrupted,
            fatal: s.fatal.clone(),
            skipped_items: s.coverage.skipped_total(),
            drift: s.drift.iter().map(|a| a.message.clone()).collect(),
        }
    }
}

/// Whether the plugin in `slot` may start a run: not paused, none active.
pub(super) fn startable(slot: &super::table::Slot, name: &str) -> Result<(), StartError> {
    if slot.paused {
        return Err(StartError::Paused(name.to_string()));
    }
    if let Some(run) = &slot.active_run {
        return Err(StartError::Busy {
            plugin: name.to_string(),
            run: run.clone(),
        });
    }
    Ok(())
}

impl Service {
    /// Start a run of `name` in the background.
    pub async fn start_run(self: &Arc<Self>, name: &str) -> Result<String, StartError> {
        if self.stop.is_cancelled() {
            return Err(StartError::ShuttingDown);
        }
        let (current, run_label) = {
            let mut table = self.table();
            let slot = table
                .slots
                .get_mut(name)
                .ok_or_else(|| StartError::Unknown(name.to_string()))?;
            startable(slot, name)?;
            let label = format!("{name}@{}", now_ms());
            slot.active_run = Some(label.clone());
            (slot.current.clone(), label)
        };
        let this = self.clone();
        let name = name.to_string();
        let request = RunRequest {
            plugin: current,
            input: PlanInput::Scheduled,
            shutdown: Some(self.stop.subscribe()),
            metrics: Some(self.metrics.plugin(&name)),
        };
        let mut runs = self.runs.lock().await;
        while runs.try_join_next().is_some() {}
        runs.spawn(async move {
            let summary = execute_run(this.host.run_context(), request, &mut |_| {}).await;
            this.finish_run(&name, &summary);
        });
        Ok(run_label)
    }

    fn finish_run(&self, name: &str, summary: &RunSummary) {
        let mut table = self.table();
        if let Some(slot) = table.slots.get_mut(name) {
            slot.active_run = None;
            match slot.health.observe_run(summary) {
                Some(crate::health::Transition::BecameUnhealthy { reason }) => {
                    tracing::warn!(plugin = %name, reason = %reason, "Plugin is unhealthy.");
                }
                Some(crate::health::Transition::BecameDegraded { reason }) => {
                    tracing::warn!(plugin = %name, reason = %reason, "Plugin is degraded: drift alarms.");
                }
                Some(crate::health::Transition::Recovered) => {
                    tracing::info!(plugin = %name, "Plugin recovered.");
                }
                None => {}
            }
            slot.last_runs.push_front(RunBrief::from(summary));
            slot.last_runs.truncate(LAST_RUNS);
        }
    }
}
