//! Plugin health: whether a plugin keeps failing, decided from what its runs
//! and tasks report. Pure policy, no I/O: the serving loop feeds it run
//! summaries (and, where it sees them, single task outcomes) and shows the
//! verdict; what to do with an unhealthy plugin (alert, pause) is the
//! caller's choice.
//!
//! A run *fails* when it could not complete ([`RunSummary::fatal`]) or when
//! too large a share of its tasks failed for good (a few broken pages are a
//! normal crawl; a crawler whose every task traps is not). A run stopped by
//! shutdown without failing says nothing either way. After
//! [`HealthPolicy::failed_runs`] failed runs in a row, or
//! [`HealthPolicy::failed_tasks`] failed tasks in a row, the plugin is
//! [`Health::Unhealthy`] with a reason naming the count and the last error.
//! [`HealthPolicy::recovery_runs`] successful runs in a row make it healthy
//! again; a successful task only resets the task streak.
//!
//! A plugin whose runs complete but whose last complete run raised drift
//! alarms ([`crate::coverage::drift`]: the site changed under its selectors)
//! is [`Health::Degraded`]: its records still land, some fields or items are
//! probably missing. The next complete run without alarms clears it; a run
//! that did not complete says nothing about drift. Unhealthy outranks
//! degraded.

use crate::run::RunSummary;

/// When a plugin becomes unhealthy and when it recovers.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPolicy {
    /// Failed runs in a row that make a plugin unhealthy. Default 3.
    pub failed_runs: u32,
    /// Failed tasks in a row (across runs) that make a plugin unhealthy.
    /// Default 50.
    pub failed_tasks: u32,
    /// A run with tasks failing for good fails when more than this share of
    /// its tasks failed, or when none succeeded. Default 0.5.
    pub max_failed_task_ratio: f64,
    /// Successful runs in a row that make an unhealthy plugin healthy again.
    /// Default 1.
    pub recovery_runs: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            failed_runs: 3,
            failed_tasks: 50,
            max_failed_task_ratio: 0.5,
            recovery_runs: 1,
        }
    }
}

/// A plugin's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Runs complete, but the last complete one raised drift alarms;
    /// `reason` counts them and names the first.
    Degraded {
        reason: String,
    },
    /// Failing repeatedly; `reason` names the streak and the last error.
    Unhealthy {
        reason: String,
    },
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }

    /// `healthy`, `degraded` or `unhealthy`.
    pub fn state(&self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded { .. } => "degraded",
            Health::Unhealthy { .. } => "unhealthy",
        }
    }

    /// Why the plugin is not healthy.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::Degraded { reason } | Health::Unhealthy { reason } => Some(reason),
        }
    }
}

impl std::fmt::Display for Health {
    /// `healthy`, or the state and its reason: `degraded: ...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            None => f.write_str(self.state()),
            Some(reason) => write!(f, "{}: {reason}", self.state()),
        }
    }
}

/// A change of [`Health`], returned so the caller can log or alert once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    BecameUnhealthy {
        reason: String,
    },
    /// Drift alarms (from healthy, or from unhealthy once runs succeed again).
    BecameDegraded {
        reason: String,
    },
    Recovered,
}

/// How one run ended, for health purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunVerdict {
    Succeeded,
    /// The run failed; the text says why.
    Failed(String),
    /// Interrupted by shutdown before it could show either.
    Inconclusive,
}

/// What health needs to know about a finished run (see
/// [`RunFacts::from`] for a [`RunSummary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunFacts<'a> {
    pub run_id: &'a str,
    /// Why the run could not complete, if it could not.
    pub fatal: Option<&'a str>,
    pub tasks_done: u64,
    pub tasks_failed: u64,
    /// Key and last error of the first task that failed for good.
    pub first_failure: Option<(&'a str, &'a str)>,
    /// Shutdown stopped the run early.
    pub interrupted: bool,
    /// The run completed, so its drift check counts (alarms or none).
    pub drift_checked: bool,
    /// Drift alarms of the run, and the first one's message.
    pub drift_alarms: usize,
    pub first_drift: Option<&'a str>,
}

impl<'a> From<&'a RunSummary> for RunFacts<'a> {
    fn from(s: &'a RunSummary) -> Self {
        Self {
            run_id: &s.run_id,
            fatal: s.fatal.as_deref(),
            tasks_done: s.tasks_done,
            tasks_failed: s.tasks_failed.len() as u64,
            first_failure: s
                .tasks_failed
                .first()
                .map(|f| (f.key.as_str(), f.error.as_str())),
            interrupted: s.interrupted,
            drift_checked: s.is_complete(),
            drift_alarms: s.drift.len(),
            first_drift: s.drift.first().map(|a| a.message.as_str()),
        }
    }
}

/// How one task ended, for callers that see tasks one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome<'a> {
    Done,
    /// Failed for good (after its retries); `error` is the last error.
    Failed {
        key: &'a str,
        error: &'a str,
    },
}

/// Judge one run under `policy`.
pub fn judge_run(policy: &HealthPolicy, run: RunFacts<'_>) -> RunVerdict {
    if let Some(fatal) = run.fatal {
        return RunVerdict::Failed(format!("run {}: {fatal}", run.run_id));
    }
    let failed = run.tasks_failed;
    let total = run.tasks_done + failed;
    let ratio = if total == 0 {
        0.0
    } else {
        failed as f64 / total as f64
    };
    if failed > 0 && (run.tasks_done == 0 || ratio > policy.max_failed_task_ratio) {
        let (key, error) = run.first_failure.unwrap_or(("?", "?"));
        return RunVerdict::Failed(format!(
            "run {}: {failed} of {total} tasks failed (first: task {key}: {error})",
            run.run_id
        ));
    }
    if run.interrupted {
        RunVerdict::Inconclusive
    } else {
        RunVerdict::Succeeded
    }
}

/// The health of one plugin, updated from what its runs and tasks report.
#[derive(Debug, Clone)]
pub struct PluginHealth {
    policy: HealthPolicy,
    /// Healthy or unhealthy, from the failure streaks.
    health: Health,
    /// Why the last complete run was degraded, if it was.
    drift: Option<String>,
    failed_runs: u32,
    succeeded_runs: u32,
    failed_tasks: u32,
}

impl PluginHealth {
    /// A plugin starts healthy.
    pub fn new(policy: HealthPolicy) -> Self {
        Self {
            policy,
            health: Health::Healthy,
            drift: None,
            failed_runs: 0,
            succeeded_runs: 0,
            failed_tasks: 0,
        }
    }

    /// The plugin's health: unhealthy (failure streaks) outranks degraded
    /// (drift), which outranks healthy.
    pub fn health(&self) -> Health {
        match (&self.health, &self.drift) {
            (Health::Healthy, Some(reason)) => Health::Degraded {
                reason: reason.clone(),
            },
            (h, _) => h.clone(),
        }
    }

    /// Start degraded (a restarted host whose plugin's last run, kept on
    /// disk, raised drift alarms).
    pub fn set_degraded(&mut self, reason: Option<String>) {
        self.drift = reason;
    }

    /// Failed runs in a row so far.
    pub fn consecutive_failed_runs(&self) -> u32 {
        self.failed_runs
    }

    /// Failed tasks in a row so far.
    pub fn consecutive_failed_tasks(&self) -> u32 {
        self.failed_tasks
    }

    /// Account for a finished run.
    pub fn observe_run(&mut self, summary: &RunSummary) -> Option<Transition> {
        self.observe_facts(summary.into())
    }

    /// [`Self::observe_run`] from [`RunFacts`]: the failure streaks and the
    /// drift state; returns the change of [`Self::health`], if any.
    pub fn observe_facts(&mut self, run: RunFacts<'_>) -> Option<Transition> {
        let before = self.health();
        let verdict = judge_run(&self.policy, run);
        self.observe_verdict(verdict);
        if run.drift_checked {
            self.drift = run.first_drift.map(|first| {
                format!(
                    "run {}: {} drift alarm(s); first: {first}",
                    run.run_id, run.drift_alarms
                )
            });
        }
        let after = self.health();
        if before.state() == after.state() {
            return None;
        }
        Some(match after {
            Health::Healthy => Transition::Recovered,
            Health::Degraded { reason } => Transition::BecameDegraded { reason },
            Health::Unhealthy { reason } => Transition::BecameUnhealthy { reason },
        })
    }

    /// Account for a run already judged (see [`judge_run`]).
    pub fn observe_verdict(&mut self, verdict: RunVerdict) -> Option<Transition> {
        match verdict {
            RunVerdict::Inconclusive => None,
            RunVerdict::Succeeded => {
                self.failed_runs = 0;
                self.failed_tasks = 0;
                self.succeeded_runs = self.succeeded_runs.saturating_add(1);
                if !self.health.is_healthy() && self.succeeded_runs >= self.policy.recovery_runs {
                    self.health = Health::Healthy;
                    return Some(Transition::Recovered);
                }
                None
            }
            RunVerdict::Failed(why) => {
                self.succeeded_runs = 0;
                self.failed_runs = self.failed_runs.saturating_add(1);
                if self.failed_runs >= self.policy.failed_runs {
                    let reason = format!("{} runs in a row failed; last: {why}", self.failed_runs);
                    return self.become_unhealthy(reason);
                }
                None
            }
        }
    }

    /// Account for one task that finished (done, or failed for good).
    pub fn observe_task(&mut self, outcome: TaskOutcome<'_>) -> Option<Transition> {
        match outcome {
            TaskOutcome::Done => {
                self.failed_tasks = 0;
                None
            }
            TaskOutcome::Failed { key, error } => {
                self.failed_tasks = self.failed_tasks.saturating_add(1);
                if self.failed_tasks >= self.policy.failed_tasks {
                    let reason = format!(
                        "{} tasks in a row failed; last: task {key}: {error}",
                        self.failed_tasks
                    );
                    return self.become_unhealthy(reason);
                }
                None
            }
        }
    }

    /// Unhealthy with `reason`; reports a transition only on the first
    /// change, later failures just update the reason.
    fn become_unhealthy(&mut self, reason: String) -> Option<Transition> {
        let was_healthy = self.health.is_healthy();
        self.health = Health::Unhealthy {
            reason: reason.clone(),
        };
        was_healthy.then_some(Transition::BecameUnhealthy { reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run with `done` tasks done, the `failed` keys failed (each with a
    /// deadline error) and maybe a fatal error.
    fn summary<'a>(done: u64, failed: &'a [&'a str], fatal: Option<&'a str>) -> RunFacts<'a> {
        RunFacts {
            run_id: "r1",
            fatal,
            tasks_done: done,
            tasks_failed: failed.len() as u64,
            first_failure: failed.first().map(|k| (*k, "deadline of 2s exceeded")),
            interrupted: false,
            drift_checked: fatal.is_none(),
            drift_alarms: 0,
            first_drift: None,
        }
    }

    #[test]
    fn runs_are_judged_by_fatal_errors_and_failure_share() {
        let p = HealthPolicy::default();
        assert_eq!(judge_run(&p, summary(10, &[], None)), RunVerdict::Succeeded);
        // A few broken pages are a normal crawl.
        assert_eq!(
            judge_run(&p, summary(8, &["a", "b"], None)),
            RunVerdict::Succeeded
        );
        // Exactly at the ratio is still fine; above it fails.
        assert_eq!(
            judge_run(&p, summary(2, &["a", "b"], None)),
            RunVerdict::Succeeded
        );
        let RunVerdict::Failed(why) = judge_run(&p, summary(1, &["a", "b"], None)) else {
            panic!("2 of 3 failed should fail the run");
        };
        assert_eq!(
            why,
            "run r1: 2 of 3 tasks failed (first: task a: deadline of 2s exceeded)"
        );
        // Nothing succeeded.
        assert!(matches!(
            judge_run(&p, summary(0, &["a"], None)),
            RunVerdict::Failed(_)
        ));
        // Fatal wins even when every task was done.
        let RunVerdict::Failed(why) = judge_run(&p, summary(5, &[], Some("plan failed: trap")))
        else {
            panic!("fatal run should fail");
        };
        assert_eq!(why, "run r1: plan failed: trap");
    }

    #[test]
    fn unhealthy_after_repeated_failed_runs_and_back_after_a_good_one() {
        let mut h = PluginHealth::new(HealthPolicy::default());
        let bad = summary(0, &["t0"], None);
        assert_eq!(h.observe_facts(bad), None);
        assert_eq!(h.observe_facts(bad), None);
        assert!(h.health().is_healthy());
        let Some(Transition::BecameUnhealthy { reason }) = h.observe_facts(bad) else {
            panic!("third failed run should make the plugin unhealthy");
        };
        assert!(
            reason.starts_with("3 runs in a row failed; last: run r1: 1 of 1 tasks failed"),
            "{reason}"
        );
        assert!(reason.contains("deadline of 2s exceeded"), "{reason}");
        assert_eq!(h.health(), Health::Unhealthy { reason });
        // Further failures keep it unhealthy without a second transition,
        // and the reason follows the streak.
        assert_eq!(h.observe_facts(bad), None);
        assert_eq!(h.consecutive_failed_runs(), 4);
        let Health::Unhealthy { reason } = h.health() else {
            panic!()
        };
        assert!(reason.starts_with("4 runs in a row"), "{reason}");
        assert_eq!(
            h.observe_facts(summary(3, &[], None)),
            Some(Transition::Recovered)
        );
        assert!(h.health().is_healthy());
        assert_eq!(h.consecutive_failed_runs(), 0);
    }

    #[test]
    fn a_success_breaks_the_streak() {
        let mut h = PluginHealth::new(HealthPolicy::default());
        let bad = summary(0, &[], Some("plan failed: deadline of 2s exceeded"));
        h.observe_facts(bad);
        h.observe_facts(bad);
        h.observe_facts(summary(1, &[], None));
        h.observe_facts(bad);
        h.observe_facts(bad);
        assert!(h.health().is_healthy());
        assert_eq!(h.consecutive_failed_runs(), 2);
    }

    #[test]
    fn an_interrupted_run_counts_only_if_it_failed() {
        let p = HealthPolicy::default();
        let interrupted = RunFacts {
            interrupted: true,
            ..summary(4, &[], None)
        };
        assert_eq!(judge_run(&p, interrupted), RunVerdict::Inconclusive);
        let mut h = PluginHealth::new(HealthPolicy {
            failed_runs: 1,
            ..p.clone()
        });
        h.observe_facts(summary(0, &[], Some("x")));
        assert_eq!(h.observe_facts(interrupted), None);
        assert!(
            !h.health().is_healthy(),
            "an interrupted run does not prove recovery"
        );
        let failed = RunFacts {
            interrupted: true,
            ..summary(0, &["a"], None)
        };
        assert!(matches!(judge_run(&p, failed), RunVerdict::Failed(_)));
    }

    #[test]
    fn recovery_can_require_several_good_runs() {
        let policy = HealthPolicy {
            failed_runs: 1,
            recovery_runs: 2,
            ..HealthPolicy::default()
        };
        let mut h = PluginHealth::new(policy);
        assert!(matches!(
            h.observe_facts(summary(0, &[], Some("x"))),
            Some(Transition::BecameUnhealthy { .. })
        ));
        assert_eq!(h.observe_facts(summary(1, &[], None)), None);
        assert!(!h.health().is_healthy());
        // A failure in between restarts the recovery count.
        h.observe_facts(summary(0, &[], Some("x")));
        assert_eq!(h.observe_facts(summary(1, &[], None)), None);
        assert_eq!(
            h.observe_facts(summary(1, &[], None)),
            Some(Transition::Recovered)
        );
    }

    #[test]
    fn drift_alarms_degrade_until_a_complete_run_without_them() {
        let mut h = PluginHealth::new(HealthPolicy::default());
        let drifted = RunFacts {
            drift_alarms: 2,
            first_drift: Some("shop/items: field price filled in 3.0% ..."),
            ..summary(10, &[], None)
        };
        let Some(Transition::BecameDegraded { reason }) = h.observe_facts(drifted) else {
            panic!("a run with drift alarms should degrade the plugin");
        };
        assert_eq!(
            reason,
            "run r1: 2 drift alarm(s); first: shop/items: field price filled in 3.0% ..."
        );
        assert_eq!(h.health().state(), "degraded");
        assert_eq!(h.health().to_string(), format!("degraded: {reason}"));
        // Still drifting: no new transition.
        assert_eq!(h.observe_facts(drifted), None);
        // A run that did not complete says nothing about drift.
        assert_eq!(h.observe_facts(summary(0, &[], Some("plan failed"))), None);
        assert_eq!(h.health().state(), "degraded");
        let interrupted = RunFacts {
            interrupted: true,
            drift_checked: false,
            ..summary(3, &[], None)
        };
        assert_eq!(h.observe_facts(interrupted), None);
        // A complete run without alarms clears it.
        assert_eq!(
            h.observe_facts(summary(10, &[], None)),
            Some(Transition::Recovered)
        );
        assert!(h.health().is_healthy());
    }

    #[test]
    fn unhealthy_outranks_degraded() {
        let mut h = PluginHealth::new(HealthPolicy {
            failed_runs: 1,
            ..HealthPolicy::default()
        });
        h.set_degraded(Some("from disk".into()));
        assert_eq!(h.health().state(), "degraded");
        assert!(matches!(
            h.observe_facts(summary(0, &[], Some("x"))),
            Some(Transition::BecameUnhealthy { .. })
        ));
        // Runs succeed again but still drift: degraded, not healthy.
        let drifted = RunFacts {
            drift_alarms: 1,
            first_drift: Some("a"),
            ..summary(5, &[], None)
        };
        assert!(matches!(
            h.observe_facts(drifted),
            Some(Transition::BecameDegraded { .. })
        ));
    }

    #[test]
    fn task_streaks() {
        let policy = HealthPolicy {
            failed_tasks: 3,
            ..HealthPolicy::default()
        };
        let mut h = PluginHealth::new(policy);
        let failed = TaskOutcome::Failed {
            key: "t7",
            error: "memory limit of 32 MiB exceeded",
        };
        h.observe_task(failed);
        h.observe_task(failed);
        assert_eq!(h.observe_task(TaskOutcome::Done), None);
        assert_eq!(h.consecutive_failed_tasks(), 0);
        h.observe_task(failed);
        h.observe_task(failed);
        let Some(Transition::BecameUnhealthy { reason }) = h.observe_task(failed) else {
            panic!("third failed task in a row should make the plugin unhealthy");
        };
        assert_eq!(
            reason,
            "3 tasks in a row failed; last: task t7: memory limit of 32 MiB exceeded"
        );
        // A done task alone does not make it healthy; a good run does.
        h.observe_task(TaskOutcome::Done);
        assert!(!h.health().is_healthy());
        assert_eq!(
            h.observe_facts(summary(4, &[], None)),
            Some(Transition::Recovered)
        );
    }
}
