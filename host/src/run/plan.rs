//! The start of a new run: call the plugin's `plan`, check the tasks it
//! returns as any follow-ups are checked, queue them, and journal the run
//! with them (scheduled runs), so a crash from here on resumes.

use crate::contract::{PlanInput, Task};
use crate::engine::CallContext;
use crate::engine::LoadedPlugin;

use super::frontier::{Frontier, Push};
use super::summary::{budget_message, byte_budget_message};
use super::task::{RunShared, check_follow_ups, seed_for};
use super::{RunSummary, log_journal_error};

/// Seed `frontier` from `plan`. `Err` carries why the run cannot go on
/// (`plan` failed or returned an invalid task); seeds beyond the task
/// budget make the run fatal in `summary` but the accepted ones still run.
pub(super) async fn plan(
    shared: &RunShared,
    plugin: &LoadedPlugin,
    input: &PlanInput,
    frontier: &mut Frontier,
    summary: &mut RunSummary,
) -> Result<(), String> {
    let run_id = &shared.info.run_id;
    let started_at_ms = shared.info.started_at_ms;
    tracing::info!(plugin = %summary.plugin, run = %run_id, "Run started.");
    let plan_ctx = CallContext {
        scope: shared.scope.clone(),
        label: "plan".into(),
        started_at_ms,
        seed: seed_for(run_id, "plan"),
    };
    let seeds = match shared
        .ctx
        .engine
        .plan(plugin, plan_ctx, &shared.info, input)
        .await
    {
        Ok(Ok(seeds)) => seeds,
        Ok(Err(e)) => return Err(format!("plan failed: {e:?}")),
        Err(e) => return Err(format!("plan failed: {e}")),
    };
    let root = Task {
        key: "plan".into(),
        kind: "plan".into(),
        payload: "null".into(),
        phase: 0,
    };
    if let Err(e) = check_follow_ups(&root, &seeds) {
        return Err(format!("plan returned an invalid task: {e}"));
    }
    let run = &shared.ctx.settings.run;
    let mut accepted = Vec::new();
    for t in seeds {
        match frontier.push(t.clone()) {
            Push::Queued => accepted.push(t),
            Push::Duplicate => summary.duplicate_tasks += 1,
            Push::OverBudget => {
                summary.fatal = Some(budget_message(run.max_tasks_per_run));
            }
            Push::OverByteBudget => {
                summary.fatal = Some(byte_budget_message(run.max_task_bytes_per_run));
            }
        }
    }
    if let Some(j) = &shared.journal
        && let Err(e) = j.start_run(
            run_id,
            &summary.plugin,
            &plugin.hash,
            started_at_ms,
            &accepted,
        )
    {
        log_journal_error(e);
    }
    Ok(())
}
