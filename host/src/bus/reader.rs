//! Reading many partitions at once: what the sink consumes through.
//!
//! A [`PartitionReader`] follows a set of `(topic, partition)`s, each from a
//! position the caller chose, and hands out the records that are ready across
//! all of them, in offset order within each partition. [`open_reader`] picks
//! the backend's own stream when it has one (Kafka: one librdkafka
//! assignment whose prefetch is bounded in total, [`super::kafka::stream`])
//! and otherwise [`FetchReader`], which walks the partitions round-robin with
//! [`Bus::fetch`] (the embedded bus, where a fetch is a local query).
//!
//! A [`GroupMember`] reader ([`Bus::group_reader`], Kafka only) is a member
//! of a consumer group: the group assigns it partitions instead.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::{Bus, BusError, ConsumedRecord};

/// Records of many partitions, each from a chosen position.
#[async_trait]
pub trait PartitionReader: Send + Sync {
    /// Read `topic`/`partition` from `offset` on: starts following a new
    /// partition, or moves one already followed (backwards too). Records of
    /// that partition the reader had buffered are dropped.
    async fn seek(&self, topic: &str, partition: u32, offset: u64) -> Result<(), BusError>;

    /// Up to `max` records that are ready, from any followed partitions, in
    /// offset order within each partition and each at or after the last
    /// position handed out (gaps are possible where the log has them).
    /// Waits up to `wait` when none is ready; empty means none came.
    async fn poll(&self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError>;

    /// The offset `topic`/`partition` has been read up to: the next offset
    /// of the last record handed out, or further where the log holds
    /// entries that are never handed out (Kafka's transaction markers).
    /// What is below it will not come. `None` for a partition not followed.
    fn reached(&self, topic: &str, partition: u32) -> Option<u64>;

    /// The partition's low watermark (first offset the log still holds) and
    /// end offset, asked of the broker now. The sink checks its committed
    /// offset against them when it starts a partition.
    async fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64), BusError>;

    /// The group membership behind this reader, when it is a member of a
    /// consumer group ([`Bus::group_reader`]): then the group, not the
    /// caller, decides which partitions it reads.
    fn group(&self) -> Option<&dyn GroupMember> {
        None
    }
}

/// A change of a group member's assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// These partitions are now this member's.
    Assigned(Vec<(String, u32)>),
    /// These partitions are no longer this member's: their open work is
    /// dropped (it cannot be committed any more).
    Revoked(Vec<(String, u32)>),
}

/// A reader that is one member of a consumer group: it reports assignment
/// changes and reads and commits the group's offsets as the member, so a
/// member that lost a partition cannot move its position (on Apache Kafka;
/// see [`super::kafka::group`]).
#[async_trait]
pub trait GroupMember: Send + Sync {
    /// The changes since the last call, in order.
    fn take_changes(&self) -> Vec<GroupChange>;
    /// Whether the partition is assigned to this member now.
    fn owns(&self, topic: &str, partition: u32) -> bool;
    /// Rebalances that assigned this member partitions, since it joined.
    fn rebalances(&self) -> u64;
    /// The group's session timeout: how soon a dead member is noticed.
    fn session_timeout(&self) -> Duration;
    /// The group's committed position of a partition, if any.
    async fn committed(&self, topic: &str, partition: u32) -> Result<Option<u64>, BusError>;
    /// Commit the group's position of a partition this member owns;
    /// [`BusError::NotOwner`] when it no longer does.
    async fn commit(&self, topic: &str, partition: u32, next_offset: u64) -> Result<(), BusError>;
    /// Leave and join again, so the group assigns every partition anew.
    async fn rejoin(&self) -> Result<(), BusError>;
    /// Leave the group (revoking this member's partitions).
    async fn leave(&self);
}

/// The backend's stream reader, or a [`FetchReader`] over `bus`.
pub fn open_reader(bus: Arc<dyn Bus>) -> Result<Box<dyn PartitionReader>, BusError> {
    match bus.stream_reader()? {
        Some(reader) => Ok(reader),
        None => Ok(Box::new(FetchReader::new(bus))),
    }
}

/// A [`PartitionReader`] made of [`Bus::fetch`] calls: each poll walks the
/// followed partitions round-robin, starting after the last one it served,
/// and stops at `max` records. Nothing is buffered between polls.
pub struct FetchReader {
    bus: Arc<dyn Bus>,
    state: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    /// Next offset per followed partition.
    positions: BTreeMap<(String, u32), u64>,
    /// Where the next poll starts its walk.
    cursor: usize,
}

impl FetchReader {
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self {
            bus,
            state: Mutex::new(FetchState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PartitionReader for FetchReader {
    async fn seek(&self, topic: &str, partition: u32, offset: u64) -> Result<(), BusError> {
        self.state()
            .positions
            .insert((topic.to_owned(), partition), offset);
        Ok(())
    }

    async fn poll(&self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError> {
        let (order, start) = {
            let s = self.state();
            let order: Vec<((String, u32), u64)> =
                s.positions.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let start = if order.is_empty() {
                0
            } else {
                s.cursor % order.len()
            };
            (order, start)
        };
        let n = order.len();
        let mut out: Vec<ConsumedRecord> = Vec::new();
        let mut visited = 0;
        while visited < n && out.len() < max {
            let ((topic, partition), offset) = &order[(start + visited) % n];
            visited += 1;
            let batch = match self
                .bus
                .fetch(topic, *partition, *offset, max - out.len())
                .await
            {
                Ok(b) => b,
                // What was fetched before the failure is handed out; the
                // failure comes back on the next poll if it lasts.
                Err(_) if !out.is_empty() => break,
                Err(e) => return Err(e),
            };
            if let Some(last) = batch.last() {
                self.state()
                    .positions
                    .insert((topic.clone(), *partition), last.offset + 1);
            }
            out.extend(batch);
        }
        self.state().cursor = start + visited;
        if out.is_empty() && !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(out)
    }

    /// The bus's end offset; the low watermark is 0, as a backend behind
    /// this reader (the embedded log) never deletes records.
    async fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64), BusError> {
        Ok((0, self.bus.end_offset(topic, partition).await?))
    }

    fn reached(&self, topic: &str, partition: u32) -> Option<u64> {
        self.state()
            .positions
            .get(&(topic.to_owned(), partition))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::ProduceRecord;
    use crate::bus::embedded::EmbeddedBus;

    async fn bus_with(records: &[(u32, u64)]) -> (tempfile::TempDir, Arc<dyn Bus>) {
        let dir = tempfile::tempdir().unwrap();
        let bus = EmbeddedBus::open(&dir.path().join("bus.db"), 3).unwrap();
        bus.ensure_topic("t", 3).await.unwrap();
        // Keys that land on each partition, found by trying.
        let mut key_for = BTreeMap::new();
        let mut i = 0;
        while key_for.len() < 3 {
            let key = format!("k{i}");
            key_for
                .entry(crate::bus::partition::partition_for(key.as_bytes(), 3))
                .or_insert(key);
            i += 1;
        }
        for &(partition, count) in records {
            let produce: Vec<ProduceRecord> = (0..count)
                .map(|n| ProduceRecord {
                    topic: "t".into(),
                    key: Some(key_for[&partition].clone().into_bytes()),
                    value: format!("{{\"n\":{n}}}").into_bytes(),
                    headers: vec![],
                    timestamp_ms: 0,
                })
                .collect();
            bus.produce(produce).await.unwrap();
        }
        (dir, Arc::new(bus))
    }

    fn offsets(batch: &[ConsumedRecord]) -> Vec<(u32, u64)> {
        batch.iter().map(|r| (r.partition, r.offset)).collect()
    }

    #[tokio::test]
    async fn walks_partitions_round_robin_up_to_max() {
        let (_dir, bus) = bus_with(&[(0, 3), (1, 2), (2, 4)]).await;
        let reader = FetchReader::new(bus);
        for p in 0..3 {
            reader.seek("t", p, 0).await.unwrap();
        }
        let first = reader.poll(4, Duration::ZERO).await.unwrap();
        assert_eq!(offsets(&first), [(0, 0), (0, 1), (0, 2), (1, 0)]);
        // The next walk starts after partition 1, the last one served.
        let second = reader.poll(4, Duration::ZERO).await.unwrap();
        assert_eq!(offsets(&second), [(2, 0), (2, 1), (2, 2), (2, 3)]);
        let third = reader.poll(4, Duration::ZERO).await.unwrap();
        assert_eq!(offsets(&third), [(1, 1)]);
        assert!(reader.poll(4, Duration::ZERO).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn seek_moves_a_partition_back_and_skips_unfollowed_ones() {
        let (_dir, bus) = bus_with(&[(0, 3), (1, 2)]).await;
        let reader = FetchReader::new(bus);
        reader.seek("t", 0, 1).await.unwrap();
        assert_eq!(
            offsets(&reader.poll(10, Duration::ZERO).await.unwrap()),
            [(0, 1), (0, 2)]
        );
        reader.seek("t", 0, 0).await.unwrap();
        assert_eq!(
            offsets(&reader.poll(10, Duration::ZERO).await.unwrap()),
            [(0, 0), (0, 1), (0, 2)]
        );
    }
}
