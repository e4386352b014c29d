//! The run context handed to `plan` and `crawl`: configuration and run time.

use crate::{CrawlError, RunInfo};

/// Context of the current run.
pub struct Run {
    info: RunInfo,
}

impl Run {
    /// Wrap the host's run info.
    pub fn new(info: RunInfo) -> Self {
        Self { info }
    }

    /// Unique id of the run.
    pub fn id(&self) -> &str {
        &self.info.run_id
    }

    /// Run start, milliseconds since the Unix epoch (the plugin's only clock).
    pub fn started_at_ms(&self) -> i64 {
        self.info.started_at_ms
    }

    /// The run date as `YYYY-MM-DD`, in UTC shifted by `offset_hours`
    /// (9 for Korea, which has no daylight saving time).
    pub fn date(&self, offset_hours: i64) -> String {
        let days = (self.info.started_at_ms + offset_hours * 3_600_000).div_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// A configuration value (operator value, else the manifest default).
    pub fn config(&self, key: &str) -> Option<&str> {
        self.info
            .config
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A configuration value that must be present.
    pub fn require(&self, key: &str) -> Result<&str, CrawlError> {
        self.config(key)
            .ok_or_else(|| CrawlError::Other(format!("config key `{key}` is not set")))
    }

    /// A numeric configuration value, with a default when unset.
    pub fn config_u64(&self, key: &str, default: u64) -> Result<u64, CrawlError> {
        match self.config(key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                CrawlError::Other(format!("config key `{key}` must be a number, got `{v}`"))
            }),
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so plugins need no date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_at(ms: i64) -> Run {
        Run::new(RunInfo {
            run_id: "r".into(),
            started_at_ms: ms,
            config: vec![("n".into(), "7".into())],
        })
    }

    #[test]
    fn dates_follow_the_offset() {
        // 2024-08-19T20:00:00Z is already 2024-08-20 in Seoul.
        let run = run_at(1_724_097_600_000);
        assert_eq!(run.date(0), "2024-08-19");
        assert_eq!(run.date(9), "2024-08-20");
        assert_eq!(run_at(0).date(0), "1970-01-01");
        assert_eq!(run_at(951_782_400_000).date(0), "2000-02-29");
    }

    #[test]
    fn numeric_config() {
        let run = run_at(0);
        assert_eq!(run.config_u64("n", 1).unwrap(), 7);
        assert_eq!(run.config_u64("missing", 3).unwrap(), 3);
    }
}
