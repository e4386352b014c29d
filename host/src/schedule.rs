//! Cron schedules: pure decisions about when a plugin's next run fires.
//!
//! Expressions have seconds (`sec min hour day-of-month month day-of-week
//! [year]`, the `cron` crate's syntax) and are evaluated in the plugin's time
//! zone, so `0 0 3 * * *` in `Asia/Seoul` fires at 03:00 Seoul time and a
//! daylight-saving zone keeps its wall-clock hour across transitions.
//!
//! Missed-tick policy: ticks that passed while the host was down are not
//! caught up (the next run is the next tick after start), and a tick that
//! arrives while the plugin's previous run is still active is skipped (runs
//! of one plugin never overlap). After firing at `T` the next tick is the
//! first one strictly after both `T` and now, so one tick never fires twice.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A bad schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule `{expr}` is not a valid cron expression: {reason}")]
    Cron { expr: String, reason: String },
    #[error("time zone `{0}` is unknown (use an IANA name such as Asia/Seoul or UTC)")]
    TimeZone(String),
}

/// A parsed schedule in a time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    schedule: cron::Schedule,
    tz: Tz,
}

impl CronSchedule {
    /// Parse `expr` evaluated in time zone `tz` (IANA name).
    pub fn parse(expr: &str, tz: &str) -> Result<Self, ScheduleError> {
        let schedule = cron::Schedule::from_str(expr).map_err(|e| ScheduleError::Cron {
            expr: expr.to_string(),
            reason: e.to_string(),
        })?;
        let tz = Tz::from_str(tz).map_err(|_| ScheduleError::TimeZone(tz.to_string()))?;
        Ok(Self { schedule, tz })
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .after(&after.with_timezone(&self.tz))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The tick to wait for after the one at `last` fired, seen at `now`:
    /// strictly after both, so nothing fires twice and nothing is caught up.
    pub fn next_fire(
        &self,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let from = match last {
            Some(l) if l > now => l,
            _ => now,
        };
        self.next_after(from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn seoul_three_am_is_six_pm_utc_the_day_before() {
        let s = CronSchedule::parse("0 0 3 * * *", "Asia/Seoul").unwrap();
        assert_eq!(
            s.next_after(utc(2026, 11, 25, 0, 0, 0)),
            Some(utc(2026, 11, 25, 18, 0, 0))
        );
    }

    #[test]
    fn daylight_saving_keeps_the_wall_clock_hour() {
        let s = CronSchedule::parse("0 0 9 * * *", "America/New_York").unwrap();
        // Before the March 8 2026 transition: 09:00 EST = 14:00 UTC.
        assert_eq!(
            s.next_after(utc(2026, 3, 7, 0, 0, 0)),
            Some(utc(2026, 3, 7, 14, 0, 0))
        );
        // After it: 09:00 EDT = 13:00 UTC.
        assert_eq!(
            s.next_after(utc(2026, 3, 9, 0, 0, 0)),
            Some(utc(2026, 3, 9, 13, 0, 0))
        );
    }

    #[test]
    fn no_double_firing_and_no_catch_up() {
        let s = CronSchedule::parse("0 */5 * * * *", "UTC").unwrap();
        let tick = utc(2026, 1, 1, 0, 5, 0);
        // The timer woke a little early: still the next tick after `tick`.
        assert_eq!(
            s.next_fire(Some(tick), utc(2026, 1, 1, 0, 4, 59)),
            Some(utc(2026, 1, 1, 0, 10, 0))
        );
        // A long run covered three ticks: no catch-up, the next one after now.
        assert_eq!(
            s.next_fire(Some(tick), utc(2026, 1, 1, 0, 21, 0)),
            Some(utc(2026, 1, 1, 0, 25, 0))
        );
    }

    #[test]
    fn bad_input_is_named() {
        let e = CronSchedule::parse("daily", "UTC").unwrap_err().to_string();
        assert!(e.contains("daily"), "{e}");
        let e = CronSchedule::parse("0 0 3 * * *", "Mars/Olympus")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Mars/Olympus"), "{e}");
    }
}
