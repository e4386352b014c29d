//! The Kafka bus backend. Placeholder: being written.

use serde::Deserialize;

/// `[kafka]` in crawlhost.toml. Placeholder: being written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {}
