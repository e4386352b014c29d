//! Topic triggers: a plugin whose manifest lists `triggers` gets one `plan`
//! per record of those topics.
//!
//! This module owns the trigger consumer: for every trigger topic and
//! partition it reads from the plugin's own consumer group position
//! (`<group_prefix>.trigger.<plugin>`, earliest when the group has none),
//! runs the plugin with [`PlanInput::Trigger`] for each record — one run, so
//! one `plan`, per record — and commits the position past a record only
//! after that run's tasks are done. Several records run at once (up to
//! `concurrency`); the committed position only ever moves past a contiguous
//! prefix of finished records ([`OffsetTracker`]), so a crash re-plans the
//! unfinished ones and never skips one.
//!
//! A run that cannot complete (plan failed, bad config) is tried again up to
//! [`MAX_TRIGGER_ATTEMPTS`] times; after that the trigger record goes to the
//! dead-letter topic with the cause in `crawlhost-error`, and the position
//! moves on. Tasks that failed for good are in the run's summary, as for
//! any run; the record counts as handled.
//!
//! **Coverage.** One triggered run covers one trigger record (one brand), so
//! runs are not compared with each other for drift. A `--once` pass
//! ([`Until::CaughtUp`]) that handled at least one record is: its runs'
//! coverage adds up into [`TriggerReport::coverage`] and is checked against
//! the plugin's baseline like a scheduled run ([`crate::coverage`]): field
//! coverage and vanished flags, which are shares of the records and do not
//! depend on how many trigger records the pass found. Record counts do, so
//! a pass raises no volume alarm.
//!
//! On Kafka the consumer is a member of the plugin's trigger group, so
//! consumers of one plugin on several hosts share the trigger partitions
//! (see [`consume`]); on the embedded bus one consumer reads every
//! partition through fetch/commit calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::bus::reader::{GroupChange, GroupMember, PartitionReader};
use crate::bus::{BusError, ConsumedRecord, ProduceRecord};
use crate::contract::{BusRecord, PlanInput};
use crate::coverage::{DriftAlarm, DriftCheck, RunCoverage};
use crate::engine::LoadedPlugin;
use crate::run::{CurrentPlugin, RunContext, RunRequest, RunSummary, execute_run};

/// Runs a trigger record gets before it goes to the dead-letter topic.
pub const MAX_TRIGGER_ATTEMPTS: u32 = 3;

/// Errors that stop the trigger consumer.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("plugin `{0}` declares no trigger topics")]
    NoTriggers(String),
    /// A trigger topic the operator did not grant, or one of the host's own.
    #[error("plugin `{plugin}` may not consume its triggers")]
    NotAllowed {
        plugin: String,
        #[source]
        source: crate::manifest::ManifestError,
    },
    #[error("trigger consumer for `{plugin}` failed on the bus")]
    Bus {
        plugin: String,
        #[source]
        source: BusError,
    },
}

/// How long to wait between polls when every trigger topic is read to the
/// end (only when following).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Records read per partition per poll.
const FETCH_MAX: usize = 100;

/// Committed positions move only past a contiguous prefix of finished
/// offsets. Pure bookkeeping for one partition.
#[derive(Debug, Clone, Default)]
pub struct OffsetTracker {
    /// Next offset to commit (everything below is finished).
    committed: u64,
    in_flight: BTreeSet<u64>,
    finished: BTreeSet<u64>,
}

impl OffsetTracker {
    /// A tracker whose committed position is `position`.
    pub fn new(position: u64) -> Self {
        Self {
            committed: position,
            ..Self::default()
        }
    }

    /// An offset was handed out.
    pub fn start(&mut self, offset: u64) {
        self.in_flight.insert(offset);
    }

    /// An offset finished; returns the new position to commit when it moved.
    pub fn finish(&mut self, offset: u64) -> Option<u64> {
        self.in_flight.remove(&offset);
        self.finished.insert(offset);
        let before = self.committed;
        // Everything below the lowest in-flight offset that is finished (or
        // was never handed out because the log skipped it) is done.
        let limit = self.in_flight.first().copied().unwrap_or(u64::MAX);
        while let Some(&first) = self.finished.first() {
            if first >= limit {
                break;
            }
            self.finished.pop_first();
            self.committed = self.committed.max(first + 1);
        }
        (self.committed > before).then_some(self.committed)
    }

    /// The position committed (or to commit) so far.
    pub fn position(&self) -> u64 {
        self.committed
    }

    /// Offsets handed out and not finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// What a trigger consumer did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TriggerReport {
    pub plugin: String,
    pub group: String,
    /// Trigger records handled (run completed, or dead-lettered).
    pub records: u64,
    /// Runs started (retries included).
    pub runs: u64,
    pub dead_letters: u64,
    /// The summary of every completed run, in completion order.
    pub summaries: Vec<RunSummary>,
    /// The field coverage of all those runs together.
    pub coverage: RunCoverage,
    /// Drift alarms of a `--once` pass against the plugin's baseline.
    pub drift: Vec<DriftAlarm>,
    /// Whether and against what the pass was checked for drift.
    pub drift_check: DriftCheck,
}

/// The consumer group of `plugin`'s triggers.
pub fn trigger_group(ctx: &RunContext, plugin: &str) -> String {
    let prefix = ctx
        .settings
        .kafka
        .as_ref()
        .map(|k| k.group_prefix.clone())
        .unwrap_or_else(|| "crawlhost".to_string());
    format!("{prefix}.trigger.{plugin}")
}

/// Refuse a plugin's triggers unless the operator granted every trigger
/// topic (`[plugins.<name>] allow_triggers`) and none is one of the host's
/// own topics under their configured names.
fn check_grants(ctx: &RunContext, plugin: &LoadedPlugin) -> Result<(), TriggerError> {
    let settings = &ctx.settings;
    let internal = crate::config::internal_topics(settings);
    let allowed = settings
        .plugins
        .get(&plugin.manifest.name)
        .map(|p| p.allow_triggers.as_slice())
        .unwrap_or_default();
    crate::manifest::check_trigger_grants(&plugin.manifest, allowed, &internal).map_err(|source| {
        TriggerError::NotAllowed {
            plugin: plugin.manifest.name.clone(),
            source,
        }
    })
}

/// The record as the plugin sees it: key and value as text (lossy for bytes
/// that are not UTF-8).
pub fn to_bus_record(r: &ConsumedRecord) -> BusRecord {
    BusRecord {
        topic: r.topic.clone(),
        partition: r.partition,
        offset: r.offset,
        key: r
            .key
            .as_ref()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        value: String::from_utf8_lossy(&r.value).into_owned(),
        timestamp_ms: r.timestamp_ms,
    }
}

/// How the consumer stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Handle every record present when it started, then return.
    CaughtUp,
    /// Keep waiting for new records (the long-running form).
    Forever,
}

/// Per trigger partition this consumer reads: the tracker of its records
/// in flight and the next offset to read.
type Partitions = BTreeMap<(String, u32), (OffsetTracker, u64)>;

/// Run `plugin`'s triggers: `concurrency` runs at once.
///
/// On Kafka the consumer is a member of the plugin's trigger group
/// ([`crate::bus::Bus::group_reader`]): consumers of one plugin on several
/// hosts split the trigger partitions, each record is planned by the member
/// that owns its partition, and positions are committed as that member. A
/// partition taken away mid-run is re-planned from its committed position
/// by its next owner (at least once: the runs in flight at the rebalance
/// may run twice). `--once` ([`Until::CaughtUp`]) ends when the whole group
/// has committed the end offsets present at start. On the embedded bus one
/// consumer reads every partition.
pub async fn consume(
    ctx: RunContext,
    plugin: Arc<LoadedPlugin>,
    concurrency: usize,
    until: Until,
) -> Result<TriggerReport, TriggerError> {
    consume_observed(ctx, plugin, concurrency, until, Observe::default()).await
}

/// What a trigger consumer reports while it runs, for `crawlhost triggers
/// --metrics-listen` ([`crate::metrics::roles::TriggersRole`]).
#[derive(Debug, Clone, Default)]
pub struct Observe {
    /// The trigger partitions it holds and its group's rebalances, updated
    /// on every pass of the loop.
    pub member: Arc<crate::metrics::member::MemberStatus>,
    /// The triggered runs' counters (runs, tasks, fetches, coverage).
    pub metrics: Option<Arc<crate::metrics::PluginMetrics>>,
    /// Stop gracefully once this is set: no new record is read or started,
    /// the runs in flight finish and are committed, the consumer leaves its
    /// group and returns its report. Records read but not started are not
    /// committed, so they are planned later (by this plugin's next consumer).
    pub stop: Option<crate::shutdown::Shutdown>,
}

/// [`consume`], reporting to `observe` as it goes.
pub async fn consume_observed(
    ctx: RunContext,
    plugin: Arc<LoadedPlugin>,
    concurrency: usize,
    until: Until,
    observe: Observe,
) -> Result<TriggerReport, TriggerError> {
    let name = plugin.manifest.name.clone();
    if plugin.manifest.triggers.is_empty() {
        return Err(TriggerError::NoTriggers(name));
    }
    check_grants(&ctx, &plugin)?;
    let group = trigger_group(&ctx, &name);
    let bus = ctx.bus.clone();
    let bus_err = |source| TriggerError::Bus {
        plugin: name.clone(),
        source,
    };
    let member = bus
        .group_reader(&group, &plugin.manifest.triggers)
        .map_err(bus_err)?;
    let result = consume_with(
        &ctx,
        &plugin,
        &group,
        member.as_deref(),
        concurrency,
        until,
        &observe,
    )
    .await;
    if let Some(m) = member.as_deref().and_then(|r| r.group()) {
        m.leave().await;
    }
    observe.member.set_assigned([]);
    result
}

async fn consume_with(
    ctx: &RunContext,
    plugin: &Arc<LoadedPlugin>,
    group: &str,
    reader: Option<&dyn PartitionReader>,
    concurrency: usize,
    until: Until,
    observe: &Observe,
) -> Result<TriggerReport, TriggerError> {
    let name = plugin.manifest.name.clone();
    let bus = ctx.bus.clone();
    let bus_err = |source| TriggerError::Bus {
        plugin: name.clone(),
        source,
    };
    let member = reader.and_then(|r| r.group());
    let mut report = TriggerReport {
        plugin: name.clone(),
        group: group.to_string(),
        ..TriggerReport::default()
    };
    let started_at_ms = crate::time::now_ms();

    let mut partitions: Partitions = BTreeMap::new();
    // Where `CaughtUp` stops: the end offsets when the consumer started
    // (every partition's, in group mode).
    let mut stop_at: BTreeMap<(String, u32), u64> = BTreeMap::new();
    let mut known_topics: BTreeSet<String> = BTreeSet::new();
    let mut running: JoinSet<(ConsumedRecord, u32, RunSummary)> = JoinSet::new();
    let mut waiting: Vec<(ConsumedRecord, u32)> = Vec::new();
    let concurrency = concurrency.max(1);
    let mut first_pass = true;
    let mut last_group_check: Option<std::time::Instant> = None;

    loop {
        // Discover trigger topics (they may appear later) and their
        // partitions: all of them, or (group mode) their ends for `--once`.
        if known_topics.len() < plugin.manifest.triggers.len() {
            let topics = bus.topics().await.map_err(bus_err)?;
            for trigger in &plugin.manifest.triggers {
                if known_topics.contains(trigger) {
                    continue;
                }
                let Some((_, count)) = topics.iter().find(|(t, _)| t == trigger) else {
                    if first_pass {
                        tracing::info!(plugin = %name, topic = %trigger, "Trigger topic does not exist yet.");
                    }
                    continue;
                };
                for p in 0..*count {
                    let end = bus.end_offset(trigger, p).await.map_err(bus_err)?;
                    if first_pass {
                        stop_at.insert((trigger.clone(), p), end);
                    }
                    if member.is_none() {
                        let committed = bus.committed(group, trigger, p).await.map_err(bus_err)?;
                        let position = committed.unwrap_or(0);
                        partitions.insert(
                            (trigger.clone(), p),
                            (OffsetTracker::new(position), position),
                        );
                    }
                }
                known_topics.insert(trigger.clone());
            }
        }
        first_pass = false;
        if let (Some(reader), Some(m)) = (reader, member) {
            apply_changes(reader, m, &mut partitions, &mut waiting)
                .await
                .map_err(bus_err)?;
            observe.member.set_rebalances(m.rebalances());
        }
        observe.member.set_assigned(partitions.keys().cloned());

        let stopping = observe.stop.as_ref().is_some_and(|s| s.is_cancelled());
        if stopping {
            if !waiting.is_empty() {
                tracing::info!(plugin = %name, records = waiting.len(), "Stopping: trigger records read but not started are left uncommitted for the next consumer.");
                waiting.clear();
            }
            if running.is_empty() {
                tracing::info!(plugin = %name, "Trigger consumer stopped.");
                return Ok(report);
            }
        }

        // Read more when there is room.
        let mut read_any = false;
        if !stopping && waiting.len() < concurrency {
            let limit_of = |topic: &str, p: u32| match until {
                Until::CaughtUp => stop_at.get(&(topic.to_string(), p)).copied().unwrap_or(0),
                Until::Forever => u64::MAX,
            };
            match reader {
                Some(reader) if member.is_some() => {
                    let wait = if running.is_empty() {
                        POLL_INTERVAL / 5
                    } else {
                        Duration::ZERO
                    };
                    let batch = reader.poll(FETCH_MAX, wait).await.map_err(bus_err)?;
                    for r in batch {
                        let key = (r.topic.clone(), r.partition);
                        let Some((_, next)) = partitions.get_mut(&key) else {
                            continue;
                        };
                        if r.offset >= limit_of(&r.topic, r.partition) {
                            continue;
                        }
                        *next = r.offset + 1;
                        waiting.push((r, 1));
                        read_any = true;
                    }
                }
                _ => {
                    for ((topic, p), (_, next)) in partitions.iter_mut() {
                        let limit = limit_of(topic, *p);
                        if *next >= limit {
                            continue;
                        }
                        let batch = bus
                            .fetch(topic, *p, *next, FETCH_MAX)
                            .await
                            .map_err(bus_err)?;
                        if until == Until::CaughtUp
                            && batch.first().is_none_or(|r| r.offset >= limit)
                        {
                            // No record is left below the end taken at
                            // start: what remains there are transaction
                            // markers (not records).
                            *next = (*next).max(limit);
                        }
                        for r in batch {
                            if r.offset >= limit {
                                break;
                            }
                            *next = r.offset + 1;
                            waiting.push((r, 1));
                            read_any = true;
                        }
                    }
                }
            }
        }

        // Start runs.
        while running.len() < concurrency && !waiting.is_empty() {
            let (record, attempt) = waiting.remove(0);
            if let Some((tracker, _)) =
                partitions.get_mut(&(record.topic.clone(), record.partition))
            {
                tracker.start(record.offset);
            }
            let (ctx, plugin, metrics) = (ctx.clone(), plugin.clone(), observe.metrics.clone());
            report.runs += 1;
            running.spawn(async move {
                tracing::info!(plugin = %plugin.manifest.name, topic = %record.topic, partition = record.partition, offset = record.offset, attempt, "Trigger record: planning a run.");
                let request = RunRequest {
                    plugin: CurrentPlugin::new(plugin),
                    input: PlanInput::Trigger(to_bus_record(&record)),
                    shutdown: None,
                    metrics,
                };
                let summary = execute_run(ctx, request, &mut |_| {}).await;
                (record, attempt, summary)
            });
        }

        let idle = running.is_empty() && waiting.is_empty();
        if idle {
            let caught_up = match member {
                None => partitions
                    .iter()
                    .all(|(k, (_, next))| *next >= stop_at.get(k).copied().unwrap_or(0)),
                Some(m) => {
                    let due = last_group_check.is_none_or(|t| t.elapsed() >= POLL_INTERVAL);
                    until == Until::CaughtUp && m.rebalances() > 0 && due && {
                        last_group_check = Some(std::time::Instant::now());
                        group_caught_up(bus.as_ref(), m, &stop_at)
                            .await
                            .map_err(bus_err)?
                    }
                }
            };
            // A trigger topic that does not exist has nothing to catch up on.
            if until == Until::CaughtUp && caught_up {
                check_drift(ctx, plugin, started_at_ms, &mut report);
                return Ok(report);
            }
            if !read_any && member.is_none() {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            continue;
        }

        let Some(joined) = running.join_next().await else {
            continue;
        };
        let (record, attempt, summary) = match joined {
            Ok(done) => done,
            Err(e) => {
                // A panic in host code: the record stays uncommitted and
                // is planned again by the next consumer.
                return Err(bus_err(BusError::Storage(format!(
                    "trigger run crashed: {e}"
                ))));
            }
        };
        let key = (record.topic.clone(), record.partition);
        let handled = if let Some(fatal) = &summary.fatal {
            if attempt < MAX_TRIGGER_ATTEMPTS && partitions.contains_key(&key) {
                tracing::warn!(plugin = %name, offset = record.offset, attempt, error = %fatal, "Triggered run failed; trying again.");
                // Still in flight for its tracker: the position holds.
                waiting.push((record.clone(), attempt + 1));
                false
            } else if partitions.contains_key(&key) {
                dead_letter(ctx, &record, &name, fatal)
                    .await
                    .map_err(bus_err)?;
                report.dead_letters += 1;
                true
            } else {
                // The partition went to another member, which plans the
                // record again from the committed position.
                false
            }
        } else {
            true
        };
        report.coverage.merge(&summary.coverage);
        report.summaries.push(summary);
        if handled {
            report.records += 1;
            if let Some((tracker, _)) = partitions.get_mut(&key)
                && let Some(position) = tracker.finish(record.offset)
            {
                let committed = match member {
                    Some(m) => m.commit(&record.topic, record.partition, position).await,
                    None => {
                        bus.commit(group, &record.topic, record.partition, position)
                            .await
                    }
                };
                match committed {
                    Ok(()) => {}
                    Err(BusError::NotOwner(why)) => {
                        tracing::info!(plugin = %name, topic = %record.topic, partition = record.partition, reason = %why, "Trigger position not committed: the partition moved to another consumer.");
                    }
                    Err(e) => return Err(bus_err(e)),
                }
            }
        }
    }
}

/// Group mode: take the group's assignment changes. An assigned partition
/// is read from the group's committed position; a revoked one is dropped
/// with the records still waiting for it (its runs in flight finish, but
/// their positions are not committed here any more).
async fn apply_changes(
    reader: &dyn PartitionReader,
    member: &dyn GroupMember,
    partitions: &mut Partitions,
    waiting: &mut Vec<(ConsumedRecord, u32)>,
) -> Result<(), BusError> {
    for change in member.take_changes() {
        match change {
            GroupChange::Revoked(gone) => {
                for key in gone {
                    partitions.remove(&key);
                    waiting.retain(|(r, _)| {
                        (r.topic.as_str(), r.partition) != (key.0.as_str(), key.1)
                    });
                }
            }
            GroupChange::Assigned(given) => {
                for (topic, p) in given {
                    if partitions.contains_key(&(topic.clone(), p)) {
                        continue;
                    }
                    let position = member.committed(&topic, p).await?.unwrap_or(0);
                    match reader.seek(&topic, p, position).await {
                        Ok(()) => {}
                        // Revoked again meanwhile.
                        Err(_) if !member.owns(&topic, p) => continue,
                        Err(e) => return Err(e),
                    }
                    partitions.insert((topic, p), (OffsetTracker::new(position), position));
                }
            }
        }
    }
    Ok(())
}

/// Group mode, `--once`: whether the group has committed, for every trigger
/// partition, the end offset it had at start (or has only non-records left
/// below it, such as transaction markers).
async fn group_caught_up(
    bus: &dyn crate::bus::Bus,
    member: &dyn GroupMember,
    stop_at: &BTreeMap<(String, u32), u64>,
) -> Result<bool, BusError> {
    for ((topic, p), &end) in stop_at {
        let committed = member.committed(topic, *p).await?.unwrap_or(0);
        if committed < end {
            let left = bus.fetch(topic, *p, committed, 1).await?;
            if left.first().is_some_and(|r| r.offset < end) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Compare a finished `--once` pass with the plugin's baseline (when it
/// handled a record) and store it; fills the report's drift fields.
fn check_drift(
    ctx: &RunContext,
    plugin: &LoadedPlugin,
    started_at_ms: i64,
    report: &mut TriggerReport,
) {
    if report.records == 0 {
        report.drift_check = DriftCheck::Skipped {
            reason: "no trigger record was handled".into(),
        };
        return;
    }
    let name = &plugin.manifest.name;
    let run = crate::coverage::drift::Snapshot {
        run_id: format!("{name}-triggers-{started_at_ms}"),
        started_at_ms,
        plugin_version: plugin.manifest.version.clone(),
        coverage: report.coverage.clone(),
        alarms: Vec::new(),
    };
    // A pass's record count follows the number of trigger records it found
    // (all brands after a full source run, two after an incremental one):
    // no volume alarm (a drop of more than 100% never happens).
    let policy = crate::coverage::DriftPolicy {
        max_count_drop: 1.0,
        ..ctx.settings.drift.clone()
    };
    let store = crate::coverage::store::CoverageStore::new(&ctx.settings.data_dir);
    match store.check_and_record(&policy, name, run) {
        Ok((alarms, check)) => {
            for a in &alarms {
                tracing::warn!(plugin = %name, topic = %a.topic, field = a.field.as_deref().unwrap_or(""), kind = a.kind.as_str(), "Drift: {}", a.message);
            }
            report.drift = alarms;
            report.drift_check = check;
        }
        Err(e) => {
            let e = crate::error_text::chain(&e);
            tracing::error!(plugin = %name, error = %e, "Cannot keep the trigger pass's coverage; drift not checked.");
            report.drift_check = DriftCheck::Skipped {
                reason: format!("coverage store: {e}"),
            };
        }
    }
}

/// Send a trigger record that could not be planned to the dead-letter topic.
async fn dead_letter(
    ctx: &RunContext,
    record: &ConsumedRecord,
    plugin: &str,
    cause: &str,
) -> Result<(), BusError> {
    tracing::error!(plugin = %plugin, topic = %record.topic, partition = record.partition, offset = record.offset, cause = %cause, "Trigger record sent to the dead-letter topic.");
    let mut headers = record.headers.clone();
    headers.push(("crawlhost-error".into(), cause.as_bytes().to_vec()));
    headers.push((
        "crawlhost-original-topic".into(),
        record.topic.clone().into_bytes(),
    ));
    headers.push(("crawlhost-stage".into(), b"trigger".to_vec()));
    headers.push(("crawlhost-plugin".into(), plugin.as_bytes().to_vec()));
    ctx.bus
        .produce(vec![ProduceRecord {
            topic: ctx.settings.bus.dead_letter_topic.clone(),
            key: record.key.clone(),
            value: record.value.clone(),
            headers,
            timestamp_ms: record.timestamp_ms,
        }])
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_past_a_contiguous_finished_prefix() {
        let mut t = OffsetTracker::new(10);
        for o in 10..14 {
            t.start(o);
        }
        assert_eq!(t.finish(12), None, "10 and 11 still run");
        assert_eq!(t.finish(11), None);
        assert_eq!(t.finish(10), Some(13));
        assert_eq!(t.position(), 13);
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.finish(13), Some(14));
    }

    #[test]
    fn gaps_in_the_log_do_not_block_the_position() {
        // Offsets 20 and 21 do not exist (compaction, control records).
        let mut t = OffsetTracker::new(20);
        t.start(22);
        assert_eq!(t.finish(22), Some(23));
    }

    #[test]
    fn a_retried_offset_holds_the_position() {
        let mut t = OffsetTracker::new(0);
        t.start(0);
        t.start(1);
        assert_eq!(t.finish(1), None);
        assert_eq!(t.position(), 0);
        assert_eq!(t.finish(0), Some(2));
    }
}
