//! The Kafka [`PartitionReader`]: every followed partition in one
//! librdkafka assignment, read from the consumer's single queue.
//!
//! Why not [`Bus::fetch`](crate::bus::Bus::fetch) per partition: that assigns one
//! partition, polls and unassigns, and librdkafka's prefetch for each
//! partition it leaves behind is memory the sink cannot bound (133 MiB peak
//! at 100 partitions in BENCHMARKS.md). Here all partitions share the
//! consumer queue, and librdkafka applies `queued.max.messages.kbytes` to
//! that one queue regardless of the partition count, so the prefetch is
//! bounded in total: [`STREAM_QUEUE_KBYTES`](super::config::STREAM_QUEUE_KBYTES) plus one
//! fetch response ([`STREAM_FETCH_MAX_BYTES`](super::config::STREAM_FETCH_MAX_BYTES)) unless `[kafka.properties]` sets them.
//!
//! Following a new partition or moving one (a rewind) re-assigns the whole
//! set at the positions handed out so far, on the next poll; librdkafka
//! drops what it had prefetched for the old assignment.
//!
//! Transaction markers (control records) take an offset but are consumed
//! inside librdkafka and never handed out, so a partition whose log ends in
//! one would never look read to its end offset. When the queue runs dry, the
//! reader takes librdkafka's application position, which steps past them, as
//! how far the partition is [reached](PartitionReader::reached). That figure
//! never filters records: a wrong one could only end a `--once` run early,
//! never skip a record.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::client::{client_config, consumed, kafka_err, positions};
use super::config::{ClientRole, KafkaSettings};
use crate::bus::reader::PartitionReader;
use crate::bus::{BusError, ConsumedRecord};

/// See the module docs.
pub struct KafkaStream {
    inner: Arc<Mutex<Inner>>,
    /// How long a watermark request may take.
    request_timeout: Duration,
}

struct Inner {
    consumer: BaseConsumer,
    /// Next offset to hand out, per topic and partition.
    positions: HashMap<String, HashMap<u32, u64>>,
    /// How far past its last handed-out record a partition is read, where
    /// librdkafka stepped over markers; only ever above `positions`.
    beyond: HashMap<(String, u32), u64>,
    /// Partitions moved by a seek after they were followed: librdkafka may
    /// still report the old assignment's position for them until a record
    /// of the new one comes, so `beyond` is not taken from it until then.
    moved: HashSet<(String, u32)>,
    /// The assignment must be redone before the next poll.
    reassign: bool,
}

impl KafkaStream {
    /// A reader with its own consumer (group `<group_prefix>.reader`, never
    /// committed to). Nothing is fetched until the first poll after a seek.
    pub fn connect(settings: &KafkaSettings) -> Result<Self, BusError> {
        let group = format!("{}.reader", settings.group_prefix);
        let consumer: BaseConsumer = client_config(
            settings,
            ClientRole::Stream,
            &[
                ("group.id", group.as_str()),
                ("enable.partition.eof", "false"),
            ],
        )
        .create()
        .map_err(|e| BusError::Invalid(format!("cannot create the kafka stream reader: {e}")))?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                consumer,
                positions: HashMap::new(),
                beyond: HashMap::new(),
                moved: HashSet::new(),
                reassign: false,
            })),
            request_timeout: settings.request_timeout,
        })
    }
}

impl Inner {
    fn assign(&mut self) -> Result<(), BusError> {
        let mut tpl = TopicPartitionList::new();
        for (topic, partitions) in &self.positions {
            for (&p, &offset) in partitions {
                let offset = i64::try_from(offset)
                    .map_err(|_| BusError::Invalid(format!("offset {offset} is out of range")))?;
                tpl.add_partition_offset(topic, p as i32, Offset::Offset(offset))
                    .map_err(|e| kafka_err(&e))?;
            }
        }
        self.consumer.assign(&tpl).map_err(|e| kafka_err(&e))?;
        self.reassign = false;
        Ok(())
    }

    /// Blocking: up to `max` records, waiting up to `wait` for the first.
    fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError> {
        if self.reassign {
            self.assign()?;
        }
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        while out.len() < max {
            let timeout = if out.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let m = match self.consumer.poll(timeout) {
                None if out.is_empty() && Instant::now() < deadline => continue,
                None => break,
                Some(Ok(m)) => m,
                // Records already taken off the queue are handed out; a
                // lasting error comes back on the next poll.
                Some(Err(e)) if !out.is_empty() => {
                    tracing::debug!(error = %e, "kafka stream: error after a partial poll");
                    break;
                }
                Some(Err(e)) => return Err(kafka_err(&e)),
            };
            let partition = m.partition().max(0) as u32;
            let offset = m.offset().max(0) as u64;
            let Some(next) = self
                .positions
                .get_mut(m.topic())
                .and_then(|t| t.get_mut(&partition))
            else {
                continue;
            };
            if offset < *next {
                // Prefetched before a rewind or a re-assignment.
                continue;
            }
            *next = offset + 1;
            if !self.moved.is_empty() {
                self.moved.remove(&(m.topic().to_owned(), partition));
            }
            out.push(consumed(&m));
        }
        if out.len() < max {
            self.step_past_markers();
        }
        Ok(out)
    }

    /// The queue ran dry: note where librdkafka's application position is
    /// past the last handed-out record (it steps over transaction markers).
    fn step_past_markers(&mut self) {
        if self.reassign {
            return;
        }
        let Ok(assigned) = self.consumer.position() else {
            return;
        };
        for (key, at) in positions(&assigned) {
            if self.moved.contains(&key) {
                continue;
            }
            let next = self
                .positions
                .get(&key.0)
                .and_then(|t| t.get(&key.1))
                .copied();
            if next.is_some_and(|next| at > next) {
                self.beyond.insert(key, at);
            }
        }
    }
}

#[async_trait]
impl PartitionReader for KafkaStream {
    async fn seek(&self, topic: &str, partition: u32, offset: u64) -> Result<(), BusError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let followed = inner
            .positions
            .entry(topic.to_owned())
            .or_default()
            .insert(partition, offset)
            .is_some();
        let key = (topic.to_owned(), partition);
        inner.beyond.remove(&key);
        if followed {
            inner.moved.insert(key);
        }
        inner.reassign = true;
        Ok(())
    }

    async fn poll(&self, max: usize, wait: Duration) -> Result<Vec<ConsumedRecord>, BusError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .poll(max, wait)
        })
        .await
        .map_err(|e| BusError::Storage(format!("kafka worker failed: {e}")))?
    }

    async fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64), BusError> {
        let inner = self.inner.clone();
        let (topic, timeout) = (topic.to_owned(), self.request_timeout);
        tokio::task::spawn_blocking(move || {
            let (low, high) = inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .consumer
                .fetch_watermarks(&topic, partition as i32, timeout)
                .map_err(|e| kafka_err(&e))?;
            Ok((low.max(0) as u64, high.max(0) as u64))
        })
        .await
        .map_err(|e| BusError::Storage(format!("kafka worker failed: {e}")))?
    }

    fn reached(&self, topic: &str, partition: u32) -> Option<u64> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let next = *inner.positions.get(topic)?.get(&partition)?;
        let beyond = inner.beyond.get(&(topic.to_owned(), partition));
        Some(beyond.map_or(next, |&b| b.max(next)))
    }
}
