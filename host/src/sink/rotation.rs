//! When the open files of one Kafka partition are closed: Kafka Connect's
//! rotation rules, as a pure policy.
//!
//! As in Connect's `TopicPartitionWriter`, rotation is per Kafka partition:
//! the files of every encoded partition opened since the last rotation close
//! together (a *batch*), and the offset after the batch is what gets
//! committed. The triggers, checked in Connect's order:
//!
//! 1. Before a record is appended, when the batch is not empty:
//!    - `rotate.interval.ms` (record time, only with a partitioner that has a
//!      timestamp): the record's time is `rotate.interval.ms` or more past the
//!      batch's first record, **or** the record's encoded partition differs
//!      from the previous record's;
//!    - `rotate.schedule.interval.ms` (wall clock): the batch's deadline has
//!      passed. The deadline is the next multiple of the interval after the
//!      batch opened, counted from local midnight in `timezone`.
//!
//!    The record then starts the next batch.
//! 2. After a record is appended: `flush.size` records in the batch.
//! 3. When no record is waiting (the partition is caught up):
//!    the schedule deadline, and the idle flush: no record appended for
//!    `idle_flush_ms` of wall clock. Connect has no idle flush, which is why
//!    its last file of a quiet topic waits for the next record forever.
//!
//! Connect sets the schedule deadline when the task starts and after
//! time-based rotations only, so a batch opened long after a size rotation
//! can rotate after one record; here every batch gets the deadline that
//! follows its opening. The triggers only decide *where* batches end;
//! exactly-once holds for every trigger (see [`super`]).

use chrono_tz::Tz;

use super::timefmt;

/// Why a batch closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `flush.size` records.
    Size,
    /// `rotate.interval.ms` of record time.
    Interval,
    /// The encoded partition changed (with `rotate.interval.ms` set).
    PartitionChange,
    /// `rotate.schedule.interval.ms` deadline.
    Schedule,
    /// No records for `idle_flush_ms`.
    Idle,
    /// The sink is draining (`--once`, `--until-idle`).
    Drain,
}

impl Reason {
    /// A short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Size => "flush.size",
            Reason::Interval => "rotate.interval.ms",
            Reason::PartitionChange => "partition change",
            Reason::Schedule => "rotate.schedule.interval.ms",
            Reason::Idle => "idle",
            Reason::Drain => "drain",
        }
    }
}

/// The rotation settings.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// `flush.size`: records per batch.
    pub flush_size: Option<u64>,
    /// `rotate.interval.ms`, record time.
    pub rotate_interval_ms: Option<i64>,
    /// `rotate.schedule.interval.ms`, wall clock.
    pub schedule_interval_ms: Option<i64>,
    /// Idle flush after this much wall clock without records.
    pub idle_ms: Option<i64>,
    /// Zone the schedule is aligned in.
    pub tz: Tz,
}

/// What the policy remembers about the open batch of one Kafka partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchClock {
    /// Records appended since the batch opened.
    pub records: u64,
    /// Record time of the batch's first record (when the partitioner has one).
    pub base_ts: Option<i64>,
    /// Encoded partition of the last appended record.
    pub current_encoded: Option<String>,
    /// Wall-clock deadline from `rotate.schedule.interval.ms`.
    pub deadline: Option<i64>,
    /// Wall clock of the last append.
    pub last_append: Option<i64>,
}

impl RotationPolicy {
    /// Before appending a record with `encoded` partition and record time
    /// `ts` at wall clock `now`: close the open batch first?
    pub fn before_append(
        &self,
        st: &BatchClock,
        encoded: &str,
        ts: Option<i64>,
        now: i64,
    ) -> Option<Reason> {
        if st.records == 0 {
            return None;
        }
        if let (Some(interval), Some(ts), Some(base)) = (self.rotate_interval_ms, ts, st.base_ts) {
            if ts.saturating_sub(base) >= interval {
                return Some(Reason::Interval);
            }
            if st.current_encoded.as_deref() != Some(encoded) {
                return Some(Reason::PartitionChange);
            }
        }
        if st.deadline.is_some_and(|d| now >= d) {
            return Some(Reason::Schedule);
        }
        None
    }

    /// Note an appended record.
    pub fn appended(&self, st: &mut BatchClock, encoded: &str, ts: Option<i64>, now: i64) {
        if st.records == 0 {
            st.base_ts = ts;
            st.deadline = self
                .schedule_interval_ms
                .map(|interval| timefmt::next_aligned(now, interval, self.tz));
        }
        st.records += 1;
        if st.current_encoded.as_deref() != Some(encoded) {
            st.current_encoded = Some(encoded.to_string());
        }
        st.last_append = Some(now);
    }

    /// After an append: close the batch now?
    pub fn after_append(&self, st: &BatchClock) -> Option<Reason> {
        match self.flush_size {
            Some(size) if st.records >= size => Some(Reason::Size),
            _ => None,
        }
    }

    /// No record is waiting for this partition: close the batch on the
    /// schedule or the idle flush?
    pub fn on_idle(&self, st: &BatchClock, now: i64) -> Option<Reason> {
        if st.records == 0 {
            return None;
        }
        if st.deadline.is_some_and(|d| now >= d) {
            return Some(Reason::Schedule);
        }
        match (self.idle_ms, st.last_append) {
            (Some(idle), Some(last)) if now.saturating_sub(last) >= idle => Some(Reason::Idle),
            _ => None,
        }
    }

    /// The earliest wall-clock time at which [`on_idle`](Self::on_idle) could
    /// fire for `st`, to size the wait between polls.
    pub fn next_wakeup(&self, st: &BatchClock) -> Option<i64> {
        if st.records == 0 {
            return None;
        }
        let idle = match (self.idle_ms, st.last_append) {
            (Some(idle), Some(last)) => Some(last.saturating_add(idle)),
            _ => None,
        };
        match (st.deadline, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    fn policy() -> RotationPolicy {
        RotationPolicy {
            flush_size: Some(3),
            rotate_interval_ms: Some(60_000),
            schedule_interval_ms: None,
            idle_ms: None,
            tz: Tz::UTC,
        }
    }

    /// Feed (encoded, ts) records through the policy; return the batch sizes.
    fn batches(p: &RotationPolicy, records: &[(&str, Option<i64>)]) -> Vec<u64> {
        let mut st = BatchClock::default();
        let mut out = Vec::new();
        for &(enc, ts) in records {
            if p.before_append(&st, enc, ts, 0).is_some() {
                out.push(st.records);
                st = BatchClock::default();
            }
            p.appended(&mut st, enc, ts, 0);
            if p.after_append(&st).is_some() {
                out.push(st.records);
                st = BatchClock::default();
            }
        }
        if st.records > 0 {
            out.push(st.records);
        }
        out
    }

    #[test]
    fn flush_size_closes_after_the_nth_record() {
        let p = RotationPolicy {
            rotate_interval_ms: None,
            ..policy()
        };
        let recs: Vec<_> = (0..7).map(|i| ("a", Some(i))).collect();
        assert_eq!(batches(&p, &recs), vec![3, 3, 1]);
    }

    #[test]
    fn interval_is_record_time_from_the_first_record() {
        let p = RotationPolicy {
            flush_size: None,
            ..policy()
        };
        // 0, 30s, 59.999s in one batch; 60s starts the next (>= interval).
        let recs = [
            ("a", Some(0)),
            ("a", Some(30_000)),
            ("a", Some(59_999)),
            ("a", Some(60_000)),
            ("a", Some(119_999)),
            ("a", Some(120_000)),
        ];
        assert_eq!(batches(&p, &recs), vec![3, 2, 1]);
        // Out-of-order (older) records never trigger it.
        let recs = [("a", Some(50_000)), ("a", Some(0)), ("a", Some(109_999))];
        assert_eq!(batches(&p, &recs), vec![3]);
    }

    #[test]
    fn partition_change_rotates_only_with_an_interval() {
        let p = policy();
        let recs = [
            ("a", Some(0)),
            ("b", Some(1)),
            ("b", Some(2)),
            ("a", Some(3)),
        ];
        assert_eq!(batches(&p, &recs), vec![1, 2, 1]);
        let no_interval = RotationPolicy {
            rotate_interval_ms: None,
            flush_size: None,
            ..policy()
        };
        assert_eq!(batches(&no_interval, &recs), vec![4]);
        // Without a record time (non-time partitioner) the interval is off.
        let recs = [("a", None), ("b", None), ("a", None)];
        assert_eq!(
            batches(
                &RotationPolicy {
                    flush_size: None,
                    ..policy()
                },
                &recs
            ),
            vec![3]
        );
    }

    #[test]
    fn size_and_interval_together() {
        let p = policy();
        let recs = [
            ("a", Some(0)),
            ("a", Some(1)),
            ("a", Some(2)),
            ("a", Some(3)),
            ("a", Some(70_000)),
        ];
        assert_eq!(batches(&p, &recs), vec![3, 1, 1]);
    }

    #[test]
    fn schedule_deadline_is_aligned_after_opening() {
        let p = RotationPolicy {
            flush_size: None,
            rotate_interval_ms: None,
            schedule_interval_ms: Some(10_000),
            idle_ms: None,
            tz: Tz::UTC,
        };
        let mut st = BatchClock::default();
        p.appended(&mut st, "a", None, 12_345);
        assert_eq!(st.deadline, Some(20_000));
        assert_eq!(p.before_append(&st, "a", None, 19_999), None);
        assert_eq!(
            p.before_append(&st, "a", None, 20_000),
            Some(Reason::Schedule)
        );
        assert_eq!(p.on_idle(&st, 19_999), None);
        assert_eq!(p.on_idle(&st, 20_000), Some(Reason::Schedule));
        assert_eq!(p.next_wakeup(&st), Some(20_000));
        // An empty batch never rotates.
        assert_eq!(p.on_idle(&BatchClock::default(), 1 << 40), None);
    }

    #[test]
    fn schedule_in_seoul_aligns_to_local_midnight() {
        let p = RotationPolicy {
            flush_size: None,
            rotate_interval_ms: None,
            schedule_interval_ms: Some(86_400_000),
            idle_ms: None,
            tz: chrono_tz::Asia::Seoul,
        };
        let mut st = BatchClock::default();
        // 2024-08-20T16:00Z is 01:00 KST on the 21st; next local midnight is
        // 2024-08-21T15:00Z.
        p.appended(&mut st, "a", None, 1_724_169_600_000);
        assert_eq!(st.deadline, Some(1_724_252_400_000));
    }

    #[test]
    fn idle_flush_counts_from_the_last_append() {
        let p = RotationPolicy {
            flush_size: Some(100),
            rotate_interval_ms: Some(60_000),
            schedule_interval_ms: None,
            idle_ms: Some(5_000),
            tz: Tz::UTC,
        };
        let mut st = BatchClock::default();
        p.appended(&mut st, "a", Some(0), 1_000);
        p.appended(&mut st, "a", Some(1), 4_000);
        assert_eq!(p.on_idle(&st, 8_999), None);
        assert_eq!(p.on_idle(&st, 9_000), Some(Reason::Idle));
        assert_eq!(p.next_wakeup(&st), Some(9_000));
        // Idle never fires from before_append (only when caught up).
        assert_eq!(p.before_append(&st, "a", Some(2), 100_000), None);
    }
}
