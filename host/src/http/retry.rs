//! Fetch-level retry policy, pure: which outcomes are worth another try, how
//! long to wait (exponential backoff with jitter, or the server's own
//! `Retry-After` / `x-rate-limit-reset`), the per-host circuit breaker and the
//! per-host retry budget. No I/O and no clock: callers pass `now`.
//!
//! Two layers retry in crawlhost, and this one is the inner one. A fetch is
//! retried here (`http.retry.max_attempts`, within `http.retry.max_elapsed_secs`)
//! before the plugin sees anything; once that gives up the plugin gets the
//! last response or error, and the run's task policy (`[run]`) may re-run the
//! whole task. The two would multiply (3 fetch attempts x 4 task attempts)
//! without the two brakes kept here: the retry budget (retries to one host
//! may be at most `budget_min + budget_ratio x requests`) and the circuit
//! breaker (a host failing `failure_threshold` times in a row is not
//! contacted for `open_secs`; fetches to it fail at once with a retryable
//! error, so task retries burn no network and end quickly).
//!
//! Both live per host in [`HostHealth`], kept while the circuit is open or
//! half-open or has failed recently, and at most `http.circuit.max_hosts`
//! of them otherwise ([`super::evict`]).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::evict::{Keep, Relevance};

/// `[http.retry]`. A field left out takes its value from
/// [`RetryConfig::default`].
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request (per redirect hop), the first included; 1
    /// disables fetch-level retries. Default 3.
    pub max_attempts: u32,
    /// First backoff in milliseconds; doubles per attempt, with jitter
    /// (half fixed, half random). Default 250.
    pub base_ms: u64,
    /// Longest computed backoff in milliseconds. Default 8000.
    pub max_ms: u64,
    /// No retry starts later than this many seconds after the first attempt
    /// of a request, so one fetch cannot eat a task's deadline. Default 30.
    pub max_elapsed_secs: u64,
    /// A `Retry-After` / `x-rate-limit-reset` wait longer than this is not
    /// waited out: the response goes to the plugin (its task is retried
    /// later by the run) and the host stays paused for the wait. Default 60.
    pub max_retry_after_secs: u64,
    /// Retry budget per host: retries may be at most `budget_min +
    /// budget_ratio x requests` sent to that host by this process. Default 0.2.
    pub budget_ratio: f64,
    /// Retries every host gets regardless of its request count. Default 20.
    pub budget_min: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_ms: 250,
            max_ms: 8000,
            max_elapsed_secs: 30,
            max_retry_after_secs: 60,
            budget_ratio: 0.2,
            budget_min: 20,
        }
    }
}

impl RetryConfig {
    /// Check bounds; `Err((field, reason))`.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: &str| Err((format!("http.retry.{f}"), r.to_string()));
        if self.max_attempts == 0 || self.max_attempts > 10 {
            return bad("max_attempts", "must be between 1 and 10");
        }
        if self.base_ms == 0 {
            return bad("base_ms", "must be at least 1");
        }
        if self.max_ms < self.base_ms {
            return bad("max_ms", "must not be below http.retry.base_ms");
        }
        if !(0.0..=10.0).contains(&self.budget_ratio) || self.budget_ratio.is_nan() {
            return bad("budget_ratio", "must be between 0 and 10");
        }
        Ok(())
    }
}

/// `[http.circuit]`. A field left out takes its value from
/// [`CircuitConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitConfig {
    /// Consecutive failed attempts (connect errors, timeouts, 429, 5xx) that
    /// open a host's circuit; 0 disables the breaker. Default 8.
    pub failure_threshold: u32,
    /// Seconds an open circuit refuses requests before one trial request is
    /// let through (success closes it, failure opens it again). Default 30.
    pub open_secs: u64,
    /// Hosts whose circuit and retry budget are kept at most. A host's are
    /// dropped once its circuit is closed and it has not failed for two
    /// `open_secs` (so its budget starts again), healthy hosts first when
    /// full; an open circuit is never dropped. Default 10000.
    pub max_hosts: usize,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 8,
            open_secs: 30,
            max_hosts: 10_000,
        }
    }
}

impl CircuitConfig {
    /// Check bounds; `Err((field, reason))`.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.failure_threshold > 0 && self.open_secs == 0 {
            return Err((
                "http.circuit.open_secs".into(),
                "must be at least 1 when the breaker is on".into(),
            ));
        }
        if self.max_hosts == 0 {
            return Err(("http.circuit.max_hosts".into(), "must be at least 1".into()));
        }
        Ok(())
    }
}

/// Statuses worth another attempt: request timeout, too many requests, and
/// server errors except those that say "never" (501 not implemented, 505
/// version not supported).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || ((500..=599).contains(&status) && !matches!(status, 501 | 505))
}

/// The backoff before attempt `failed + 1`, after `failed` failed attempts:
/// `min(max, base x 2^(failed-1))`, half of it fixed and half scaled by
/// `jitter` in [0, 1) (equal jitter: never near zero, never in lockstep).
pub fn backoff(cfg: &RetryConfig, failed: u32, jitter: f64) -> Duration {
    let exp = failed.saturating_sub(1).min(30);
    let cap = cfg.base_ms.saturating_mul(1u64 << exp).min(cfg.max_ms);
    let half = cap as f64 / 2.0;
    Duration::from_millis((half + half * jitter.clamp(0.0, 1.0)) as u64)
}

/// Parse a `Retry-After` value: delay seconds or an HTTP-date. A date in the
/// past means no wait; garbage means no hint.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parse an `x-rate-limit-reset` / `x-ratelimit-reset` value: the Unix time
/// (seconds) at which the window resets, as X (Twitter) and GitHub send it.
/// Small values (below one day) are taken as a delay in seconds, as some APIs
/// send that instead.
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let n: f64 = value.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    if n < 86_400.0 {
        return Some(Duration::from_secs_f64(n));
    }
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some(Duration::from_secs_f64((n - now).max(0.0)))
}

/// The wait a response asks for, if any: `Retry-After` on 429/503 (and any
/// other retryable status that sends it), else the rate-limit reset on 429.
/// `header` looks a header up by lower-case name.
pub fn server_delay<'a>(
    status: u16,
    header: impl Fn(&str) -> Option<&'a str>,
    now: SystemTime,
) -> Option<Duration> {
    if !is_retryable_status(status) {
        return None;
    }
    if let Some(d) = header("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d);
    }
    if status == 429 {
        for name in ["x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"] {
            if let Some(d) = header(name).and_then(|v| parse_rate_limit_reset(v, now)) {
                return Some(d);
            }
        }
    }
    None
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Hand the last outcome to the plugin; the reason is logged.
    GiveUp(&'static str),
}

/// Decide after `failed` failed attempts of one request, `elapsed` after its
/// first attempt. `hint` is the server's requested wait, `budget_ok` whether
/// the host's retry budget has room.
pub fn decide(
    cfg: &RetryConfig,
    failed: u32,
    elapsed: Duration,
    hint: Option<Duration>,
    jitter: f64,
    budget_ok: bool,
) -> RetryDecision {
    if failed >= cfg.max_attempts {
        return RetryDecision::GiveUp("attempts exhausted (http.retry.max_attempts)");
    }
    let delay = match hint {
        Some(h) if h > Duration::from_secs(cfg.max_retry_after_secs) => {
            return RetryDecision::GiveUp(
                "the server asked for a longer wait than http.retry.max_retry_after_secs",
            );
        }
        // Wait at least what the server asked, and never zero.
        Some(h) => h.max(Duration::from_millis(cfg.base_ms / 2)),
        None => backoff(cfg, failed, jitter),
    };
    if elapsed + delay > Duration::from_secs(cfg.max_elapsed_secs) {
        return RetryDecision::GiveUp("out of time (http.retry.max_elapsed_secs)");
    }
    if !budget_ok {
        return RetryDecision::GiveUp("the host's retry budget is spent");
    }
    RetryDecision::Retry(delay)
}

/// Retries to one host are capped by the requests sent to it, so a host that
/// fails everything gets at most `min + ratio x requests` retries instead of
/// `max_attempts - 1` per request.
#[derive(Debug, Clone, Default)]
pub struct RetryBudget {
    requests: u64,
    retries: u64,
}

impl RetryBudget {
    /// A first attempt was sent (retries are not counted here).
    pub fn on_request(&mut self) {
        self.requests += 1;
    }

    /// Take one retry from the budget when there is room.
    pub fn try_spend(&mut self, cfg: &RetryConfig) -> bool {
        let allowed = cfg.budget_min as f64 + cfg.budget_ratio * self.requests as f64;
        if (self.retries as f64) < allowed {
            self.retries += 1;
            true
        } else {
            false
        }
    }
}

/// A per-host circuit breaker: closed (normal), open (refuse until a time),
/// half-open (one trial request in flight).
#[derive(Debug, Clone)]
pub struct Circuit {
    consecutive_failures: u32,
    state: CircuitState,
    /// Times the circuit opened.
    pub opened: u64,
    /// Until when forgetting this circuit would change what it decides:
    /// two `open_secs` after the last failure (the open period and a trial
    /// after it), or the end of a trial in flight.
    matters_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CircuitState {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_started: Instant },
}

impl Default for Circuit {
    fn default() -> Self {
        Self {
            consecutive_failures: 0,
            state: CircuitState::Closed,
            opened: 0,
            matters_until: None,
        }
    }
}

impl Circuit {
    /// May a request go out now? `Err(until)` while open (or while another
    /// trial request is in flight).
    pub fn admit(&mut self, cfg: &CircuitConfig, now: Instant) -> Result<(), Instant> {
        let open_for = Duration::from_secs(cfg.open_secs);
        match self.state {
            CircuitState::Closed => Ok(()),
            CircuitState::Open { until } if now < until => Err(until),
            CircuitState::Open { .. } => {
                self.state = CircuitState::HalfOpen { trial_started: now };
                self.matter_until(now + open_for);
                Ok(())
            }
            // A trial that never reported (its task was cancelled) expires.
            CircuitState::HalfOpen { trial_started } if now >= trial_started + open_for => {
                self.state = CircuitState::HalfOpen { trial_started: now };
                self.matter_until(now + open_for);
                Ok(())
            }
            CircuitState::HalfOpen { trial_started } => Err(trial_started + open_for),
        }
    }

    /// Report an attempt's outcome.
    pub fn record(&mut self, cfg: &CircuitConfig, ok: bool, now: Instant) {
        if cfg.failure_threshold == 0 {
            return;
        }
        if ok {
            self.consecutive_failures = 0;
            self.state = CircuitState::Closed;
            self.matters_until = None;
            return;
        }
        self.consecutive_failures += 1;
        self.matter_until(now + Duration::from_secs(cfg.open_secs).saturating_mul(2));
        let trial_failed = matches!(self.state, CircuitState::HalfOpen { .. });
        if trial_failed || self.consecutive_failures >= cfg.failure_threshold {
            if !matches!(self.state, CircuitState::Open { .. }) {
                self.opened += 1;
            }
            self.state = CircuitState::Open {
                until: now + Duration::from_secs(cfg.open_secs),
            };
        }
    }

    /// Whether the circuit currently refuses requests.
    pub fn is_open(&self, now: Instant) -> bool {
        matches!(self.state, CircuitState::Open { until } if now < until)
    }

    fn matter_until(&mut self, at: Instant) {
        self.matters_until = Some(self.matters_until.map_or(at, |t| t.max(at)));
    }
}

/// Circuit and retry budget of one host.
#[derive(Debug, Clone, Default)]
pub struct HostHealth {
    pub circuit: Circuit,
    pub budget: RetryBudget,
}

impl Relevance for HostHealth {
    /// Pinned while the circuit is open, its trial is in flight, or it has
    /// failed within two `open_secs`; idle otherwise: a closed circuit with no
    /// recent failure is a fresh one, and one left open and not tried for an
    /// `open_secs` after it would have let a trial through is as good as
    /// that trial (the retry budget starts again, as the failures that spent
    /// it are that old).
    fn keep(&self, now: Instant) -> Keep {
        let c = &self.circuit;
        if c.is_open(now) || c.matters_until.is_some_and(|t| now < t) {
            Keep::Pinned
        } else {
            Keep::Idle
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let retry: RetryConfig = toml::from_str("").unwrap();
        assert_eq!(retry, RetryConfig::default());
        assert_eq!(
            (retry.max_attempts, retry.base_ms, retry.max_ms),
            (3, 250, 8000)
        );
        assert_eq!(
            (retry.max_elapsed_secs, retry.max_retry_after_secs),
            (30, 60)
        );
        assert_eq!((retry.budget_ratio, retry.budget_min), (0.2, 20));
        let circuit: CircuitConfig = toml::from_str("").unwrap();
        assert_eq!(circuit, CircuitConfig::default());
        assert_eq!(
            (
                circuit.failure_threshold,
                circuit.open_secs,
                circuit.max_hosts
            ),
            (8, 30, 10_000)
        );
    }

    fn cfg() -> RetryConfig {
        RetryConfig {
            max_attempts: 4,
            base_ms: 100,
            max_ms: 1000,
            max_elapsed_secs: 10,
            max_retry_after_secs: 5,
            budget_ratio: 0.5,
            budget_min: 2,
        }
    }

    #[test]
    fn backoff_doubles_with_equal_jitter_and_a_cap() {
        let c = cfg();
        let lows: Vec<u128> = (1..=6).map(|n| backoff(&c, n, 0.0).as_millis()).collect();
        assert_eq!(lows, vec![50, 100, 200, 400, 500, 500]);
        let highs: Vec<u128> = (1..=6)
            .map(|n| backoff(&c, n, 0.999_999).as_millis())
            .collect();
        assert_eq!(highs, vec![99, 199, 399, 799, 999, 999]);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn rate_limit_reset_epoch_or_delta() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_rate_limit_reset("1700000012", now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            parse_rate_limit_reset("1699999990", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_rate_limit_reset("30", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_rate_limit_reset("x", now), None);
    }

    #[test]
    fn server_delay_prefers_retry_after_and_needs_a_retryable_status() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        };
        let both = headers(&[("retry-after", "2"), ("x-rate-limit-reset", "1700000009")]);
        assert_eq!(server_delay(429, both, now), Some(Duration::from_secs(2)));
        let reset = headers(&[("x-rate-limit-reset", "1700000009")]);
        assert_eq!(server_delay(429, reset, now), Some(Duration::from_secs(9)));
        // The reset header alone means nothing on a 503 or a 200.
        assert_eq!(server_delay(503, reset, now), None);
        assert_eq!(server_delay(200, both, now), None);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 403, 404, 501, 505] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn decisions() {
        let c = cfg();
        let ms = Duration::from_millis;
        assert_eq!(
            decide(&c, 1, ms(0), None, 0.0, true),
            RetryDecision::Retry(ms(50))
        );
        assert!(matches!(
            decide(&c, 4, ms(0), None, 0.0, true),
            RetryDecision::GiveUp(_)
        ));
        // Server hints are honoured, floored, and refused past the maximum.
        assert_eq!(
            decide(&c, 1, ms(0), Some(Duration::from_secs(2)), 0.0, true),
            RetryDecision::Retry(Duration::from_secs(2))
        );
        assert_eq!(
            decide(&c, 1, ms(0), Some(ms(0)), 0.0, true),
            RetryDecision::Retry(ms(50))
        );
        assert!(matches!(
            decide(&c, 1, ms(0), Some(Duration::from_secs(6)), 0.0, true),
            RetryDecision::GiveUp(m) if m.contains("max_retry_after")
        ));
        // Out of time, out of budget.
        assert!(matches!(
            decide(&c, 1, Duration::from_secs(10), None, 0.0, true),
            RetryDecision::GiveUp(m) if m.contains("max_elapsed")
        ));
        assert!(matches!(
            decide(&c, 1, ms(0), None, 0.0, false),
            RetryDecision::GiveUp(m) if m.contains("budget")
        ));
    }

    #[test]
    fn budget_grows_with_requests() {
        let c = cfg();
        let mut b = RetryBudget::default();
        assert!(b.try_spend(&c));
        assert!(b.try_spend(&c));
        assert!(!b.try_spend(&c), "min of 2 spent");
        b.on_request();
        b.on_request();
        assert!(b.try_spend(&c), "2 requests x 0.5 = one more");
        assert!(!b.try_spend(&c));
    }

    #[test]
    fn circuit_opens_after_the_threshold_and_half_opens_later() {
        let c = CircuitConfig {
            failure_threshold: 3,
            open_secs: 10,
            ..CircuitConfig::default()
        };
        let t0 = Instant::now();
        let mut k = Circuit::default();
        for _ in 0..2 {
            k.admit(&c, t0).unwrap();
            k.record(&c, false, t0);
        }
        assert!(!k.is_open(t0));
        k.record(&c, true, t0);
        for _ in 0..3 {
            k.admit(&c, t0).unwrap();
            k.record(&c, false, t0);
        }
        assert!(k.is_open(t0));
        assert_eq!(k.opened, 1);
        assert_eq!(
            k.admit(&c, t0 + Duration::from_secs(5)),
            Err(t0 + Duration::from_secs(10))
        );
        // After the open period: one trial, others wait for it.
        let t1 = t0 + Duration::from_secs(10);
        k.admit(&c, t1).unwrap();
        assert!(k.admit(&c, t1).is_err());
        // The trial fails: open again.
        k.record(&c, false, t1);
        assert!(k.is_open(t1));
        assert_eq!(k.opened, 2);
        let t2 = t1 + Duration::from_secs(10);
        k.admit(&c, t2).unwrap();
        k.record(&c, true, t2);
        assert!(k.admit(&c, t2).is_ok());
        // A lost trial expires.
        let mut k = Circuit::default();
        for _ in 0..3 {
            k.record(&c, false, t0);
        }
        k.admit(&c, t1).unwrap();
        assert!(k.admit(&c, t1 + Duration::from_secs(9)).is_err());
        assert!(k.admit(&c, t1 + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn health_stays_bounded_and_keeps_open_and_failing_circuits() {
        use super::super::evict::HostTable;
        let c = CircuitConfig {
            failure_threshold: 3,
            open_secs: 30,
            max_hosts: 100,
        };
        let t0 = Instant::now();
        let mut table: HostTable<HostHealth> = HostTable::new("circuits", c.max_hosts);
        // One host's circuit opens, another has failed twice (one short).
        let open = table.get_or_insert_with("open.example:443", t0, HostHealth::default);
        for _ in 0..3 {
            open.circuit.record(&c, false, t0);
        }
        assert!(open.circuit.is_open(t0));
        let failing = table.get_or_insert_with("failing.example:443", t0, HostHealth::default);
        failing.circuit.record(&c, false, t0);
        failing.circuit.record(&c, false, t0);
        let mut now = t0;
        for i in 0..10_000 {
            now += Duration::from_millis(5);
            let h =
                table.get_or_insert_with(&format!("h{i}.example:443"), now, HostHealth::default);
            h.budget.on_request();
            h.circuit.admit(&c, now).unwrap();
            h.circuit.record(&c, true, now);
            assert!(
                table.len() <= 100,
                "{} circuits after {i} hosts",
                table.len()
            );
            if now >= t0 + Duration::from_secs(25) {
                break;
            }
        }
        table.sweep(now);
        assert!(
            table.contains("open.example:443"),
            "an open circuit was dropped"
        );
        assert!(
            table.contains("failing.example:443"),
            "recent failures were forgotten"
        );
        let failing = table.get_or_insert_with("failing.example:443", now, HostHealth::default);
        failing.circuit.record(&c, false, now);
        assert!(failing.circuit.is_open(now), "the third failure opens it");
        // Long after, with no failure since, both are idle and go.
        table.sweep(now + Duration::from_secs(120));
        assert!(table.is_empty());
    }

    #[test]
    fn disabled_breaker_never_opens() {
        let c = CircuitConfig {
            failure_threshold: 0,
            open_secs: 0,
            ..CircuitConfig::default()
        };
        let mut k = Circuit::default();
        let t = Instant::now();
        for _ in 0..100 {
            k.record(&c, false, t);
        }
        assert!(k.admit(&c, t).is_ok());
    }
}
