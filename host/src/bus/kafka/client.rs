//! What every librdkafka client of the Kafka backend shares: its
//! `ClientConfig` built from the checked settings, how its errors map onto
//! [`BusError`], and how a consumed message becomes a [`ConsumedRecord`].
//! A leaf below [`super`] (the bus), [`super::stream`] and [`super::group`]
//! (the sink's readers), so none needs another.

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::config::{ClientRole, KafkaSettings};
use crate::bus::{BusError, ConsumedRecord};

/// Build a librdkafka client of `role` from the checked settings, with
/// `extra` properties applied last.
pub fn client_config(
    settings: &KafkaSettings,
    role: ClientRole,
    extra: &[(&str, &str)],
) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (key, value) in settings.client_properties(role) {
        config.set(key, value);
    }
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config
}

/// A consumed message as the bus hands it out.
pub fn consumed(m: &impl Message) -> ConsumedRecord {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    ConsumedRecord {
        topic: m.topic().to_owned(),
        partition: m.partition().max(0) as u32,
        offset: m.offset().max(0) as u64,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().unwrap_or_default().to_vec(),
        headers,
        timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
    }
}

/// Where librdkafka's application position stands, per assigned
/// partition that has one: `(topic, partition, next offset)`. It steps over
/// transaction markers, which are never handed out, so a reader whose queue
/// ran dry learns from it how far a partition is read.
pub fn positions(list: &TopicPartitionList) -> impl Iterator<Item = ((String, u32), u64)> + '_ {
    list.elements().into_iter().filter_map(|e| {
        let Offset::Offset(at) = e.offset() else {
            return None;
        };
        let at = u64::try_from(at).ok()?;
        let partition = u32::try_from(e.partition()).ok()?;
        Some(((e.topic().to_owned(), partition), at))
    })
}

/// Map a client error: what may heal by waiting (transport, timeouts, a
/// broker away) is `Unavailable`; what will fail the same way again is
/// `Invalid`.
pub fn kafka_err(e: &KafkaError) -> BusError {
    let code = e.rdkafka_error_code();
    match code {
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::InvalidTopic
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::InvalidConfig
            | RDKafkaErrorCode::InvalidArgument,
        ) => BusError::Invalid(format!("kafka refused the request: {e}")),
        _ => BusError::Unavailable(format!("kafka: {e}")),
    }
}
