//! Task retry policy: pure decisions from the error kind and attempt count.
//!
//! `retryable` failures (timeouts, 5xx, a plugin deadline) back off
//! exponentially with full jitter up to `run.max_attempts`; `blocked` ones back
//! off `run.blocked_backoff_factor` times longer up to
//! `run.blocked_max_attempts`; `parse`, `other` and traps are not retried,
//! because the same input fails the same way. Every give-up is reported.

use std::time::Duration;

use crate::config::RunConfig;

/// The class of a task failure, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Retryable,
    Blocked,
    Permanent,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Report the task as failed.
    GiveUp,
}

/// The longest delay before attempt `attempts + 1` (before jitter).
pub fn backoff_cap(cfg: &RunConfig, kind: FailureKind, attempts: u32) -> Duration {
    let factor = if kind == FailureKind::Blocked {
        cfg.blocked_backoff_factor.max(1)
    } else {
        1
    };
    let exp = attempts.saturating_sub(1).min(30);
    let ms = cfg
        .retry_base_ms
        .saturating_mul(1u64 << exp)
        .saturating_mul(factor)
        .min(cfg.retry_max_ms.saturating_mul(factor));
    Duration::from_millis(ms)
}

/// Decide after `attempts` attempts (the failed one included). `jitter` in
/// [0, 1) scales the delay (full jitter); pass a random value.
pub fn decide(cfg: &RunConfig, kind: FailureKind, attempts: u32, jitter: f64) -> Decision {
    let limit = match kind {
        FailureKind::Retryable => cfg.max_attempts,
        FailureKind::Blocked => cfg.blocked_max_attempts,
        FailureKind::Permanent => return Decision::GiveUp,
    };
    if attempts >= limit {
        return Decision::GiveUp;
    }
    let cap = backoff_cap(cfg, kind, attempts);
    // Never zero: a little spacing even with jitter 0.
    let min = Duration::from_millis(cfg.retry_base_ms / 10);
    Decision::RetryAfter(cap.mul_f64(jitter.clamp(0.0, 1.0)).max(min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RunConfig {
        RunConfig {
            max_attempts: 4,
            blocked_max_attempts: 2,
            retry_base_ms: 100,
            retry_max_ms: 1000,
            blocked_backoff_factor: 10,
            ..RunConfig::default()
        }
    }

    #[test]
    fn exponential_schedule_with_cap() {
        let c = cfg();
        let caps: Vec<u64> = (1..=6)
            .map(|a| backoff_cap(&c, FailureKind::Retryable, a).as_millis() as u64)
            .collect();
        assert_eq!(caps, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff_cap(&c, FailureKind::Blocked, 1),
            Duration::from_millis(1000)
        );
    }

    #[test]
    fn attempts_are_bounded_per_kind() {
        let c = cfg();
        assert!(matches!(
            decide(&c, FailureKind::Retryable, 3, 0.5),
            Decision::RetryAfter(_)
        ));
        assert_eq!(decide(&c, FailureKind::Retryable, 4, 0.5), Decision::GiveUp);
        assert!(matches!(
            decide(&c, FailureKind::Blocked, 1, 0.5),
            Decision::RetryAfter(_)
        ));
        assert_eq!(decide(&c, FailureKind::Blocked, 2, 0.5), Decision::GiveUp);
        assert_eq!(decide(&c, FailureKind::Permanent, 1, 0.5), Decision::GiveUp);
    }

    #[test]
    fn jitter_scales_within_the_cap() {
        let c = cfg();
        assert_eq!(
            decide(&c, FailureKind::Retryable, 2, 0.5),
            Decision::RetryAfter(Duration::from_millis(100))
        );
        assert_eq!(
            decide(&c, FailureKind::Retryable, 2, 0.0),
            Decision::RetryAfter(Duration::from_millis(10))
        );
    }
}
