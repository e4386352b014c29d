//! The S3 sink (Kafka Connect S3 sink semantics). Placeholder: being written.

use serde::Deserialize;

/// `[sink]` in crawlhost.toml. Placeholder: being written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {}
