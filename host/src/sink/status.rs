//! What a running sink shows to the operator: its counters, each
//! partition's committed offset, position and open batch, and the last
//! object it wrote.
//!
//! The sink updates a [`Status`] as it goes (counters as batches land, the
//! partition table once per poll); `serve`'s admin API reads a
//! [`StatusView`] of it for the status page and `/metrics`. The end of each
//! partition's log is not kept here: the reader asks the bus when it looks,
//! so the lag it shows is as fresh as its question.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters over a sink's lifetime, and what it is doing now.
#[derive(Debug, Default)]
pub struct Status {
    pub records_written: AtomicU64,
    pub objects_written: AtomicU64,
    pub batches_committed: AtomicU64,
    pub batches_recovered: AtomicU64,
    pub dead_letters: AtomicU64,
    pub nulls_skipped: AtomicU64,
    partitions: Mutex<BTreeMap<(String, u32), PartitionStatus>>,
    last_object: Mutex<Option<LastObject>>,
}

/// One partition as the sink holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PartitionStatus {
    /// The group's committed offset: where the open batch starts.
    pub committed: u64,
    /// The next offset the sink reads.
    pub position: u64,
    /// Records in the open batch (read, not yet in an object).
    pub open_records: u64,
}

/// The last object the sink made visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastObject {
    pub key: String,
    /// Records in the batch the object belongs to.
    pub batch_records: u64,
    pub at_ms: i64,
}

/// A copy of [`Status`] to render.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusView {
    pub records_written: u64,
    pub objects_written: u64,
    pub batches_committed: u64,
    pub batches_recovered: u64,
    pub dead_letters: u64,
    pub nulls_skipped: u64,
    /// By `(topic, partition)`, sorted.
    pub partitions: Vec<(String, u32, PartitionStatus)>,
    pub last_object: Option<LastObject>,
}

impl Status {
    /// Replace the partition table (the sink calls this once per poll).
    pub fn set_partitions(&self, rows: impl IntoIterator<Item = ((String, u32), PartitionStatus)>) {
        let mut table = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        table.clear();
        table.extend(rows);
    }

    /// Note the last object of a batch that became visible.
    pub fn object_written(&self, key: &str, batch_records: u64, at_ms: i64) {
        *self.last_object.lock().unwrap_or_else(|p| p.into_inner()) = Some(LastObject {
            key: key.to_string(),
            batch_records,
            at_ms,
        });
    }

    /// A consistent-enough copy to render (counters are read one by one).
    pub fn view(&self) -> StatusView {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatusView {
            records_written: load(&self.records_written),
            objects_written: load(&self.objects_written),
            batches_committed: load(&self.batches_committed),
            batches_recovered: load(&self.batches_recovered),
            dead_letters: load(&self.dead_letters),
            nulls_skipped: load(&self.nulls_skipped),
            partitions: self
                .partitions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|((t, p), s)| (t.clone(), *p, *s))
                .collect(),
            last_object: self
                .last_object
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// Records of a partition the sink has not made durable: from its
/// committed offset to `end` (the log's end offset). Zero when the end is
/// behind the committed offset (a log that was cut; the sink refuses it
/// elsewhere).
pub fn lag(committed: u64, end: u64) -> u64 {
    end.saturating_sub(committed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_copies_partitions_sorted_and_the_last_object() {
        let s = Status::default();
        s.records_written.fetch_add(7, Ordering::Relaxed);
        let row = |c, p, o| PartitionStatus {
            committed: c,
            position: p,
            open_records: o,
        };
        s.set_partitions([
            (("b".to_string(), 0), row(5, 9, 4)),
            (("a".to_string(), 1), row(0, 0, 0)),
        ]);
        s.object_written("a+1+0.json", 3, 42);
        let v = s.view();
        assert_eq!(v.records_written, 7);
        assert_eq!(
            v.partitions,
            vec![
                ("a".to_string(), 1, row(0, 0, 0)),
                ("b".to_string(), 0, row(5, 9, 4))
            ]
        );
        assert_eq!(v.last_object.unwrap().key, "a+1+0.json");
        // A new table replaces the old one (a partition given up goes away).
        s.set_partitions([(("b".to_string(), 0), row(9, 9, 0))]);
        assert_eq!(s.view().partitions.len(), 1);
    }

    #[test]
    fn lag_counts_from_the_committed_offset() {
        assert_eq!(lag(10, 25), 15);
        assert_eq!(lag(25, 25), 0);
        assert_eq!(lag(30, 25), 0);
    }
}
