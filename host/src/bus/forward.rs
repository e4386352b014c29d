//! Store-and-forward in front of the Kafka bus: when the broker cannot be
//! reached, a task's records go to a local SQLite log (`forward.db` in the
//! data directory) and a background drainer sends them to Kafka, in the
//! order they were stored, once the broker is back.
//!
//! It owns the local log and the switch between two modes:
//!
//! - **direct**: `produce` delivers to Kafka and returns the broker's
//!   acknowledgement. Records of the batch that the broker did not take
//!   because it is unreachable (`BusError::Unavailable`) are stored locally
//!   instead, and the bus switches to forwarding.
//! - **forwarding**: every `produce` appends to the local log (one
//!   transaction per batch, `synchronous=FULL`), so newer records never
//!   overtake older ones on their way to Kafka. The drainer delivers the
//!   oldest records first and deletes each one only once Kafka acknowledged
//!   it; when the log is empty it switches back to direct, under the same
//!   lock appends take, so nothing slips in between.
//!
//! Either way a task is done only once its records are durable: acked by
//! Kafka, or committed to the local log. The local log has a disk budget
//! (`kafka.forward_budget_mb`): when the records waiting in it reach the
//! budget, `produce` waits for the drainer to make room. Crawling pauses;
//! nothing is dropped. A batch larger than the whole budget is still taken
//! when the log is empty, so it cannot wait forever.
//!
//! Records the drainer sends are delivered by the idempotent producer, so
//! librdkafka's own retries cannot duplicate them. What idempotence cannot
//! cover is a record the broker stored while its acknowledgement was lost
//! with the connection (the broker died mid-request): the drainer sends it
//! again. That window is the in-flight requests at the moment of the crash.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::Notify;

use super::kafka::KafkaBus;
use super::reader::PartitionReader;
use super::{Bus, BusError, ConsumedRecord, ProduceRecord, RecordPosition};
use crate::backoff::Backoff;

/// Partition reported for records that went to the local log: their Kafka
/// position is not known until the drainer delivers them.
pub const FORWARDED_PARTITION: u32 = u32::MAX;

/// Records the drainer sends per round.
const DRAIN_BATCH: usize = 500;
/// Pauses between drain attempts while the broker stays away: doubling from
/// 200 ms up to 5 s, for the life of the bus; back to 200 ms after a round
/// that delivered everything it sent.
const DRAIN_BACKOFF: Backoff =
    Backoff::doubling(Duration::from_millis(200), Duration::from_secs(5));

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS forward (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT NOT NULL,
    key          BLOB,
    value        BLOB NOT NULL,
    headers      BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    size         INTEGER NOT NULL
);
";

/// Bytes a record occupies in the budget: its payload, not SQLite's pages.
pub fn record_size(r: &ProduceRecord) -> u64 {
    let headers: usize = r.headers.iter().map(|(n, v)| n.len() + v.len() + 8).sum();
    (r.topic.len() + r.key.as_ref().map_or(0, Vec::len) + r.value.len() + headers + 16) as u64
}

/// Headers as `u32 name length, name, u32 value length, value`, repeated
/// (little endian); names and values are arbitrary bytes.
pub fn encode_headers(headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
    }
    out
}

/// The inverse of [`encode_headers`]; `None` for bytes it did not write.
pub fn decode_headers(mut bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len_bytes: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        let len = u32::from_le_bytes(len_bytes) as usize;
        let chunk = bytes.get(4..4 + len)?;
        *bytes = &bytes[4 + len..];
        Some(chunk)
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let name = String::from_utf8(take(&mut bytes)?.to_vec()).ok()?;
        let value = take(&mut bytes)?.to_vec();
        out.push((name, value));
    }
    Some(out)
}

/// Whether another batch of `incoming` bytes may be stored now.
pub fn fits_budget(pending: u64, incoming: u64, budget: u64) -> bool {
    pending == 0 || pending.saturating_add(incoming) <= budget
}

/// The local log: a table of records in arrival order.
struct ForwardLog {
    conn: Mutex<Connection>,
}

fn db_err(e: rusqlite::Error) -> BusError {
    BusError::Storage(format!("forward log: {e}"))
}

impl ForwardLog {
    fn open(path: &Path) -> Result<Self, BusError> {
        let conn = crate::sqlite::open(path, crate::sqlite::Options::default(), |c| {
            c.execute_batch(SCHEMA)
        })
        .map_err(|e| BusError::Storage(format!("forward log: {}", crate::error_text::chain(&e))))?
        .map_err(db_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, BusError>,
    ) -> Result<T, BusError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }

    /// (records, bytes) waiting.
    fn pending(&self) -> Result<(u64, u64), BusError> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM forward",
                [],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )
            .map_err(db_err)
        })
    }

    /// Append a batch in one transaction; returns the sequence numbers.
    fn append(&self, records: &[ProduceRecord]) -> Result<Vec<u64>, BusError> {
        self.with(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let mut seqs = Vec::with_capacity(records.len());
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO forward (topic, key, value, headers, timestamp_ms, size)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(db_err)?;
                for r in records {
                    insert
                        .execute(rusqlite::params![
                            r.topic,
                            r.key.as_deref(),
                            r.value.as_slice(),
                            encode_headers(&r.headers),
                            r.timestamp_ms,
                            record_size(r) as i64,
                        ])
                        .map_err(db_err)?;
                    seqs.push(tx.last_insert_rowid() as u64);
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(seqs)
        })
    }

    /// The oldest `max` records.
    fn oldest(&self, max: usize) -> Result<Vec<(u64, u64, ProduceRecord)>, BusError> {
        self.with(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, topic, key, value, headers, timestamp_ms, size FROM forward
                     ORDER BY seq LIMIT ?1",
                )
                .map_err(db_err)?;
            let mut rows = stmt.query([max as i64]).map_err(db_err)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_err)? {
                let seq: i64 = row.get(0).map_err(db_err)?;
                let headers: Vec<u8> = row.get(4).map_err(db_err)?;
                let headers = decode_headers(&headers).ok_or_else(|| {
                    BusError::Storage(format!("forward log: record {seq} has corrupt headers"))
                })?;
                let size: i64 = row.get(6).map_err(db_err)?;
                out.push((
                    seq as u64,
                    size as u64,
                    ProduceRecord {
                        topic: row.get(1).map_err(db_err)?,
                        key: row.get(2).map_err(db_err)?,
                        value: row.get(3).map_err(db_err)?,
                        headers,
                        timestamp_ms: row.get(5).map_err(db_err)?,
                    },
                ));
            }
            Ok(out)
        })
    }

    fn remove(&self, seqs: &[u64]) -> Result<(), BusError> {
        self.with(|c| {
            let tx = c.transaction().map_err(db_err)?;
            {
                let mut delete = tx
                    .prepare_cached("DELETE FROM forward WHERE seq = ?1")
                    .map_err(db_err)?;
                for seq in seqs {
                    delete.execute([*seq as i64]).map_err(db_err)?;
                }
            }
            tx.commit().map_err(db_err)
        })
    }

    fn first_seq(&self) -> Result<Option<u64>, BusError> {
        self.with(|c| {
            c.query_row("SELECT MIN(seq) FROM forward", [], |row| {
                row.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(|v| v.flatten().map(|s| s as u64))
            .map_err(db_err)
        })
    }
}

/// State shared by the bus and its drainer.
struct Shared {
    kafka: Arc<KafkaBus>,
    log: ForwardLog,
    budget: u64,
    /// Forwarding mode (records go to the local log).
    forwarding: AtomicBool,
    /// Bytes waiting in the local log.
    pending_bytes: AtomicU64,
    /// Taken by appends and by the switch back to direct mode.
    append_lock: tokio::sync::Mutex<()>,
    /// Signalled after an append (wakes the drainer).
    appended: Notify,
    /// Signalled after the drainer removed records (wakes waiting appends
    /// and `flush`).
    drained: Notify,
    /// Total records forwarded through the local log since start.
    forwarded: AtomicU64,
}

impl Shared {
    async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, BusError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, BusError> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| BusError::Storage(format!("forward log worker failed: {e}")))?
    }

    /// Store a batch locally, waiting for room in the budget.
    async fn store(self: &Arc<Self>, records: Vec<ProduceRecord>) -> Result<Vec<u64>, BusError> {
        let size: u64 = records.iter().map(record_size).sum();
        let mut warned = false;
        loop {
            let guard = self.append_lock.lock().await;
            let pending = self.pending_bytes.load(Ordering::Acquire);
            if fits_budget(pending, size, self.budget) {
                self.forwarding.store(true, Ordering::Release);
                let seqs = self.blocking(move |s| s.log.append(&records)).await?;
                self.pending_bytes.fetch_add(size, Ordering::AcqRel);
                drop(guard);
                self.appended.notify_one();
                return Ok(seqs);
            }
            if !warned {
                tracing::warn!(
                    pending_bytes = pending,
                    budget_bytes = self.budget,
                    "Forward log is full; crawling pauses until the broker takes records again."
                );
                warned = true;
            }
            let wait = self.drained.notified();
            drop(guard);
            let _ = tokio::time::timeout(Duration::from_secs(1), wait).await;
        }
    }

    /// One drain round: deliver the oldest records, delete the delivered.
    /// Returns (delivered, failed) counts.
    async fn drain_round(self: &Arc<Self>) -> Result<(usize, usize), BusError> {
        let batch = self.blocking(|s| s.log.oldest(DRAIN_BATCH)).await?;
        if batch.is_empty() {
            // Back to direct mode, unless an append is racing us.
            let _guard = self.append_lock.lock().await;
            if self.blocking(|s| s.log.first_seq()).await?.is_none() {
                if self.forwarding.swap(false, Ordering::AcqRel) {
                    tracing::info!(
                        forwarded = self.forwarded.load(Ordering::Relaxed),
                        "Forward log drained; producing to Kafka directly again."
                    );
                }
                self.pending_bytes.store(0, Ordering::Release);
            }
            return Ok((0, 0));
        }
        let records: Vec<ProduceRecord> = batch.iter().map(|(_, _, r)| r.clone()).collect();
        let results = self.kafka.deliver(&records).await;
        let mut done = Vec::new();
        let mut freed = 0u64;
        let mut first_error = None;
        for ((seq, size, _), result) in batch.iter().zip(results) {
            match result {
                Ok(_) => {
                    done.push(*seq);
                    freed += size;
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        let delivered = done.len();
        if !done.is_empty() {
            self.blocking(move |s| s.log.remove(&done)).await?;
            self.pending_bytes.fetch_sub(freed, Ordering::AcqRel);
            self.forwarded
                .fetch_add(delivered as u64, Ordering::Relaxed);
            self.drained.notify_waiters();
        }
        let failed = batch.len() - delivered;
        if let Some(e) = first_error {
            tracing::warn!(delivered, failed, error = %e, "Forwarding to Kafka failed; will retry.");
        }
        Ok((delivered, failed))
    }
}

/// The drainer: runs for the life of the bus.
async fn drain_loop(shared: Arc<Shared>) {
    let mut retry = DRAIN_BACKOFF.start();
    loop {
        let wake = shared.appended.notified();
        match shared.drain_round().await {
            Ok((0, 0)) => {
                retry.reset();
                if !shared.forwarding.load(Ordering::Acquire) {
                    let _ = tokio::time::timeout(Duration::from_secs(1), wake).await;
                }
            }
            Ok((_, 0)) => retry.reset(),
            Ok(_) => tokio::time::sleep(retry.next_wait()).await,
            Err(e) => {
                tracing::error!(error = %e, "Forward log cannot be read; retrying.");
                tokio::time::sleep(retry.next_wait()).await;
            }
        }
    }
}

/// The Kafka bus with store-and-forward. Reads, topic and offset calls go to
/// Kafka directly (they need the broker anyway).
pub struct ForwardingBus {
    shared: Arc<Shared>,
    drainer: tokio::task::JoinHandle<()>,
}

impl ForwardingBus {
    /// Wrap `kafka` with the local log at `path`. Records left in the log by
    /// an earlier process are drained first. Must be called inside a tokio
    /// runtime (the drainer is a task).
    pub fn open(kafka: Arc<KafkaBus>, path: &Path) -> Result<Self, BusError> {
        let log = ForwardLog::open(path)?;
        let (count, bytes) = log.pending()?;
        let budget = kafka.settings().forward_budget_bytes;
        let shared = Arc::new(Shared {
            kafka,
            log,
            budget,
            forwarding: AtomicBool::new(count > 0),
            pending_bytes: AtomicU64::new(bytes),
            append_lock: tokio::sync::Mutex::new(()),
            appended: Notify::new(),
            drained: Notify::new(),
            forwarded: AtomicU64::new(0),
        });
        if count > 0 {
            tracing::info!(
                records = count,
                bytes,
                "Forward log holds records from an earlier run; draining them first."
            );
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            BusError::Invalid("the Kafka bus must be opened inside the async runtime".into())
        })?;
        let drainer = handle.spawn(drain_loop(shared.clone()));
        Ok(Self { shared, drainer })
    }

    /// The Kafka bus behind the local log.
    pub fn kafka(&self) -> &Arc<KafkaBus> {
        &self.shared.kafka
    }

    /// Whether records currently go to the local log.
    pub fn is_forwarding(&self) -> bool {
        self.shared.forwarding.load(Ordering::Acquire)
    }

    /// Bytes waiting in the local log.
    pub fn pending_bytes(&self) -> u64 {
        self.shared.pending_bytes.load(Ordering::Acquire)
    }

    /// Records delivered through the local log since this bus opened.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for ForwardingBus {
    fn drop(&mut self) {
        // Whatever is still in the log stays there and drains at next start.
        self.drainer.abort();
    }
}

fn forwarded_positions(seqs: &[u64]) -> impl Iterator<Item = RecordPosition> + '_ {
    seqs.iter().map(|&seq| RecordPosition {
        partition: FORWARDED_PARTITION,
        offset: seq,
    })
}

#[async_trait]
impl Bus for ForwardingBus {
    fn backlog(&self) -> Option<super::Backlog> {
        Some(super::Backlog {
            forwarding: self.is_forwarding(),
            pending_bytes: self.pending_bytes(),
            forwarded: self.forwarded(),
        })
    }

    /// Deliver to Kafka, or store locally while the broker is away. Positions
    /// of locally stored records carry [`FORWARDED_PARTITION`] and their
    /// local sequence number.
    async fn produce(&self, records: Vec<ProduceRecord>) -> Result<Vec<RecordPosition>, BusError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        if self.shared.forwarding.load(Ordering::Acquire) {
            let seqs = self.shared.store(records).await?;
            return Ok(forwarded_positions(&seqs).collect());
        }
        let results = self.shared.kafka.deliver(&records).await;
        let mut positions: Vec<Option<RecordPosition>> = Vec::with_capacity(records.len());
        let mut undelivered = Vec::new();
        let mut cause = None;
        for (record, result) in records.into_iter().zip(results) {
            match result {
                Ok(p) => positions.push(Some(p)),
                Err(BusError::Unavailable(m)) => {
                    cause.get_or_insert(m);
                    positions.push(None);
                    undelivered.push(record);
                }
                // Will fail the same way from the local log: report it so
                // the task fails with the cause.
                Err(other) => return Err(other),
            }
        }
        if undelivered.is_empty() {
            return Ok(positions.into_iter().flatten().collect());
        }
        if !self.shared.forwarding.load(Ordering::Acquire) {
            tracing::warn!(cause = %cause.unwrap_or_default(), "Kafka is unreachable; storing records locally until it is back.");
        }
        let seqs = self.shared.store(undelivered).await?;
        let mut local = forwarded_positions(&seqs);
        Ok(positions
            .into_iter()
            .map(|p| {
                p.or_else(|| local.next()).unwrap_or(RecordPosition {
                    partition: FORWARDED_PARTITION,
                    offset: 0,
                })
            })
            .collect())
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        self.shared.kafka.ensure_topic(topic, partitions).await
    }

    async fn topics(&self) -> Result<Vec<(String, u32)>, BusError> {
        self.shared.kafka.topics().await
    }

    async fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>, BusError> {
        self.shared.kafka.fetch(topic, partition, offset, max).await
    }

    fn stream_reader(&self) -> Result<Option<Box<dyn PartitionReader>>, BusError> {
        self.shared.kafka.stream_reader()
    }

    fn group_reader(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Box<dyn PartitionReader>>, BusError> {
        self.shared.kafka.group_reader(group, topics)
    }

    async fn end_offset(&self, topic: &str, partition: u32) -> Result<u64, BusError> {
        self.shared.kafka.end_offset(topic, partition).await
    }

    async fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, BusError> {
        self.shared.kafka.committed(group, topic, partition).await
    }

    async fn commit(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        next_offset: u64,
    ) -> Result<(), BusError> {
        self.shared
            .kafka
            .commit(group, topic, partition, next_offset)
            .await
    }

    /// Wait until the local log is empty (everything reached Kafka). Logs
    /// progress every 10 seconds while the broker stays away.
    async fn flush(&self) -> Result<(), BusError> {
        let mut last_log = tokio::time::Instant::now();
        loop {
            let wait = self.shared.drained.notified();
            let forwarding = self.shared.forwarding.load(Ordering::Acquire);
            let pending = self.shared.pending_bytes.load(Ordering::Acquire);
            if !forwarding && pending == 0 {
                return Ok(());
            }
            if last_log.elapsed() >= Duration::from_secs(10) {
                tracing::warn!(
                    pending_bytes = pending,
                    "Waiting for the forward log to drain to Kafka."
                );
                last_log = tokio::time::Instant::now();
            }
            self.shared.appended.notify_one();
            let _ = tokio::time::timeout(Duration::from_millis(500), wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_with_repeats_and_binary_values() {
        let headers = vec![
            ("crawlhost-plugin".to_string(), b"echo".to_vec()),
            ("x".to_string(), vec![0, 255, 10]),
            ("x".to_string(), Vec::new()),
        ];
        assert_eq!(decode_headers(&encode_headers(&headers)).unwrap(), headers);
        assert_eq!(decode_headers(&[]).unwrap(), vec![]);
        assert!(decode_headers(&[5, 0, 0, 0, b'a']).is_none());
    }

    /// The drainer's pauses, as before backoff.rs: 200 ms doubling to 5 s.
    #[test]
    fn the_drainer_backs_off_from_200_ms_to_5_s() {
        let ms: Vec<u128> = DRAIN_BACKOFF
            .start()
            .take(7)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms, [200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[test]
    fn the_budget_pauses_but_never_starves_an_empty_log() {
        assert!(fits_budget(0, 10, 5), "an empty log takes any batch");
        assert!(fits_budget(3, 2, 5));
        assert!(!fits_budget(4, 2, 5));
        assert!(!fits_budget(u64::MAX, 1, 5));
    }

    #[test]
    fn the_local_log_keeps_order_and_deletes_what_was_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let log = ForwardLog::open(&dir.path().join("forward.db")).unwrap();
        let rec = |v: &str| ProduceRecord {
            topic: "t".into(),
            key: Some(v.as_bytes().to_vec()),
            value: v.as_bytes().to_vec(),
            headers: vec![("h".into(), b"1".to_vec())],
            timestamp_ms: 7,
        };
        let a = log.append(&[rec("a"), rec("b")]).unwrap();
        let b = log.append(&[rec("c")]).unwrap();
        assert!(a[0] < a[1] && a[1] < b[0]);
        let (count, bytes) = log.pending().unwrap();
        assert_eq!(count, 3);
        assert_eq!(bytes, 3 * record_size(&rec("a")));
        let oldest = log.oldest(2).unwrap();
        assert_eq!(
            oldest
                .iter()
                .map(|(_, _, r)| r.value.clone())
                .collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(oldest[0].2, rec("a"));
        log.remove(&[a[0]]).unwrap();
        assert_eq!(log.first_seq().unwrap(), Some(a[1]));
        // Reopening keeps what was not delivered.
        drop(log);
        let log = ForwardLog::open(&dir.path().join("forward.db")).unwrap();
        assert_eq!(log.pending().unwrap().0, 2);
    }
}
