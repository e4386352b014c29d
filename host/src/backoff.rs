//! How long a retry loop waits after each failure: one policy type
//! ([`Backoff`]: first delay, growth factor, cap, optional bounds) and the
//! state of one loop under it ([`Retry`]).
//!
//! The policy is plain arithmetic, unit-tested without a clock: the loops
//! that use it (sink uploads and store calls, the sink's bus calls, the
//! forward-log drainer) sleep for what [`Retry::next_delay`] says and log
//! it. There is no jitter: each of those loops is one per process, waiting
//! for one broker or store to come back, so there is no herd to spread.
//! Loops that must outlast any outage (the sink waits for S3 as long as it
//! takes, the drainer runs for the life of the bus) have no bound; a caller
//! that should give up sets [`Backoff::max_attempts`] or
//! [`Backoff::max_elapsed`] and stops when `next_delay` returns `None`.

use std::time::Duration;

/// Exponential backoff: `initial`, then each delay `factor` times the one
/// before, never above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// Each wait is the previous one times this (1: a constant wait).
    pub factor: u32,
    /// No wait is longer than this.
    pub max: Duration,
    /// Give up after this many failed attempts (`None`: never).
    pub max_attempts: Option<u32>,
    /// Give up once the waits add up to this (`None`: never). The last
    /// wait is shortened to end there. Counts the waits only, not the time
    /// the attempts themselves took.
    pub max_elapsed: Option<Duration>,
}

impl Backoff {
    /// Doubling from `initial` up to `max`, forever.
    pub const fn doubling(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            factor: 2,
            max,
            max_attempts: None,
            max_elapsed: None,
        }
    }

    /// The same policy, giving up after `attempts` failed attempts.
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The same policy, giving up once the waits add up to `total`.
    pub const fn with_max_elapsed(mut self, total: Duration) -> Self {
        self.max_elapsed = Some(total);
        self
    }

    /// A fresh loop under this policy.
    pub fn start(&self) -> Retry {
        Retry {
            policy: *self,
            failures: 0,
            next: self.initial.min(self.max),
            waited: Duration::ZERO,
        }
    }
}

/// One retry loop's progress: failures so far and the next wait. Also an
/// iterator over the waits, which is how the tests read a policy.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Backoff,
    failures: u32,
    next: Duration,
    waited: Duration,
}

impl Retry {
    /// Count a failure and return how long to wait before trying again, or
    /// `None` when the policy's bound is reached (the caller gives up).
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        if self.policy.max_attempts.is_some_and(|n| self.failures >= n) {
            return None;
        }
        let mut delay = self.next;
        if let Some(total) = self.policy.max_elapsed {
            let left = total.saturating_sub(self.waited);
            if left.is_zero() {
                return None;
            }
            delay = delay.min(left);
        }
        self.waited = self.waited.saturating_add(delay);
        self.next = self
            .next
            .checked_mul(self.policy.factor.max(1))
            .unwrap_or(self.policy.max)
            .min(self.policy.max);
        Some(delay)
    }

    /// For a loop that never gives up (a policy without a bound): count a
    /// failure and return the wait. Past a bound it would be the cap.
    pub fn next_wait(&mut self) -> Duration {
        self.next_delay().unwrap_or(self.policy.max)
    }

    /// Failures counted since the start (or the last [`Retry::reset`]): the
    /// number of the attempt that just failed, for logs.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        *self = self.policy.start();
    }
}

impl Iterator for Retry {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.next_delay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn doubles_up_to_the_cap_and_stays_there() {
        let waits: Vec<_> = Backoff::doubling(ms(100), ms(1_000))
            .start()
            .take(7)
            .collect();
        assert_eq!(
            waits,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1_000),
                ms(1_000),
                ms(1_000)
            ]
        );
    }

    #[test]
    fn the_first_wait_is_capped_too() {
        let mut r = Backoff::doubling(ms(500), ms(300)).start();
        assert_eq!(r.next_delay(), Some(ms(300)));
        assert_eq!(r.next_delay(), Some(ms(300)));
    }

    #[test]
    fn factor_one_is_a_constant_wait() {
        let policy = Backoff {
            factor: 1,
            ..Backoff::doubling(ms(50), ms(5_000))
        };
        assert!(policy.start().take(5).all(|d| d == ms(50)));
    }

    #[test]
    fn unbounded_never_gives_up_and_does_not_overflow() {
        let mut r = Backoff::doubling(ms(1), Duration::MAX).start();
        for _ in 0..200 {
            assert!(r.next_delay().is_some());
        }
        assert_eq!(r.failures(), 200);
    }

    #[test]
    fn next_wait_follows_the_policy_and_never_stops() {
        let mut r = Backoff::doubling(ms(100), ms(300))
            .with_max_attempts(2)
            .start();
        assert_eq!(r.next_wait(), ms(100));
        assert_eq!(r.next_wait(), ms(300));
        assert_eq!(r.next_wait(), ms(300));
    }

    #[test]
    fn max_attempts_bounds_the_failures() {
        let mut r = Backoff::doubling(ms(10), ms(100))
            .with_max_attempts(3)
            .start();
        assert_eq!(r.next_delay(), Some(ms(10)));
        assert_eq!(r.next_delay(), Some(ms(20)));
        // The third attempt failed: no fourth.
        assert_eq!(r.next_delay(), None);
        assert_eq!(r.failures(), 3);
    }

    #[test]
    fn max_elapsed_bounds_the_total_wait() {
        let waits: Vec<_> = Backoff::doubling(ms(100), ms(1_000))
            .with_max_elapsed(ms(1_000))
            .start()
            .collect();
        // 100 + 200 + 400 = 700; the next wait is cut to the 300 left.
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(300)]);
    }

    #[test]
    fn reset_starts_over() {
        let mut r = Backoff::doubling(ms(200), ms(5_000)).start();
        r.next_delay();
        r.next_delay();
        r.reset();
        assert_eq!(r.failures(), 0);
        assert_eq!(r.next_delay(), Some(ms(200)));
    }
}
