//! Which directory a record goes to: Kafka Connect's partitioners, on
//! schemaless JSON.
//!
//! Pure decisions, no I/O. A partitioner turns one record into its *encoded
//! partition*, the path segment between `<topics.dir>/<topic>/` and the file
//! name:
//! - [`Partitioner::Default`]: `partition=<kafka partition>`.
//! - [`Partitioner::Field`]: `<field>=<value>` for each configured field,
//!   joined by `/`. Fields are looked up in the JSON value by exact key first,
//!   then as a dotted path (`brand.code`), so it works on schemaless JSON
//!   (Connect's `FieldPartitioner` needs a schema and fails without one).
//! - [`Partitioner::Time`]: the record's timestamp (see
//!   [`TimestampExtractor`]) truncated to `partition.duration.ms` in the
//!   configured zone and printed with `path.format`
//!   ([`super::timefmt`]); `HourlyPartitioner` and `DailyPartitioner` are
//!   presets of it.
//!
//! A record that cannot be partitioned (missing field, object-valued field,
//! unreadable timestamp) is a [`PartitionError`]; the sink routes it by
//! `errors.tolerance`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::Value;

use super::timefmt::{self, PathFormat};

/// Where a record's time comes from (`timestamp.extractor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampExtractor {
    /// The record's own timestamp (Kafka's `CreateTime`/`LogAppendTime`).
    Record,
    /// A field of the value (`timestamp.field`, dotted path allowed): epoch
    /// milliseconds, epoch seconds (numbers below 10^11, which as
    /// milliseconds would be before 1973), or an ISO-8601 string (without an
    /// offset it is local time in the configured zone).
    RecordField(String),
    /// The sink's clock when it processes the record.
    Wallclock,
}

/// Why a record could not be partitioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// The value is not a JSON object (or is null) but a field was needed.
    #[error("the value has no field `{0}` (it is not a JSON object)")]
    NotAnObject(String),
    /// The field is absent or null.
    #[error("the value has no field `{0}`")]
    MissingField(String),
    /// The field holds an object or array, which cannot name a directory.
    #[error("field `{field}` holds a JSON {kind}, not a string, number or boolean")]
    BadFieldType { field: String, kind: &'static str },
    /// The timestamp field is not a time.
    #[error("field `{field}` is not a timestamp (epoch ms, epoch s or ISO-8601): {value}")]
    BadTimestamp { field: String, value: String },
}

/// A configured partitioner.
#[derive(Debug, Clone)]
pub enum Partitioner {
    /// `partition=<n>`.
    Default,
    /// `<field>=<value>/...`.
    Field { fields: Vec<String> },
    /// Time buckets printed with `path.format`.
    Time {
        duration_ms: i64,
        format: PathFormat,
        tz: Tz,
        extractor: TimestampExtractor,
    },
}

/// The parts of a record a partitioner looks at.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    pub partition: u32,
    pub timestamp_ms: i64,
    /// The parsed value; `None` for a null value.
    pub value: Option<&'a Value>,
}

impl Partitioner {
    /// The encoded partition of `record`; `now_ms` is the wall clock (for
    /// [`TimestampExtractor::Wallclock`]).
    pub fn encode(&self, record: &RecordView<'_>, now_ms: i64) -> Result<String, PartitionError> {
        match self {
            Partitioner::Default => Ok(format!("partition={}", record.partition)),
            Partitioner::Field { fields } => {
                let mut parts = Vec::with_capacity(fields.len());
                for field in fields {
                    let value = lookup(record.value, field)?;
                    let text = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => return Err(PartitionError::MissingField(field.clone())),
                        Value::Object(_) => {
                            return Err(PartitionError::BadFieldType {
                                field: field.clone(),
                                kind: "object",
                            });
                        }
                        Value::Array(_) => {
                            return Err(PartitionError::BadFieldType {
                                field: field.clone(),
                                kind: "array",
                            });
                        }
                    };
                    parts.push(format!("{field}={text}"));
                }
                Ok(parts.join("/"))
            }
            Partitioner::Time {
                duration_ms,
                format,
                tz,
                extractor,
            } => {
                let ts = extract(extractor, record, now_ms, *tz)?;
                Ok(format.render(timefmt::bucket_start(ts, *duration_ms, *tz), *tz))
            }
        }
    }

    /// The record time `rotate.interval.ms` measures. As in Connect, only
    /// the time-based partitioner has one; others return `None` and
    /// `rotate.interval.ms` does not apply to them.
    pub fn timestamp(
        &self,
        record: &RecordView<'_>,
        now_ms: i64,
    ) -> Result<Option<i64>, PartitionError> {
        match self {
            Partitioner::Time { extractor, tz, .. } => {
                extract(extractor, record, now_ms, *tz).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Whether the encoded partition depends on the wall clock (then a replay
    /// must be told the original assignment instead of recomputing it).
    pub fn uses_wallclock(&self) -> bool {
        matches!(
            self,
            Partitioner::Time {
                extractor: TimestampExtractor::Wallclock,
                ..
            }
        )
    }
}

/// `field` in `value`: an exact key first, then a dotted path.
pub fn lookup<'a>(value: Option<&'a Value>, field: &str) -> Result<&'a Value, PartitionError> {
    let Some(Value::Object(map)) = value else {
        return Err(PartitionError::NotAnObject(field.to_string()));
    };
    if let Some(v) = map.get(field) {
        return Ok(v);
    }
    let mut current: &Value = value.unwrap_or(&Value::Null);
    for segment in field.split('.') {
        current = match current {
            Value::Object(m) => m
                .get(segment)
                .ok_or_else(|| PartitionError::MissingField(field.to_string()))?,
            _ => return Err(PartitionError::MissingField(field.to_string())),
        };
    }
    Ok(current)
}

/// Below this, a numeric timestamp is read as seconds (10^11 ms is 1973;
/// 10^11 s is the year 5138).
const SECONDS_BELOW: f64 = 1e11;

fn extract(
    extractor: &TimestampExtractor,
    record: &RecordView<'_>,
    now_ms: i64,
    tz: Tz,
) -> Result<i64, PartitionError> {
    match extractor {
        TimestampExtractor::Record => Ok(record.timestamp_ms),
        TimestampExtractor::Wallclock => Ok(now_ms),
        TimestampExtractor::RecordField(field) => {
            let value = lookup(record.value, field)?;
            let bad = || PartitionError::BadTimestamp {
                field: field.clone(),
                value: value.to_string(),
            };
            match value {
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        Ok(if (i.unsigned_abs() as f64) < SECONDS_BELOW {
                            i.saturating_mul(1000)
                        } else {
                            i
                        })
                    } else {
                        let f = n.as_f64().ok_or_else(bad)?;
                        if !f.is_finite() {
                            return Err(bad());
                        }
                        Ok(if f.abs() < SECONDS_BELOW {
                            (f * 1000.0).floor() as i64
                        } else {
                            f.floor() as i64
                        })
                    }
                }
                Value::String(s) => parse_time_text(s.trim(), tz).ok_or_else(bad),
                Value::Null => Err(PartitionError::MissingField(field.clone())),
                _ => Err(bad()),
            }
        }
    }
}

/// Epoch digits, RFC 3339 / ISO-8601 with offset, or a local date-time or
/// date (in `tz`).
pub fn parse_time_text(s: &str, tz: Tz) -> Option<i64> {
    if !s.is_empty()
        && s.trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        let i: i64 = s.parse().ok()?;
        return Some(if (i.unsigned_abs() as f64) < SECONDS_BELOW {
            i.checked_mul(1000)?
        } else {
            i
        });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, pattern) {
            return Some(t.timestamp_millis());
        }
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|p| NaiveDateTime::parse_from_str(s, p).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(
        tz.from_local_datetime(&local)
            .earliest()?
            .timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(value: &Value) -> RecordView<'_> {
        RecordView {
            partition: 3,
            timestamp_ms: 1_724_198_400_000, // 2024-08-21T00:00:00Z
            value: Some(value),
        }
    }

    fn time(pattern: &str, tz: Tz, extractor: TimestampExtractor) -> Partitioner {
        Partitioner::Time {
            duration_ms: 86_400_000,
            format: PathFormat::compile(pattern, "en-US").unwrap(),
            tz,
            extractor,
        }
    }

    #[test]
    fn default_partitioner() {
        let v = json!({});
        assert_eq!(
            Partitioner::Default.encode(&view(&v), 0).unwrap(),
            "partition=3"
        );
    }

    #[test]
    fn field_partitioner_on_schemaless_json() {
        let p = Partitioner::Field {
            fields: vec!["brand.code".into(), "promo".into(), "n".into()],
        };
        let v = json!({"brand": {"code": "A001"}, "promo": true, "n": 7});
        assert_eq!(
            p.encode(&view(&v), 0).unwrap(),
            "brand.code=A001/promo=true/n=7"
        );
        // An exact key with a dot wins over the path.
        let v = json!({"brand.code": "X", "brand": {"code": "A001"}, "promo": false, "n": 1.5});
        assert_eq!(
            p.encode(&view(&v), 0).unwrap(),
            "brand.code=X/promo=false/n=1.5"
        );
        let missing = json!({"brand": {}, "promo": true, "n": 1});
        assert_eq!(
            p.encode(&view(&missing), 0).unwrap_err(),
            PartitionError::MissingField("brand.code".into())
        );
        let object = json!({"brand": {"code": {"x": 1}}, "promo": true, "n": 1});
        assert!(matches!(
            p.encode(&view(&object), 0),
            Err(PartitionError::BadFieldType { kind: "object", .. })
        ));
        let not_object = json!([1, 2]);
        assert!(matches!(
            p.encode(&view(&not_object), 0),
            Err(PartitionError::NotAnObject(_))
        ));
        let null_view = RecordView {
            partition: 0,
            timestamp_ms: 0,
            value: None,
        };
        assert!(p.encode(&null_view, 0).is_err());
    }

    #[test]
    fn time_partitioner_extractors() {
        let seoul = chrono_tz::Asia::Seoul;
        let v = json!({"at": "2024-08-20T23:30:00Z", "s": 1_724_196_600, "ms": 1_724_196_600_000_i64,
                       "local": "2024-08-20 08:00:00", "day": "2024-08-19"});
        // Record time: 2024-08-21T00:00Z = 09:00 KST.
        let record = time("yyyy-MM-dd", seoul, TimestampExtractor::Record);
        assert_eq!(record.encode(&view(&v), 0).unwrap(), "2024-08-21");
        // ISO with offset, epoch seconds, epoch millis: 23:30Z = 08:30 KST next day.
        for field in ["at", "s", "ms"] {
            let p = time(
                "yyyy-MM-dd",
                seoul,
                TimestampExtractor::RecordField(field.into()),
            );
            assert_eq!(p.encode(&view(&v), 0).unwrap(), "2024-08-21", "{field}");
        }
        // Local text is read in the zone.
        let p = time(
            "yyyy-MM-dd",
            seoul,
            TimestampExtractor::RecordField("local".into()),
        );
        assert_eq!(p.encode(&view(&v), 0).unwrap(), "2024-08-20");
        let p = time(
            "yyyy-MM-dd",
            seoul,
            TimestampExtractor::RecordField("day".into()),
        );
        assert_eq!(p.encode(&view(&v), 0).unwrap(), "2024-08-19");
        // Wallclock uses `now`.
        let p = time("yyyy-MM-dd", Tz::UTC, TimestampExtractor::Wallclock);
        assert_eq!(p.encode(&view(&v), 0).unwrap(), "1970-01-01");
        assert!(p.uses_wallclock());
        let bad = json!({"at": "yesterday"});
        let p = time(
            "yyyy-MM-dd",
            seoul,
            TimestampExtractor::RecordField("at".into()),
        );
        assert!(matches!(
            p.encode(&view(&bad), 0),
            Err(PartitionError::BadTimestamp { .. })
        ));
    }

    #[test]
    fn timestamp_only_for_time_partitioner() {
        let v = json!({});
        assert_eq!(Partitioner::Default.timestamp(&view(&v), 5).unwrap(), None);
        let p = time("yyyy", Tz::UTC, TimestampExtractor::Record);
        assert_eq!(p.timestamp(&view(&v), 5).unwrap(), Some(1_724_198_400_000));
    }

    #[test]
    fn time_text_forms() {
        let utc = Tz::UTC;
        assert_eq!(parse_time_text("1724198400", utc), Some(1_724_198_400_000));
        assert_eq!(
            parse_time_text("1724198400000", utc),
            Some(1_724_198_400_000)
        );
        assert_eq!(
            parse_time_text("2024-08-21T09:00:00+09:00", utc),
            Some(1_724_198_400_000)
        );
        assert_eq!(
            parse_time_text("2024-08-21T00:00:00.000Z", utc),
            Some(1_724_198_400_000)
        );
        assert_eq!(parse_time_text("2024-08-21", utc), Some(1_724_198_400_000));
        assert_eq!(parse_time_text("nope", utc), None);
    }
}
