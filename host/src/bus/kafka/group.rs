//! Membership in a Kafka consumer group, for the long-running consumers that
//! share a set of topics between processes (the sink; see
//! [`crate::bus::Bus::group_reader`]).
//!
//! A [`GroupReader`] is one librdkafka consumer subscribed to the topics in
//! the group. Kafka decides which partitions it reads; the reader reports
//! every change ([`Change`]) so the caller can open what it was given and
//! drop what was taken, and it commits and reads offsets *as the member*:
//! on Apache Kafka a commit from a member that no longer owns the partition
//! (an older generation) is refused, which is what keeps a sink that lost a
//! partition from moving the group's position.
//!
//! Revocations are reported when librdkafka hands them over, inside a poll;
//! by then the partitions are gone, so a caller cannot commit for them any
//! more and drops their open work (the next owner re-reads from the
//! committed offset). Records of a revoked partition still in the poll's
//! batch are dropped here.
//!
//! Assignment strategy: `[kafka] group_assignment`, default
//! `cooperative-sticky` (incremental rebalancing: a member keeps what it
//! has while others join or leave). The eager strategies (`range`,
//! `roundrobin`) revoke everything and assign again on each rebalance; the
//! reader reports both shapes the same way.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::client::{client_config, consumed, kafka_err, positions};
use super::config::{ClientRole, KafkaSettings};
use crate::bus::reader::{GroupChange, GroupMember, PartitionReader};
use crate::bus::{BusError, ConsumedRecord};

/// A change of this member's assignment, as librdkafka reported it.
pub type Change = GroupChange;

/// Collects the rebalance callbacks librdkafka makes inside `poll`.
#[derive(Default)]
pub struct GroupContext {
    changes: Mutex<Vec<Change>>,
    rebalances: std::sync::atomic::AtomicU64,
}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, u32)> {
    tpl.elements()
        .iter()
        .filter_map(|e| Some((e.topic().to_owned(), u32::try_from(e.partition()).ok()?)))
        .collect()
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let gone = partitions(tpl);
            tracing::info!(partitions = ?gone, "Group member: partitions revoked.");
            self.changes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Change::Revoked(gone));
        }
    }

    fn post_rebalance(&self, base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                self.rebalances
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let given = partitions(tpl);
                let incremental =
                    matches!(base.rebalance_protocol(), RebalanceProtocol::Cooperative);
                tracing::info!(partitions = ?given, incremental, "Group member: partitions assigned.");
                self.changes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Change::Assigned(given));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "Group rebalance failed."),
        }
    }
}

/// See the module docs.
pub struct GroupReader {
    inner: Arc<Mutex<Inner>>,
    request_timeout: Duration,
    session_timeout: Duration,
    group: String,
}

struct Inner {
    consumer: BaseConsumer<GroupContext>,
    /// Partitions this member owns now.
    owned: BTreeSet<(String, u32)>,
    /// Next offset to hand out, per owned partition the caller positioned.
    positions: HashMap<(String, u32), u64>,
    /// Positions to apply with a seek (librdkafka refuses a seek until the
    /// partition is fetching; retried on each poll).
    pending_seeks: BTreeSet<(String, u32)>,
    /// Changes not yet taken by the caller.
    changes: Vec<Change>,
    /// How far past its last handed-out record a partition is read, where
    /// librdkafka stepped over transaction markers (see
    /// [`super::stream`]); only ever above `positions`.
    beyond: HashMap<(String, u32), u64>,
}

/// Whether a commit was refused because this member no longer owns the
/// partition (a rebalance took it, or the member was expelled).
fn lost_ownership(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::FencedInstanceId
                | RDKafkaErrorCode::State
                | RDKafkaErrorCode::UnknownPartition
        )
    )
}

impl GroupReader {
    /// Join `group` for `topics`. `strategy` is librdkafka's
    /// `partition.assignment.strategy`.
    pub fn join(
        settings: &KafkaSettings,
        group: &str,
        topics: &[String],
        strategy: &str,
    ) -> Result<Self, BusError> {
        let session = settings.session_timeout.as_millis().to_string();
        let heartbeat = (settings.session_timeout.as_millis() / 3)
            .clamp(100, 3_000)
            .to_string();
        let consumer: BaseConsumer<GroupContext> = client_config(
            settings,
            ClientRole::Stream,
            &[
                ("group.id", group),
                ("enable.partition.eof", "false"),
                ("session.timeout.ms", session.as_str()),
                ("heartbeat.interval.ms", heartbeat.as_str()),
                ("partition.assignment.strategy", strategy),
            ],
        )
        .create_with_context(GroupContext::default())
        .map_err(|e| BusError::Invalid(format!("cannot create the group consumer: {e}")))?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(|e| kafka_err(&e))?;
        tracing::info!(group, topics = ?topics, strategy, "Joined the consumer group.");
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                consumer,
                owned: BTreeSet::new(),
                positions: HashMap::new(),
                pending_seeks: BTreeSet::new(),
                changes: Vec::new(),
                beyond: HashMap::new(),
            })),
            request_timeout: settings.request_timeout,
            session_timeout: settings.session_timeout,
            group: group.to_owned(),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, BusError> + Send + 'static,
    ) -> Result<T, BusError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| BusError::Storage(format!("kafka worker failed: {e}")))?
    }
}

impl Inner {
    /// Take the rebalance callbacks' changes into `owned` and `changes`.
    fn absorb_changes(&mut self) {
        let new: Vec<Change> = std::mem::take(
            &mut *self
                .consumer
                .context()
                .changes
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for change in new {
            match &change {
                Change::Assigned(ps) => {
                    self.owned.extend(ps.iter().cloned());
                }
                Change::Revoked(ps) => {
                    for p in ps {
                        self.owned.remove(p);
                        self.positions.remove(p);
                        self.pending_seeks.remove(p);
                        self.beyond.remove(p);
                    }
                }
            }
            self.changes.push(change);
        }
    }

    fn apply_seeks(&mut self) {
        let pending: Vec<(String, u32)> = self.pending_seeks.iter().cloned().collect();
        for key in pending {
            let Some(&at) = self.positions.get(&key) else {
                self.pending_seeks.remove(&key);
                continue;
            };
            let Ok(at) = i64::try_from(at) else {
                continue;
            };
            match self.consumer.seek(
                &key.0,
                key.1 as i32,
                Offset::Offset(at),
                Duration::from_millis(500),
            ) {
                Ok(()) => {
                    self.pending_seeks.remove(&key);
                }
                Err(e) => {
                    tracing::debug!(topic = %key.0, partition = key.1, error = %e, "Seek not applied yet; retrying on the next poll.");
                }
            }
        }
    }

    fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError> {
        self.apply_seeks();
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while out.len() < max {
            let timeout = if out.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let polled = self.consumer.poll(timeout).map(|r| r.map(|m| m.detach()));
            // Callbacks ran inside that poll: a revocation drops what this
            // batch holds of the partition.
            self.absorb_changes();
            if !self.pending_seeks.is_empty() {
                self.apply_seeks();
            }
            let m = match polled {
                None if out.is_empty() && Instant::now() < deadline => continue,
                None => break,
                Some(Ok(m)) => m,
                Some(Err(e)) if !out.is_empty() => {
                    tracing::debug!(error = %e, "group reader: error after a partial poll");
                    break;
                }
                Some(Err(e)) => return Err(kafka_err(&e)),
            };
            let key = (m.topic().to_owned(), m.partition().max(0) as u32);
            let offset = m.offset().max(0) as u64;
            // Only partitions the caller positioned, and from there on.
            let Some(next) = self.positions.get_mut(&key) else {
                continue;
            };
            if offset < *next || self.pending_seeks.contains(&key) && offset != *next {
                continue;
            }
            *next = offset + 1;
            out.push(consumed(&m));
        }
        // Records of partitions revoked after they were read.
        out.retain(|r| self.positions.contains_key(&(r.topic.clone(), r.partition)));
        if out.len() < max {
            self.step_past_markers();
        }
        Ok(out)
    }

    /// The queue ran dry: note where librdkafka's position is past the last
    /// handed-out record (it steps over transaction markers), as the stream
    /// reader does.
    fn step_past_markers(&mut self) {
        let Ok(assigned) = self.consumer.position() else {
            return;
        };
        for (key, at) in positions(&assigned) {
            if self.pending_seeks.contains(&key) {
                continue;
            }
            if self.positions.get(&key).is_some_and(|&next| at > next) {
                self.beyond.insert(key, at);
            }
        }
    }
}

#[async_trait]
impl PartitionReader for GroupReader {
    async fn seek(&self, topic: &str, partition: u32, offset: u64) -> Result<(), BusError> {
        let key = (topic.to_owned(), partition);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !inner.owned.contains(&key) {
            return Err(BusError::Invalid(format!(
                "{topic}/{partition} is not assigned to this member of group {}",
                self.group
            )));
        }
        inner.positions.insert(key.clone(), offset);
        inner.beyond.remove(&key);
        inner.pending_seeks.insert(key);
        Ok(())
    }

    async fn poll(&self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError> {
        self.blocking(move |inner| inner.poll(max, wait)).await
    }

    fn reached(&self, topic: &str, partition: u32) -> Option<u64> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (topic.to_owned(), partition);
        let next = *inner.positions.get(&key)?;
        Some(inner.beyond.get(&key).map_or(next, |&b| b.max(next)))
    }

    async fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64), BusError> {
        let (topic, timeout) = (topic.to_owned(), self.request_timeout);
        self.blocking(move |inner| {
            let (low, high) = inner
                .consumer
                .fetch_watermarks(&topic, partition as i32, timeout)
                .map_err(|e| kafka_err(&e))?;
            Ok((low.max(0) as u64, high.max(0) as u64))
        })
        .await
    }

    fn group(&self) -> Option<&dyn GroupMember> {
        Some(self)
    }
}

#[async_trait]
impl GroupMember for GroupReader {
    fn take_changes(&self) -> Vec<Change> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.absorb_changes();
        std::mem::take(&mut inner.changes)
    }

    fn owns(&self, topic: &str, partition: u32) -> bool {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.owned.contains(&(topic.to_owned(), partition))
    }

    fn rebalances(&self) -> u64 {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .consumer
            .context()
            .rebalances
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn session_timeout(&self) -> Duration {
        self.session_timeout
    }

    async fn committed(&self, topic: &str, partition: u32) -> Result<Option<u64>, BusError> {
        let (topic, timeout) = (topic.to_owned(), self.request_timeout);
        self.blocking(move |inner| {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&topic, partition as i32);
            let got = inner
                .consumer
                .committed_offsets(tpl, timeout)
                .map_err(|e| kafka_err(&e))?;
            Ok(
                match got
                    .find_partition(&topic, partition as i32)
                    .map(|e| e.offset())
                {
                    Some(Offset::Offset(n)) if n >= 0 => Some(n as u64),
                    _ => None,
                },
            )
        })
        .await
    }

    async fn commit(&self, topic: &str, partition: u32, next_offset: u64) -> Result<(), BusError> {
        let topic = topic.to_owned();
        let group = self.group.clone();
        self.blocking(move |inner| {
            if !inner.owned.contains(&(topic.clone(), partition)) {
                return Err(BusError::NotOwner(format!(
                    "{topic}/{partition} is no longer assigned to this member of group {group}"
                )));
            }
            let offset = i64::try_from(next_offset)
                .map_err(|_| BusError::Invalid(format!("offset {next_offset} is out of range")))?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, partition as i32, Offset::Offset(offset))
                .map_err(|e| kafka_err(&e))?;
            match inner.consumer.commit(&tpl, CommitMode::Sync) {
                Ok(()) => Ok(()),
                Err(e) if lost_ownership(&e) => Err(BusError::NotOwner(format!(
                    "group {group} refused the commit of {topic}/{partition}: {e}"
                ))),
                Err(e) => Err(kafka_err(&e)),
            }
        })
        .await
    }

    async fn rejoin(&self) -> Result<(), BusError> {
        self.blocking(|inner| {
            let topics: Vec<String> = inner
                .consumer
                .subscription()
                .map_err(|e| kafka_err(&e))?
                .elements()
                .iter()
                .map(|e| e.topic().to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            inner.consumer.unsubscribe();
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            inner.consumer.subscribe(&names).map_err(|e| kafka_err(&e))
        })
        .await
    }

    async fn leave(&self) {
        let _ = self
            .blocking(|inner| {
                inner.consumer.unsubscribe();
                Ok(())
            })
            .await;
    }
}
