//! Bounded per-host tables: the state the client keeps per site (politeness
//! gates, robots.txt rules, circuits and retry budgets) lives for as long as
//! it still matters, not for the life of the process.
//!
//! A `serve` process that crawls for weeks meets an unbounded number of
//! hosts (a plugin allowed `*.example.com` alone can name millions), so a
//! table that only ever grows is a slow memory leak. Each value says how much
//! it still matters ([`Keep`]) at a time the caller passes in (pure: no
//! clock, so tests move time by hand):
//!
//! - [`Keep::Idle`]: forgetting it changes nothing (a politeness gate whose
//!   next slot is already open, a closed circuit with no recent failure, an
//!   expired robots.txt). Dropped at the next sweep.
//! - [`Keep::Cached`]: worth keeping, cheap to lose (a robots.txt within its
//!   TTL: losing it costs one more fetch of the file, never a request the
//!   file forbids). Dropped only when the table is full, least recently used
//!   first.
//! - [`Keep::Pinned`]: forgetting it would break a promise (a delay still
//!   pending, a request in flight, an open circuit). Never dropped.
//!
//! A sweep runs when a new host arrives and either the table is full or
//! [`SWEEP_EVERY`] has passed since the last one. The cap is hard for idle
//! and cached entries. Pinned ones may take the table past it, because
//! dropping them would hammer a site; each stays pinned only for a bounded
//! time (a rate interval, a `Retry-After` up to `http.retry.max_retry_after_secs`,
//! a circuit's `open_secs`), so the overshoot is bounded by how many new hosts
//! the process reaches within that time, and the next sweep takes the table
//! back under the cap. Going over is logged once per episode.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often idle entries are swept even when the table is not full: a
/// housekeeping cadence, not a limit (the cap is configured per table).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How much an entry still matters, see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Idle,
    Cached,
    Pinned,
}

/// A per-host value that can say whether it still matters at `now`.
pub trait Relevance {
    fn keep(&self, now: Instant) -> Keep;
}

struct Entry<V> {
    value: V,
    /// Order of last use (a counter, so ties cannot happen).
    used: u64,
}

/// A map from host key to state, at most `cap` entries that are not pinned.
pub struct HostTable<V> {
    /// What the table holds, for the log line when it goes over its cap.
    what: &'static str,
    entries: HashMap<String, Entry<V>>,
    cap: usize,
    tick: u64,
    next_sweep: Option<Instant>,
    over_cap: bool,
}

impl<V: Relevance> HostTable<V> {
    /// A table of at most `cap` entries (at least 1) that are not pinned.
    pub fn new(what: &'static str, cap: usize) -> Self {
        Self {
            what,
            entries: HashMap::new(),
            cap: cap.max(1),
            tick: 0,
            next_sweep: None,
            over_cap: false,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The entry of `key`, created by `make` when absent (after a sweep when
    /// one is due), marked as used now.
    pub fn get_or_insert_with(
        &mut self,
        key: &str,
        now: Instant,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        self.tick += 1;
        if !self.entries.contains_key(key)
            && (self.entries.len() >= self.cap || self.next_sweep.is_none_or(|t| now >= t))
        {
            self.sweep(now);
        }
        let entry = self
            .entries
            .entry(key.to_string())
            .or_insert_with(|| Entry {
                value: make(),
                used: 0,
            });
        entry.used = self.tick;
        &mut entry.value
    }

    /// Drop idle entries, then, when no room is left for one more, cached
    /// ones, least recently used first. Pinned entries stay.
    pub fn sweep(&mut self, now: Instant) {
        self.next_sweep = Some(now + SWEEP_EVERY);
        let mut cached = Vec::new();
        self.entries.retain(|key, e| match e.value.keep(now) {
            Keep::Idle => false,
            Keep::Cached => {
                cached.push((e.used, key.clone()));
                true
            }
            Keep::Pinned => true,
        });
        if self.entries.len() >= self.cap {
            let excess = self.entries.len() + 1 - self.cap;
            cached.sort_unstable();
            for (_, key) in cached.into_iter().take(excess) {
                self.entries.remove(&key);
            }
        }
        let over = self.entries.len() >= self.cap;
        if over && !self.over_cap {
            tracing::warn!(
                table = self.what,
                entries = self.entries.len(),
                cap = self.cap,
                "Every host in the table still has a pending delay, request or open circuit; \
                 it grows past its cap until they expire."
            );
        }
        self.over_cap = over;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value that is pinned until a time, then cached until another, then
    /// idle.
    struct Until {
        pinned: Instant,
        cached: Instant,
    }

    impl Relevance for Until {
        fn keep(&self, now: Instant) -> Keep {
            if now < self.pinned {
                Keep::Pinned
            } else if now < self.cached {
                Keep::Cached
            } else {
                Keep::Idle
            }
        }
    }

    #[test]
    fn idle_entries_go_at_the_periodic_sweep() {
        let t0 = Instant::now();
        let mut t = HostTable::new("test", 100);
        for i in 0..10 {
            t.get_or_insert_with(&format!("h{i}"), t0, || Until {
                pinned: t0,
                cached: t0,
            });
        }
        assert_eq!(t.len(), 10, "no sweep is due yet");
        t.get_or_insert_with("new", t0 + SWEEP_EVERY, || Until {
            pinned: t0,
            cached: t0,
        });
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_full_table_drops_idle_then_least_recently_used_cached_never_pinned() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(3600);
        let mut t = HostTable::new("test", 4);
        let pinned = || Until {
            pinned: later,
            cached: later,
        };
        let cached = || Until {
            pinned: t0,
            cached: later,
        };
        t.get_or_insert_with("p", t0, pinned);
        t.get_or_insert_with("c-old", t0, cached);
        t.get_or_insert_with("c-new", t0, cached);
        t.get_or_insert_with("c-old", t0, cached); // used again: now the newest
        t.get_or_insert_with("c-3", t0, cached);
        assert_eq!(t.len(), 4);
        t.get_or_insert_with("c-4", t0, cached);
        assert_eq!(t.len(), 4);
        assert!(
            !t.contains("c-new"),
            "the least recently used cached entry goes"
        );
        assert!(t.contains("p") && t.contains("c-old") && t.contains("c-4"));
        // Only pinned entries: the table goes over rather than drop one ...
        let mut t = HostTable::new("test", 2);
        for k in ["a", "b", "c"] {
            t.get_or_insert_with(k, t0, pinned);
        }
        assert_eq!(t.len(), 3);
        // ... and comes back under its cap once they expire.
        t.get_or_insert_with("d", later, cached);
        assert_eq!(t.len(), 1);
    }
}
