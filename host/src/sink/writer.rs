//! One Kafka partition's writer: records in, batches of objects out,
//! offsets committed after the objects are durable.
//!
//! [`PartitionWriter`] owns the open batch of one `(topic, partition)`: its
//! files (one per encoded partition, each encoding into a spool file), the
//! rotation state, and the protocol that makes a batch visible exactly once:
//!
//! 1. cut the batch at the current position (the rotation policy decides
//!    when) and finish its files;
//! 2. write the batch marker ([`super::marker`]): start, end, files;
//! 3. upload every file (in parallel, memory bounded by the parts semaphore);
//! 4. commit `end` for the sink's group on the bus;
//! 5. delete the marker.
//!
//! On start the writer reads its committed offset and looks for a marker at
//! exactly that offset. If there is one, the crash happened between 2 and 4:
//! the writer *replays* the batch (same records, same cut, same encoded
//! partitions: recorded runs for wall-clock partitioning), checks that it
//! produces the files the marker lists, creates only the objects that are
//! missing, and commits. Without a marker nothing of the batch can be
//! visible, since objects are only completed after step 2.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::de::IgnoredAny;
use serde_json::Value;

use super::SinkError;
use super::config::{NullBehavior, SinkSettings, Tolerance};
use super::encode::{FileEncoder, compact_json};
use super::marker::{BatchMarker, MARKER_VERSION, MarkerFile, Run};
use super::naming;
use super::partitioner::{Partitioner, RecordView, TimestampExtractor};
use super::rotation::{BatchClock, Reason};
use super::status::Status;
use super::store::{Store, WriteMode};
use crate::backoff::Backoff;
use crate::bus::reader::PartitionReader;
use crate::bus::{Bus, BusError, ConsumedRecord, ProduceRecord};

/// The wall clock, injectable for tests.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::time::now_ms()
    }
}

/// What every partition writer shares.
pub struct Core {
    pub settings: SinkSettings,
    pub store: Store,
    pub bus: Arc<dyn Bus>,
    /// Where records come from; when it is a consumer group member, offsets
    /// are read and committed through it (as the member).
    pub reader: Arc<dyn PartitionReader>,
    pub clock: Arc<dyn Clock>,
    /// Counters and the partition table the operator sees.
    pub stats: Arc<Status>,
    spool_seq: AtomicU64,
}

impl Core {
    pub fn new(
        settings: SinkSettings,
        store: Store,
        bus: Arc<dyn Bus>,
        reader: Arc<dyn PartitionReader>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            settings,
            store,
            bus,
            reader,
            clock,
            stats: Arc::default(),
            spool_seq: AtomicU64::new(0),
        }
    }

    /// The group's committed offset of a partition: through the group
    /// member when there is one, else from the bus.
    pub async fn committed_offset(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, SinkError> {
        match self.reader.group() {
            Some(member) => {
                bus_retry("reading the committed offset", || {
                    member.committed(topic, partition)
                })
                .await
            }
            None => {
                bus_retry("reading the committed offset", || {
                    self.bus.committed(&self.settings.group, topic, partition)
                })
                .await
            }
        }
    }

    /// Commit a partition's position: as the group member when there is
    /// one ([`SinkError::PartitionLost`] when the group took the partition
    /// away), else on the bus.
    async fn commit_offset(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
    ) -> Result<(), SinkError> {
        let done = match self.reader.group() {
            Some(member) => {
                bus_retry("committing the offset", || {
                    member.commit(topic, partition, offset)
                })
                .await
            }
            None => {
                bus_retry("committing the offset", || {
                    self.bus
                        .commit(&self.settings.group, topic, partition, offset)
                })
                .await
            }
        };
        match done {
            Err(SinkError::Bus(BusError::NotOwner(reason))) => Err(SinkError::PartitionLost {
                topic: topic.to_string(),
                partition,
                reason,
            }),
            other => other,
        }
    }

    fn marker_key(&self, topic: &str, partition: u32, start: u64) -> String {
        naming::marker_key(
            &self.settings.marker_prefix,
            &self.settings.group,
            topic,
            partition,
            start,
        )
    }
}

/// How the sink retries a bus call while the broker is unreachable:
/// doubling from 100 ms up to 10 s, for as long as it takes.
pub const BUS_RETRY: Backoff =
    Backoff::doubling(Duration::from_millis(100), Duration::from_secs(10));

/// Run a bus call until it succeeds or fails for a reason other than the
/// broker being unreachable.
pub async fn bus_retry<T, F, Fut>(what: &str, mut op: F) -> Result<T, SinkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BusError>>,
{
    let mut retry = BUS_RETRY.start();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(BusError::Unavailable(e)) => {
                let delay = retry.next_wait();
                tracing::warn!(
                    retry_in_ms = delay.as_millis() as u64,
                    "{what}: bus unavailable, retrying: {e}"
                );
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(SinkError::Bus(e)),
        }
    }
}

struct OpenFile {
    encoded: String,
    key: String,
    start: u64,
    encoder: FileEncoder,
}

/// Connect's error stage names, for the dead-letter context headers.
const STAGE_VALUE: &str = "VALUE_CONVERTER";
const STAGE_PUT: &str = "TASK_PUT";

/// The writer of one `(topic, partition)`.
pub struct PartitionWriter {
    topic: String,
    partition: u32,
    /// Committed offset: where the open batch starts.
    committed: u64,
    /// Next offset to process.
    position: u64,
    files: Vec<OpenFile>,
    index: HashMap<String, usize>,
    clock: BatchClock,
    runs: Vec<Run>,
    /// A batch being finished after a restart.
    replay: Option<BatchMarker>,
    /// The position moved back (to finish another run's batch); the reader
    /// must be moved too. See [`PartitionWriter::take_rewound`].
    rewound: bool,
    /// The group's committed offset at open, as stored.
    stored_commit: Option<u64>,
}

impl PartitionWriter {
    /// Resume `topic`/`partition` from the group's committed offset (0 when
    /// none), picking up a pending batch marker if the last run crashed
    /// while making a batch visible.
    pub async fn open(core: &Core, topic: &str, partition: u32) -> Result<Self, SinkError> {
        let committed = core.committed_offset(topic, partition).await?;
        let stored_commit = committed;
        let committed = committed.unwrap_or(0);
        let key = core.marker_key(topic, partition, committed);
        let replay = match core.store.get_small(&key).await? {
            None => None,
            Some(bytes) => {
                let marker: BatchMarker =
                    serde_json::from_slice(&bytes).map_err(|e| SinkError::Marker {
                        key: key.clone(),
                        reason: e.to_string(),
                    })?;
                if marker.version != MARKER_VERSION
                    || marker.topic != topic
                    || marker.partition != partition
                    || marker.start != committed
                    || marker.end <= marker.start
                {
                    return Err(SinkError::Marker {
                        key,
                        reason: format!(
                            "it does not describe a batch of {topic}/{partition} starting at {committed}"
                        ),
                    });
                }
                tracing::info!(
                    topic,
                    partition,
                    start = marker.start,
                    end = marker.end,
                    files = marker.files.len(),
                    "finishing a batch a previous run was making visible"
                );
                Some(marker)
            }
        };
        Ok(Self {
            topic: topic.to_string(),
            partition,
            committed,
            position: committed,
            files: Vec::new(),
            index: HashMap::new(),
            clock: BatchClock::default(),
            runs: Vec::new(),
            replay,
            rewound: false,
            stored_commit,
        })
    }

    /// The offset the group had committed when this writer opened, `None`
    /// when it had none.
    pub fn stored_commit(&self) -> Option<u64> {
        self.stored_commit
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The next offset this writer needs.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The committed offset.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Records in the open batch.
    pub fn open_records(&self) -> u64 {
        self.clock.records
    }

    /// Whether the position moved back since the last call: a rotation
    /// found another run's marker at the committed offset and this writer
    /// now replays that batch from [`PartitionWriter::position`]. The
    /// caller drops the records it still holds for this partition and reads
    /// again from there.
    pub fn take_rewound(&mut self) -> bool {
        std::mem::take(&mut self.rewound)
    }

    /// Whether a recovered batch is still being replayed.
    pub fn replaying(&self) -> bool {
        self.replay.is_some()
    }

    /// When the idle flush or schedule could next fire (wall-clock ms).
    pub fn next_wakeup(&self, core: &Core) -> Option<i64> {
        core.settings.rotation.next_wakeup(&self.clock)
    }

    /// Process one fetched record (records must come in offset order).
    pub async fn process(&mut self, core: &Core, rec: ConsumedRecord) -> Result<(), SinkError> {
        if rec.offset < self.position {
            return Ok(());
        }
        let s = &core.settings;
        let now = core.clock.now_ms();
        let trimmed = rec.value.trim_ascii();
        let is_null = trimmed.is_empty() || trimmed == b"null";
        let needs_value = match &s.partitioner {
            Partitioner::Field { .. } => true,
            Partitioner::Time { extractor, .. } => {
                matches!(extractor, TimestampExtractor::RecordField(_))
            }
            Partitioner::Default => false,
        };
        let mut parsed: Option<Value> = None;
        let line: Vec<u8> = if is_null {
            match s.null_behavior {
                NullBehavior::Ignore => {
                    core.stats.nulls_skipped.fetch_add(1, Ordering::Relaxed);
                    return self.skip(core, rec.offset).await;
                }
                NullBehavior::Fail => {
                    return self
                        .reject(
                            core,
                            &rec,
                            STAGE_VALUE,
                            "null value (behavior.on.null.values = fail)".to_string(),
                        )
                        .await;
                }
                NullBehavior::Write => b"null".to_vec(),
            }
        } else {
            if needs_value {
                match serde_json::from_slice::<Value>(trimmed) {
                    Ok(v) => parsed = Some(v),
                    Err(e) => {
                        return self
                            .reject(core, &rec, STAGE_VALUE, format!("value is not JSON: {e}"))
                            .await;
                    }
                }
            } else if let Err(e) = serde_json::from_slice::<IgnoredAny>(trimmed) {
                return self
                    .reject(core, &rec, STAGE_VALUE, format!("value is not JSON: {e}"))
                    .await;
            }
            compact_json(trimmed)
        };
        let view = RecordView {
            partition: rec.partition,
            timestamp_ms: rec.timestamp_ms,
            value: parsed.as_ref(),
        };
        let recorded = match &self.replay {
            Some(m) if s.partitioner.uses_wallclock() => m.run_for(rec.offset).map(str::to_string),
            _ => None,
        };
        let encoded = match recorded {
            Some(e) => e,
            None => match s.partitioner.encode(&view, now) {
                Ok(e) => e,
                Err(e) => return self.reject(core, &rec, STAGE_PUT, e.to_string()).await,
            },
        };
        let ts = s.partitioner.timestamp(&view, now).ok().flatten();
        let policy = &s.rotation;
        if self.replay.is_none()
            && let Some(reason) = policy.before_append(&self.clock, &encoded, ts, now)
        {
            self.rotate(core, reason).await?;
            if rec.offset != self.position {
                // The rotation found another run's marker and rewound to
                // finish that batch first; this record is fetched again.
                return Ok(());
            }
        }

        let idx = match self.index.get(&encoded) {
            Some(&i) => i,
            None => self.open_file(core, &encoded, rec.offset)?,
        };
        self.files[idx]
            .encoder
            .append(&line)
            .map_err(|e| SinkError::Spool(e.to_string()))?;
        policy.appended(&mut self.clock, &encoded, ts, now);
        if s.partitioner.uses_wallclock() && self.runs.last().is_none_or(|r| r.encoded != encoded) {
            self.runs.push(Run {
                from: rec.offset,
                encoded: encoded.clone(),
            });
        }
        self.position = rec.offset + 1;
        if self.replay.is_some() {
            return self.finish_replay_if_done(core).await;
        }
        if let Some(reason) = policy.after_append(&self.clock) {
            self.rotate(core, reason).await?;
        }
        Ok(())
    }

    fn open_file(&mut self, core: &Core, encoded: &str, start: u64) -> Result<usize, SinkError> {
        let s = &core.settings;
        let key = naming::object_key(
            &s.topics_dir,
            &self.topic,
            encoded,
            self.partition,
            start,
            s.pad_width,
            s.encoding.extension(),
        );
        let seq = core.spool_seq.fetch_add(1, Ordering::Relaxed);
        let spool = s.spool_dir.join(format!(
            "{}+{}+{}-{seq}.spool",
            self.topic, self.partition, start
        ));
        let encoder = FileEncoder::create(s.encoding, &spool)
            .map_err(|e| SinkError::Spool(format!("cannot create {}: {e}", spool.display())))?;
        self.files.push(OpenFile {
            encoded: encoded.to_string(),
            key,
            start,
            encoder,
        });
        self.index.insert(encoded.to_string(), self.files.len() - 1);
        Ok(self.files.len() - 1)
    }

    async fn skip(&mut self, core: &Core, offset: u64) -> Result<(), SinkError> {
        self.position = offset + 1;
        self.finish_replay_if_done(core).await
    }

    /// A record that cannot be written: stop, or skip it to the dead-letter
    /// topic, by `errors.tolerance`.
    async fn reject(
        &mut self,
        core: &Core,
        rec: &ConsumedRecord,
        stage: &str,
        error: String,
    ) -> Result<(), SinkError> {
        let s = &core.settings;
        if s.tolerance == Tolerance::None {
            return Err(SinkError::BadRecord {
                topic: rec.topic.clone(),
                partition: rec.partition,
                offset: rec.offset,
                stage: stage.to_string(),
                reason: error,
            });
        }
        // A replayed batch's dead letters were produced before its marker.
        let already_sent = self.replay.as_ref().is_some_and(|m| rec.offset < m.end);
        if let Some(dlq) = &s.dead_letter_topic
            && !already_sent
        {
            let mut headers = rec.headers.clone();
            for (name, value) in [
                ("__connect.errors.topic", rec.topic.clone()),
                ("__connect.errors.partition", rec.partition.to_string()),
                ("__connect.errors.offset", rec.offset.to_string()),
                ("__connect.errors.stage", stage.to_string()),
                ("__connect.errors.connector.name", s.group.clone()),
                (
                    "__connect.errors.exception.class.name",
                    "crawlhost.sink.RecordError".to_string(),
                ),
                ("__connect.errors.exception.message", error.clone()),
            ] {
                headers.push((name.to_string(), value.into_bytes()));
            }
            let record = ProduceRecord {
                topic: dlq.clone(),
                key: rec.key.clone(),
                value: rec.value.clone(),
                headers,
                timestamp_ms: rec.timestamp_ms,
            };
            bus_retry("producing a dead letter", || {
                core.bus.produce(vec![record.clone()])
            })
            .await?;
        }
        core.stats.dead_letters.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            topic = %rec.topic, partition = rec.partition, offset = rec.offset, stage,
            dead_letter_topic = s.dead_letter_topic.as_deref().unwrap_or("(none)"),
            "skipping a record that cannot be written: {error}"
        );
        self.skip(core, rec.offset).await
    }

    async fn finish_replay_if_done(&mut self, core: &Core) -> Result<(), SinkError> {
        let Some(marker) = &self.replay else {
            return Ok(());
        };
        if self.position < marker.end {
            return Ok(());
        }
        let mut produced: Vec<MarkerFile> = self.files.iter().map(describe).collect();
        let mut expected = marker.files.clone();
        produced.sort_by(|a, b| a.key.cmp(&b.key));
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        if produced != expected {
            return Err(SinkError::ReplayMismatch {
                key: core.marker_key(&self.topic, self.partition, marker.start),
                expected: expected
                    .iter()
                    .map(|f| format!("{} ({} records)", f.key, f.records))
                    .collect(),
                produced: produced
                    .iter()
                    .map(|f| format!("{} ({} records)", f.key, f.records))
                    .collect(),
            });
        }
        let marker = self
            .replay
            .take()
            .unwrap_or_else(|| unreachable!("checked above"));
        core.stats.batches_recovered.fetch_add(1, Ordering::Relaxed);
        self.publish(core, marker, WriteMode::CreateIfAbsent, None)
            .await
    }

    /// Close the open batch at the current position.
    pub async fn rotate(&mut self, core: &Core, reason: Reason) -> Result<(), SinkError> {
        if self.replay.is_some() {
            // A recovered batch ends where its marker says, nowhere else.
            return Ok(());
        }
        if self.files.is_empty() {
            // Only skipped records (nulls, dead letters) since the last commit.
            if self.position > self.committed {
                self.commit(core, self.position).await?;
            }
            self.clock = BatchClock::default();
            return Ok(());
        }
        let marker = BatchMarker {
            version: MARKER_VERSION,
            topic: self.topic.clone(),
            partition: self.partition,
            start: self.committed,
            end: self.position,
            files: self.files.iter().map(describe).collect(),
            runs: std::mem::take(&mut self.runs),
        };
        self.publish(core, marker, WriteMode::Overwrite, Some(reason))
            .await
    }

    /// When caught up: the schedule, the idle flush, or committing skipped
    /// records.
    pub async fn on_idle(&mut self, core: &Core) -> Result<(), SinkError> {
        if self.replay.is_some() {
            return Ok(());
        }
        if self.files.is_empty() {
            if self.position > self.committed {
                self.commit(core, self.position).await?;
            }
            return Ok(());
        }
        let now = core.clock.now_ms();
        if let Some(reason) = core.settings.rotation.on_idle(&self.clock, now) {
            self.rotate(core, reason).await?;
        }
        Ok(())
    }

    async fn commit(&mut self, core: &Core, offset: u64) -> Result<(), SinkError> {
        core.commit_offset(&self.topic, self.partition, offset)
            .await?;
        self.committed = offset;
        Ok(())
    }

    /// Give the partition up without committing: the open batch's spool
    /// files are removed and nothing of it was visible (its marker, if it
    /// wrote one, stays for the next owner, who finishes that batch).
    pub fn abandon(self) {
        for f in self.files {
            f.encoder.discard();
        }
    }

    /// Steps 1-5 of the module docs for `marker`'s batch.
    async fn publish(
        &mut self,
        core: &Core,
        marker: BatchMarker,
        mode: WriteMode,
        reason: Option<Reason>,
    ) -> Result<(), SinkError> {
        let files = std::mem::take(&mut self.files);
        self.index.clear();
        self.clock = BatchClock::default();
        self.runs.clear();
        let records: u64 = files.iter().map(|f| f.encoder.records()).sum();
        let keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
        let encoders: Vec<FileEncoder> = files.into_iter().map(|f| f.encoder).collect();
        // Finishing compresses the tail, and converts Parquet: CPU work.
        let finished: Vec<PathBuf> = tokio::task::spawn_blocking(move || {
            encoders
                .into_iter()
                .map(FileEncoder::finish)
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| SinkError::Spool(e.to_string()))?
        .map_err(|e| SinkError::Spool(crate::error_text::chain(&e)))?;

        let marker_key = core.marker_key(&self.topic, self.partition, marker.start);
        if mode == WriteMode::Overwrite {
            let body = serde_json::to_vec(&marker).map_err(|e| SinkError::Spool(e.to_string()))?;
            if let Some(existing) = core
                .store
                .create_small(&marker_key, body.clone().into())
                .await?
                && existing.as_ref() != body.as_slice()
            {
                // A marker for this start that this run did not write: a
                // killed run's write that the store applied after this run
                // looked. Its objects may be visible, so finish *its* batch.
                let other: BatchMarker =
                    serde_json::from_slice(&existing).map_err(|e| SinkError::Marker {
                        key: marker_key.clone(),
                        reason: e.to_string(),
                    })?;
                if other.start != self.committed
                    || other.end <= other.start
                    || other.partition != self.partition
                {
                    return Err(SinkError::Marker {
                        key: marker_key,
                        reason: "it does not describe a batch starting at the committed offset"
                            .to_string(),
                    });
                }
                tracing::warn!(
                    key = %marker_key,
                    "a batch marker from an earlier run appeared; finishing that batch instead of this one"
                );
                for path in &finished {
                    let _ = std::fs::remove_file(path);
                }
                self.position = self.committed;
                self.rewound = true;
                self.replay = Some(other);
                return Ok(());
            }
            // The marker is this batch's. If the group's position moved
            // meanwhile, another sink wrote and committed this batch (and
            // removed its marker) while this one was reading: a member the
            // group has since replaced, or, on a broker that does not fence
            // old generations, one that still thinks it owns the partition.
            // Its objects are visible; this batch must not add its own.
            let now = core.committed_offset(&self.topic, self.partition).await?;
            if now != Some(marker.start) && !(now.is_none() && marker.start == 0) {
                core.store.delete(&marker_key).await?;
                for path in &finished {
                    let _ = std::fs::remove_file(path);
                }
                let found = now.unwrap_or(0);
                return Err(if core.reader.group().is_some() {
                    SinkError::PartitionLost {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        reason: format!(
                            "the group's offset moved from {} to {found} while this sink read the batch",
                            marker.start
                        ),
                    }
                } else {
                    SinkError::ConcurrentSink {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        group: core.settings.group.clone(),
                        start: marker.start,
                        found,
                    }
                });
            }
        }
        if mode == WriteMode::Overwrite {
            // A fresh batch starts at the committed offset with no marker
            // there, so nothing of it can have been made visible: an object
            // at one of its keys was written from an earlier log of this
            // topic (deleted and recreated, or a new bus), and overwriting
            // it would lose that log's records. One HEAD per object; the
            // batch's own marker is taken back so the next start does not
            // finish the batch over that object.
            for key in &keys {
                if core.store.exists(key).await? {
                    core.store.delete(&marker_key).await?;
                    for path in &finished {
                        let _ = std::fs::remove_file(path);
                    }
                    let high = bus_retry("reading the end offset", || {
                        core.bus.end_offset(&self.topic, self.partition)
                    })
                    .await?;
                    return Err(SinkError::ObjectOfAnotherLog {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        key: key.clone(),
                        committed: self.committed,
                        high,
                    });
                }
            }
        }
        let uploads = keys
            .iter()
            .zip(&finished)
            .map(|(key, path)| core.store.upload_file(key, path, mode));
        for uploaded in futures::future::join_all(uploads).await {
            uploaded?;
        }
        self.commit(core, marker.end).await?;
        core.store.delete(&marker_key).await?;
        for path in &finished {
            let _ = std::fs::remove_file(path);
        }
        core.stats
            .records_written
            .fetch_add(records, Ordering::Relaxed);
        core.stats
            .objects_written
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        core.stats.batches_committed.fetch_add(1, Ordering::Relaxed);
        if let Some(key) = keys.last() {
            core.stats.object_written(key, records, core.clock.now_ms());
        }
        tracing::info!(
            topic = %self.topic, partition = self.partition, start = marker.start, end = marker.end,
            objects = keys.len(), records, reason = reason.map_or("recovery", Reason::as_str),
            "batch durable and committed"
        );
        Ok(())
    }
}

fn describe(f: &OpenFile) -> MarkerFile {
    MarkerFile {
        key: f.key.clone(),
        encoded: f.encoded.clone(),
        start: f.start,
        records: f.encoder.records(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sink's bus retries, as before backoff.rs: 100 ms doubling to 10 s.
    #[test]
    fn bus_calls_back_off_from_100_ms_to_10_s() {
        let ms: Vec<u128> = BUS_RETRY.start().take(9).map(|d| d.as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    }
}
