//! Whether the log still is the one the sink's offsets and objects belong
//! to (pure policy).
//!
//! A topic that is deleted and recreated (or an embedded bus whose file was
//! replaced) starts again at offset 0. The sink's committed offset may then
//! be past the new end (kept by the broker) or gone (dropped with the
//! topic, as tansu and Kafka do). Going on would skip the new records up to
//! the old offset, or write batches whose keys (`<topic>+<partition>+<first
//! offset>`) are those of the earlier topic's objects and overwrite them.
//! The sink stops instead; [`check_committed`] decides the first case at
//! partition start, the writer's check for existing objects before a fresh
//! batch is made visible catches the second.

use super::SinkError;

/// Check `committed` (the group's stored offset, `None` when there is none)
/// against the partition's current `low` (first offset still held) and
/// `high` (end offset) watermarks.
///
/// A committed offset past the end means the log was recreated (or
/// truncated); one below the low watermark means records the sink never
/// wrote are gone (deleted and recreated with retention, or expired).
/// Either way records would be skipped without a trace, so both stop the
/// sink. No stored offset starts at the low watermark, as a new group does.
pub fn check_committed(
    topic: &str,
    partition: u32,
    committed: Option<u64>,
    low: u64,
    high: u64,
) -> Result<(), SinkError> {
    let Some(committed) = committed else {
        return Ok(());
    };
    if committed > high || committed < low {
        return Err(SinkError::OffsetOutOfRange {
            topic: topic.to_string(),
            partition,
            committed,
            low,
            high,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_offsets_inside_the_log_pass() {
        assert!(check_committed("t", 0, None, 0, 0).is_ok());
        assert!(check_committed("t", 0, None, 7, 9).is_ok());
        assert!(check_committed("t", 0, Some(0), 0, 0).is_ok());
        assert!(check_committed("t", 0, Some(5), 0, 5).is_ok(), "at the end");
        assert!(
            check_committed("t", 0, Some(7), 7, 9).is_ok(),
            "at the start"
        );
    }

    #[test]
    fn committed_offsets_outside_the_log_stop_naming_everything() {
        let past = check_committed("orders", 2, Some(5), 0, 3).unwrap_err();
        let text = past.to_string();
        for part in [
            "orders/2",
            "committed offset 5",
            "low watermark 0",
            "end offset 3",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let below = check_committed("orders", 0, Some(2), 4, 9)
            .unwrap_err()
            .to_string();
        assert!(below.contains("committed offset 2"), "{below}");
        assert!(below.contains("low watermark 4"), "{below}");
    }
}
