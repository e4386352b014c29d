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
//!
//! **Limits hold for a whole group of workers.** The configured figures are
//! the group's: a `crawlhost worker` that owns `k` of the tasks topic's `n`
//! partitions enforces `k/n` of them ([`Share`]), so the workers of one
//! `--distributed` run together stay within the configured rate, burst and
//! concurrency whatever the split. The worker learns its share from its
//! partition assignment ([`crate::distributed::worker`]) and publishes it
//! through the [`FleetShare`] handle in the checked settings; every gate picks
//! it up at its next request. A process that is not a worker keeps
//! [`Share::WHOLE`].

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// This process's share of the limits above (not configuration: the
    /// distributed worker sets it from its partition assignment). Every clone
    /// of the settings holds the same handle, so the worker and the HTTP
    /// client built from the same settings meet here.
    pub fleet: FleetShare,
}

/// The part of the group's politeness limits one process enforces: it owns
/// `owned` of the tasks topic's `total` partitions. Tasks spread evenly over
/// partitions, so the members' shares add up to the configured limits and
/// the group as a whole runs at the configured rate; a member with fewer
/// tasks than its share runs slower, never faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    owned: u32,
    total: u32,
}

impl Share {
    /// All of the configured limits: a process alone, or not a worker.
    pub const WHOLE: Share = Share { owned: 1, total: 1 };

    /// The share of a member owning `owned` of `total` partitions, in lowest
    /// terms. A member
    /// that owns none (between an eager revoke and its next assignment, or
    /// one worker too many for the partitions) still finishes the tasks it
    /// holds, at one partition's share: its partitions' new owners may run
    /// those tasks again, and a stalled task would report a failure first.
    /// No partitions at all (unknown) is the whole.
    pub fn of_partitions(owned: usize, total: usize) -> Share {
        if total == 0 {
            return Share::WHOLE;
        }
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        let owned = u32::try_from(owned).unwrap_or(u32::MAX).clamp(1, total);
        let gcd = gcd(owned, total);
        Share {
            owned: owned / gcd,
            total: total / gcd,
        }
    }

    /// `(owned, total)`.
    pub fn parts(&self) -> (u32, u32) {
        (self.owned, self.total)
    }

    /// The share as a fraction in (0, 1].
    pub fn fraction(&self) -> f64 {
        f64::from(self.owned) / f64::from(self.total)
    }

    /// `limits` cut to this share: the rate exactly (the interval between
    /// requests stretched by `total/owned`), burst and concurrency rounded
    /// down so the members' sum never exceeds the configured figure, but at
    /// least 1 (a member must be able to send at all; with fewer slots than
    /// members the group may then hold more than the figure, one each).
    pub fn apply(&self, limits: Limits) -> Limits {
        if *self == Share::WHOLE {
            return limits;
        }
        let cut = |n: u64| (n * u64::from(self.owned) / u64::from(self.total)).max(1);
        Limits {
            period: limits.period.saturating_mul(self.total) / self.owned,
            burst: cut(u64::from(limits.burst)) as u32,
            concurrency: cut(limits.concurrency as u64) as usize,
        }
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owned, self.total)
    }
}

/// A handle on a process's current [`Share`], shared by every clone (one
/// atomic word: `owned << 32 | total`). Starts as the whole.
#[derive(Debug, Clone)]
pub struct FleetShare(Arc<AtomicU64>);

impl Default for FleetShare {
    fn default() -> Self {
        Self(Arc::new(AtomicU64::new(Self::pack(Share::WHOLE))))
    }
}

impl FleetShare {
    fn pack(s: Share) -> u64 {
        (u64::from(s.owned) << 32) | u64::from(s.total)
    }

    /// The share now.
    pub fn get(&self) -> Share {
        let v = self.0.load(Ordering::Acquire);
        Share::of_partitions((v >> 32) as usize, (v & 0xffff_ffff) as usize)
    }

    /// Enforce `share` from the next request of every host on.
    pub fn set(&self, share: Share) {
        self.0.store(Self::pack(share), Ordering::Release);
    }
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
            fleet: FleetShare::default(),
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

/// The limits a gate enforces now, and what they were cut from.
struct Applied {
    /// The host's own limits: configured, or slowed by `Crawl-delay`.
    base: Limits,
    /// The share `limits` was cut to.
    share: Share,
    /// `base` cut to `share`: what the rate limiter and the semaphore hold.
    limits: Limits,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// Slots to take out of the semaphore after a shrink that found them in
    /// flight: each is forgotten when a request next acquires it.
    retire: usize,
}

/// The state of one host.
pub struct HostGate {
    applied: Mutex<Applied>,
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

/// How a semaphore of `old` slots, `retire` of them still to be taken out,
/// becomes one of `new`: `(add, take_out, retire)`: slots to add now, slots
/// to take out (those available at once, the rest as they come back), and
/// what is still to retire before those. A grow cancels slots still to
/// retire before it adds any.
pub fn resize_slots(old: usize, new: usize, retire: usize) -> (usize, usize, usize) {
    if new >= old {
        let grow = new - old;
        (grow.saturating_sub(retire), 0, retire.saturating_sub(grow))
    } else {
        (0, old - new, retire)
    }
}

impl HostGate {
    fn new(base: Limits, share: Share) -> Self {
        let limits = share.apply(base);
        Self {
            applied: Mutex::new(Applied {
                base,
                share,
                limits,
                limiter: Arc::new(limiter(limits)),
                retire: 0,
            }),
            semaphore: Arc::new(Semaphore::new(limits.concurrency)),
            pause_until: Mutex::new(None),
            throttle: Mutex::new((Duration::ZERO, Instant::now())),
            last_sent: Mutex::new(None),
        }
    }

    /// The limits enforced now.
    pub fn limits(&self) -> Limits {
        lock(&self.applied).limits
    }

    /// Cut `base` to `share` when either changed: a new rate limiter when
    /// the rate or burst moved (it starts with its burst), the semaphore
    /// grown or shrunk to the new concurrency. Requests in flight keep their
    /// slots; a shrink retires them as they come back.
    fn reapply(&self, a: &mut Applied, base: Limits, share: Share) {
        if a.base == base && a.share == share {
            return;
        }
        let limits = share.apply(base);
        if (limits.period, limits.burst) != (a.limits.period, a.limits.burst) {
            a.limiter = Arc::new(limiter(limits));
        }
        let (add, take_out, retire) =
            resize_slots(a.limits.concurrency, limits.concurrency, a.retire);
        self.semaphore.add_permits(add);
        let gone = self.semaphore.forget_permits(take_out);
        a.retire = retire + (take_out - gone);
        (a.base, a.share, a.limits) = (base, share, limits);
    }

    /// The rate limiter for `share` (re-cut first if the share changed).
    fn limiter_for(&self, share: Share) -> Arc<DefaultDirectRateLimiter> {
        let mut a = lock(&self.applied);
        let base = a.base;
        self.reapply(&mut a, base, share);
        a.limiter.clone()
    }
}

impl Relevance for Arc<HostGate> {
    /// Pinned while anything still holds the host back: a fetch holding the
    /// gate or one of its slots, a pause, an auto-throttle slot, or a rate
    /// limiter that has not refilled its burst since the last request (one
    /// `period` per request of the burst). Otherwise idle: a new gate would
    /// behave the same.
    fn keep(&self, now: Instant) -> Keep {
        let (limits, retire) = {
            let a = lock(&self.applied);
            (a.limits, a.retire)
        };
        let refilled = lock(&self.last_sent)
            .is_none_or(|at| now >= at + limits.period.saturating_mul(limits.burst.max(1)));
        let busy = Arc::strong_count(self) > 1
            || self.semaphore.available_permits() < limits.concurrency + retire
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
                Arc::new(HostGate::new(
                    self.settings.limits_for(url),
                    self.settings.fleet.get(),
                ))
            })
            .clone()
    }

    /// Hosts whose gate is kept now.
    pub fn hosts(&self) -> usize {
        lock(&self.gates).len()
    }

    /// Wait for this host's turn: a concurrency slot, the end of any pause,
    /// the rate limiter, auto-throttle spacing and jitter, all cut to this
    /// process's [`Share`]. Returns the slot (hold it until the body is read)
    /// and the time spent waiting.
    pub async fn acquire(&self, gate: &HostGate) -> (OwnedSemaphorePermit, Duration) {
        let start = Instant::now();
        // Resize the semaphore to the share before queueing on it.
        gate.limiter_for(self.settings.fleet.get());
        let permit = loop {
            let permit = gate
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("host semaphores are never closed");
            let mut a = lock(&gate.applied);
            if a.retire == 0 {
                break permit;
            }
            // A slot the last shrink could not take out while it was in use.
            a.retire -= 1;
            permit.forget();
        };
        loop {
            let until = *lock(&gate.pause_until);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        let limiter = gate.limiter_for(self.settings.fleet.get());
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
    /// `Crawl-delay`); a slower configured rate is kept. Like the configured
    /// rate, the delay is the group's: a member waits `interval / share`.
    pub fn slow_down(&self, gate: &HostGate, interval: Duration) {
        let mut a = lock(&gate.applied);
        if interval > a.base.period {
            let base = Limits {
                period: interval,
                burst: 1,
                ..a.base
            };
            let share = a.share;
            gate.reapply(&mut a, base, share);
        }
    }

    /// Feed one response's latency to auto-throttle. The target concurrency
    /// is the group's too: a member aims at its share of it.
    pub fn observe(&self, gate: &HostGate, latency: Duration, failed: bool) {
        if let Some((target, max)) = self.settings.auto_throttle {
            let floor = gate.limits().period;
            let target = target * self.settings.fleet.get().fraction();
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

    fn limits(rps: f64, burst: u32, concurrency: usize) -> Limits {
        Limits {
            period: Duration::from_secs_f64(1.0 / rps),
            burst,
            concurrency,
        }
    }

    /// Issue 20, item 5: whatever the split of the partitions, the members'
    /// shares add up to the configured rate, and their bursts and slots never
    /// exceed the configured ones (while each has at least one).
    #[test]
    fn shares_of_any_split_add_up_to_the_group_limits() {
        let group = limits(20.0, 6, 12);
        for total in 1..=24usize {
            for members in 1..=total {
                // Range-assignor-like split: the first `total % members`
                // members get one partition more.
                let split: Vec<usize> = (0..members)
                    .map(|i| total / members + usize::from(i < total % members))
                    .collect();
                assert_eq!(split.iter().sum::<usize>(), total);
                let cut: Vec<Limits> = split
                    .iter()
                    .map(|&k| Share::of_partitions(k, total).apply(group))
                    .collect();
                let rate: f64 = cut.iter().map(|l| 1.0 / l.period.as_secs_f64()).sum();
                assert!(
                    (rate - 20.0).abs() < 1e-6,
                    "{split:?} of {total}: {rate} requests/s"
                );
                assert!(cut.iter().all(|l| l.burst >= 1 && l.concurrency >= 1));
                if cut.iter().all(|l| l.concurrency > 1) || members == 1 {
                    assert!(cut.iter().map(|l| l.concurrency).sum::<usize>() <= 12);
                }
                if split.iter().all(|&k| k * 12 >= total) {
                    // Every member's exact share is at least one slot: the
                    // floors never add up to more than the whole.
                    assert!(
                        cut.iter().map(|l| l.concurrency).sum::<usize>() <= 12,
                        "{split:?} of {total}"
                    );
                }
                if split.iter().all(|&k| k * 6 >= total) {
                    assert!(cut.iter().map(|l| l.burst).sum::<u32>() <= 6);
                }
            }
        }
        // Three members of 12 partitions: a third each.
        let third = Share::of_partitions(4, 12).apply(group);
        assert_eq!(third, limits(20.0 / 3.0, 2, 4));
        assert_eq!(third.period, Duration::from_millis(150));
    }

    #[test]
    fn whole_none_and_unknown_shares() {
        let group = limits(20.0, 6, 12);
        assert_eq!(Share::of_partitions(12, 12), Share::WHOLE);
        assert_eq!(Share::WHOLE.apply(group), group);
        // Unknown partition count: the whole; more owned than exist (a stale
        // count): the whole.
        assert_eq!(Share::of_partitions(0, 0), Share::WHOLE);
        assert_eq!(Share::of_partitions(13, 12), Share::WHOLE);
        // None owned: one partition's worth, to finish the tasks held.
        assert_eq!(Share::of_partitions(0, 12).parts(), (1, 12));
        assert_eq!(Share::of_partitions(0, 12).to_string(), "1/12");
        // Fewer slots than members: one each all the same.
        assert_eq!(
            Share::of_partitions(1, 12)
                .apply(limits(1.0, 1, 2))
                .concurrency,
            1
        );
    }

    #[test]
    fn the_share_handle_is_shared_by_every_clone_of_the_settings() {
        let settings = PolitenessSettings::default();
        let copy = settings.clone();
        assert_eq!(copy.fleet.get(), Share::WHOLE);
        settings.fleet.set(Share::of_partitions(2, 6));
        assert_eq!(copy.fleet.get().parts(), (1, 3));
        // Separately checked settings do not share it.
        assert_eq!(PolitenessSettings::default().fleet.get(), Share::WHOLE);
    }

    #[test]
    fn slots_resize_and_retire_what_is_in_flight() {
        // Grow: add the difference, less what was still to retire.
        assert_eq!(resize_slots(2, 6, 0), (4, 0, 0));
        assert_eq!(resize_slots(2, 6, 1), (3, 0, 0));
        assert_eq!(resize_slots(2, 3, 5), (0, 0, 4));
        // Shrink: take the difference out.
        assert_eq!(resize_slots(6, 2, 0), (0, 4, 0));
        assert_eq!(resize_slots(6, 2, 1), (0, 4, 1));
        assert_eq!(resize_slots(3, 3, 0), (0, 0, 0));
    }

    /// A share set while requests are in flight applies to the host's next
    /// request: the rate is cut at once, and the slots held are retired as
    /// they come back, so the host never has more in flight than the share.
    #[tokio::test]
    async fn a_new_share_reaches_existing_gates() {
        let cfg = PolitenessConfig {
            requests_per_second: 1000.0,
            burst: 100,
            concurrency: 6,
            jitter_ms: 0,
            ..PolitenessConfig::default()
        };
        let settings = cfg.check().unwrap();
        let fleet = settings.fleet.clone();
        let p = Politeness::new(settings);
        let gate = p.gate(&url("https://site.example/"));
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(p.acquire(&gate).await.0);
        }
        fleet.set(Share::of_partitions(4, 12));
        // Four in flight, two allowed: the next request waits.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), p.acquire(&gate))
                .await
                .is_err(),
            "a request got a slot while more than the share were in flight"
        );
        assert_eq!(
            gate.limits(),
            Share::of_partitions(1, 3).apply(limits(1000.0, 100, 6))
        );
        assert_eq!(gate.limits().concurrency, 2);
        // The two free slots were taken out; two of those in flight are
        // retired as they come back.
        assert_eq!(gate.semaphore.available_permits(), 0);
        assert_eq!(lock(&gate.applied).retire, 2);
        held.clear();
        let a = p.acquire(&gate).await.0;
        let b = p.acquire(&gate).await.0;
        assert_eq!(lock(&gate.applied).retire, 0);
        assert_eq!(gate.semaphore.available_permits(), 0, "two slots in all");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), p.acquire(&gate))
                .await
                .is_err(),
            "a third request got a slot"
        );
        // Back to the whole: six slots.
        fleet.set(Share::WHOLE);
        drop((a, b));
        let _c = p.acquire(&gate).await.0;
        assert_eq!(gate.limits(), limits(1000.0, 100, 6));
        assert_eq!(gate.semaphore.available_permits(), 5);
    }
}
