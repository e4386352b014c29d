//! The task loop of a run: start ready tasks up to the plugin's
//! concurrency, account for each attempt as it ends (records, follow-ups
//! into the frontier, retries after a delay, failures for good), report
//! progress four times a second, and stop when the frontier is done or on
//! shutdown (tasks in flight finish; queued ones stay in the journal for the
//! next start).
//!
//! Concurrency is a `JoinSet` of at most `concurrency` attempts, not a thread
//! per task. A retry waits in a spawned sleeper and comes back through a
//! channel, so a delayed task holds no slot.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::contract::Task;
use crate::metrics::PluginMetrics;

use super::frontier::{Entry, Frontier, Push};
use super::retry::{self, Decision, FailureKind};
use super::summary::{budget_message, byte_budget_message};
use super::task::{Outcome, RunShared};
use super::{Progress, RunSummary, TaskFailure, log_journal_error};

/// How often the progress callback is called.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Run the tasks in `frontier` until it is done or `shutdown` turns true
/// (or its sender is dropped), accounting for them in `summary`. Sets
/// `summary.interrupted` when shutdown left tasks queued, `summary.fatal`
/// when host code panicked in a task.
pub(super) async fn drive(
    shared: &Arc<RunShared>,
    frontier: &mut Frontier,
    summary: &mut RunSummary,
    mut shutdown: Option<watch::Receiver<bool>>,
    metrics: Option<&PluginMetrics>,
    progress: &mut (dyn FnMut(&Progress) + Send),
    started: Instant,
) {
    let concurrency = shared.ctx.settings.concurrency_for(&summary.plugin);
    let (retry_tx, mut retry_rx) = mpsc::unbounded_channel::<Entry>();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut run = TaskLoop {
        shared,
        frontier,
        summary,
        metrics,
        running: JoinSet::new(),
        retry_tx,
        stopping: shutdown.as_ref().is_some_and(|s| *s.borrow()),
    };
    loop {
        run.start_ready(concurrency);
        if run.running.is_empty() && (run.stopping || run.frontier.is_done()) {
            run.summary.interrupted = run.stopping && !run.frontier.is_done();
            break;
        }
        tokio::select! {
            Some(joined) = run.running.join_next() => {
                match joined {
                    Ok((entry, outcome, took)) => run.account(entry, outcome, took),
                    Err(e) => {
                        // A panic in host code for one task: the run cannot
                        // account for it, so it is fatal rather than silent.
                        run.summary.fatal = Some(format!("internal error in a task: {e}"));
                        break;
                    }
                }
            }
            Some(entry) = retry_rx.recv() => run.retry_due(entry),
            changed = async {
                match shutdown.as_mut() {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                if changed.is_err() || shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                    if !run.stopping {
                        tracing::info!(plugin = %run.summary.plugin, run = %run.summary.run_id, in_flight = run.running.len(), "Shutting down: finishing tasks in flight, queued tasks resume on the next start.");
                    }
                    run.stopping = true;
                    // A dropped sender also means stop; don't poll it again.
                    shutdown = None;
                }
            }
            _ = tick.tick() => progress(&run.progress(run.running.len(), started)),
        }
    }
    progress(&run.progress(0, started));
}

/// The loop's state between two events.
struct TaskLoop<'a> {
    shared: &'a Arc<RunShared>,
    frontier: &'a mut Frontier,
    summary: &'a mut RunSummary,
    metrics: Option<&'a PluginMetrics>,
    /// Attempts in flight, each with how long it took.
    running: JoinSet<(Entry, Outcome, Duration)>,
    /// Where retry sleepers hand their task back.
    retry_tx: mpsc::UnboundedSender<Entry>,
    /// Shutdown was asked for: start nothing new.
    stopping: bool,
}

impl TaskLoop<'_> {
    /// Start ready tasks until `concurrency` attempts are in flight.
    fn start_ready(&mut self, concurrency: usize) {
        while !self.stopping && self.running.len() < concurrency {
            let Some(entry) = self.frontier.pop_ready() else {
                break;
            };
            let shared = self.shared.clone();
            self.running.spawn(async move {
                let t = Instant::now();
                let outcome = shared.attempt(entry.task.clone()).await;
                (entry, outcome, t.elapsed())
            });
        }
    }

    /// An attempt ended: count it, then take its follow-ups or decide on a
    /// retry.
    fn account(&mut self, mut entry: Entry, outcome: Outcome, took: Duration) {
        entry.attempts += 1;
        if let Some(m) = self.metrics {
            m.task_seconds.observe(took.as_secs_f64());
            match &outcome {
                Outcome::Done {
                    records,
                    dead_letters,
                    ..
                } => {
                    m.tasks_done.fetch_add(1, Ordering::Relaxed);
                    m.records
                        .fetch_add(records.values().sum(), Ordering::Relaxed);
                    m.dead_letters.fetch_add(*dead_letters, Ordering::Relaxed);
                }
                Outcome::Failed { .. } => {}
            }
        }
        match outcome {
            Outcome::Done {
                follow_ups,
                records,
                dead_letters,
                coverage,
                journaled,
            } => {
                self.summary.tasks_done += 1;
                self.summary.dead_letters += dead_letters;
                self.summary.coverage.merge(&coverage);
                for (topic, n) in records {
                    self.summary.records += n;
                    *self.summary.records_by_topic.entry(topic).or_default() += n;
                }
                let accepted = self.admit(follow_ups);
                // Remote attempts (distributed mode) are journaled here.
                if !journaled
                    && let Some(j) = &self.shared.journal
                    && let Err(e) =
                        j.complete_task(&self.summary.run_id, &entry.task.key, &accepted)
                {
                    log_journal_error(e);
                }
                self.frontier.finish(entry.task.phase);
            }
            Outcome::Failed {
                kind,
                error_kind,
                error,
            } => self.failed(entry, kind, error_kind, error),
        }
    }

    /// Queue a task's follow-ups; returns the ones accepted (new keys within
    /// the budgets). The first refusal for a budget makes the run fatal.
    fn admit(&mut self, follow_ups: Vec<Task>) -> Vec<Task> {
        let run = &self.shared.ctx.settings.run;
        let summary = &mut *self.summary;
        let mut accepted = Vec::new();
        for t in follow_ups {
            match self.frontier.push(t.clone()) {
                Push::Queued => accepted.push(t),
                Push::Duplicate => summary.duplicate_tasks += 1,
                Push::OverBudget => {
                    if summary.fatal.is_none() {
                        tracing::error!(plugin = %summary.plugin, run = %summary.run_id, "Task budget exhausted; refusing new tasks.");
                    }
                    summary.fatal = Some(budget_message(run.max_tasks_per_run));
                }
                Push::OverByteBudget => {
                    if summary.fatal.is_none() {
                        tracing::error!(plugin = %summary.plugin, run = %summary.run_id, bytes = self.frontier.bytes(), "Task byte budget exhausted; refusing new tasks.");
                    }
                    summary.fatal = Some(byte_budget_message(run.max_task_bytes_per_run));
                }
            }
        }
        accepted
    }

    /// An attempt failed: retry it after the policy's delay ([`retry`]), or
    /// record it as failed for good.
    fn failed(&mut self, entry: Entry, kind: FailureKind, error_kind: &str, error: String) {
        let phase = entry.task.phase;
        let jitter = rand::random::<f64>();
        match retry::decide(&self.shared.ctx.settings.run, kind, entry.attempts, jitter) {
            Decision::RetryAfter(delay) if !self.stopping => {
                self.summary.retries += 1;
                if let Some(m) = self.metrics {
                    m.task_retries.fetch_add(1, Ordering::Relaxed);
                }
                tracing::info!(plugin = %self.summary.plugin, task = %entry.task.key, attempt = entry.attempts, delay_ms = delay.as_millis() as u64, error = %error, "Task failed; retrying.");
                let tx = self.retry_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(entry);
                });
            }
            Decision::RetryAfter(_) => {
                // Shutting down: leave it queued in the journal; it runs
                // again on resume.
                self.frontier.finish(phase);
            }
            Decision::GiveUp => {
                if let Some(m) = self.metrics {
                    m.tasks_failed.fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(plugin = %self.summary.plugin, task = %entry.task.key, attempts = entry.attempts, kind = error_kind, error = %error, "Task failed.");
                let failure = TaskFailure {
                    key: entry.task.key.clone(),
                    kind: entry.task.kind.clone(),
                    error_kind: error_kind.to_string(),
                    error,
                    attempts: entry.attempts,
                };
                if let Some(j) = &self.shared.journal
                    && let Err(e) = j.fail_task(&self.summary.run_id, &failure)
                {
                    log_journal_error(e);
                }
                self.summary.tasks_failed.push(failure);
                self.frontier.finish(phase);
            }
        }
    }

    /// A retry's delay is over: queue it again (or, shutting down, leave it
    /// to the journal).
    fn retry_due(&mut self, entry: Entry) {
        if self.stopping {
            self.frontier.finish(entry.task.phase);
        } else {
            self.frontier.retry(entry);
        }
    }

    /// The live view, with `running` attempts in flight.
    fn progress(&self, running: usize, started: Instant) -> Progress {
        Progress {
            done: self.summary.tasks_done,
            failed: self.summary.tasks_failed.len() as u64,
            queued: self.frontier.queued(),
            running,
            records: self.summary.records,
            retries: self.summary.retries,
            elapsed: started.elapsed(),
        }
    }
}
