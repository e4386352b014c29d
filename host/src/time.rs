//! Wall-clock time as the host records it: milliseconds since the Unix
//! epoch (record timestamps, run start times, plugin load times), and the
//! one way such an instant is shown to people.
//!
//! Durations and deadlines use `std::time::Instant` / `tokio::time` where
//! they are measured; this module is only for instants that are stored or
//! printed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the clock is set before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An instant (ms since the epoch) for people, to the minute:
/// `2025-05-01 03:00 UTC`. Out of chrono's range, the raw `… ms`.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2020_and_agrees_with_chrono() {
        let ours = now_ms();
        let chrono = chrono::Utc::now().timestamp_millis();
        assert!(ours > 1_577_836_800_000, "{ours}");
        assert!((chrono - ours).abs() < 5_000, "{ours} vs {chrono}");
    }

    #[test]
    fn formats_to_the_minute_in_utc() {
        assert_eq!(format_time(1_746_068_400_000), "2025-05-01 03:00 UTC");
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(i64::MAX), format!("{} ms", i64::MAX));
    }
}
