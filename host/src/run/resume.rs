//! Where a run's first tasks come from: an unfinished run of the same plugin
//! build in the journal is continued (its queued tasks requeued, the keys it
//! already saw kept out, its counts carried on); otherwise the run is new
//! and `plan` seeds it ([`super::plan`]). An unfinished run made by another
//! build is abandoned: its tasks may mean something else to the new code.

use crate::time::now_ms;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Task;

    fn task(key: &str) -> Task {
        Task {
            key: key.into(),
            kind: "page".into(),
            payload: "{}".into(),
            phase: 0,
        }
    }

    fn summary(start: &Start) -> RunSummary {
        let manifest = crate::contract::test_manifest("echo");
        let (id, at) = start.identity("echo");
        RunSummary::empty(&manifest, id, at, matches!(start, Start::Resume(_)))
    }

    #[test]
    fn without_a_journal_a_run_is_new_with_a_fresh_id() {
        let start = Start::find(None, "echo", "h1");
        assert!(matches!(start, Start::Fresh));
        let (id, at) = start.identity("echo");
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0], "echo");
        assert_eq!(parts[1], at.to_string());
        assert_eq!(parts[2].len(), 4, "{id}");
    }

    #[test]
    fn an_unfinished_run_of_the_same_build_is_carried_on() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("frontier.db")).unwrap();
        journal
            .start_run("echo-5-0001", "echo", "h1", 5, &[task("a"), task("b")])
            .unwrap();
        journal
            .complete_task("echo-5-0001", "a", &[task("c")])
            .unwrap();
        let start = Start::find(Some(&journal), "echo", "h1");
        assert_eq!(start.identity("echo"), ("echo-5-0001".to_string(), 5));
        let mut summary = summary(&start);
        assert!(summary.resumed);
        let Start::Resume(u) = start else {
            panic!("not resumed");
        };
        let mut frontier = Frontier::new(100);
        resume(*u, &mut frontier, &mut summary);
        assert_eq!(summary.tasks_done, 1);
        assert_eq!(frontier.queued(), 2, "b and c are queued again");
        assert_eq!(frontier.seen(), 3, "a, b and c are known");
        assert_eq!(
            frontier.push(task("a")),
            super::super::frontier::Push::Duplicate
        );
    }

    #[test]
    fn an_unfinished_run_of_another_build_is_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("frontier.db")).unwrap();
        journal
            .start_run("echo-5-0001", "echo", "old", 5, &[task("a")])
            .unwrap();
        let start = Start::find(Some(&journal), "echo", "new");
        assert!(matches!(start, Start::Fresh));
        assert!(journal.unfinished("echo").unwrap().is_none());
        let runs = journal.recent_runs(Some("echo"), 1).unwrap();
        assert_eq!(runs[0].status, "abandoned");
    }
}
