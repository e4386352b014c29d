//! The frontier of one run: which task goes next. Pure bookkeeping, no I/O.
//!
//! - **Dedup**: a task key is accepted once per run; rediscovering it is a
//!   no-op.
//! - **Phases**: a task of phase N starts only when no task of a lower phase
//!   is queued, running or waiting for a retry, so a phase can read state
//!   that earlier phases wrote (a join barrier, see the WIT `task.phase`).
//! - **Budget**: at most `max_tasks` distinct tasks per run, and at most
//!   `max_bytes` of their keys and payloads together; beyond either, new keys
//!   are refused, which stops endless fan-out and fat tasks (every accepted
//!   task stays in memory and in the journal for the run).
//! - **Done** means nothing queued, running or waiting.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::contract::Task;

/// What `push` did with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    Queued,
    Duplicate,
    OverBudget,
    /// The task would take the run past its byte budget.
    OverByteBudget,
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
    /// Bytes (key + payload) of the tasks accepted so far, and the budget.
    bytes: u64,
    max_bytes: u64,
}

impl Frontier {
    /// An empty frontier accepting at most `max_tasks` distinct keys.
    pub fn new(max_tasks: usize) -> Self {
        Self {
            phases: BTreeMap::new(),
            seen: HashSet::new(),
            max_tasks,
            bytes: 0,
            max_bytes: u64::MAX,
        }
    }

    /// Accept at most `max_bytes` of task keys and payloads in all.
    pub fn with_byte_budget(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// What a task costs against the byte budget.
    fn size(task: &Task) -> u64 {
        (task.key.len() + task.payload.len()) as u64
    }

    /// Offer a new task.
    pub fn push(&mut self, task: Task) -> Push {
        if self.seen.contains(&task.key) {
            return Push::Duplicate;
        }
        if self.seen.len() >= self.max_tasks {
            return Push::OverBudget;
        }
        let size = Self::size(&task);
        if self.bytes.saturating_add(size) > self.max_bytes {
            return Push::OverByteBudget;
        }
        self.bytes += size;
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

    /// Bytes (keys + payloads) of the tasks accepted so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
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

    /// Issue 15, item 12: the bytes of accepted tasks (key and payload) are
    /// budgeted too, so few fat tasks cannot fill memory and the journal.
    #[test]
    fn the_byte_budget_stops_fat_fan_out() {
        let fat = |key: &str| Task {
            key: key.into(),
            kind: "k".into(),
            payload: "x".repeat(1000),
            phase: 0,
        };
        // 1001 bytes each (key + payload): two fit in 2100 bytes, not three.
        let mut f = Frontier::new(1000).with_byte_budget(2100);
        assert_eq!(f.push(fat("a")), Push::Queued);
        assert_eq!(f.push(fat("a")), Push::Duplicate);
        assert_eq!(f.push(fat("b")), Push::Queued);
        assert_eq!(f.push(fat("c")), Push::OverByteBudget);
        // A small task still fits in what is left.
        assert_eq!(f.push(task("d", 0)), Push::Queued);
        assert_eq!((f.seen(), f.bytes()), (3, 2 * 1001 + 3));
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
