//! The record bus: where plugin records go and where the sink and topic
//! triggers read them back.
//!
//! [`Bus`] is the one seam between the crawl side and the transport. The
//! embedded backend ([`embedded::EmbeddedBus`], an append-only SQLite log) is
//! the default; the Kafka backend implements the same trait with the same
//! semantics: per-topic partitions, offsets that start at 0 and grow by one,
//! keys, headers, record timestamps and committed positions per consumer
//! group.
//!
//! - [`embedded`]: the SQLite log (default).
//! - [`kafka`]: librdkafka, idempotent producer; `[kafka]` in
//!   [`kafka::config`], the clients' shared helpers in [`kafka::client`].
//! - [`forward`]: store-and-forward in front of Kafka while the broker is
//!   away (what `Host::open` uses when `[kafka]` is configured).
//! - [`reader`] (+ [`kafka::stream`]): following many partitions at once,
//!   what the sink reads through.
//! - [`topic`]: the topic-name rule both backends apply.
//! - [`partition`], [`ndjson`]: the key partitioner, record display.

pub mod embedded;
pub mod forward;
pub mod kafka;
pub mod ndjson;
pub mod partition;
pub mod reader;
pub mod topic;

use async_trait::async_trait;

/// One record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct ProduceRecord {
    /// Destination topic; created on first use by the embedded bus.
    pub topic: String,
    /// Record key. Decides the partition (murmur2, as Kafka's default
    /// partitioner) when the topic has more than one.
    pub key: Option<Vec<u8>>,
    /// Record value (JSON text for plugin records, raw bytes for dead letters).
    pub value: Vec<u8>,
    /// Headers, in order; names may repeat.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPosition {
    pub partition: u32,
    pub offset: u64,
}

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp_ms: i64,
}

/// Errors of any bus backend.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The backend's storage failed (disk full, corrupt file, ...).
    #[error("bus storage failed: {0}")]
    Storage(String),
    /// The broker could not be reached or refused the request; worth retrying.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The topic does not exist (only for reads; appends create topics).
    #[error("unknown topic `{0}`")]
    UnknownTopic(String),
    /// A partition outside the topic's range.
    #[error("topic `{topic}` has no partition {partition}")]
    UnknownPartition { topic: String, partition: u32 },
    /// The caller asked for something invalid (empty topic name, ...).
    #[error("invalid bus request: {0}")]
    Invalid(String),
    /// A group member asked to commit for a partition the group no longer
    /// assigns to it.
    #[error("not the partition's owner: {0}")]
    NotOwner(String),
}

/// A record transport with Kafka's log semantics.
///
/// `produce` returns only once every record is durable (the embedded bus has
/// committed its transaction; Kafka has acknowledged with `acks=all`): a task
/// is marked done after that, never before.
#[async_trait]
pub trait Bus: Send + Sync {
    /// Append records atomically and in order; returns where each landed, in
    /// the same order.
    async fn produce(&self, records: Vec<ProduceRecord>) -> Result<Vec<RecordPosition>, BusError>;

    /// Append `records` as one batch named `batch_id`, unless a batch with
    /// that name was appended before: then nothing is written and `None` is
    /// returned. The run loop names a task's batch `<run>/<task key>`, so a
    /// task re-run after a crash (its records acknowledged, the journal not
    /// yet updated) does not write its records twice. The embedded bus checks
    /// the name in the same transaction as the append (exactly once); the
    /// default appends every time (at least once), which is what a backend
    /// without such a store can offer.
    async fn produce_batch(
        &self,
        batch_id: &str,
        records: Vec<ProduceRecord>,
    ) -> Result<Option<Vec<RecordPosition>>, BusError> {
        let _ = batch_id;
        self.produce(records).await.map(Some)
    }

    /// Create a topic with `partitions` partitions if it does not exist yet;
    /// an existing topic keeps its partition count.
    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError>;

    /// Topics and their partition counts, sorted by name.
    async fn topics(&self) -> Result<Vec<(String, u32)>, BusError>;

    /// Up to `max` records of one partition starting at `offset`, in offset
    /// order (fewer or none at the end of the log). None means the partition
    /// holds no record from `offset` up to its end offset; entries that take
    /// an offset but are not records (Kafka's transaction markers) are
    /// skipped, so the offsets handed out can have gaps.
    async fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max: usize,
    ) -> Result<Vec<ConsumedRecord>, BusError>;

    /// A reader that follows many partitions with one stream, when this
    /// backend has one (Kafka). `None` (the default) means
    /// [`reader::FetchReader`] over [`Bus::fetch`] serves, which suits a
    /// backend whose fetch is a local query (the embedded bus).
    /// [`reader::open_reader`] picks.
    fn stream_reader(&self) -> Result<Option<Box<dyn reader::PartitionReader>>, BusError> {
        Ok(None)
    }

    /// A reader that joins consumer group `group` for `topics`, so that
    /// every process reading with the same group gets its share of the
    /// partitions ([`reader::GroupMember`]). `None` (the default) for a
    /// backend without group membership: the embedded bus lives in one
    /// process's data directory, so one process reads it.
    fn group_reader(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Box<dyn reader::PartitionReader>>, BusError> {
        let _ = (group, topics);
        Ok(None)
    }

    /// The offset the next appended record of this partition will get.
    async fn end_offset(&self, topic: &str, partition: u32) -> Result<u64, BusError>;

    /// The position (next offset to read) `group` committed, if any.
    async fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, BusError>;

    /// Commit `group`'s position (next offset to read).
    async fn commit(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
        next_offset: u64,
    ) -> Result<(), BusError>;

    /// Wait until every record `produce` accepted so far has reached its
    /// final destination. A no-op for backends whose `produce` already
    /// writes there; the store-and-forward Kafka bus waits here until its
    /// local log has drained to the broker (a one-shot run calls this
    /// before it exits).
    async fn flush(&self) -> Result<(), BusError> {
        Ok(())
    }

    /// The local store-and-forward log in front of the broker, for the
    /// operator's view; `None` for a backend without one (the embedded bus).
    fn backlog(&self) -> Option<Backlog> {
        None
    }
}

/// The state of a store-and-forward log ([`forward`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    /// Records go to the local log (the broker was unreachable, or the log
    /// is still draining).
    pub forwarding: bool,
    /// Bytes waiting in the local log.
    pub pending_bytes: u64,
    /// Records delivered through the log since the process started.
    pub forwarded: u64,
}
