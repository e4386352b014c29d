//! Builders for what `crawl` returns: records and follow-up tasks.

use crate::{CrawlError, CrawlOutput, OutRecord, Task};

/// A record with a JSON value.
pub fn record<T: serde::Serialize>(
    topic: &str,
    key: impl Into<String>,
    value: &T,
) -> Result<OutRecord, CrawlError> {
    let value = serde_json::to_string(value)
        .map_err(|e| CrawlError::Other(format!("record for `{topic}`: {e}")))?;
    Ok(OutRecord {
        topic: topic.to_string(),
        key: Some(key.into()),
        value,
        timestamp_ms: None,
    })
}

/// A follow-up task in phase 0 with a JSON payload.
pub fn task<T: serde::Serialize>(
    kind: &str,
    key: impl Into<String>,
    payload: &T,
) -> Result<Task, CrawlError> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| CrawlError::Other(format!("task `{kind}`: {e}")))?;
    Ok(Task {
        key: key.into(),
        kind: kind.to_string(),
        payload,
        phase: 0,
    })
}

/// The payload of a task, parsed.
pub fn payload<T: serde::de::DeserializeOwned>(task: &Task) -> Result<T, CrawlError> {
    serde_json::from_str(&task.payload)
        .map_err(|e| CrawlError::Other(format!("task `{}` has a bad payload: {e}", task.key)))
}

impl Task {
    /// The same task in another phase (see the WIT `task.phase`).
    pub fn in_phase(mut self, phase: u32) -> Self {
        self.phase = phase;
        self
    }
}

impl CrawlOutput {
    /// Nothing produced.
    pub fn empty() -> Self {
        CrawlOutput {
            records: Vec::new(),
            tasks: Vec::new(),
        }
    }
}
