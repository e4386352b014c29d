//! The worker's side: consume the tasks topic in the workers group, run
//! each task here under this host's own plugin config ([`worker_config`]),
//! publish its outcome to the coordinator, and only then commit its offset.
//!
//! **Politeness is the group's.** `[http.politeness]` limits are what the
//! whole group may send to a host. A task carries no URL, so the group cannot
//! route a host's traffic to one worker; instead each worker enforces the
//! part of every limit that matches its part of the tasks topic: owning `k`
//! of its `n` partitions, `k/n` ([`Share`]). The coordinator spreads attempts
//! over the partitions, so the shares add up to the configured rate. After
//! every rebalance the worker recomputes its share from its assignment
//! ([`WorkerContext::post_rebalance`], [`share_of`]) and sets it on the
//! process's [`crate::http::politeness::FleetShare`]; every host's gate uses
//! it from its next request on. When the worker stops, the process is back
//! to the whole.
//!
//! Between an eager rebalance's revoke and assign a worker owns nothing and
//! keeps one partition's share (its tasks in flight finish, slowly). During a
//! rebalance two members may briefly both enforce a share of the same
//! partitions: on Apache Kafka the eager protocol revokes everywhere before
//! it assigns, so this lasts no longer than the callbacks; tansu 0.6 has no
//! join barrier and a follower gets its new set about 3 s after the leader
//! (`/tmp/tansu-groups/REPORT.md`, shortfall B), so there the group may run
//! above its rate for up to a heartbeat interval after a member joins.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::bus::ProduceRecord;
use crate::bus::kafka::{ClientRole, client_config};
use crate::contract::RunInfo;
use crate::engine::LoadedPlugin;
use crate::http::politeness::{FleetShare, Share};
use crate::metrics::member::WorkerStatus;
use crate::run::{RunContext, TaskOutcome, execute_task};
use crate::trigger::OffsetTracker;

use super::{DistributedError, ResultMessage, TaskMessage, ensure_topics, kafka_settings};
use crate::time::now_ms;

/// Publishing a task result waits out any bus outage (the task's offset is
/// committed only after it lands): 100 ms doubling to 5 s, unbounded.
const RESULT_RETRY: crate::backoff::Backoff =
    crate::backoff::Backoff::doubling(Duration::from_millis(100), Duration::from_secs(5));

/// How long a rebalance callback waits for the tasks topic's metadata when
/// it was assigned a partition beyond the count it knew.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// The worker's politeness share when it owns `owned` of the tasks topic's
/// partitions and last knew the topic to have `known`: a partition id at or
/// past `known` means partitions were added, and the count is at least the
/// highest id plus one.
pub fn share_of(owned: &[i32], known: usize) -> Share {
    Share::of_partitions(owned.len(), partition_count(owned, known))
}

fn partition_count(owned: &[i32], known: usize) -> usize {
    let seen = owned
        .iter()
        .map(|p| (*p).max(0) as usize + 1)
        .max()
        .unwrap_or(0);
    known.max(seen)
}

/// Logs partition assignments, so operators (and tests) see the split, and
/// keeps this process's politeness share in step with them.
struct WorkerContext {
    tasks_topic: String,
    /// The tasks topic's partitions as last known (0: unknown).
    partitions: AtomicUsize,
    fleet: FleetShare,
    /// What `crawlhost worker --metrics-listen` shows.
    status: Arc<WorkerStatus>,
}

impl WorkerContext {
    /// Recompute the share from the assignment now in force (after the
    /// callback's assign, unassign or incremental change).
    fn update_share(&self, base: &rdkafka::consumer::BaseConsumer<Self>) {
        let owned: Vec<i32> = match base.assignment() {
            Ok(tpl) => tpl
                .elements_for_topic(&self.tasks_topic)
                .iter()
                .map(|e| e.partition())
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "Worker cannot read its assignment; its politeness share stays.");
                return;
            }
        };
        let mut known = self.partitions.load(Ordering::Relaxed);
        if partition_count(&owned, known) > known {
            // Partitions were added (or the count was never read): ask.
            if let Ok(meta) = base.fetch_metadata(Some(&self.tasks_topic), METADATA_TIMEOUT)
                && let Some(t) = meta.topics().iter().find(|t| t.name() == self.tasks_topic)
            {
                known = known.max(t.partitions().len());
            }
            known = partition_count(&owned, known);
            self.partitions.store(known, Ordering::Relaxed);
        }
        self.status.member.set_assigned(
            owned
                .iter()
                .map(|p| (self.tasks_topic.clone(), (*p).max(0) as u32)),
        );
        let share = share_of(&owned, known);
        if share != self.fleet.get() {
            tracing::info!(owned = owned.len(), partitions = known, share = %share, "Worker enforces its share of every host's politeness limits.");
        }
        self.fleet.set(share);
    }
}

impl ClientContext for WorkerContext {}

impl ConsumerContext for WorkerContext {
    fn post_rebalance(
        &self,
        base: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(partitions = ?parts, "Worker assigned task partitions.");
                self.status.member.add_rebalance();
                self.update_share(base);
            }
            Rebalance::Revoke(tpl) => {
                let parts: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(partitions = ?parts, "Worker task partitions revoked.");
                self.update_share(base);
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "Worker rebalance failed."),
        }
    }
}

/// Run tasks of the workers group until `shutdown` turns true, then finish
/// the tasks in flight, commit, and leave the group.
pub async fn run_worker(
    ctx: RunContext,
    plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    host_id: String,
    shutdown: watch::Receiver<bool>,
) -> Result<u64, DistributedError> {
    run_worker_observed(ctx, plugins, host_id, shutdown, Arc::default()).await
}

/// [`run_worker`], reporting its assignment, rebalances and attempts to
/// `status` (for `crawlhost worker --metrics-listen`).
pub async fn run_worker_observed(
    ctx: RunContext,
    plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    host_id: String,
    mut shutdown: watch::Receiver<bool>,
    status: Arc<WorkerStatus>,
) -> Result<u64, DistributedError> {
    let kafka = kafka_settings(&ctx)?;
    ensure_topics(ctx.bus.as_ref(), &kafka).await?;
    let session = kafka.session_timeout.as_millis().to_string();
    let heartbeat = (kafka.session_timeout.as_millis() / 3).max(100).to_string();
    // A task may run for its whole deadline between two polls of the group.
    let max_poll = (ctx.settings.sandbox.task_timeout.as_millis() * 2 + 60_000)
        .max(300_000)
        .to_string();
    let group = kafka.workers_group();
    let fleet = ctx.settings.http.politeness.fleet.clone();
    let partitions = ctx
        .bus
        .topics()
        .await?
        .into_iter()
        .find(|(t, _)| *t == kafka.tasks_topic)
        .map_or(0, |(_, n)| n as usize);
    let worker_context = WorkerContext {
        tasks_topic: kafka.tasks_topic.clone(),
        partitions: AtomicUsize::new(partitions),
        fleet: fleet.clone(),
        status: status.clone(),
    };
    let consumer: StreamConsumer<WorkerContext> = client_config(
        &kafka,
        ClientRole::Consumer,
        &[
            ("group.id", group.as_str()),
            ("session.timeout.ms", session.as_str()),
            ("heartbeat.interval.ms", heartbeat.as_str()),
            ("max.poll.interval.ms", max_poll.as_str()),
        ],
    )
    .create_with_context(worker_context)
    .map_err(|e| DistributedError::Consumer(e.to_string()))?;
    consumer
        .subscribe(&[kafka.tasks_topic.as_str()])
        .map_err(|e| DistributedError::Consumer(e.to_string()))?;
    tracing::info!(host = %host_id, group = %group, topic = %kafka.tasks_topic, "Worker joined the task group.");

    let concurrency = ctx.settings.run.concurrency.max(1);
    let worker_ctx = RunContext {
        journal: None,
        remote: None,
        ..ctx.clone()
    };
    let mut trackers: HashMap<i32, OffsetTracker> = HashMap::new();
    let mut running: JoinSet<(i32, u64)> = JoinSet::new();
    // Received but not started. The consumer is polled even when every slot
    // is busy, so group rebalances (another host joining or dying) are never
    // held up by this host's long tasks; a full buffer pauses fetching
    // instead.
    let mut queued: VecDeque<(i32, u64, Vec<u8>)> = VecDeque::new();
    let high_water = concurrency * 4;
    let mut paused = false;
    let mut done = 0u64;
    let mut stopping = *shutdown.borrow();
    loop {
        while !stopping && running.len() < concurrency {
            let Some((partition, offset, payload)) = queued.pop_front() else {
                break;
            };
            let (wctx, plugins, host_id, results_topic, status) = (
                worker_ctx.clone(),
                plugins.clone(),
                host_id.clone(),
                kafka.results_topic.clone(),
                status.clone(),
            );
            running.spawn(async move {
                work_one(
                    wctx,
                    &plugins,
                    &host_id,
                    &results_topic,
                    partition,
                    &payload,
                    &status,
                )
                .await;
                (partition, offset)
            });
        }
        let want_pause = queued.len() >= high_water;
        if want_pause != paused
            && let Ok(assignment) = consumer.assignment()
        {
            let _ = if want_pause {
                consumer.pause(&assignment)
            } else {
                consumer.resume(&assignment)
            };
            paused = want_pause;
        }
        if stopping && running.is_empty() {
            break;
        }
        tokio::select! {
            received = consumer.recv(), if !stopping => {
                let m = match received {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "Worker cannot read the tasks topic; retrying.");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let (partition, offset) = (m.partition(), m.offset().max(0) as u64);
                let tracker = trackers.entry(partition).or_insert_with(|| OffsetTracker::new(offset));
                if offset < tracker.position() {
                    // Redelivered after a rebalance: start over from here.
                    *tracker = OffsetTracker::new(offset);
                }
                tracker.start(offset);
                queued.push_back((partition, offset, m.payload().unwrap_or_default().to_vec()));
                if paused && queued.len() >= high_water {
                    // A rebalance may have handed over unpaused partitions.
                    if let Ok(assignment) = consumer.assignment() {
                        let _ = consumer.pause(&assignment);
                    }
                }
            }
            Some(joined) = running.join_next() => {
                let Ok((partition, offset)) = joined else {
                    // A panic in host code: the offset stays uncommitted and
                    // the task is redelivered.
                    continue;
                };
                done += 1;
                if let Some(position) = trackers.get_mut(&partition).and_then(|t| t.finish(offset)) {
                    let mut tpl = TopicPartitionList::new();
                    let _ = tpl.add_partition_offset(&kafka.tasks_topic, partition, Offset::Offset(position as i64));
                    if let Err(e) = consumer.commit(&tpl, rdkafka::consumer::CommitMode::Async) {
                        // Rebalanced away: the new owner runs it again.
                        tracing::debug!(partition, error = %e, "Commit of a task offset failed.");
                    }
                }
            }
            changed = shutdown.changed(), if !stopping => {
                if changed.is_err() || *shutdown.borrow() {
                    stopping = true;
                }
            }
        }
    }
    // Tasks received but not started are not committed: whoever owns their
    // partition next runs them. Leave the group now rather than at session
    // timeout.
    if !queued.is_empty() {
        tracing::info!(
            tasks = queued.len(),
            "Worker stopping; unstarted tasks go back to the group."
        );
    }
    consumer.unsubscribe();
    // Closing the consumer runs its last revoke; after that this process is
    // no longer a member and enforces the whole limits again.
    drop(consumer);
    fleet.set(Share::WHOLE);
    Ok(done)
}

/// The plugin config a worker runs a task with: its own operator's
/// (`[plugins.<name>] config` over the manifest's defaults), never the task
/// message's. Anyone who can write the tasks topic could otherwise widen the
/// plugin's egress (a `{base_url}` host pattern) or change what it does; the
/// message's copy only has to agree, and a task whose copy differs (a
/// forged message, or a coordinator configured otherwise) is refused, naming
/// the keys that differ (not their values, which may be private).
pub fn worker_config(
    manifest: &crate::contract::PluginManifest,
    operator: &BTreeMap<String, String>,
    message: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let own = crate::manifest::effective_config(manifest, operator).map_err(|e| {
        format!(
            "this worker's config for `{}` is invalid: {e}",
            manifest.name
        )
    })?;
    let theirs: BTreeMap<&str, &str> = message
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut differ: Vec<&str> = own
        .iter()
        .filter(|(k, v)| theirs.get(k.as_str()) != Some(&v.as_str()))
        .map(|(k, _)| k.as_str())
        .collect();
    differ.extend(theirs.keys().filter(|k| !own.contains_key(**k)));
    // Duplicate keys in the message are a mismatch too.
    if !differ.is_empty() || theirs.len() != message.len() {
        differ.sort_unstable();
        differ.dedup();
        return Err(format!(
            "the task message's config for `{}` differs from this worker's in {} \
             (workers use their own [plugins.{}] config; give every host the same)",
            manifest.name,
            if differ.is_empty() {
                "repeated keys".to_string()
            } else {
                differ.join(", ")
            },
            manifest.name
        ));
    }
    Ok(own.into_iter().collect())
}

/// Run one task message and publish its outcome.
async fn work_one(
    ctx: RunContext,
    plugins: &BTreeMap<String, Arc<LoadedPlugin>>,
    host_id: &str,
    results_topic: &str,
    partition: i32,
    payload: &[u8],
    status: &WorkerStatus,
) {
    let msg: TaskMessage = match serde_json::from_slice(payload) {
        Ok(m) => m,
        Err(e) => {
            // Nobody waits for it in a form we can answer; skip it.
            tracing::error!(error = %e, "Unreadable task message skipped.");
            return;
        }
    };
    let key = msg.task.key.clone();
    if msg.expires_at_ms.is_some_and(|at| now_ms() > at) {
        tracing::info!(task = %key, run = %msg.run_id, "Skipping an attempt its coordinator stopped waiting for.");
        return;
    }
    let outcome = match plugins.get(&msg.plugin) {
        None => TaskOutcome::Failed {
            retry: "permanent".into(),
            error_kind: "remote".into(),
            error: format!("plugin `{}` is not loaded on host {host_id}", msg.plugin),
        },
        Some(plugin) => {
            if plugin.manifest.version != msg.plugin_version {
                tracing::warn!(plugin = %msg.plugin, here = %plugin.manifest.version, run = %msg.plugin_version, "Running a task with another version of the plugin than its run.");
            }
            let operator = ctx.settings.plugin_values(&msg.plugin);
            match worker_config(&plugin.manifest, &operator, &msg.config) {
                Err(error) => {
                    tracing::error!(plugin = %msg.plugin, task = %key, run = %msg.run_id, coordinator = %msg.coordinator, error = %error, "Task refused: its plugin config is not this worker's.");
                    TaskOutcome::Failed {
                        retry: "permanent".into(),
                        error_kind: "remote".into(),
                        error: format!("host {host_id}: {error}"),
                    }
                }
                Ok(config) => {
                    let info = RunInfo {
                        run_id: msg.run_id.clone(),
                        started_at_ms: msg.started_at_ms,
                        config,
                    };
                    tracing::debug!(plugin = %msg.plugin, task = %key, run = %msg.run_id, "Worker runs a task.");
                    execute_task(ctx.clone(), plugin.clone(), info, msg.task.clone().into()).await
                }
            }
        }
    };
    status.task_finished(&msg.plugin, matches!(outcome, TaskOutcome::Done { .. }));
    let result = ResultMessage {
        attempt_id: msg.attempt_id,
        coordinator: msg.coordinator.clone(),
        partition: Some(partition),
        worker: host_id.to_string(),
        task_key: key.clone(),
        outcome,
    };
    let value = serde_json::to_vec(&result).unwrap_or_default();
    let record = ProduceRecord {
        topic: results_topic.to_string(),
        key: Some(msg.coordinator.into_bytes()),
        value,
        headers: vec![("crawlhost-task".into(), key.clone().into_bytes())],
        timestamp_ms: now_ms(),
    };
    // Retried until it is acknowledged (or stored for forwarding): the
    // offset is committed only after this returns.
    let mut retry = RESULT_RETRY.start();
    while let Err(e) = ctx.bus.produce(vec![record.clone()]).await {
        tracing::warn!(task = %key, error = %e, "Cannot publish a task result; retrying.");
        tokio::time::sleep(retry.next_wait()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20, item 5: the share follows the assignment.
    #[test]
    fn the_politeness_share_follows_the_assignment() {
        let parts = |s: Share| s.parts();
        // A third of 12 partitions; all of them; none (between an eager
        // revoke and the next assign: one partition's worth).
        assert_eq!(parts(share_of(&[0, 1, 2, 3], 12)), (1, 3));
        assert_eq!(share_of(&(0..12).collect::<Vec<_>>(), 12), Share::WHOLE);
        assert_eq!(parts(share_of(&[], 12)), (1, 12));
        // Partitions added since the count was read: at least the highest
        // id plus one.
        assert_eq!(parts(share_of(&[12, 13], 12)), (1, 7));
        // Count unknown and nothing owned: the whole (not a worker yet).
        assert_eq!(share_of(&[], 0), Share::WHOLE);
        // Three members of any split add up to the whole.
        let split = [vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10, 11]];
        let sum: f64 = split.iter().map(|p| share_of(p, 12).fraction()).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    }

    /// Issue 15, item 6: the worker's own config, and only when the
    /// message's copy agrees with it.
    #[test]
    fn a_worker_runs_with_its_own_config_and_refuses_another() {
        use crate::contract::ConfigKey;
        let mut manifest = crate::contract::test_manifest("echo");
        manifest.hosts = vec!["{base_url}".into()];
        manifest.config = ["base_url", "tasks"]
            .map(|n| ConfigKey {
                name: n.into(),
                description: String::new(),
                default_value: Some("d".into()),
                required: false,
            })
            .into();
        let operator: BTreeMap<String, String> =
            [("base_url".to_string(), "http://site".to_string())].into();
        let own = vec![
            ("base_url".to_string(), "http://site".to_string()),
            ("tasks".to_string(), "d".to_string()),
        ];
        assert_eq!(worker_config(&manifest, &operator, &own).unwrap(), own);
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        for (forged, named) in [
            (
                vec![pair("base_url", "http://evil"), pair("tasks", "d")],
                "base_url",
            ),
            (vec![pair("base_url", "http://site")], "tasks"),
            (
                vec![
                    pair("base_url", "http://site"),
                    pair("tasks", "d"),
                    pair("x", "1"),
                ],
                "x",
            ),
            (
                vec![
                    pair("base_url", "http://site"),
                    pair("tasks", "d"),
                    pair("tasks", "d"),
                ],
                "repeated",
            ),
        ] {
            let err = worker_config(&manifest, &operator, &forged).unwrap_err();
            assert!(err.contains(named) && !err.contains("evil"), "{err}");
        }
    }
}
