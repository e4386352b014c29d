//! The S3 sink: topics out of the bus into objects, with Kafka Connect S3
//! sink semantics, exactly once.
//!
//! It owns the path from committed bus offsets to durable objects, and
//! nothing about how records got onto the bus. It consumes through the
//! [`crate::bus::Bus`] trait only (its own consumer group, offsets committed
//! with [`Bus::commit`](crate::bus::Bus::commit)), so it runs the same over
//! the embedded SQLite bus and over Kafka.
//!
//! # Layout
//! - [`config`]: `[sink]` in `crawlhost.toml`, checked into [`SinkSettings`].
//! - [`connect_config`]: a Kafka Connect S3 sink connector JSON config,
//!   mapped onto [`SinkConfig`]; unknown properties listed as ignored.
//! - [`partitioner`], [`timefmt`]: encoded partitions (default, field,
//!   time-based with Joda `path.format`, DST-correct zones).
//! - [`rotation`]: when batches close (pure policy).
//! - [`naming`]: object keys in Confluent's layout.
//! - [`encoding`]: the formats and codecs (what `[sink]` names, what the
//!   encoder does); [`encode`], [`parquet_file`]: NDJSON (plain, gzip,
//!   zstd) and Parquet.
//! - [`store`]: S3 or a local directory, multipart uploads, retries;
//!   [`store_failure`]: which store errors stop the sink instead.
//! - [`marker`], [`writer`]: one partition's batches and the exactly-once
//!   protocol.
//! - [`runner`]: the loop over all partitions.
//! - [`status`]: what the operator sees of a running sink.
//! - [`log_check`]: whether the log is still the one the group's offsets
//!   and objects belong to (a topic deleted and recreated stops the sink).
//!
//! # Exactly once, in every rotation mode
//! Connect's S3 sink is exactly-once only when batch boundaries are a
//! function of the records (deterministic rotation): after a crash it
//! re-reads from the committed offset and overwrites the same keys. With
//! wall-clock rotation the boundaries move and a record can end up in two
//! objects. Here boundaries may move freely, because a batch's cut is written
//! down *before* any of its objects become visible:
//!
//! 1. Keys are deterministic: `<topic>+<partition>+<first offset>` per
//!    encoded partition, so a batch's objects are named by its records.
//! 2. When a batch closes, its files are finished into local spool files
//!    and a **marker** object is written at
//!    `<marker_prefix>/<group>/<topic>+<partition>+<batch start>.json`
//!    holding the cut (`end` offset), the files (key, record count) and, for
//!    wall-clock partitioning, the encoded partition of each offset run.
//! 3. Then the objects are uploaded (a multipart upload becomes visible only
//!    when completed), then `end` is committed on the bus, then the marker is
//!    deleted. Offsets are never committed before every object of the batch
//!    is durable.
//! 4. On start, each partition reads its committed offset `c` and the marker
//!    at `c` (one GET, no listing). No marker: nothing past `c` was made
//!    visible, so a fresh batch starts at `c` and overwrites nothing that
//!    counts. A marker: the crash was between 2 and 3. The writer replays
//!    records `c..end` into exactly the recorded files, checks they match the
//!    marker (same keys, same counts; a changed configuration is refused
//!    rather than guessed), **creates only the missing objects** (conditional
//!    create, `If-None-Match: *` on S3; an existing object is the complete
//!    one from before the crash), commits `end` and deletes the marker.
//!
//! Dead letters of a recovered batch are not sent twice; a crash inside an
//! open (unmarked) batch can send its dead letters again (the dead-letter
//! topic is at-least-once, like Connect's). Running two sinks with the same
//! group on the same partitions is not supported (the bus trait has no
//! group membership).
//!
//! # Bounded memory
//! An open file is a spool file on local disk behind an 8 KiB buffer, not a
//! buffer in memory, and it is always plain NDJSON: gzip, zstd and Parquet
//! are produced when the file closes, one file at a time. So an open
//! partition costs a few KiB, not `s3.part.size` and not a compressor.
//! Uploads read parts from the spool file; every part in memory holds a
//! permit of one semaphore (`parts_in_flight`), so upload memory is at most
//! `parts_in_flight x s3.part.size` (4 x 25 MiB by default) whatever the
//! number of partitions. On Kafka, records come from one stream over every
//! partition whose prefetch is bounded in total
//! ([`crate::bus::kafka::stream`]). Parquet conversion reads the spool file
//! in 4096-row batches and closes row groups at 8 MiB. Disk use is the open
//! batches' uncompressed size (bounded by `flush.size` and the rotation
//! intervals).
//!
//! # Records the sink cannot write
//! A value that is not JSON, a record the partitioner cannot place (missing
//! field, unreadable timestamp), or a null value with
//! `behavior.on.null.values = fail` is a bad record. With
//! `errors.tolerance = none` the sink stops, naming topic, partition, offset
//! and cause, and commits nothing past it. With `all` it is skipped and, when
//! `dead_letter_topic` is set, produced there with its original key, value
//! and headers plus Connect's context headers (`__connect.errors.topic`,
//! `.partition`, `.offset`, `.stage`, `.exception.message`, ...). Null values
//! are an empty value or the JSON `null`; `ignore` skips them, `write`
//! writes the line `null` (a row of nulls in Parquet).

pub mod config;
pub mod connect_config;
pub mod encode;
pub mod encoding;
pub mod log_check;
pub mod marker;
pub mod naming;
pub mod parquet_file;
pub mod partitioner;
pub mod rotation;
pub mod runner;
pub mod status;
pub mod store;
pub mod store_failure;
pub mod timefmt;
pub mod writer;

pub use config::{SinkConfig, SinkConfigError, SinkSettings};
pub use runner::{RunMode, Sink, SinkReport};
pub use writer::{Clock, SystemClock};

/// Errors that stop the sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] SinkConfigError),
    /// The bus failed for a reason other than being unreachable.
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    /// The object store could not be set up.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A bad record with `errors.tolerance = none`.
    #[error(
        "cannot write {topic}/{partition} offset {offset} ({stage}): {reason}; nothing after it is committed (set errors_tolerance = \"all\" to skip such records)"
    )]
    BadRecord {
        topic: String,
        partition: u32,
        offset: u64,
        stage: String,
        reason: String,
    },
    /// The local spool directory failed.
    #[error("sink spool: {0}")]
    Spool(String),
    /// This sink no longer owns the partition: the consumer group gave it
    /// to another member (a rebalance), which re-reads from the committed
    /// offset. The runner drops the partition's open batch and goes on.
    #[error("{topic}/{partition} moved to another sink of the group: {reason}")]
    PartitionLost {
        topic: String,
        partition: u32,
        reason: String,
    },
    /// Another sink of the same group (not a group member: the embedded
    /// bus, or a process sharing its data directory) committed this
    /// partition while this one was writing it.
    #[error(
        "{topic}/{partition}: another sink of group {group} committed offset {found} while this one was writing the batch from {start}; run one sink per group on this bus"
    )]
    ConcurrentSink {
        topic: String,
        partition: u32,
        group: String,
        start: u64,
        found: u64,
    },
    /// A batch marker could not be read.
    #[error("batch marker {key} is unusable: {reason}")]
    Marker { key: String, reason: String },
    /// The group's committed offset is outside the partition's log: the
    /// topic was deleted and recreated (or records expired unwritten).
    #[error(
        "{topic}/{partition}: the sink's group has committed offset {committed}, but the partition now holds offsets {low}..{high} (low watermark {low}, end offset {high}); the topic was deleted and recreated, or records expired before the sink wrote them. Stopping rather than skipping records or overwriting the objects of the earlier topic: move its objects away (or use another topics_dir), reset the group's offset for this partition, then start the sink again"
    )]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        committed: u64,
        low: u64,
        high: u64,
    },
    /// A fresh batch would overwrite an object it did not write.
    #[error(
        "{topic}/{partition}: object {key} already exists, but the sink's group has committed offset {committed} with no batch pending there (end offset {high}): the object belongs to an earlier log of this topic (deleted and recreated, or a new bus) and the batch would overwrite it. Stopping; nothing of the batch was written or committed. Move the earlier objects away (or use another topics_dir), then start the sink again"
    )]
    ObjectOfAnotherLog {
        topic: String,
        partition: u32,
        key: String,
        committed: u64,
        high: u64,
    },
    /// A pending batch replays into other files than its marker lists.
    #[error(
        "batch marker {key} lists {expected:?} but the records now give {produced:?}: the sink configuration changed while a batch was pending; restore it until the batch is finished, or delete the marker to accept possible duplicates"
    )]
    ReplayMismatch {
        key: String,
        expected: Vec<String>,
        produced: Vec<String>,
    },
}
