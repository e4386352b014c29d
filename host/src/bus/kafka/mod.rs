//! The Kafka bus backend: [`Bus`] over librdkafka (`rdkafka`).
//!
//! It owns the clients (one idempotent producer, one admin client, one
//! assign-only reader behind `fetch`, one committing consumer per group) and
//! maps Kafka's answers onto [`BusError`]; the sink's many-partition reader
//! is [`stream`], handed out by `stream_reader`. The guarantees:
//!
//! - **Delivery**: the producer runs with `enable.idempotence=true` and
//!   `acks=all`; [`KafkaBus::deliver`] resolves only when the broker has
//!   acknowledged (or definitively refused) every record, so the run loop
//!   marks a task done only after its records are durable on the cluster.
//!   Retries inside librdkafka cannot duplicate or reorder (idempotence).
//! - **Backpressure**: when the producer queue is full, `deliver` waits for
//!   room and tries again; it never drops a record.
//! - **Partitioning**: `murmur2_random`, Kafka's default partitioner, the
//!   same function the embedded bus uses ([`crate::bus::partition`]).
//! - **Topics**: a topic the host writes to is created (with
//!   `kafka.partitions`) when the cluster lacks it and `kafka.create_topics`
//!   is on; tansu, like many managed clusters, does not auto-create.
//!
//! A broker that is away makes `deliver` fail with [`BusError::Unavailable`]
//! after `kafka.delivery_timeout_ms`; the store-and-forward wrapper
//! ([`crate::bus::forward`]) turns that into "keep crawling into the local log".
//!
//! Every librdkafka call that blocks runs on tokio's blocking pool.
//!
//! - [`config`]: `[kafka]`, checked into [`KafkaSettings`] and the client
//!   property lists (pure); [`properties`]: the pass-through properties and
//!   which of them are secret.
//! - [`client`]: building a client from those properties, and mapping its
//!   errors onto [`BusError`] (shared by this file and [`stream`]).
//! - [`stream`]: the sink's many-partition reader.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

pub mod client;
pub mod config;
pub mod group;
pub mod properties;
pub mod stream;

use super::reader::PartitionReader;
use super::topic::validate_topic;
use super::{Bus, BusError, ConsumedRecord, ProduceRecord, RecordPosition};
pub use client::{client_config, kafka_err};
pub use config::{
    ClientRole, Compression, KafkaConfig, KafkaConfigError, KafkaSettings, SASL_PASSWORD_ENV,
    SSL_KEY_PASSWORD_ENV, SecurityProtocol,
};
use stream::KafkaStream;

/// How long `deliver` sleeps before offering a record again to a full
/// producer queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(20);

fn client_err(what: &str, e: KafkaError) -> BusError {
    match e {
        KafkaError::ClientCreation(m) => BusError::Invalid(format!(
            "cannot create the kafka {what}: {m} (check [kafka]; TLS and SCRAM need a host built with the `kafka-tls` feature)"
        )),
        other => kafka_err(&other),
    }
}

/// The Kafka backend. Share it behind an `Arc`.
pub struct KafkaBus {
    settings: KafkaSettings,
    /// Replaced when librdkafka reports a fatal (idempotence) error, which
    /// leaves the old producer unusable.
    producer: RwLock<Arc<FutureProducer>>,
    admin: Arc<AdminClient<DefaultClientContext>>,
    /// Assign-only consumer behind `fetch`; one fetch at a time.
    reader: Arc<Mutex<BaseConsumer>>,
    /// One committing consumer per group, created on first use.
    groups: Mutex<HashMap<String, Arc<BaseConsumer>>>,
    /// Partition counts of topics seen to exist.
    known: Mutex<HashMap<String, u32>>,
    /// Serializes topic creation so concurrent produces create a topic once.
    creating: tokio::sync::Mutex<()>,
}

impl KafkaBus {
    /// Build the clients. Nothing is sent until the first request, so this
    /// succeeds with the brokers down; bad properties fail here, named.
    pub fn connect(settings: KafkaSettings) -> Result<Self, BusError> {
        let producer = Self::new_producer(&settings)?;
        let admin: AdminClient<DefaultClientContext> =
            client_config(&settings, ClientRole::Admin, &[])
                .create()
                .map_err(|e| client_err("admin client", e))?;
        // librdkafka refuses `assign` without a group id; the reader never
        // commits, so the group only exists by name.
        let reader_group = format!("{}.reader", settings.group_prefix);
        let reader: BaseConsumer = client_config(
            &settings,
            ClientRole::Reader,
            &[("group.id", reader_group.as_str())],
        )
        .create()
        .map_err(|e| client_err("reader", e))?;
        Ok(Self {
            settings,
            producer: RwLock::new(Arc::new(producer)),
            admin: Arc::new(admin),
            reader: Arc::new(Mutex::new(reader)),
            groups: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
        })
    }

    fn new_producer(settings: &KafkaSettings) -> Result<FutureProducer, BusError> {
        client_config(settings, ClientRole::Producer, &[])
            .create()
            .map_err(|e| client_err("producer", e))
    }

    /// The checked settings this bus was built from.
    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    fn producer(&self) -> Arc<FutureProducer> {
        self.producer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Start a new producer (new producer id, sequences from zero) when the
    /// current idempotent session cannot go on: librdkafka reported a fatal
    /// error, the broker refused the session (a restarted broker may no
    /// longer accept the producer's id, epoch or sequences), or records timed
    /// out. After a timeout librdkafka would bump the producer epoch
    /// (KIP-360) once the broker is back; brokers without that support
    /// (tansu 0.6 crashes its storage on it) never take the producer again,
    /// so a timeout ends the session here instead. The records that failed
    /// went back to the caller (the forward log re-sends them); only a
    /// record whose acknowledgement was lost can arrive twice, which is the
    /// most idempotence allows across sessions.
    fn replace_producer(&self, current: &Arc<FutureProducer>, codes: &[RDKafkaErrorCode]) {
        let reason = match current.client().fatal_error() {
            Some((code, reason)) => format!("fatal error {code:?}: {reason}"),
            None => match codes.iter().find(|c| session_refused(**c)) {
                Some(code) => format!("delivery failed with {code:?}"),
                None => return,
            },
        };
        let old = {
            let mut slot = self
                .producer
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if !Arc::ptr_eq(&slot, current) {
                return;
            }
            match Self::new_producer(&self.settings) {
                Ok(fresh) => std::mem::replace(&mut *slot, Arc::new(fresh)),
                Err(e) => {
                    tracing::error!(error = %e, "Kafka producer session ended and a new producer cannot be created.");
                    return;
                }
            }
        };
        tracing::warn!(reason = %reason, "Kafka producer session ended; started a new producer.");
        // Destroying a librdkafka client may block briefly: not on the
        // async workers.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn_blocking(move || drop(old));
        }
    }

    /// Run `f` on the blocking pool.
    async fn blocking<T, F>(f: F) -> Result<T, BusError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, BusError> + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| BusError::Storage(format!("kafka worker failed: {e}")))?
    }

    /// The partition count of `topic` from the cluster's metadata, `None`
    /// when the cluster does not have it.
    async fn partitions_of(&self, topic: &str) -> Result<Option<u32>, BusError> {
        if let Some(&n) = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
        {
            return Ok(Some(n));
        }
        let reader = self.reader.clone();
        let name = topic.to_owned();
        let timeout = self.settings.request_timeout;
        let count = Self::blocking(move || {
            let consumer = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let metadata = consumer
                .fetch_metadata(Some(&name), timeout)
                .map_err(|e| kafka_err(&e))?;
            let Some(t) = metadata.topics().iter().find(|t| t.name() == name) else {
                return Ok(None);
            };
            match t.error() {
                None => Ok(Some(t.partitions().len() as u32).filter(|&n| n > 0)),
                Some(e) => {
                    let code = RDKafkaErrorCode::from(e);
                    if code == RDKafkaErrorCode::UnknownTopicOrPartition
                        || code == RDKafkaErrorCode::UnknownTopic
                    {
                        Ok(None)
                    } else {
                        Err(BusError::Unavailable(format!(
                            "kafka metadata for `{name}`: {code}"
                        )))
                    }
                }
            }
        })
        .await?;
        if let Some(n) = count {
            self.known
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(topic.to_owned(), n);
        }
        Ok(count)
    }

    /// Make sure `topic` exists before producing to it, creating it when
    /// allowed.
    async fn ensure_writable(&self, topic: &str) -> Result<(), BusError> {
        validate_topic(topic)?;
        if self.partitions_of(topic).await?.is_some() {
            return Ok(());
        }
        if !self.settings.create_topics {
            return Err(BusError::Invalid(format!(
                "topic `{topic}` does not exist on the cluster and kafka.create_topics is off; create it first"
            )));
        }
        self.ensure_topic(topic, self.settings.partitions).await
    }

    /// Send every record and wait until each is acknowledged or refused;
    /// one result per record, in order. Records are enqueued in order, so
    /// records of one partition keep their order.
    pub async fn deliver(
        &self,
        records: &[ProduceRecord],
    ) -> Vec<Result<RecordPosition, BusError>> {
        let mut topics: Vec<&str> = records.iter().map(|r| r.topic.as_str()).collect();
        topics.sort_unstable();
        topics.dedup();
        for topic in topics {
            if let Err(e) = self.ensure_writable(topic).await {
                return records.iter().map(|_| Err(clone_err(&e))).collect();
            }
        }
        let producer = self.producer();
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
            for (name, value) in &r.headers {
                headers = headers.insert(Header {
                    key: name.as_str(),
                    value: Some(value.as_slice()),
                });
            }
            let mut record = FutureRecord::<[u8], [u8]>::to(&r.topic)
                .payload(r.value.as_slice())
                .headers(headers)
                .timestamp(r.timestamp_ms);
            if let Some(key) = &r.key {
                record = record.key(key.as_slice());
            }
            let queued = loop {
                match producer.send_result(record) {
                    Ok(delivery) => break Ok(delivery),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // Backpressure: wait for the queue to drain.
                        record = back;
                        tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                    }
                    Err((e, _)) => break Err(kafka_err(&e)),
                }
            };
            pending.push(queued);
        }
        let mut results = Vec::with_capacity(pending.len());
        let mut codes = Vec::new();
        for queued in pending {
            let result = match queued {
                Err(e) => Err(e),
                Ok(delivery) => match delivery.await {
                    Ok(Ok(d)) => Ok(RecordPosition {
                        partition: d.partition.max(0) as u32,
                        offset: d.offset.max(0) as u64,
                    }),
                    Ok(Err((e, _))) => {
                        if let Some(code) = e.rdkafka_error_code() {
                            codes.push(code);
                        }
                        Err(kafka_err(&e))
                    }
                    Err(_) => Err(BusError::Unavailable("kafka producer went away".into())),
                },
            };
            results.push(result);
        }
        if !codes.is_empty() {
            self.replace_producer(&producer, &codes);
        }
        results
    }

    /// A committing consumer for `group`.
    fn group_consumer(&self, group: &str) -> Result<Arc<BaseConsumer>, BusError> {
        if group.is_empty() {
            return Err(BusError::Invalid(
                "consumer group name must not be empty".into(),
            ));
        }
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = groups.get(group) {
            return Ok(c.clone());
        }
        let consumer: BaseConsumer =
            client_config(&self.settings, ClientRole::Consumer, &[("group.id", group)])
                .create()
                .map_err(|e| client_err("consumer", e))?;
        let consumer = Arc::new(consumer);
        groups.insert(group.to_owned(), consumer.clone());
        Ok(consumer)
    }

    async fn check_partition(&self, topic: &str, partition: u32) -> Result<(), BusError> {
        validate_topic(topic)?;
        match self.partitions_of(topic).await? {
            None => Err(BusError::UnknownTopic(topic.to_owned())),
            Some(n) if partition >= n => Err(BusError::UnknownPartition {
                topic: topic.to_owned(),
                partition,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Errors after which the producer's idempotent session cannot go on (see
/// [`KafkaBus::replace_producer`]): a new producer is needed.
fn session_refused(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageTimedOut
            | RDKafkaErrorCode::UnknownProducerId
            | RDKafkaErrorCode::OutOfOrderSequenceNumber
            | RDKafkaErrorCode::InvalidProducerEpoch
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerIdMapping
            | RDKafkaErrorCode::Unknown
    )
}

/// `BusError` is not `Clone` (it may grow sources); rebuild it by variant.
fn clone_err(e: &BusError) -> BusError {
    match e {
        BusError::Storage(m) => BusError::Storage(m.clone()),
        BusError::Unavailable(m) => BusError::Unavailable(m.clone()),
        BusError::UnknownTopic(t) => BusError::UnknownTopic(t.clone()),
        BusError::UnknownPartition { topic, partition } => BusError::UnknownPartition {
            topic: topic.clone(),
            partition: *partition,
        },
        BusError::Invalid(m) => BusError::Invalid(m.clone()),
        BusError::NotOwner(m) => BusError::NotOwner(m.clone()),
    }
}

/// Read up to `max` records of one partition from `offset` with an
/// assign-only consumer (no group, nothing committed).
fn read_partition(
    consumer: &BaseConsumer,
    topic: &str,
    partition: u32,
    offset: u64,
    max: usize,
    timeout: Duration,
) -> Result<Vec<ConsumedRecord>, BusError> {
    let p = partition as i32;
    let (low, high) = consumer
        .fetch_watermarks(topic, p, timeout)
        .map_err(|e| kafka_err(&e))?;
    let (low, high) = (low.max(0) as u64, high.max(0) as u64);
    let start = offset.max(low);
    if start >= high || max == 0 {
        return Ok(Vec::new());
    }
    let want = (max as u64).min(high - start) as usize;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, p, Offset::Offset(start as i64))
        .map_err(|e| kafka_err(&e))?;
    consumer.assign(&tpl).map_err(|e| kafka_err(&e))?;
    // librdkafka forgets an unassigned partition's position asynchronously,
    // so right after the assign it may still report where an earlier call
    // ended. Only this thread's polls move it forward, so wait (briefly) for
    // it to be forgotten: any position seen after that is this call's. If it
    // is not, that earlier figure is never taken as this call's.
    let mut earlier = position_of(consumer, topic, p);
    let settle = Instant::now() + Duration::from_millis(200);
    while earlier.is_some() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(1));
        earlier = position_of(consumer, topic, p);
    }
    let deadline = Instant::now() + timeout;
    let mut out: Vec<ConsumedRecord> = Vec::with_capacity(want);
    let result = loop {
        if out.len() >= want {
            break Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break if out.is_empty() {
                Err(BusError::Unavailable(format!(
                    "kafka: no records from {topic}/{partition} at offset {start} within {timeout:?} (high watermark {high})"
                )))
            } else {
                Ok(())
            };
        }
        match consumer.poll(left.min(Duration::from_millis(200))) {
            // Nothing ready: if librdkafka's position (this call's, not an
            // earlier one's) is at the high watermark, what was left were
            // transaction markers, which it consumes without handing them
            // out; there is nothing to wait for.
            None if position_of(consumer, topic, p)
                .is_some_and(|at| at >= high && Some(at) != earlier) =>
            {
                break Ok(());
            }
            None => {}
            Some(Err(e)) => break Err(kafka_err(&e)),
            Some(Ok(m)) => {
                if m.topic() != topic || m.partition() != p || (m.offset() as u64) < start {
                    continue;
                }
                let last = m.offset() as u64 + 1 >= high;
                out.push(client::consumed(&m));
                if last {
                    break Ok(());
                }
            }
        }
    };
    let _ = consumer.unassign();
    result.map(|()| out)
}

/// librdkafka's application position in an assigned partition: the offset
/// after the last record it handed out or transaction marker it consumed.
fn position_of(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<u64> {
    let positions = consumer.position().ok()?;
    match positions.find_partition(topic, partition)?.offset() {
        Offset::Offset(at) => u64::try_from(at).ok(),
        _ => None,
    }
}

#[async_trait]
impl Bus for KafkaBus {
    async fn produce(&self, records: Vec<ProduceRecord>) -> Result<Vec<RecordPosition>, BusError> {
        self.deliver(&records).await.into_iter().collect()
    }

    async fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<(), BusError> {
        validate_topic(topic)?;
        if partitions == 0 {
            return Err(BusError::Invalid(
                "a topic needs at least one partition".into(),
            ));
        }
        let _guard = self.creating.lock().await;
        if self.partitions_of(topic).await?.is_some() {
            return Ok(());
        }
        let new = NewTopic::new(
            topic,
            partitions as i32,
            TopicReplication::Fixed(self.settings.replication_factor as i32),
        );
        let options = AdminOptions::new().operation_timeout(Some(self.settings.request_timeout));
        let results = self
            .admin
            .create_topics([&new], &options)
            .await
            .map_err(|e| kafka_err(&e))?;
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(BusError::Unavailable(format!(
                        "kafka cannot create topic `{name}`: {code}"
                    )));
                }
            }
        }
        tracing::info!(topic = %topic, partitions, "Kafka topic created.");
        // Metadata catches up with the creation shortly after.
        let deadline = Instant::now() + self.settings.request_timeout;
        loop {
            if self.partitions_of(topic).await?.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BusError::Unavailable(format!(
                    "kafka created topic `{topic}` but its metadata did not appear within {:?}",
                    self.settings.request_timeout
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn topics(&self) -> Result<Vec<(String, u32)>, BusError> {
        let reader = self.reader.clone();
        let timeout = self.settings.request_timeout;
        Self::blocking(move || {
            let consumer = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let metadata = consumer
                .fetch_metadata(None, timeout)
                .map_err(|e| kafka_err(&e))?;
            let mut topics: Vec<(String, u32)> = metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
                .map(|t| (t.name().to_owned(), t.partitions().len() as u32))
                .collect();
            topics.sort();
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
        self.check_partition(topic, partition).await?;
        let reader = self.reader.clone();
        let topic = topic.to_owned();
        let timeout = self.settings.request_timeout;
        Self::blocking(move || {
            let consumer = reader.lock().unwrap_or_else(PoisonError::into_inner);
            read_partition(&consumer, &topic, partition, offset, max, timeout)
        })
        .await
    }

    fn stream_reader(&self) -> Result<Option<Box<dyn PartitionReader>>, BusError> {
        Ok(Some(Box::new(KafkaStream::connect(&self.settings)?)))
    }

    fn group_reader(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Option<Box<dyn PartitionReader>>, BusError> {
        let strategy = self.settings.group_assignment.clone();
        Ok(Some(Box::new(group::GroupReader::join(
            &self.settings,
            group,
            topics,
            &strategy,
        )?)))
    }

    async fn end_offset(&self, topic: &str, partition: u32) -> Result<u64, BusError> {
        self.check_partition(topic, partition).await?;
        let reader = self.reader.clone();
        let topic = topic.to_owned();
        let timeout = self.settings.request_timeout;
        Self::blocking(move || {
            let consumer = reader.lock().unwrap_or_else(PoisonError::into_inner);
            let (_, high) = consumer
                .fetch_watermarks(&topic, partition as i32, timeout)
                .map_err(|e| kafka_err(&e))?;
            Ok(high.max(0) as u64)
        })
        .await
    }

    async fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<u64>, BusError> {
        self.check_partition(topic, partition).await?;
        let consumer = self.group_consumer(group)?;
        let topic = topic.to_owned();
        let timeout = self.settings.request_timeout;
        Self::blocking(move || {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&topic, partition as i32);
            let got = consumer
                .committed_offsets(tpl, timeout)
                .map_err(|e| kafka_err(&e))?;
            let offset = got
                .find_partition(&topic, partition as i32)
                .map(|e| e.offset());
            Ok(match offset {
                Some(Offset::Offset(n)) if n >= 0 => Some(n as u64),
                _ => None,
            })
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
        self.check_partition(topic, partition).await?;
        let next = i64::try_from(next_offset)
            .map_err(|_| BusError::Invalid(format!("offset {next_offset} is out of range")))?;
        let consumer = self.group_consumer(group)?;
        let topic = topic.to_owned();
        Self::blocking(move || {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&topic, partition as i32, Offset::Offset(next))
                .map_err(|e| kafka_err(&e))?;
            consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(|e| kafka_err(&e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_heal_by_waiting_are_unavailable() {
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(matches!(kafka_err(&timeout), BusError::Unavailable(_)));
        let down = KafkaError::MessageProduction(RDKafkaErrorCode::AllBrokersDown);
        assert!(matches!(kafka_err(&down), BusError::Unavailable(_)));
        let big = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(matches!(kafka_err(&big), BusError::Invalid(_)));
    }

    #[test]
    fn bad_pass_through_properties_fail_at_connect_with_the_cause() {
        let mut cfg = KafkaConfig::for_brokers("127.0.0.1:1");
        cfg.properties.insert("no.such.property".into(), "1".into());
        let settings = cfg.check(&|_| None).unwrap();
        let err = match KafkaBus::connect(settings) {
            Ok(_) => panic!("an unknown librdkafka property was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("no.such.property"), "{err}");
    }
}
