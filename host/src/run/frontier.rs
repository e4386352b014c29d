//! The frontier of one run: which task goes next. Pure bookkeeping, no I/O.
//!
//! - **Dedup**: a task key is accepted once per run; rediscovering it is a
//!   no-op.
//! - **Phases**: a task of phase N starts only when no task of a lower phase
//!   is queued, running or waiting for a retry, so a phase can read state
//!   that earlier phases wrote (a join barrier, see the WIT `task.phase`).
//! - **Budget**: at most `max_tasks` distinct tasks per run; beyond that new
//!   keys are refused, which stops endless fan-out.
//! - **Done** means nothing queued, running or waiting.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::engine::bindings::Task;

/// What `push` did with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    Queued,
    Duplicate,
    OverBudget,
}

/// A task with its attempt count.
#[derive(Debug, Clone)]
pub struct Entry {
    pub task: Task,
    /// Attempts made so far (0 for a new task).
    pub attempts: u32,
}

#[derive(Debug, Default)]
struct Phase {
    queued: VecDeque<Entry>,
    /// Running or waiting for a retry.
    busy: usize,
}

/// The frontier.
#[derive(Debug)]
pub struct Frontier {
    phases: BTreeMap<u32, Phase>,
    seen: HashSet<String>,
    max_tasks: usize,
}

impl Frontier {
    /// An empty frontier accepting at most `max_tasks` distinct keys.
    pub fn new(max_tasks: usize) -> Self {
        Self {
            phases: BTreeMap::new(),
            seen: HashSet::new(),
            max_tasks,
        }
    }

    /// Offer a new task.
    pub fn push(&mut self, task: Task) -> Push {
        if self.seen.contains(&task.key) {
            return Push::Duplicate;
        }
        if self.seen.len() >= self.max_tasks {
            return Push::OverBudget;
        }
        self.seen.insert(task.key.clone());
        self.phases
            .entry(task.phase)
            .or_default()
            .queued
            .push_back(Entry { task, attempts: 0 });
        Push::Queued
    }

    /// Record `key` as already handled in this run (resume after a crash):
    /// it will not be queued again.
    pub fn mark_seen(&mut self, key: String) {
        self.seen.insert(key);
    }

    /// Queue a task whose key is already seen (a journaled task to run
    /// again after a crash); it bypasses dedup and the budget.
    pub fn requeue(&mut self, task: Task) {
        self.seen.insert(task.key.clone());
        self.phases
            .entry(task.phase)
            .or_default()
            .queued
            .push_back(Entry { task, attempts: 0 });
    }

    /// The next task allowed to start, now marked busy.
    pub fn pop_ready(&mut self) -> Option<Entry> {
        for phase in self.phases.values_mut() {
            if let Some(entry) = phase.queued.pop_front() {
                phase.busy += 1;
                return Some(entry);
            }
            if phase.busy > 0 {
                // Barrier: later phases wait for this one.
                return None;
            }
        }
        None
    }

    /// A busy task finished for good (done or given up).
    pub fn finish(&mut self, phase: u32) {
        if let Some(p) = self.phases.get_mut(&phase) {
            p.busy = p.busy.saturating_sub(1);
            if p.busy == 0 && p.queued.is_empty() {
                self.phases.remove(&phase);
            }
        }
    }

    /// A busy task comes back for another attempt (after its backoff). It
    /// stays counted as busy until then, so its phase's barrier holds.
    pub fn retry(&mut self, entry: Entry) {
        let phase = self.phases.entry(entry.task.phase).or_default();
        phase.busy = phase.busy.saturating_sub(1);
        phase.queued.push_front(entry);
    }

    /// Tasks queued (not running).
    pub fn queued(&self) -> usize {
        self.phases.values().map(|p| p.queued.len()).sum()
    }

    /// Distinct tasks accepted so far.
    pub fn seen(&self) -> usize {
        self.seen.len()
    }

    /// Nothing queued, running or waiting.
    pub fn is_done(&self) -> bool {
        self.phases
            .values()
            .all(|p| p.queued.is_empty() && p.busy == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, phase: u32) -> Task {
        Task {
            key: key.into(),
            kind: "k".into(),
            payload: "{}".into(),
            phase,
        }
    }

    #[test]
    fn dedups_by_key() {
        let mut f = Frontier::new(10);
        assert_eq!(f.push(task("a", 0)), Push::Queued);
        assert_eq!(f.push(task("a", 0)), Push::Duplicate);
        assert_eq!(f.queued(), 1);
        let e = f.pop_ready().unwrap();
        f.finish(e.task.phase);
        // Still a duplicate after it ran: one run does a key once.
        assert_eq!(f.push(task("a", 0)), Push::Duplicate);
        assert!(f.is_done());
    }

    #[test]
    fn later_phases_wait_for_earlier_ones() {
        let mut f = Frontier::new(10);
        f.push(task("join", 1));
        f.push(task("a", 0));
        let a = f.pop_ready().unwrap();
        assert_eq!(a.task.key, "a");
        // `a` is running: phase 1 must wait.
        assert!(f.pop_ready().is_none());
        // `a` discovers more phase-0 work; it goes first.
        f.push(task("b", 0));
        f.finish(0);
        assert_eq!(f.pop_ready().unwrap().task.key, "b");
        assert!(f.pop_ready().is_none());
        f.finish(0);
        assert_eq!(f.pop_ready().unwrap().task.key, "join");
        f.finish(1);
        assert!(f.is_done());
    }

    #[test]
    fn a_retry_keeps_the_barrier() {
        let mut f = Frontier::new(10);
        f.push(task("a", 0));
        f.push(task("z", 1));
        let mut a = f.pop_ready().unwrap();
        // Waiting for its backoff: still busy, phase 1 blocked.
        assert!(f.pop_ready().is_none());
        assert!(!f.is_done());
        a.attempts = 1;
        f.retry(a);
        let again = f.pop_ready().unwrap();
        assert_eq!((again.task.key.as_str(), again.attempts), ("a", 1));
        f.finish(0);
        assert_eq!(f.pop_ready().unwrap().task.key, "z");
    }

    #[test]
    fn the_budget_stops_fan_out() {
        let mut f = Frontier::new(2);
        assert_eq!(f.push(task("a", 0)), Push::Queued);
        assert_eq!(f.push(task("b", 0)), Push::Queued);
        assert_eq!(f.push(task("c", 0)), Push::OverBudget);
        assert_eq!(f.seen(), 2);
    }
}
