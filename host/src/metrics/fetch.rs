//! A plugin's fetch counters for `/metrics`, live: the totals of its
//! finished runs plus the current counts of its runs in progress, so a
//! long crawl's requests, statuses, retries and politeness wait show while
//! it runs.
//!
//! A run registers its [`FetchStats`] with [`FetchCounters::track`] and
//! holds the returned [`Tracked`]; when that is dropped (the run ended, by
//! any path) the run's counts move into the finished totals. Both steps and
//! every read take the one lock, so a scrape never counts a run twice or
//! not at all, and the counters never go down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::http::FetchStats;

/// The fetch counters of one plugin.
#[derive(Debug, Default)]
pub struct FetchCounters {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    finished: FetchSums,
    running: Vec<Arc<FetchStats>>,
}

/// Sums of the counters `/metrics` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchSums {
    pub requests: u64,
    pub bytes: u64,
    pub errors: u64,
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    pub responses: [u64; 4],
    /// Fetch-level retries (inside the host, before the plugin saw anything).
    pub retries: u64,
    /// Milliseconds requests waited for a host's politeness gate.
    pub throttled_ms: u64,
    /// Requests refused because a host's circuit was open.
    pub circuit_rejections: u64,
    /// Requests refused by robots.txt.
    pub robots_denied: u64,
}

impl FetchSums {
    fn add(&mut self, s: &FetchStats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        self.requests += get(&s.requests);
        self.bytes += get(&s.bytes);
        self.errors += get(&s.errors);
        for (sum, c) in self.responses.iter_mut().zip([
            &s.status_2xx,
            &s.status_3xx,
            &s.status_4xx,
            &s.status_5xx,
        ]) {
            *sum += get(c);
        }
        self.retries += get(&s.retries);
        self.throttled_ms += get(&s.throttled_ms);
        self.circuit_rejections += get(&s.circuit_rejections);
        self.robots_denied += get(&s.robots_denied);
    }
}

/// A run's registration; dropping it moves the run's counts into the
/// finished totals.
pub struct Tracked {
    owner: Arc<super::PluginMetrics>,
    stats: Arc<FetchStats>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut inner = self
            .owner
            .fetch
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(i) = inner
            .running
            .iter()
            .position(|s| Arc::ptr_eq(s, &self.stats))
        {
            inner.running.swap_remove(i);
            inner.finished.add(&self.stats);
        }
    }
}

impl FetchCounters {
    /// Count `stats` live from now on, for `owner` (whose `fetch` this is).
    pub fn track(owner: &Arc<super::PluginMetrics>, stats: Arc<FetchStats>) -> Tracked {
        owner
            .fetch
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .running
            .push(stats.clone());
        Tracked {
            owner: owner.clone(),
            stats,
        }
    }

    /// Finished runs plus the runs in progress, now.
    pub fn sums(&self) -> FetchSums {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut sums = inner.finished;
        for s in &inner.running {
            sums.add(s);
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::stats::Event;
    use crate::metrics::PluginMetrics;

    #[test]
    fn a_run_counts_while_it_runs_and_once_after() {
        let m = Arc::new(PluginMetrics::default());
        let first = Arc::new(FetchStats::default());
        let tracked = FetchCounters::track(&m, first.clone());
        first.count("a:80", Event::Request);
        first.count("a:80", Event::Status(200));
        first.count("a:80", Event::Status(503));
        // Live, before the run ends.
        assert_eq!(m.fetch.sums().requests, 1);
        assert_eq!(m.fetch.sums().responses, [1, 0, 0, 1]);
        let second = Arc::new(FetchStats::default());
        let other = FetchCounters::track(&m, second.clone());
        second.count("b:80", Event::Request);
        assert_eq!(m.fetch.sums().requests, 2);
        drop(tracked);
        // Ended: counted once, in the finished totals.
        assert_eq!(m.fetch.sums().requests, 2);
        // A late count on an ended run's stats no longer shows (and never
        // makes a counter go down).
        first.count("a:80", Event::Request);
        assert_eq!(m.fetch.sums().requests, 2);
        drop(other);
        let s = m.fetch.sums();
        assert_eq!(s.requests, 2);
        assert_eq!(s.responses, [1, 0, 0, 1]);
    }
}
