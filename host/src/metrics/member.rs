//! What a consumer that holds a group membership shows while it runs: the
//! partitions it holds and the rebalances that gave them, plus, for a
//! distributed worker, the attempts it ran.
//!
//! The consumer loops own their membership (the trigger consumer in
//! [`crate::trigger`], the worker in [`crate::distributed`]) and run inside
//! a task the command cannot look into, so they update one of these as they
//! go and the `--metrics-listen` endpoint ([`super::roles`]) reads it at
//! scrape time. Updates are a lock or an atomic per assignment change or
//! finished task: nothing on the per-record path.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One group member's share, as its consumer last reported it.
#[derive(Debug, Default)]
pub struct MemberStatus {
    assigned: Mutex<Vec<(String, u32)>>,
    rebalances: AtomicU64,
}

impl MemberStatus {
    /// The partitions held now (every partition read, where there is no
    /// group protocol).
    pub fn set_assigned(&self, partitions: impl IntoIterator<Item = (String, u32)>) {
        let mut now: Vec<(String, u32)> = partitions.into_iter().collect();
        now.sort();
        *self.assigned.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// The member's count of rebalances that assigned it partitions.
    pub fn set_rebalances(&self, n: u64) {
        self.rebalances.store(n, Ordering::Relaxed);
    }

    /// One more rebalance that assigned partitions.
    pub fn add_rebalance(&self) {
        self.rebalances.fetch_add(1, Ordering::Relaxed);
    }

    /// The partitions held, sorted.
    pub fn assigned(&self) -> Vec<(String, u32)> {
        self.assigned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn rebalances(&self) -> u64 {
        self.rebalances.load(Ordering::Relaxed)
    }
}

/// A distributed worker: its membership of the workers group and the task
/// attempts it ran, per plugin.
#[derive(Debug, Default)]
pub struct WorkerStatus {
    pub member: MemberStatus,
    /// `(done, failed)` by plugin.
    tasks: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl WorkerStatus {
    /// An attempt of a `plugin` task ended here, `done` or failed.
    pub fn task_finished(&self, plugin: &str, done: bool) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let (d, f) = tasks.entry(plugin.to_string()).or_default();
        if done {
            *d += 1;
        } else {
            *f += 1;
        }
    }

    /// Make `plugin`'s counters exist (at zero), so its series have samples
    /// before its first task.
    pub fn register(&self, plugin: &str) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(plugin.to_string())
            .or_default();
    }

    /// `(plugin, done, failed)`, sorted by plugin.
    pub fn tasks(&self) -> Vec<(String, u64, u64)> {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(p, (d, f))| (p.clone(), *d, *f))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_keeps_its_last_assignment_sorted() {
        let m = MemberStatus::default();
        m.set_assigned([("t".to_string(), 3), ("t".to_string(), 1)]);
        m.add_rebalance();
        m.add_rebalance();
        assert_eq!(m.assigned(), [("t".to_string(), 1), ("t".to_string(), 3)]);
        assert_eq!(m.rebalances(), 2);
        m.set_assigned([]);
        m.set_rebalances(5);
        assert!(m.assigned().is_empty());
        assert_eq!(m.rebalances(), 5);
    }

    #[test]
    fn worker_attempts_are_counted_per_plugin() {
        let w = WorkerStatus::default();
        w.register("b");
        w.task_finished("a", true);
        w.task_finished("a", false);
        w.task_finished("a", true);
        assert_eq!(
            w.tasks(),
            [("a".to_string(), 2, 1), ("b".to_string(), 0, 0)]
        );
    }
}
