//! The embedded bus: Kafka's log semantics in one SQLite file.
//!
//! This is the default transport, so a single host needs no broker. It owns
//! the on-disk log (topics, records, headers, committed group positions) and
//! promises the same observable behaviour as the Kafka backend:
//!
//! - A topic has a fixed number of partitions, set by
//!   [`Bus::ensure_topic`] or, on the first produce to an unknown topic, by
//!   the default count given to the constructor. An existing topic keeps its
//!   count.
//! - Offsets are per (topic, partition), start at 0 and grow by exactly one.
//!   Each partition's next offset is a row of its own, bumped inside the
//!   append transaction, so offsets stay dense even with several processes
//!   appending to the same file.
//! - Keyed records go where Kafka's default partitioner would put them
//!   ([`partition::partition_for`]). Unkeyed records are *sticky per produce
//!   call*: all unkeyed records of one call and topic share a partition,
//!   chosen round-robin from call to call ([`partition::UnkeyedPartitioner`]).
//! - `produce` is one `BEGIN IMMEDIATE` transaction: the whole batch is
//!   durable (WAL, `synchronous=FULL`) when it returns, or nothing of it was
//!   written. Taking the write lock up front (rather than upgrading a read
//!   lock) lets `busy_timeout` queue concurrent writers from other processes
//!   instead of failing them with `SQLITE_BUSY`.
//!
//! The SQLite connection is blocking, so it sits behind a `std::sync::Mutex`
//! and every query runs on tokio's blocking pool; the async trait methods
//! only wait for it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior};

use super::partition::{self, UnkeyedPartitioner};
use super::topic::validate_topic;
use super::{Bus, BusError, ConsumedRecord, ProduceRecord, RecordPosition};

/// Layout version stored in `PRAGMA user_version`; a file written by a newer
/// layout is refused rather than misread.
const SCHEMA_VERSION: i64 = 1;

/// Tables of the log. Column names avoid SQL keywords (`partition`,
/// `offset`): `part` and `ofs`.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS topics (
    name       TEXT PRIMARY KEY NOT NULL,
    partitions INTEGER NOT NULL CHECK (partitions > 0)
);
-- Next offset of every partition written at least once (absent means 0).
CREATE TABLE IF NOT EXISTS partition_ends (
    topic    TEXT NOT NULL,
    part     INTEGER NOT NULL,
    next_ofs INTEGER NOT NULL,
    PRIMARY KEY (topic, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    topic        TEXT NOT NULL,
    part         INTEGER NOT NULL,
    ofs          INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    key          BLOB,
    value        BLOB NOT NULL,
    PRIMARY KEY (topic, part, ofs)
);
-- Headers in their original order (`seq`); names may repeat.
CREATE TABLE IF NOT EXISTS headers (
    topic TEXT NOT NULL,
    part  INTEGER NOT NULL,
    ofs   INTEGER NOT NULL,
    seq   INTEGER NOT NULL,
    name  TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (topic, part, ofs, seq)
);
CREATE TABLE IF NOT EXISTS commits (
    grp      TEXT NOT NULL,
    topic    TEXT NOT NULL,
    part     INTEGER NOT NULL,
    next_ofs INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, part)
) WITHOUT ROWID;
";

/// An append-only, multi-partition record log in one SQLite file.
///
/// Cheap to share behind an `Arc<dyn Bus>`; several `EmbeddedBus` values
/// (in one process or several) may open the same file and append
/// concurrently.
pub struct EmbeddedBus {
    inner: Arc<Mutex<Inner>>,
    default_partitions: u32,
}

/// What the mutex guards: the connection and the producer-side rotation
/// for unkeyed records (which belongs to this handle, like a Kafka producer's).
struct Inner {
    conn: Connection,
    unkeyed: UnkeyedPartitioner,
}

impl EmbeddedBus {
    /// Open (or create) the log at `path`, creating parent directories.
    ///
    /// Topics first seen by `produce` get `default_partitions` partitions,
    /// which must be at least 1. The file is put in WAL mode with a busy
    /// timeout so other processes can read and append at the same time.
    pub fn open(path: &Path, default_partitions: u32) -> Result<Self, BusError> {
        check_partition_count(default_partitions)?;
        let conn = crate::sqlite::open(path, crate::sqlite::Options::default(), init_schema)
            .map_err(|e| {
                BusError::Storage(format!("bus log: {}", crate::error_text::chain(&e)))
            })??;
        Ok(Self::from_connection(conn, default_partitions))
    }

    /// A log that lives in memory and vanishes on drop; for tests and
    /// throwaway runs. `default_partitions` must be at least 1.
    pub fn in_memory(default_partitions: u32) -> Result<Self, BusError> {
        check_partition_count(default_partitions)?;
        let conn = Connection::open_in_memory().map_err(db_err)?;
        Self::with_connection(conn, default_partitions)
    }

    /// The partition count topics get when `produce` creates them.
    pub fn default_partitions(&self) -> u32 {
        self.default_partitions
    }

    fn with_connection(mut conn: Connection, default_partitions: u32) -> Result<Self, BusError> {
        // `produce` returns only once the batch survives a power cut.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        init_schema(&mut conn)?;
        Ok(Self::from_connection(conn, default_partitions))
    }

    fn from_connection(conn: Connection, default_partitions: u32) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                conn,
                unkeyed: UnkeyedPartitioner::new(),
            })),
            default_partitions,
        }
    }

    /// Run `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, BusError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Inner) -> Result<T, BusError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a half-written
            // batch: every write runs in a transaction that rolls back when
            // dropped during unwinding. So a poisoned lock is safe to reuse.
            let mut guard = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| BusError::Storage(format!("bus worker failed: {e}")))?
    }
}

fn check_partition_count(partitions: u32) -> Result<(), BusError> {
    if partitions == 0 {
        return Err(BusError::Invalid(
            "a topic needs at least one partition".to_owned(),
        ));
    }
    Ok(())
}

fn check_group(group: &str) -> Result<(), BusError> {
    if group.is_empty() {
        return Err(BusError::Invalid(
            "consumer group name must not be empty".to_owned(),
        ));
    }
    Ok(())
}

/// Map SQLite failures: lock contention that outlasted the busy timeout is
/// worth retrying (`Unavailable`); anything else is a storage failure.
fn db_err(e: rusqlite::Error) -> BusError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            BusError::Unavailable(format!("bus log is locked by another writer: {e}"))
        }
        _ => BusError::Storage(e.to_string()),
    }
}

/// A stored offset or position back to `u64`; negative means the file was
/// tampered with.
fn stored_u64(value: i64, what: &str) -> Result<u64, BusError> {
    u64::try_from(value).map_err(|_| BusError::Storage(format!("corrupt bus log: negative {what}")))
}

fn init_schema(conn: &mut Connection) -> Result<(), BusError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    if let crate::sqlite::Layout::Other(other) =
        crate::sqlite::layout(&tx, SCHEMA, SCHEMA_VERSION).map_err(db_err)?
    {
        return Err(BusError::Storage(format!(
            "bus log has layout version {other}; this build reads version {SCHEMA_VERSION}"
        )));
    }
    // Names of appended batches (`produce_batch`); added to version 1 files
    // in place, as the table is new and optional for older readers.
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;",
    )
    .map_err(db_err)?;
    tx.commit().map_err(db_err)
}

/// The partition count of `topic`, if it exists.
fn topic_partitions(conn: &Connection, topic: &str) -> Result<Option<u32>, BusError> {
    let count: Option<i64> = conn
        .prepare_cached("SELECT partitions FROM topics WHERE name = ?1")
        .and_then(|mut stmt| stmt.query_row([topic], |row| row.get(0)).optional())
        .map_err(db_err)?;
    count
        .map(|n| {
            u32::try_from(n).map_err(|_| {
                BusError::Storage(format!(
                    "corrupt bus log: topic `{topic}` has {n} partitions"
                ))
            })
        })
        .transpose()
}

/// Fail unless `topic` exists and has `partition`.
fn check_partition(conn: &Connection, topic: &str, partition: u32) -> Result<(), BusError> {
    validate_topic(topic)?;
    match topic_partitions(conn, topic)? {
        None => Err(BusError::UnknownTopic(topic.to_owned())),
        Some(n) if partition >= n => Err(BusError::UnknownPartition {
            topic: topic.to_owned(),
            partition,
        }),
        Some(_) => Ok(()),
    }
}

/// The next offset of one partition as stored (0 if never written).
fn stored_end(conn: &Connection, topic: &str, partition: u32) -> Result<u64, BusError> {
    let next: Option<i64> = conn
        .prepare_cached("SELECT next_ofs FROM partition_ends WHERE topic = ?1 AND part = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(rusqlite::params![topic, partition], |row| row.get(0))
                .optional()
        })
        .map_err(db_err)?;
    next.map_or(Ok(0), |n| stored_u64(n, "partition end"))
}

/// Append `records` inside `tx`; the caller commits. Any error leaves the
/// transaction to roll back, so nothing of the batch survives it.
fn append_batch(
    tx: &Transaction<'_>,
    unkeyed: &mut UnkeyedPartitioner,
    default_partitions: u32,
    records: &[ProduceRecord],
) -> Result<Vec<RecordPosition>, BusError> {
    // Per-batch caches: partition count per topic, the sticky partition for
    // this batch's unkeyed records per topic, next offsets touched so far.
    let mut counts: HashMap<&str, u32> = HashMap::new();
    let mut sticky: HashMap<&str, u32> = HashMap::new();
    let mut ends: HashMap<(&str, u32), u64> = HashMap::new();
    let mut positions = Vec::with_capacity(records.len());

    let mut insert_record = tx
        .prepare_cached(
            "INSERT INTO records (topic, part, ofs, timestamp_ms, key, value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db_err)?;
    let mut insert_header = tx
        .prepare_cached(
            "INSERT INTO headers (topic, part, ofs, seq, name, value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db_err)?;

    for record in records {
        let topic = record.topic.as_str();
        // Validated here, mid-transaction, so a bad record anywhere in the
        // batch also discards the records (and topics) before it.
        validate_topic(topic)?;
        let partitions = match counts.get(topic) {
            Some(&n) => n,
            None => {
                let n = match topic_partitions(tx, topic)? {
                    Some(n) => n,
                    None => {
                        tx.execute(
                            "INSERT INTO topics (name, partitions) VALUES (?1, ?2)",
                            rusqlite::params![topic, default_partitions],
                        )
                        .map_err(db_err)?;
                        default_partitions
                    }
                };
                counts.insert(topic, n);
                n
            }
        };
        let partition = match &record.key {
            Some(key) => partition::partition_for(key, partitions),
            None => *sticky
                .entry(topic)
                .or_insert_with(|| unkeyed.next(topic, partitions)),
        };
        let offset = match ends.get(&(topic, partition)) {
            Some(&next) => next,
            None => stored_end(tx, topic, partition)?,
        };
        let sql_offset = i64::try_from(offset)
            .map_err(|_| BusError::Storage(format!("partition {topic}/{partition} is full")))?;

        insert_record
            .execute(rusqlite::params![
                topic,
                partition,
                sql_offset,
                record.timestamp_ms,
                record.key.as_deref(),
                record.value.as_slice(),
            ])
            .map_err(db_err)?;
        for (seq, (name, value)) in record.headers.iter().enumerate() {
            let seq = i64::try_from(seq)
                .map_err(|_| BusError::Invalid("too many headers on one record".to_owned()))?;
            insert_header
                .execute(rusqlite::params![
                    topic,
                    partition,
                    sql_offset,
                    seq,
                    name,
                    value.as_slice()
                ])
                .map_err(db_err)?;
        }
        ends.insert((topic, partition), offset + 1);
        positions.push(RecordPosition { partition, offset });
    }

    let mut save_end = tx
        .prepare_cached(
            "INSERT INTO partition_ends (topic, part, next_ofs) VALUES (?1, ?2, ?3)
             ON CONFLICT (topic, part) DO UPDATE SET next_ofs = excluded.next_ofs",
        )
        .map_err(db_err)?;
    for ((topic, partition), next) in ends {
        let next = i64::try_from(next)
            .map_err(|_| BusError::Storage(format!("partition {topic}/{partition} is full")))?;
        save_end
            .execute(rusqlite::params![topic, partition, next])
            .map_err(db_err)?;
    }
    Ok(positions)
}

/// Read up to `max` records of one partition from `offset` on.
fn read_records(
    conn: &mut Connection,
    topic: &str,
    partition: u32,
    offset: u64,
    max: usize,
) -> Result<Vec<ConsumedRecord>, BusError> {
    // One read transaction so records and their headers come from the same
    // snapshot even while another connection appends.
    let tx = conn.transaction().map_err(db_err)?;
    check_partition(&tx, topic, partition)?;
    // Offsets beyond i64 cannot exist in the file: nothing to read there.
    let Ok(from) = i64::try_from(offset) else {
        return Ok(Vec::new());
    };
    let limit = i64::try_from(max).unwrap_or(i64::MAX);

    let mut records = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT ofs, timestamp_ms, key, value FROM records
                 WHERE topic = ?1 AND part = ?2 AND ofs >= ?3
                 ORDER BY ofs LIMIT ?4",
            )
            .map_err(db_err)?;
        let mut rows = stmt
            .query(rusqlite::params![topic, partition, from, limit])
            .map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let ofs: i64 = row.get(0).map_err(db_err)?;
            records.push(ConsumedRecord {
                topic: topic.to_owned(),
                partition,
                offset: stored_u64(ofs, "offset")?,
                timestamp_ms: row.get(1).map_err(db_err)?,
                key: row.get(2).map_err(db_err)?,
                value: row.get(3).map_err(db_err)?,
                headers: Vec::new(),
            });
        }
    }
    let Some(last) = records.last().map(|r| r.offset) else {
        return Ok(records);
    };
    // `last` came from an i64 column, so it converts back.
    let until = i64::try_from(last).unwrap_or(i64::MAX);
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT ofs, name, value FROM headers
                 WHERE topic = ?1 AND part = ?2 AND ofs >= ?3 AND ofs <= ?4
                 ORDER BY ofs, seq",
            )
            .map_err(db_err)?;
        let mut rows = stmt
            .query(rusqlite::params![topic, partition, from, until])
            .map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let ofs = stored_u64(row.get(0).map_err(db_err)?, "offset")?;
            let name: String = row.get(1).map_err(db_err)?;
            let value: Vec<u8> = row.get(2).map_err(db_err)?;
            if let Ok(i) = records.binary_search_by_key(&ofs, |r| r.offset) {
                records[i].headers.push((name, value));
            }
        }
    }
    tx.commit().map_err(db_err)?;
    Ok(records)
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn produce(&self, records: Vec<ProduceRecord>) -> Result<Vec<RecordPosition>, BusError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let default_partitions = self.default_partitions;
        self.run(move |inner| {
            let Inner { conn, unkeyed } = inner;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let positions = append_batch(&tx, unkeyed, default_partitions, &records)?;
            tx.commit().map_err(db_err)?;
            Ok(positions)
        })
        .await
    }

    async fn produce_batch(
        &self,
        batch_id: &str,
        records: Vec<ProduceRecord>,
    ) -> Result<Option<Vec<RecordPosition>>, BusError> {
        let default_partitions = self.default_partitions;
        let batch_id = batch_id.to_owned();
        self.run(move |inner| {
            let Inner { conn, unkeyed } = inner;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let fresh = tx
                .execute(
                    "INSERT INTO batches (id) VALUES (?1) ON CONFLICT (id) DO NOTHING",
                    [&batch_id],
                )
                .map_err(db_err)?;
            if fresh == 0 {
                return Ok(None);
            }
            let positions = append_batch(&tx, unkeyed, default_partitions, &records)?;
            tx.commit().map_err(db_err)?;
            Ok(Some(positions))
        })
        .await
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        validate_topic(topic)?;
        check_partition_count(partitions)?;
        let topic = topic.to_owned();
        self.run(move |inner| {
            inner
                .conn
                .execute(
                    "INSERT INTO topics (name, partitions) VALUES (?1, ?2)
                     ON CONFLICT (name) DO NOTHING",
                    rusqlite::params![topic, partitions],
                )
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn topics(&self) -> Result<Vec<(String, u32)>, BusError> {
        self.run(|inner| {
            let mut stmt = inner
                .conn
                .prepare_cached("SELECT name, partitions FROM topics ORDER BY name")
                .map_err(db_err)?;
            let mut rows = stmt.query([]).map_err(db_err)?;
            let mut topics = Vec::new();
            while let Some(row) = rows.next().map_err(db_err)? {
                let name: String = row.get(0).map_err(db_err)?;
                let count: i64 = row.get(1).map_err(db_err)?;
                let count = u32::try_from(count).map_err(|_| {
                    BusError::Storage(format!(
                        "corrupt bus log: topic `{name}` has {count} partitions"
                    ))
                })?;
                topics.push((name, count));
            }
            Ok(topics)
        })
        .await
    }

    async fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>, BusError> {
        validate_topic(topic)?;
        let topic = topic.to_owned();
        self.run(move |inner| read_records(&mut inner.conn, &topic, partition, offset, max))
            .await
    }

    async fn end_offset(&self, topic: &str, partition: u32) -> Result<u64, BusError> {
        validate_topic(topic)?;
        let topic = topic.to_owned();
        self.run(move |inner| {
            let tx = inner.conn.transaction().map_err(db_err)?;
            check_partition(&tx, &topic, partition)?;
            let end = stored_end(&tx, &topic, partition)?;
            tx.commit().map_err(db_err)?;
            Ok(end)
        })
        .await
    }

    async fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, BusError> {
        check_group(group)?;
        validate_topic(topic)?;
        let (group, topic) = (group.to_owned(), topic.to_owned());
        self.run(move |inner| {
            let conn = &inner.conn;
            check_partition(conn, &topic, partition)?;
            let next: Option<i64> = conn
                .prepare_cached(
                    "SELECT next_ofs FROM commits WHERE grp = ?1 AND topic = ?2 AND part = ?3",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(rusqlite::params![group, topic, partition], |row| row.get(0))
                        .optional()
                })
                .map_err(db_err)?;
            next.map(|n| stored_u64(n, "committed position"))
                .transpose()
        })
        .await
    }

    async fn commit(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        next_offset: u64,
    ) -> Result<(), BusError> {
        check_group(group)?;
        validate_topic(topic)?;
        let next = i64::try_from(next_offset).map_err(|_| {
            BusError::Invalid(format!(
                "offset {next_offset} is beyond any partition's end"
            ))
        })?;
        let (group, topic) = (group.to_owned(), topic.to_owned());
        self.run(move |inner| {
            let conn = &inner.conn;
            check_partition(conn, &topic, partition)?;
            conn.execute(
                "INSERT INTO commits (grp, topic, part, next_ofs) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (grp, topic, part) DO UPDATE SET next_ofs = excluded.next_ofs",
                rusqlite::params![group, topic, partition, next],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn rec(v: &str) -> ProduceRecord {
        ProduceRecord {
            topic: "t".into(),
            key: Some(b"k".to_vec()),
            value: v.as_bytes().to_vec(),
            headers: vec![],
            timestamp_ms: 0,
        }
    }

    #[tokio::test]
    async fn a_named_batch_is_appended_once() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        let first = bus
            .produce_batch("run/task", vec![rec("1"), rec("2")])
            .await
            .unwrap();
        assert_eq!(first.map(|p| p.len()), Some(2));
        assert_eq!(
            bus.produce_batch("run/task", vec![rec("1"), rec("2")])
                .await
                .unwrap(),
            None
        );
        assert!(
            bus.produce_batch("run/other", vec![rec("3")])
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(bus.end_offset("t", 0).await.unwrap(), 3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(topic: &str, key: Option<&str>, value: &str) -> ProduceRecord {
        ProduceRecord {
            topic: topic.to_owned(),
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.as_bytes().to_vec(),
            headers: Vec::new(),
            timestamp_ms: 1_700_000_000_000,
        }
    }

    fn values(records: &[ConsumedRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.value).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn offsets_start_at_zero_and_are_dense_per_partition() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        bus.ensure_topic("multi", 3).await.unwrap();
        let mut batch = Vec::new();
        for i in 0..30 {
            batch.push(rec("multi", Some(&format!("k{i}")), &format!("v{i}")));
        }
        let positions = bus.produce(batch).await.unwrap();
        assert_eq!(positions.len(), 30);
        for partition in 0..3 {
            let offsets: Vec<u64> = positions
                .iter()
                .filter(|p| p.partition == partition)
                .map(|p| p.offset)
                .collect();
            let expected: Vec<u64> = (0..offsets.len() as u64).collect();
            assert_eq!(offsets, expected, "partition {partition}");
            assert_eq!(
                bus.end_offset("multi", partition).await.unwrap(),
                offsets.len() as u64
            );
        }
        // A second batch continues where the first stopped.
        let next = bus.produce(vec![rec("single", None, "a")]).await.unwrap();
        assert_eq!(
            next,
            [RecordPosition {
                partition: 0,
                offset: 0
            }]
        );
        let next = bus
            .produce(vec![rec("single", None, "b"), rec("single", None, "c")])
            .await
            .unwrap();
        assert_eq!(
            next,
            [
                RecordPosition {
                    partition: 0,
                    offset: 1
                },
                RecordPosition {
                    partition: 0,
                    offset: 2
                }
            ]
        );
    }

    #[tokio::test]
    async fn positions_come_back_in_input_order() {
        let bus = EmbeddedBus::in_memory(4).unwrap();
        let batch = vec![
            rec("a", Some("x"), "1"),
            rec("b", None, "2"),
            rec("a", Some("x"), "3"),
            rec("b", None, "4"),
        ];
        let positions = bus.produce(batch).await.unwrap();
        let px = partition::partition_for(b"x", 4);
        assert_eq!(
            positions[0],
            RecordPosition {
                partition: px,
                offset: 0
            }
        );
        assert_eq!(
            positions[2],
            RecordPosition {
                partition: px,
                offset: 1
            }
        );
        assert_eq!(positions[1].offset, 0);
        assert_eq!(
            positions[3],
            RecordPosition {
                partition: positions[1].partition,
                offset: 1
            }
        );
        let fetched = bus.fetch("a", px, 0, 10).await.unwrap();
        assert_eq!(values(&fetched), ["1", "3"]);
    }

    #[tokio::test]
    async fn batch_with_invalid_topic_writes_nothing() {
        let bus = EmbeddedBus::in_memory(2).unwrap();
        bus.ensure_topic("kept", 1).await.unwrap();
        let batch = vec![
            rec("kept", None, "first"),
            rec("fresh", Some("k"), "second"),
            rec("bad topic!", None, "third"),
        ];
        let err = bus.produce(batch).await.unwrap_err();
        match err {
            BusError::Invalid(msg) => assert!(msg.contains("bad topic!"), "{msg}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        // Neither the records before the bad one nor the topic they created survive.
        assert_eq!(bus.topics().await.unwrap(), [("kept".to_owned(), 1)]);
        assert_eq!(bus.end_offset("kept", 0).await.unwrap(), 0);
        assert!(bus.fetch("kept", 0, 0, 10).await.unwrap().is_empty());
        let pos = bus.produce(vec![rec("kept", None, "again")]).await.unwrap();
        assert_eq!(pos[0].offset, 0);
    }

    #[tokio::test]
    async fn topic_names_follow_kafka_rules() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        for ok in ["a", "oliveyoung", "brand.products-v1_x", &"x".repeat(249)] {
            bus.ensure_topic(ok, 1).await.unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "has space",
            "slash/y",
            "ünï",
            &"x".repeat(250),
        ] {
            let err = bus.ensure_topic(bad, 1).await.unwrap_err();
            assert!(matches!(err, BusError::Invalid(_)), "{bad:?}: {err:?}");
            let err = bus.produce(vec![rec(bad, None, "v")]).await.unwrap_err();
            assert!(matches!(err, BusError::Invalid(_)), "{bad:?}: {err:?}");
            let err = bus.fetch(bad, 0, 0, 1).await.unwrap_err();
            assert!(matches!(err, BusError::Invalid(_)), "{bad:?}: {err:?}");
        }
        let err = bus.ensure_topic("zero", 0).await.unwrap_err();
        assert!(matches!(err, BusError::Invalid(_)));
        assert!(EmbeddedBus::in_memory(0).is_err());
    }

    #[tokio::test]
    async fn keyed_records_follow_kafka_partitioner() {
        let bus = EmbeddedBus::in_memory(6).unwrap();
        let keys = ["brand-1", "brand-2", "brand-3", "21", "foobar", "abc"];
        let mut batch = Vec::new();
        for round in 0..3 {
            for key in keys {
                batch.push(rec("products", Some(key), &format!("{key}:{round}")));
            }
        }
        let positions = bus.produce(batch).await.unwrap();
        for (i, pos) in positions.iter().enumerate() {
            let key = keys[i % keys.len()];
            assert_eq!(
                pos.partition,
                partition::partition_for(key.as_bytes(), 6),
                "{key}"
            );
        }
        // Same key, same partition, in order.
        let p = partition::partition_for(b"foobar", 6);
        let fetched = bus.fetch("products", p, 0, 100).await.unwrap();
        let foobar: Vec<String> = values(&fetched)
            .into_iter()
            .filter(|v| v.starts_with("foobar:"))
            .collect();
        assert_eq!(foobar, ["foobar:0", "foobar:1", "foobar:2"]);
    }

    #[tokio::test]
    async fn unkeyed_records_stick_per_call_and_rotate_across_calls() {
        let bus = EmbeddedBus::in_memory(3).unwrap();
        let mut seen = Vec::new();
        for call in 0..4 {
            let batch = (0..5)
                .map(|i| rec("raw", None, &format!("{call}-{i}")))
                .collect();
            let positions = bus.produce(batch).await.unwrap();
            let first = positions[0].partition;
            assert!(
                positions.iter().all(|p| p.partition == first),
                "{positions:?}"
            );
            seen.push(first);
        }
        assert_eq!(seen, [0, 1, 2, 0]);
    }

    #[tokio::test]
    async fn fetch_from_the_middle_and_past_the_end() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        let batch = (0..10).map(|i| rec("log", None, &i.to_string())).collect();
        bus.produce(batch).await.unwrap();

        let mid = bus.fetch("log", 0, 4, 3).await.unwrap();
        assert_eq!(mid.iter().map(|r| r.offset).collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!(values(&mid), ["4", "5", "6"]);
        assert!(mid.iter().all(|r| r.topic == "log" && r.partition == 0));

        let tail = bus.fetch("log", 0, 8, 100).await.unwrap();
        assert_eq!(values(&tail), ["8", "9"]);
        assert!(bus.fetch("log", 0, 10, 100).await.unwrap().is_empty());
        assert!(bus.fetch("log", 0, u64::MAX, 100).await.unwrap().is_empty());
        assert!(bus.fetch("log", 0, 0, 0).await.unwrap().is_empty());
        assert_eq!(bus.end_offset("log", 0).await.unwrap(), 10);
    }

    #[tokio::test]
    async fn unknown_topics_and_partitions_are_errors_on_reads() {
        let bus = EmbeddedBus::in_memory(2).unwrap();
        assert!(matches!(
            bus.fetch("missing", 0, 0, 1).await,
            Err(BusError::UnknownTopic(t)) if t == "missing"
        ));
        assert!(matches!(
            bus.end_offset("missing", 0).await,
            Err(BusError::UnknownTopic(_))
        ));
        assert!(matches!(
            bus.committed("g", "missing", 0).await,
            Err(BusError::UnknownTopic(_))
        ));
        bus.ensure_topic("t", 2).await.unwrap();
        assert_eq!(bus.end_offset("t", 1).await.unwrap(), 0);
        assert!(matches!(
            bus.end_offset("t", 2).await,
            Err(BusError::UnknownPartition { partition: 2, .. })
        ));
        assert!(matches!(
            bus.commit("g", "t", 5, 0).await,
            Err(BusError::UnknownPartition { partition: 5, .. })
        ));
        assert!(matches!(
            bus.commit("", "t", 0, 0).await,
            Err(BusError::Invalid(_))
        ));
        assert!(matches!(
            bus.commit("g", "t", 0, u64::MAX).await,
            Err(BusError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn commit_and_committed_per_group() {
        let bus = EmbeddedBus::in_memory(2).unwrap();
        bus.ensure_topic("t", 2).await.unwrap();
        assert_eq!(bus.committed("sink", "t", 0).await.unwrap(), None);
        bus.commit("sink", "t", 0, 5).await.unwrap();
        bus.commit("trigger", "t", 0, 2).await.unwrap();
        bus.commit("sink", "t", 1, 7).await.unwrap();
        assert_eq!(bus.committed("sink", "t", 0).await.unwrap(), Some(5));
        assert_eq!(bus.committed("trigger", "t", 0).await.unwrap(), Some(2));
        assert_eq!(bus.committed("sink", "t", 1).await.unwrap(), Some(7));
        assert_eq!(bus.committed("trigger", "t", 1).await.unwrap(), None);
        // A later commit replaces the position (even backwards, as Kafka allows).
        bus.commit("sink", "t", 0, 3).await.unwrap();
        assert_eq!(bus.committed("sink", "t", 0).await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn keys_values_headers_and_timestamps_round_trip() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        let record = ProduceRecord {
            topic: "h".to_owned(),
            key: Some(vec![0xff, 0x00, 0x80]),
            value: vec![0, 159, 146, 150],
            headers: vec![
                ("trace".to_owned(), b"1".to_vec()),
                ("plugin".to_owned(), b"oliveyoung".to_vec()),
                ("trace".to_owned(), b"2".to_vec()),
                ("empty".to_owned(), Vec::new()),
            ],
            timestamp_ms: -42,
        };
        let bare = ProduceRecord {
            topic: "h".to_owned(),
            key: None,
            value: Vec::new(),
            headers: Vec::new(),
            timestamp_ms: i64::MAX,
        };
        let empty_key = ProduceRecord {
            key: Some(Vec::new()),
            ..bare.clone()
        };
        bus.produce(vec![record.clone(), bare.clone(), empty_key.clone()])
            .await
            .unwrap();
        let fetched = bus.fetch("h", 0, 0, 10).await.unwrap();
        assert_eq!(fetched.len(), 3);
        for (got, sent) in fetched.iter().zip([&record, &bare, &empty_key]) {
            assert_eq!(got.key, sent.key);
            assert_eq!(got.value, sent.value);
            assert_eq!(got.headers, sent.headers);
            assert_eq!(got.timestamp_ms, sent.timestamp_ms);
        }
        // Headers of a record fetched alone stay in order too.
        let one = bus.fetch("h", 0, 0, 1).await.unwrap();
        assert_eq!(one[0].headers, record.headers);
    }

    #[tokio::test]
    async fn ensure_topic_keeps_existing_count() {
        let bus = EmbeddedBus::in_memory(2).unwrap();
        bus.ensure_topic("b", 4).await.unwrap();
        bus.ensure_topic("b", 9).await.unwrap();
        bus.produce(vec![rec("a", None, "auto")]).await.unwrap();
        bus.ensure_topic("a", 5).await.unwrap();
        assert_eq!(
            bus.topics().await.unwrap(),
            [("a".to_owned(), 2), ("b".to_owned(), 4)]
        );
    }

    #[tokio::test]
    async fn reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/bus.sqlite");
        {
            let bus = EmbeddedBus::open(&path, 2).unwrap();
            bus.ensure_topic("t", 3).await.unwrap();
            let mut r = rec("t", Some("k"), "v0");
            r.headers = vec![("h".to_owned(), b"x".to_vec())];
            bus.produce(vec![r, rec("t", Some("k"), "v1"), rec("auto", None, "a")])
                .await
                .unwrap();
            bus.commit("sink", "t", partition::partition_for(b"k", 3), 1)
                .await
                .unwrap();
        }
        let bus = EmbeddedBus::open(&path, 2).unwrap();
        assert_eq!(
            bus.topics().await.unwrap(),
            [("auto".to_owned(), 2), ("t".to_owned(), 3)]
        );
        let p = partition::partition_for(b"k", 3);
        assert_eq!(bus.end_offset("t", p).await.unwrap(), 2);
        assert_eq!(bus.committed("sink", "t", p).await.unwrap(), Some(1));
        let fetched = bus.fetch("t", p, 0, 10).await.unwrap();
        assert_eq!(values(&fetched), ["v0", "v1"]);
        assert_eq!(fetched[0].headers, [("h".to_owned(), b"x".to_vec())]);
        // Appends continue the old offsets.
        let pos = bus.produce(vec![rec("t", Some("k"), "v2")]).await.unwrap();
        assert_eq!(
            pos[0],
            RecordPosition {
                partition: p,
                offset: 2
            }
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_handles_on_one_file_append_dense_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.sqlite");
        let a = Arc::new(EmbeddedBus::open(&path, 1).unwrap());
        let b = Arc::new(EmbeddedBus::open(&path, 1).unwrap());
        const CALLS: usize = 25;
        const PER_CALL: usize = 4;

        let mut tasks = Vec::new();
        for (name, bus) in [("a", Arc::clone(&a)), ("b", Arc::clone(&b))] {
            tasks.push(tokio::spawn(async move {
                let mut positions = Vec::new();
                for call in 0..CALLS {
                    let batch = (0..PER_CALL)
                        .map(|i| rec("shared", None, &format!("{name}-{call}-{i}")))
                        .collect();
                    positions.extend(bus.produce(batch).await.unwrap());
                }
                positions
            }));
        }
        let mut offsets = Vec::new();
        for task in tasks {
            let positions = task.await.unwrap();
            // Each batch is contiguous: nobody interleaves inside a transaction.
            for batch in positions.chunks(PER_CALL) {
                for pair in batch.windows(2) {
                    assert_eq!(pair[1].offset, pair[0].offset + 1);
                }
            }
            offsets.extend(positions.into_iter().map(|p| p.offset));
        }
        offsets.sort_unstable();
        let total = (2 * CALLS * PER_CALL) as u64;
        assert_eq!(offsets, (0..total).collect::<Vec<_>>());

        // Both handles see the same log.
        assert_eq!(a.end_offset("shared", 0).await.unwrap(), total);
        assert_eq!(b.end_offset("shared", 0).await.unwrap(), total);
        let all = b.fetch("shared", 0, 0, usize::MAX).await.unwrap();
        assert_eq!(all.len() as u64, total);
        assert!(all.iter().enumerate().all(|(i, r)| r.offset == i as u64));
    }
}
