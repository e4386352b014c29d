//! What every librdkafka client of the Kafka backend shares: its
//! `ClientConfig` built from the checked settings, and how its errors map
//! onto [`BusError`]. A leaf below [`super`] (the bus) and [`super::stream`]
//! (the sink's reader), so neither needs the other.

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::config::{ClientRole, KafkaSettings};
use crate::bus::BusError;

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
