//! Coordinator failover for `run --once --distributed --claim KEY`: the host
//! that wins the claim coordinates the run and replicates its run journal to
//! Kafka; every host that lost the claim stands by, and takes the run over
//! when the coordinator stops.
//!
//! **Replication** ([`Replicator`]). The coordinator's local journal
//! ([`crate::run::journal`]) hands every committed change (run started with
//! its seed tasks, task done with its follow-ups, task failed, run ended) to
//! the replicator, which appends it to the journal topic
//! (`kafka.journal_topic`, one partition) in order, as a [`JournalRecord`]
//! keyed by the claim key. Every heartbeat interval (a third of
//! `kafka.session_timeout_ms`) it appends a heartbeat.
//!
//! **Standing by** ([`stand_by`]). A host that lost the claim reads the
//! topic from where the winner's records begin (the winner notes the
//! topic's end on its claim: [`super::claims::claim_noting`]) and folds
//! them into a [`RunState`]. When the coordinator says every run of the
//! claim ended ([`Entry::Complete`]) it exits. When nothing of
//! the run arrived for two session timeouts, it claims `KEY#takeover-N`; the
//! host that wins writes the rebuilt frontier into its own journal
//! ([`crate::run::journal::Journal::adopt`]) and resumes the run with the
//! same run id: tasks done stay done, tasks queued or in flight at the
//! failure run again (their records may be published twice; the set of
//! records is the same), follow-ups are deduplicated by key as in any run.
//!
//! **Fencing.** A coordinator that was only cut off (not dead) sees the
//! takeover on its next heartbeat and stops, abandoning its copy of the run,
//! so two coordinators never dispatch one run for longer than a heartbeat.
//!
//! Limits: the plugin must be the same build on both hosts (its hash is the
//! run's; another build starts the run afresh); the journal topic's
//! retention must outlast the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::bus::{Bus, BusError, ProduceRecord};
use crate::run::TaskFailure;
use crate::run::TaskSpec;
use crate::run::journal::{AdoptedTask, JournalEvent, Mirror, RunRow};
use crate::time::now_ms;

use super::claims::{Claim, claim_noting};

/// One record of the journal topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// The claim key the run was claimed under.
    pub claim: String,
    /// The host that wrote it.
    pub host: String,
    pub at_ms: i64,
    pub entry: Entry,
}

/// What a [`JournalRecord`] says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A change of the coordinator's journal.
    Journal(JournalEvent),
    /// The coordinator is alive.
    Heartbeat,
    /// `host` took the run over (the `generation`-th takeover).
    Takeover { run_id: String, generation: u32 },
    /// Every run of the claim ended: standbys can go.
    Complete,
}

/// How often the coordinator says it is alive.
pub fn heartbeat_interval(session_timeout: Duration) -> Duration {
    (session_timeout / 3).max(Duration::from_millis(200))
}

/// How long a standby waits without a sign of the coordinator before it
/// takes the run over.
pub fn takeover_after(session_timeout: Duration) -> Duration {
    session_timeout * 2
}

/// A task's state in a replicated run.
#[derive(Debug, Clone, PartialEq)]
enum TaskState {
    Queued,
    Done,
    Failed(TaskFailure),
}

/// One run as its replicated journal tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicatedRun {
    pub run: Option<RunRow>,
    order: Vec<String>,
    tasks: HashMap<String, (TaskSpec, TaskState)>,
    /// `Some(status)` once the run ended.
    pub ended: Option<String>,
}

impl ReplicatedRun {
    fn queue(&mut self, t: TaskSpec) {
        if !self.tasks.contains_key(&t.key) {
            self.order.push(t.key.clone());
            self.tasks.insert(t.key.clone(), (t, TaskState::Queued));
        }
    }

    /// The run's tasks in the order they were queued, with their states,
    /// for [`crate::run::journal::Journal::adopt`].
    pub fn adopted(&self) -> Vec<AdoptedTask> {
        self.order
            .iter()
            .filter_map(|k| self.tasks.get(k))
            .map(|(t, s)| match s {
                TaskState::Queued => AdoptedTask::Queued(t.clone()),
                TaskState::Done => AdoptedTask::Done(t.clone()),
                TaskState::Failed(f) => AdoptedTask::Failed(t.clone(), f.clone()),
            })
            .collect()
    }

    /// Tasks done, failed and still queued.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, s) in self.tasks.values() {
            match s {
                TaskState::Done => c.0 += 1,
                TaskState::Failed(_) => c.1 += 1,
                TaskState::Queued => c.2 += 1,
            }
        }
        c
    }
}

/// Every run replicated under one claim key, folded from its records.
/// Pure: [`RunState::apply`] takes records in topic order.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// By run id, in the order they started.
    pub runs: Vec<(String, ReplicatedRun)>,
    /// The host that wrote last (the coordinator, or who took over).
    pub coordinator: Option<String>,
    /// Takeovers so far.
    pub takeovers: u32,
    /// The coordinator said every run of the claim ended.
    pub complete: bool,
}

impl RunState {
    fn run_mut(&mut self, run_id: &str) -> &mut ReplicatedRun {
        if let Some(i) = self.runs.iter().position(|(id, _)| id == run_id) {
            return &mut self.runs[i].1;
        }
        self.runs
            .push((run_id.to_string(), ReplicatedRun::default()));
        &mut self.runs.last_mut().expect("just pushed").1
    }

    /// Fold one record of this claim in.
    pub fn apply(&mut self, r: &JournalRecord) {
        self.coordinator = Some(r.host.clone());
        match &r.entry {
            Entry::Heartbeat => {}
            Entry::Complete => self.complete = true,
            Entry::Takeover { generation, .. } => {
                self.takeovers = self.takeovers.max(*generation);
            }
            Entry::Journal(e) => match e {
                JournalEvent::Start {
                    run_id,
                    plugin,
                    plugin_hash,
                    started_at_ms,
                    seeds,
                } => {
                    let run = self.run_mut(run_id);
                    run.run = Some(RunRow {
                        run_id: run_id.clone(),
                        plugin: plugin.clone(),
                        plugin_hash: plugin_hash.clone(),
                        started_at_ms: *started_at_ms,
                        status: "running".into(),
                        summary: None,
                    });
                    for t in seeds {
                        run.queue(t.clone());
                    }
                }
                JournalEvent::Done {
                    run_id,
                    key,
                    follow_ups,
                } => {
                    let run = self.run_mut(run_id);
                    if let Some((_, s)) = run.tasks.get_mut(key) {
                        *s = TaskState::Done;
                    }
                    for t in follow_ups {
                        run.queue(t.clone());
                    }
                }
                JournalEvent::Failed { run_id, failure } => {
                    let run = self.run_mut(run_id);
                    if let Some((_, s)) = run.tasks.get_mut(&failure.key) {
                        *s = TaskState::Failed(failure.clone());
                    }
                }
                JournalEvent::End { run_id, status } => {
                    self.run_mut(run_id).ended = Some(status.clone());
                }
            },
        }
    }

    /// The runs that started and did not end (normally at most one).
    pub fn unfinished(&self) -> impl Iterator<Item = &ReplicatedRun> {
        self.runs
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.run.is_some() && r.ended.is_none())
    }

    /// Plugins whose run under this claim ended.
    pub fn ended_plugins(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter(|(_, r)| r.ended.is_some())
            .filter_map(|(_, r)| r.run.as_ref().map(|x| x.plugin.clone()))
            .collect()
    }
}

/// What a standby host does next.
#[derive(Debug)]
pub enum Standby {
    /// The coordinator finished: nothing to do here.
    Finished,
    /// This host took the run over: adopt `state`'s unfinished runs.
    TakeOver(RunState),
}

/// Appends this host's journal changes and heartbeats to the journal
/// topic, in order; see the module docs.
pub struct Replicator {
    tx: mpsc::UnboundedSender<Entry>,
    task: tokio::task::JoinHandle<()>,
}

/// Set by the replicator when another host took this host's run over.
pub type Fenced = Arc<Mutex<Option<String>>>;

impl Replicator {
    /// Start replicating under `claim` as `host`. `from` is where this
    /// host's records begin in the topic (takeovers are watched from there).
    pub fn start(
        bus: Arc<dyn Bus>,
        topic: String,
        claim: String,
        host: String,
        heartbeat: Duration,
        from: u64,
        fenced: Fenced,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Entry>();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(heartbeat);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut watched = from;
            loop {
                let entry = tokio::select! {
                    e = rx.recv() => match e {
                        Some(e) => e,
                        None => return,
                    },
                    _ = tick.tick() => {
                        // Fencing: another host's takeover of this claim.
                        if let Ok(batch) = bus.fetch(&topic, 0, watched, 1000).await {
                            for r in batch {
                                watched = r.offset + 1;
                                let Ok(rec) = serde_json::from_slice::<JournalRecord>(&r.value) else {
                                    continue;
                                };
                                if rec.claim == claim
                                    && rec.host != host
                                    && let Entry::Takeover { run_id, .. } = &rec.entry
                                {
                                    *fenced.lock().unwrap_or_else(PoisonError::into_inner) =
                                        Some(format!("{} took run {run_id} over", rec.host));
                                }
                            }
                        }
                        Entry::Heartbeat
                    }
                };
                // Everything queued goes in one produce: a burst of task
                // completions reaches the topic in one round trip.
                let mut entries = vec![entry];
                while entries.len() < 500 {
                    match rx.try_recv() {
                        Ok(e) => entries.push(e),
                        Err(_) => break,
                    }
                }
                let at_ms = now_ms();
                let records: Vec<ProduceRecord> = entries
                    .into_iter()
                    .map(|entry| {
                        let record = JournalRecord {
                            claim: claim.clone(),
                            host: host.clone(),
                            at_ms,
                            entry,
                        };
                        ProduceRecord {
                            topic: topic.clone(),
                            key: Some(claim.as_bytes().to_vec()),
                            value: serde_json::to_vec(&record).unwrap_or_default(),
                            headers: vec![],
                            timestamp_ms: at_ms,
                        }
                    })
                    .collect();
                let mut wait = Duration::from_millis(100);
                loop {
                    match bus.produce(records.clone()).await {
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "Cannot replicate the run journal; retrying.");
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        });
        Self { tx, task }
    }

    /// The journal's mirror: hands each change to the replicator.
    pub fn mirror(&self) -> Mirror {
        let tx = self.tx.clone();
        Arc::new(move |e: JournalEvent| {
            let _ = tx.send(Entry::Journal(e));
        })
    }

    /// Say that every run of the claim ended (the last record).
    pub fn complete(&self) {
        let _ = self.tx.send(Entry::Complete);
    }

    /// Append a takeover record (before resuming the run).
    pub fn takeover(&self, run_id: String, generation: u32) {
        let _ = self.tx.send(Entry::Takeover { run_id, generation });
    }

    /// Send what is queued and stop. The journal must not hold a mirror
    /// to this replicator any more.
    pub async fn finish(self) {
        let Self { tx, task } = self;
        drop(tx);
        let _ = task.await;
    }
}

/// Wait for the run claimed as `claim` by another host, from offset `from`
/// of the journal topic: [`Standby::Finished`] when it ends,
/// [`Standby::TakeOver`] when this host took it over after nothing came
/// for `takeover_after`.
pub async fn stand_by(
    bus: &dyn Bus,
    topic: &str,
    claims_topic: &str,
    claim: &str,
    host: &str,
    from: u64,
    takeover_after: Duration,
) -> Result<Standby, BusError> {
    let mut state = RunState::default();
    let mut offset = from;
    let mut last_alive = Instant::now();
    loop {
        let batch = bus.fetch(topic, 0, offset, 1000).await?;
        let got = !batch.is_empty();
        for r in batch {
            offset = r.offset + 1;
            let Ok(rec) = serde_json::from_slice::<JournalRecord>(&r.value) else {
                continue;
            };
            if rec.claim != claim {
                continue;
            }
            state.apply(&rec);
            last_alive = Instant::now();
        }
        // Not when one run ended: the claim may run several plugins in turn.
        if state.complete {
            return Ok(Standby::Finished);
        }
        if last_alive.elapsed() >= takeover_after {
            let generation = state.takeovers + 1;
            let key = format!("{claim}#takeover-{generation}");
            match claim_noting(bus, claims_topic, &key, host, None).await?.0 {
                Claim::Won => {
                    tracing::warn!(
                        claim,
                        coordinator = ?state.coordinator,
                        silent_secs = last_alive.elapsed().as_secs(),
                        "The coordinator stopped; this host takes the run over."
                    );
                    state.takeovers = generation;
                    return Ok(Standby::TakeOver(state));
                }
                Claim::Lost { by } => {
                    tracing::info!(claim, by = %by, "Another host takes the run over; standing by.");
                    state.takeovers = generation;
                    last_alive = Instant::now();
                }
            }
        }
        if !got {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: &str) -> TaskSpec {
        TaskSpec {
            key: key.into(),
            kind: "k".into(),
            payload: "{}".into(),
            phase: 0,
        }
    }

    fn rec(host: &str, entry: Entry) -> JournalRecord {
        JournalRecord {
            claim: "c".into(),
            host: host.into(),
            at_ms: 0,
            entry,
        }
    }

    #[test]
    fn the_frontier_is_rebuilt_from_the_journal_in_order() {
        let mut s = RunState::default();
        s.apply(&rec(
            "a",
            Entry::Journal(JournalEvent::Start {
                run_id: "r".into(),
                plugin: "p".into(),
                plugin_hash: "h".into(),
                started_at_ms: 5,
                seeds: vec![spec("s1"), spec("s2"), spec("s3")],
            }),
        ));
        s.apply(&rec(
            "a",
            Entry::Journal(JournalEvent::Done {
                run_id: "r".into(),
                key: "s1".into(),
                follow_ups: vec![spec("c1"), spec("s2")],
            }),
        ));
        s.apply(&rec(
            "a",
            Entry::Journal(JournalEvent::Failed {
                run_id: "r".into(),
                failure: TaskFailure {
                    key: "s3".into(),
                    kind: "k".into(),
                    error_kind: "parse".into(),
                    error: "x".into(),
                    attempts: 3,
                },
            }),
        ));
        s.apply(&rec("a", Entry::Heartbeat));
        let run = s.unfinished().next().unwrap();
        assert_eq!(run.run.as_ref().unwrap().plugin_hash, "h");
        let adopted = run.adopted();
        let keys: Vec<(&str, &str)> = adopted
            .iter()
            .map(|t| match t {
                AdoptedTask::Queued(s) => (s.key.as_str(), "queued"),
                AdoptedTask::Done(s) => (s.key.as_str(), "done"),
                AdoptedTask::Failed(s, _) => (s.key.as_str(), "failed"),
            })
            .collect();
        // The follow-up already seen (s2) is not queued twice.
        assert_eq!(
            keys,
            [
                ("s1", "done"),
                ("s2", "queued"),
                ("s3", "failed"),
                ("c1", "queued")
            ]
        );
        assert_eq!(run.counts(), (1, 1, 2));
        s.apply(&rec(
            "b",
            Entry::Takeover {
                run_id: "r".into(),
                generation: 1,
            },
        ));
        assert_eq!(s.takeovers, 1);
        assert_eq!(s.coordinator.as_deref(), Some("b"));
        s.apply(&rec(
            "b",
            Entry::Journal(JournalEvent::End {
                run_id: "r".into(),
                status: "finished".into(),
            }),
        ));
        assert!(s.unfinished().next().is_none());
        assert_eq!(s.ended_plugins(), ["p"]);
        // One run ended is not the claim's end: another plugin may follow.
        assert!(!s.complete);
        s.apply(&rec("b", Entry::Complete));
        assert!(s.complete);
    }

    #[test]
    fn records_round_trip_as_json() {
        let r = rec(
            "a",
            Entry::Journal(JournalEvent::Done {
                run_id: "r".into(),
                key: "k".into(),
                follow_ups: vec![spec("c")],
            }),
        );
        let back: JournalRecord = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_standby_waits_two_sessions() {
        assert_eq!(
            takeover_after(Duration::from_secs(10)),
            Duration::from_secs(20)
        );
        assert_eq!(
            heartbeat_interval(Duration::from_secs(9)),
            Duration::from_secs(3)
        );
    }
}
