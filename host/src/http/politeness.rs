//! Politeness toward each site: a per-host rate limit (GCRA, the `governor`
//! crate), a per-host concurrency cap, pauses a server asked for
//! (`Retry-After`), a robots.txt `Crawl-delay`, optional auto-throttle from
//! observed latency, and jitter so requests do not tick like a metronome.
//!
//! "Host" is the authority a request goes to (`host:port`, the port of the
//! scheme when none is written): every plugin that talks to a site shares its
//! gate, so two plugins cannot double the load on one site. The decisions
//! (which limits apply, the auto-throttle step) are pure functions; the
//! [`Politeness`] table holds the per-host state and does the waiting.
//!
//! A host's gate is kept while it still holds something back (a request in
//! flight, a rate-limit slot, a pause or an auto-throttle delay still
//! pending) and forgotten once it is idle: a new gate for that host is then
//! the same as the old one (a full burst, no pause). At most
//! `http.politeness.max_hosts` idle gates are kept ([`super::evict`]).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::allow::HostPattern;
use super::evict::{HostTable, Keep, Relevance};

/// `[http.politeness]`. A field left out takes its value from
/// [`PolitenessConfig::default`].
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolitenessConfig {
    /// Requests per second to one host (sustained). Default 1.
    pub requests_per_second: f64,
    /// Requests that may go out back to back before the rate applies.
    /// Default 1 (no bursts).
    pub burst: u32,
    /// Requests in flight to one host at once. Default 2.
    pub concurrency: usize,
    /// Up to this many milliseconds of random delay before each request.
    /// Default 250.
    pub jitter_ms: u64,
    /// Slow down for slow hosts: keep about
    /// `auto_throttle_target_concurrency` requests in flight by spacing
    /// requests by latency / target (as Scrapy's AutoThrottle). Default false.
    pub auto_throttle: bool,
    /// The concurrency auto-throttle aims at. Default 1.0.
    pub auto_throttle_target_concurrency: f64,
    /// Largest spacing auto-throttle sets, in milliseconds. Default 30000.
    pub auto_throttle_max_delay_ms: u64,
    /// Overrides for some hosts; the first rule whose patterns match wins.
    pub hosts: Vec<HostRuleConfig>,
    /// Hosts whose state (rate limiter, pause, throttle) is kept at most; an
    /// idle host's state is dropped first, a host with a delay still pending
    /// never. Default 10000.
    pub max_hosts: usize,
}

/// `[[http.politeness.hosts]]`: limits for matching hosts.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostRuleConfig {
    /// Host patterns (`host`, `host:port`, `*.domain`), as in manifests.
    pub hosts: Vec<String>,
    /// Overrides `requests_per_second`.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
    /// Overrides `burst`.
    #[serde(default)]
    pub burst: Option<u32>,
    /// Overrides `concurrency`.
    #[serde(default)]
    pub concurrency: Option<usize>,
}

impl Default for PolitenessConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 1.0,
            burst: 1,
            concurrency: 2,
            jitter_ms: 250,
            auto_throttle: false,
            auto_throttle_target_concurrency: 1.0,
            auto_throttle_max_delay_ms: 30_000,
            hosts: Vec::new(),
            max_hosts: 10_000,
        }
    }
}

/// The limits one host gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Interval between requests at the sustained rate.
    pub period: Duration,
    pub burst: u32,
    pub concurrency: usize,
}

/// Checked politeness settings.
#[derive(Debug, Clone)]
pub struct PolitenessSettings {
    pub default: Limits,
    pub rules: Vec<(Vec<HostPattern>, Limits)>,
    pub jitter: Duration,
    /// Target concurrency and longest delay, when auto-throttle is on.
    pub auto_throttle: Option<(f64, Duration)>,
    /// Most host gates kept that are not pinned by a pending delay.
    pub max_hosts: usize,
}

fn check_rate(field: &str, rps: f64) -> Result<Duration, (String, String)> {
    if !rps.is_finite() || !(0.001..=100_000.0).contains(&rps) {
        return Err((field.into(), "must be between 0.001 and 100000".into()));
    }
    Ok(Duration::from_secs_f64(1.0 / rps))
}

impl PolitenessConfig {
    /// Check bounds and parse host patterns; `Err((field, reason))`.
    pub fn check(&self) -> Result<PolitenessSettings, (String, String)> {
        let p = "http.politeness";
        let period = check_rate(
            &format!("{p}.requests_per_second"),
            self.requests_per_second,
        )?;
        if self.burst == 0 {
            return Err((format!("{p}.burst"), "must be at least 1".into()));
        }
        if self.concurrency == 0 || self.concurrency > 10_000 {
            return Err((
                format!("{p}.concurrency"),
                "must be between 1 and 10000".into(),
            ));
        }
        let default = Limits {
            period,
            burst: self.burst,
            concurrency: self.concurrency,
        };
        let mut rules = Vec::new();
        for (i, rule) in self.hosts.iter().enumerate() {
            let f = format!("{p}.hosts[{i}]");
            if rule.hosts.is_empty() {
                return Err((format!("{f}.hosts"), "must name at least one host".into()));
            }
            let patterns = rule
                .hosts
                .iter()
                .map(|h| HostPattern::parse(h))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| (format!("{f}.hosts"), e.to_string()))?;
            let mut limits = default;
            if let Some(rps) = rule.requests_per_second {
                limits.period = check_rate(&format!("{f}.requests_per_second"), rps)?;
            }
            if let Some(b) = rule.burst {
                if b == 0 {
                    return Err((format!("{f}.burst"), "must be at least 1".into()));
                }
                limits.burst = b;
            }
            if let Some(c) = rule.concurrency {
                if c == 0 || c > 10_000 {
                    return Err((
                        format!("{f}.concurrency"),
                        "must be between 1 and 10000".into(),
                    ));
                }
                limits.concurrency = c;
            }
            rules.push((patterns, limits));
        }
        if self.max_hosts == 0 {
            return Err((format!("{p}.max_hosts"), "must be at least 1".into()));
        }
        let auto_throttle = if self.auto_throttle {
            let t = self.auto_throttle_target_concurrency;
            if !t.is_finite() || !(0.1..=1000.0).contains(&t) {
                return Err((
                    format!("{p}.auto_throttle_target_concurrency"),
                    "must be between 0.1 and 1000".into(),
                ));
            }
            Some((t, Duration::from_millis(self.auto_throttle_max_delay_ms)))
        } else {
            None
        };
        Ok(PolitenessSettings {
            default,
            rules,
            jitter: Duration::from_millis(self.jitter_ms),
            auto_throttle,
            max_hosts: self.max_hosts,
        })
    }
}

impl Default for PolitenessSettings {
    fn default() -> Self {
        PolitenessConfig::default()
            .check()
            .expect("the default politeness settings are valid")
    }
}

impl PolitenessSettings {
    /// The limits for a request to `url`: the first matching rule, else the
    /// defaults.
    pub fn limits_for(&self, url: &Url) -> Limits {
        self.rules
            .iter()
            .find(|(patterns, _)| patterns.iter().any(|p| p.matches(url)))
            .map(|(_, l)| *l)
            .unwrap_or(self.default)
    }
}

/// The politeness key of a URL: `host:port`, with the scheme's port when none
/// is written.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// One auto-throttle step (Scrapy's rule): aim at `latency / target`, move
/// half-way from the current delay, never below `floor`, never above `max`.
/// A failed response (429/5xx) only ever raises the delay.
pub fn throttle_step(
    current: Duration,
    latency: Duration,
    target_concurrency: f64,
    floor: Duration,
    max: Duration,
    failed: bool,
) -> Duration {
    let target = latency.div_f64(target_concurrency.max(0.1));
    let next = (current + target) / 2;
    let next = if failed { next.max(current) } else { next };
    next.clamp(floor, max.max(floor))
}

/// The state of one host.
pub struct HostGate {
    limiter: Mutex<(Arc<DefaultDirectRateLimiter>, Limits)>,
    semaphore: Arc<Semaphore>,
    pause_until: Mutex<Option<Instant>>,
    /// Auto-throttle: the current spacing and when the next request may go.
    throttle: Mutex<(Duration, Instant)>,
    /// When the rate limiter last let a request go.
    last_sent: Mutex<Option<Instant>>,
}

fn limiter(limits: Limits) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
    // `with_period` fails only for a zero period, which `check` rules out.
    let quota = Quota::with_period(limits.period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::direct(quota)
}

impl HostGate {
    fn new(limits: Limits) -> Self {
        Self {
            limiter: Mutex::new((Arc::new(limiter(limits)), limits)),
            semaphore: Arc::new(Semaphore::new(limits.concurrency)),
            pause_until: Mutex::new(None),
            throttle: Mutex::new((Duration::ZERO, Instant::now())),
            last_sent: Mutex::new(None),
        }
    }
}

impl Relevance for Arc<HostGate> {
    /// Pinned while anything still holds the host back: a fetch holding the
    /// gate or one of its slots, a pause, an auto-throttle slot, or a rate
    /// limiter that has not refilled its burst since the last request (one
    /// `period` per request of the burst). Otherwise idle: a new gate would
    /// behave the same.
    fn keep(&self, now: Instant) -> Keep {
        let limits = lock(&self.limiter).1;
        let refilled = lock(&self.last_sent)
            .is_none_or(|at| now >= at + limits.period.saturating_mul(limits.burst.max(1)));
        let busy = Arc::strong_count(self) > 1
            || self.semaphore.available_permits() < limits.concurrency
            || lock(&self.pause_until).is_some_and(|t| t > now)
            || lock(&self.throttle).1 > now
            || !refilled;
        if busy { Keep::Pinned } else { Keep::Idle }
    }
}

/// Per-host gates for the whole process.
pub struct Politeness {
    settings: PolitenessSettings,
    gates: Mutex<HostTable<Arc<HostGate>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Politeness {
    pub fn new(settings: PolitenessSettings) -> Self {
        Self {
            gates: Mutex::new(HostTable::new("politeness", settings.max_hosts)),
            settings,
        }
    }

    /// The gate of `url`'s host, created with its limits on first use.
    pub fn gate(&self, url: &Url) -> Arc<HostGate> {
        self.gate_at(url, Instant::now())
    }

    /// [`Self::gate`] at a given time (idle gates of other hosts may be
    /// dropped then).
    pub fn gate_at(&self, url: &Url, now: Instant) -> Arc<HostGate> {
        lock(&self.gates)
            .get_or_insert_with(&host_key(url), now, || {
                Arc::new(HostGate::new(self.settings.limits_for(url)))
            })
            .clone()
    }

    /// Hosts whose gate is kept now.
    pub fn hosts(&self) -> usize {
        lock(&self.gates).len()
    }

    /// Wait for this host's turn: a concurrency slot, the end of any pause,
    /// the rate limiter, auto-throttle spacing and jitter. Returns the slot
    /// (hold it until the body is read) and the time spent waiting.
    pub async fn acquire(&self, gate: &HostGate) -> (OwnedSemaphorePermit, Duration) {
        let start = Instant::now();
        let permit = gate
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        loop {
            let until = *lock(&gate.pause_until);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        let limiter = lock(&gate.limiter).0.clone();
        limiter.until_ready().await;
        *lock(&gate.last_sent) = Some(Instant::now());
        if self.settings.auto_throttle.is_some() {
            let wait_until = {
                let mut t = lock(&gate.throttle);
                let now = Instant::now();
                let at = t.1.max(now);
                t.1 = at + t.0;
                at
            };
            tokio::time::sleep_until(wait_until.into()).await;
        }
        if !self.settings.jitter.is_zero() {
            let ms = rand::random_range(0..=self.settings.jitter.as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        (permit, start.elapsed())
    }

    /// Hold every request to this host until `until` (a server's
    /// `Retry-After`). A later pause wins over an earlier one.
    pub fn pause(&self, gate: &HostGate, until: Instant) {
        let mut p = lock(&gate.pause_until);
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }

    /// Never go faster than one request per `interval` (robots.txt
    /// `Crawl-delay`); a slower configured rate is kept.
    pub fn slow_down(&self, gate: &HostGate, interval: Duration) {
        let mut l = lock(&gate.limiter);
        if interval > l.1.period {
            let limits = Limits {
                period: interval,
                burst: 1,
                ..l.1
            };
            *l = (Arc::new(limiter(limits)), limits);
        }
    }

    /// Feed one response's latency to auto-throttle.
    pub fn observe(&self, gate: &HostGate, latency: Duration, failed: bool) {
        if let Some((target, max)) = self.settings.auto_throttle {
            let floor = lock(&gate.limiter).1.period;
            let mut t = lock(&gate.throttle);
            t.0 = throttle_step(t.0, latency, target, floor, max, failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: PolitenessConfig = toml::from_str("").unwrap();
        assert_eq!(empty, PolitenessConfig::default());
        assert_eq!(
            (empty.requests_per_second, empty.burst, empty.concurrency),
            (1.0, 1, 2)
        );
        assert_eq!((empty.jitter_ms, empty.max_hosts), (250, 10_000));
        assert!(!empty.auto_throttle);
        assert_eq!(
            (
                empty.auto_throttle_target_concurrency,
                empty.auto_throttle_max_delay_ms
            ),
            (1.0, 30_000)
        );
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn host_keys_carry_the_port() {
        assert_eq!(
            host_key(&url("https://WWW.Example.com/a")),
            "www.example.com:443"
        );
        assert_eq!(host_key(&url("http://example.com/a")), "example.com:80");
        assert_eq!(host_key(&url("http://127.0.0.1:8080/")), "127.0.0.1:8080");
    }

    #[test]
    fn defaults_are_gentle() {
        let s = PolitenessSettings::default();
        assert_eq!(s.default.period, Duration::from_secs(1));
        assert_eq!(s.default.burst, 1);
        assert_eq!(s.default.concurrency, 2);
    }

    #[test]
    fn host_rules_override_in_order() {
        let cfg = PolitenessConfig {
            hosts: vec![
                HostRuleConfig {
                    hosts: vec!["api.x.com".into()],
                    requests_per_second: Some(10.0),
                    burst: Some(5),
                    concurrency: None,
                },
                HostRuleConfig {
                    hosts: vec!["*.x.com".into()],
                    requests_per_second: Some(0.5),
                    burst: None,
                    concurrency: Some(1),
                },
            ],
            ..PolitenessConfig::default()
        };
        let s = cfg.check().unwrap();
        let api = s.limits_for(&url("https://api.x.com/2/tweets"));
        assert_eq!(
            (api.period, api.burst, api.concurrency),
            (Duration::from_millis(100), 5, 2)
        );
        let other = s.limits_for(&url("https://upload.x.com/"));
        assert_eq!(
            (other.period, other.burst, other.concurrency),
            (Duration::from_secs(2), 1, 1)
        );
        assert_eq!(s.limits_for(&url("https://example.com/")), s.default);
    }

    #[test]
    fn bad_values_name_the_field() {
        let cfg = PolitenessConfig {
            requests_per_second: 0.0,
            ..PolitenessConfig::default()
        };
        assert_eq!(
            cfg.check().unwrap_err().0,
            "http.politeness.requests_per_second"
        );
        let cfg = PolitenessConfig {
            hosts: vec![HostRuleConfig {
                hosts: vec!["a/b".into()],
                requests_per_second: None,
                burst: None,
                concurrency: None,
            }],
            ..PolitenessConfig::default()
        };
        assert_eq!(cfg.check().unwrap_err().0, "http.politeness.hosts[0].hosts");
    }

    #[test]
    fn gates_stay_bounded_and_keep_every_pending_delay() {
        let cfg = PolitenessConfig {
            max_hosts: 100,
            ..PolitenessConfig::default()
        };
        let p = Politeness::new(cfg.check().unwrap());
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        // A host paused by Retry-After, one whose last request was just now
        // (its next slot is pending), one with a fetch in flight (its slot
        // held, the gate dropped).
        let paused = p.gate_at(&url("https://paused.example/"), t0);
        p.pause(&paused, t0 + hour);
        drop(paused);
        let busy = p.gate_at(&url("https://busy.example/"), t0);
        let slot = busy.semaphore.clone().try_acquire_owned().unwrap();
        drop(busy);
        let mut now = t0;
        for i in 0..10_000 {
            now += Duration::from_millis(100);
            let gate = p.gate_at(&url(&format!("https://h{i}.example/")), now);
            *lock(&gate.last_sent) = Some(now);
            assert!(p.hosts() <= 100, "{} gates after {i} hosts", p.hosts());
        }
        let recent = p.gate_at(&url("https://recent.example/"), now);
        *lock(&recent.last_sent) = Some(now);
        drop(recent);
        let mut gates = lock(&p.gates);
        gates.sweep(now + Duration::from_millis(1));
        for kept in [
            "paused.example:443",
            "busy.example:443",
            "recent.example:443",
        ] {
            assert!(
                gates.contains(kept),
                "{kept} was dropped while it still mattered"
            );
        }
        drop(gates);
        // Once the pause is over and the slot released, they go too.
        drop(slot);
        p.gate_at(&url("https://late.example/"), t0 + 2 * hour);
        assert_eq!(p.hosts(), 1);
        // The same gate comes back for a host whose state is kept.
        let a = p.gate_at(&url("https://late.example/x"), t0 + 2 * hour);
        assert!(Arc::ptr_eq(
            &a,
            &p.gate_at(&url("https://late.example/y"), t0 + 2 * hour)
        ));
    }

    #[test]
    fn auto_throttle_moves_half_way_within_bounds() {
        let ms = Duration::from_millis;
        // Latency 800 ms at target 2 -> aim 400; from 0 half-way is 200.
        assert_eq!(
            throttle_step(ms(0), ms(800), 2.0, ms(100), ms(5000), false),
            ms(200)
        );
        // Never below the rate limit's spacing, never above the max.
        assert_eq!(
            throttle_step(ms(0), ms(10), 1.0, ms(100), ms(5000), false),
            ms(100)
        );
        assert_eq!(
            throttle_step(ms(4000), ms(20000), 1.0, ms(100), ms(5000), false),
            ms(5000)
        );
        // A fast failure does not speed things up.
        assert_eq!(
            throttle_step(ms(1000), ms(10), 1.0, ms(100), ms(5000), true),
            ms(1000)
        );
    }
}
