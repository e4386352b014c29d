//! The batch marker: what the sink writes to the store *before* it makes a
//! batch's objects visible, so a restart can finish that batch exactly as it
//! was cut.
//!
//! A marker names the batch by its Kafka partition and first offset (the
//! committed offset it started from) and records where it was cut (`end`,
//! the offset to commit), the files it makes (key, encoded partition, first
//! offset, record count) and, when the partitioner reads the wall clock, the
//! encoded partition of each run of offsets. Everything else about a batch
//! follows from the records, which the bus still holds because `end` is not
//! committed yet.

use serde::{Deserialize, Serialize};

/// Layout version of the marker JSON.
pub const MARKER_VERSION: u32 = 1;

/// One file of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerFile {
    pub key: String,
    pub encoded: String,
    pub start: u64,
    pub records: u64,
}

/// A run of offsets (from `from` up to the next run) assigned to `encoded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub from: u64,
    pub encoded: String,
}

/// A batch that is being (or was) made visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMarker {
    pub version: u32,
    pub topic: String,
    pub partition: u32,
    /// The committed offset the batch starts at.
    pub start: u64,
    /// The offset after the batch: committed once every file is durable.
    pub end: u64,
    pub files: Vec<MarkerFile>,
    /// Encoded partitions by offset run, only for wall-clock partitioning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
}

impl BatchMarker {
    /// The encoded partition recorded for `offset`, for wall-clock
    /// partitioning.
    pub fn run_for(&self, offset: u64) -> Option<&str> {
        self.runs
            .iter()
            .take_while(|r| r.from <= offset)
            .last()
            .map(|r| r.encoded.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_runs() {
        let m = BatchMarker {
            version: MARKER_VERSION,
            topic: "t".into(),
            partition: 1,
            start: 10,
            end: 20,
            files: vec![MarkerFile {
                key: "topics/t/a/t+1+0000000010.json".into(),
                encoded: "a".into(),
                start: 10,
                records: 4,
            }],
            runs: vec![
                Run {
                    from: 10,
                    encoded: "h1".into(),
                },
                Run {
                    from: 15,
                    encoded: "h2".into(),
                },
            ],
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<BatchMarker>(&text).unwrap(), m);
        assert_eq!(m.run_for(9), None);
        assert_eq!(m.run_for(10), Some("h1"));
        assert_eq!(m.run_for(14), Some("h1"));
        assert_eq!(m.run_for(15), Some("h2"));
        assert_eq!(m.run_for(99), Some("h2"));
    }
}
