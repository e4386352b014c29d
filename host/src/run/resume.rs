//! Where a run's first tasks come from: an unfinished run of the same plugin
//! build in the journal is continued (its queued tasks requeued, the keys it
//! already saw kept out, its counts carried on); otherwise the run is new
//! and `plan` seeds it ([`super::plan`]). An unfinished run made by another
//! build is abandoned: its tasks may mean something else to the new code.

use std::time::{SystemTime, UNIX_EPOCH};

use super::RunSummary;
use super::frontier::Frontier;
use super::journal::{Journal, Unfinished};

/// Where a run's first tasks come from.
pub(super) enum Start {
    /// A new run: call `plan`.
    Fresh,
    /// Continue a journaled run.
    Resume(Box<Unfinished>),
}

impl Start {
    /// Look in `journal` (scheduled runs only have one) for an unfinished
    /// run of `plugin` built from `hash`. A journal that cannot be read or
    /// updated is logged and the run starts afresh.
    pub(super) fn find(journal: Option<&Journal>, plugin: &str, hash: &str) -> Start {
        let Some(j) = journal else {
            return Start::Fresh;
        };
        match j.unfinished(plugin) {
            Ok(Some(u)) if u.run.plugin_hash == hash => Start::Resume(Box::new(u)),
            Ok(Some(u)) => {
                tracing::warn!(plugin = %plugin, run = %u.run.run_id, "An unfinished run was made by another build of the plugin; abandoning it and starting afresh.");
                if let Err(e) = j.end_run(&u.run.run_id, "abandoned", "{}") {
                    tracing::error!(error = %e, "Cannot update the frontier journal.");
                }
                Start::Fresh
            }
            Ok(None) => Start::Fresh,
            Err(e) => {
                tracing::error!(error = %e, "Cannot read the frontier journal; starting a new run.");
                Start::Fresh
            }
        }
    }

    /// The run's id and start time: the journaled run's when resuming, new
    /// ones (`<plugin>-<ms>-<random>`) otherwise.
    pub(super) fn identity(&self, plugin: &str) -> (String, i64) {
        match self {
            Start::Resume(u) => (u.run.run_id.clone(), u.run.started_at_ms),
            Start::Fresh => {
                let ms = now_ms();
                (format!("{plugin}-{ms}-{:04x}", rand::random::<u16>()), ms)
            }
        }
    }
}

/// Carry a journaled run on: its counts into `summary`, the keys it saw and
/// the tasks it left queued into `frontier`.
pub(super) fn resume(u: Unfinished, frontier: &mut Frontier, summary: &mut RunSummary) {
    tracing::info!(plugin = %summary.plugin, run = %summary.run_id, queued = u.queued.len(), done = u.done, "Resuming an unfinished run.");
    summary.tasks_done = u.done;
    summary.tasks_failed = u.failed;
    for key in u.seen {
        frontier.mark_seen(key);
    }
    for t in u.queued {
        frontier.requeue(t);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
