//! Fetch counters: per plugin run (a [`FetchStats`] per run, shared by its
//! tasks) and, inside it, per host. The run summary reads them through
//! [`FetchStats::totals`]; a `/metrics` endpoint can read the same snapshot.
//!
//! The per-host table is bounded: a run that reaches more than
//! [`MAX_HOSTS_PER_RUN`] hosts (a plugin allowed `*.example.com` can name
//! any number) counts the rest under [`OTHER_HOSTS`], so a run summary, and
//! the last runs `serve` keeps of it, stay small.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Hosts counted one by one in a run; later hosts share [`OTHER_HOSTS`].
pub const MAX_HOSTS_PER_RUN: usize = 1_000;

/// The `by_host` key of the hosts past [`MAX_HOSTS_PER_RUN`].
pub const OTHER_HOSTS: &str = "(other hosts)";

/// Counters of one host within a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostTotals {
    /// Requests sent on the wire (retries and robots.txt included).
    pub requests: u64,
    /// Body bytes received (after decompression).
    pub bytes: u64,
    /// Fetch-level retries.
    pub retries: u64,
    /// Milliseconds requests waited for the host's politeness gate.
    pub throttled_ms: u64,
    /// Responses by status class.
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// Transport failures (connect, timeout, reset).
    pub transport_errors: u64,
    /// Requests refused without a try because the host's circuit was open.
    pub circuit_rejections: u64,
    /// Requests refused by robots.txt.
    pub robots_denied: u64,
}

/// Counters of a run, as the summary shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchTotals {
    /// Requests sent on the wire (retries, redirects and robots.txt included).
    pub requests: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Fetches that ended in an error for the plugin.
    pub errors: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// Fetch-level retries (inside the host, before the plugin saw anything).
    pub retries: u64,
    /// Milliseconds spent waiting for politeness gates (summed over requests).
    pub throttled_ms: u64,
    /// Requests refused because a host's circuit was open.
    pub circuit_rejections: u64,
    /// Requests refused by robots.txt.
    pub robots_denied: u64,
    /// Fetches answered from a recording (`--replay`).
    pub replayed: u64,
    /// Per host (`host:port`).
    pub by_host: BTreeMap<String, HostTotals>,
}

/// Live counters of one plugin run (or the whole host).
#[derive(Debug, Default)]
pub struct FetchStats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
    pub status_2xx: AtomicU64,
    pub status_3xx: AtomicU64,
    pub status_4xx: AtomicU64,
    pub status_5xx: AtomicU64,
    pub retries: AtomicU64,
    pub throttled_ms: AtomicU64,
    pub circuit_rejections: AtomicU64,
    pub robots_denied: AtomicU64,
    pub replayed: AtomicU64,
    hosts: Mutex<BTreeMap<String, HostTotals>>,
}

/// One event to count.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// A request went out.
    Request,
    /// A response with this status came back.
    Status(u16),
    /// Body bytes were read.
    Bytes(u64),
    /// A transport failure.
    TransportError,
    /// A retry was scheduled.
    Retry,
    /// Time waited at the politeness gate.
    Throttled(Duration),
    /// The circuit refused a request.
    CircuitRejected,
    /// robots.txt refused a request.
    RobotsDenied,
}

impl FetchStats {
    /// Count `event` for `host`.
    pub fn count(&self, host: &str, event: Event) {
        let add = |c: &AtomicU64, n: u64| {
            c.fetch_add(n, Ordering::Relaxed);
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let key = if hosts.contains_key(host) || hosts.len() < MAX_HOSTS_PER_RUN {
            host
        } else {
            OTHER_HOSTS
        };
        let h = hosts.entry(key.to_string()).or_default();
        match event {
            Event::Request => {
                add(&self.requests, 1);
                h.requests += 1;
            }
            Event::Status(status) => {
                let (total, mine) = match status {
                    200..=299 => (&self.status_2xx, &mut h.status_2xx),
                    300..=399 => (&self.status_3xx, &mut h.status_3xx),
                    400..=499 => (&self.status_4xx, &mut h.status_4xx),
                    _ => (&self.status_5xx, &mut h.status_5xx),
                };
                add(total, 1);
                *mine += 1;
            }
            Event::Bytes(n) => {
                add(&self.bytes, n);
                h.bytes += n;
            }
            Event::TransportError => h.transport_errors += 1,
            Event::Retry => {
                add(&self.retries, 1);
                h.retries += 1;
            }
            Event::Throttled(d) => {
                let ms = d.as_millis() as u64;
                add(&self.throttled_ms, ms);
                h.throttled_ms += ms;
            }
            Event::CircuitRejected => {
                add(&self.circuit_rejections, 1);
                h.circuit_rejections += 1;
            }
            Event::RobotsDenied => {
                add(&self.robots_denied, 1);
                h.robots_denied += 1;
            }
        }
    }

    /// A snapshot for the summary.
    pub fn totals(&self) -> FetchTotals {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FetchTotals {
            requests: get(&self.requests),
            bytes: get(&self.bytes),
            errors: get(&self.errors),
            status_2xx: get(&self.status_2xx),
            status_3xx: get(&self.status_3xx),
            status_4xx: get(&self.status_4xx),
            status_5xx: get(&self.status_5xx),
            retries: get(&self.retries),
            throttled_ms: get(&self.throttled_ms),
            circuit_rejections: get(&self.circuit_rejections),
            robots_denied: get(&self.robots_denied),
            replayed: get(&self.replayed),
            by_host: self.hosts.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_run_and_per_host() {
        let s = FetchStats::default();
        s.count("a:80", Event::Request);
        s.count("a:80", Event::Status(503));
        s.count("a:80", Event::Retry);
        s.count("a:80", Event::Request);
        s.count("a:80", Event::Status(200));
        s.count("a:80", Event::Bytes(10));
        s.count("b:443", Event::Request);
        s.count("b:443", Event::Throttled(Duration::from_millis(1500)));
        let t = s.totals();
        assert_eq!(
            (t.requests, t.retries, t.status_2xx, t.status_5xx, t.bytes),
            (3, 1, 1, 1, 10)
        );
        assert_eq!(t.throttled_ms, 1500);
        assert_eq!(t.by_host["a:80"].requests, 2);
        assert_eq!(t.by_host["b:443"].throttled_ms, 1500);
    }

    #[test]
    fn hosts_past_the_cap_share_one_entry_and_nothing_is_lost() {
        let s = FetchStats::default();
        let extra = 250;
        for i in 0..MAX_HOSTS_PER_RUN + extra {
            s.count(&format!("h{i}:443"), Event::Request);
        }
        // A host counted before the cap keeps its own entry.
        s.count("h0:443", Event::Request);
        let t = s.totals();
        assert_eq!(t.by_host.len(), MAX_HOSTS_PER_RUN + 1);
        assert_eq!(t.by_host[OTHER_HOSTS].requests, extra as u64);
        assert_eq!(t.by_host["h0:443"].requests, 2);
        let per_host: u64 = t.by_host.values().map(|h| h.requests).sum();
        assert_eq!(per_host, t.requests);
    }
}
