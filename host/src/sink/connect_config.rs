//! A Kafka Connect S3 sink connector config (`--connect-config FILE.json`),
//! taken unchanged and mapped onto [`SinkConfig`].
//!
//! The file is either the flat property map (`{"topics": ..., "flush.size":
//! ...}`) or the REST API form (`{"name": ..., "config": {...}}`). Values may
//! be JSON strings (as Connect writes them), numbers or booleans. Every
//! property this sink implements is mapped (see [`PROPERTIES`]); every other
//! property (converters, `tasks.max`, `connector.class`, ...) is *listed as
//! ignored*, never silently dropped. A mapped property with a value the sink
//! cannot honour is refused with the Connect property named. As in Connect,
//! the consumer group of connector `name` is `connect-<name>`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::{
    ExtractorKind, NullBehavior, PartitionerKind, SinkConfig, SinkSettings, StoreKind, Tolerance,
};
use super::encoding::{Compression, Format, ParquetCodec};

/// Connect properties this sink implements, with the `[sink]` field each
/// maps to (for naming the property in errors).
pub const PROPERTIES: &[(&str, &str)] = &[
    ("name", "group"),
    ("topics", "topics"),
    ("topics.dir", "topics_dir"),
    ("flush.size", "flush_size"),
    ("rotate.interval.ms", "rotate_interval_ms"),
    ("rotate.schedule.interval.ms", "rotate_schedule_interval_ms"),
    ("partitioner.class", "partitioner"),
    ("partition.field.name", "partition_fields"),
    ("partition.duration.ms", "partition_duration_ms"),
    ("path.format", "path_format"),
    ("locale", "locale"),
    ("timezone", "timezone"),
    ("timestamp.extractor", "timestamp_extractor"),
    ("timestamp.field", "timestamp_field"),
    ("s3.bucket.name", "store.bucket"),
    ("s3.region", "store.region"),
    ("store.url", "store.endpoint"),
    ("s3.path.style.access.enabled", "store.path_style"),
    ("aws.access.key.id", "store.access_key_id"),
    ("aws.secret.access.key", "store.secret_access_key"),
    ("s3.part.size", "part_size"),
    ("format.class", "format"),
    ("s3.compression.type", "compression"),
    ("s3.compression.level", "compression_level"),
    ("parquet.codec", "parquet_codec"),
    ("behavior.on.null.values", "behavior_on_null_values"),
    ("errors.tolerance", "errors_tolerance"),
    ("errors.deadletterqueue.topic.name", "dead_letter_topic"),
    ("filename.offset.zero.pad.width", "offset_zero_pad_width"),
    ("s3.retry.backoff.ms", "retry_backoff_ms"),
    // The sink's own, for settings Connect does not have.
    ("crawlhost.idle.flush.ms", "idle_flush_ms"),
    ("crawlhost.parts.in.flight", "parts_in_flight"),
    ("crawlhost.spool.dir", "spool_dir"),
    ("crawlhost.store.path", "store.path"),
];

/// A Connect config that cannot be used; `property` is the Connect name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} is not a JSON object of connector properties: {reason}")]
    NotAnObject { path: PathBuf, reason: String },
    #[error("invalid connector property `{property}`: {reason}")]
    Invalid { property: String, reason: String },
}

fn bad(property: &str, reason: impl Into<String>) -> ConnectConfigError {
    ConnectConfigError::Invalid {
        property: property.to_string(),
        reason: reason.into(),
    }
}

/// A parsed connector config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectConfig {
    /// The equivalent `[sink]` section.
    pub config: SinkConfig,
    /// Properties present in the file that this sink does not implement,
    /// sorted.
    pub ignored: Vec<String>,
}

impl ConnectConfig {
    /// Read and map a file.
    pub fn load(path: &Path) -> Result<Self, ConnectConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConnectConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Map JSON text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ConnectConfigError> {
        let not_object = |reason: String| ConnectConfigError::NotAnObject {
            path: origin.to_path_buf(),
            reason,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| not_object(e.to_string()))?;
        let Value::Object(mut top) = value else {
            return Err(not_object("the top level is not an object".into()));
        };
        // REST form: {"name": .., "config": {..}}.
        let props: Map<String, Value> = match top.remove("config") {
            Some(Value::Object(mut inner)) => {
                if let Some(name) = top.remove("name") {
                    inner.entry("name").or_insert(name);
                }
                inner
            }
            Some(_) => return Err(not_object("`config` is not an object".into())),
            None => top,
        };
        let mut c = SinkConfig::default();
        let mut ignored = Vec::new();
        for (property, value) in &props {
            if !PROPERTIES.iter().any(|(p, _)| p == property) {
                ignored.push(property.clone());
                continue;
            }
            let text = match value {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => continue,
                _ => return Err(bad(property, "must be a string, number or boolean")),
            };
            let p = property.as_str();
            match p {
                "name" => c.group = format!("connect-{text}"),
                "topics" => c.topics = list(&text),
                "topics.dir" => c.topics_dir = text,
                "flush.size" => c.flush_size = num(p, &text)?,
                "rotate.interval.ms" => c.rotate_interval_ms = disabled_if_negative(p, &text)?,
                "rotate.schedule.interval.ms" => {
                    c.rotate_schedule_interval_ms = disabled_if_negative(p, &text)?
                }
                "partitioner.class" => c.partitioner = partitioner(p, &text)?,
                "partition.field.name" => c.partition_fields = list(&text),
                "partition.duration.ms" => {
                    c.partition_duration_ms = disabled_if_negative(p, &text)?
                }
                "path.format" => c.path_format = Some(text),
                "locale" => c.locale = text,
                "timezone" => c.timezone = text,
                "timestamp.extractor" => c.timestamp_extractor = extractor(p, &text)?,
                "timestamp.field" => c.timestamp_field = Some(text),
                "s3.bucket.name" => {
                    c.store.kind = StoreKind::S3;
                    c.store.bucket = Some(text);
                }
                "s3.region" => c.store.region = Some(text),
                "store.url" => c.store.endpoint = Some(text).filter(|s| !s.is_empty()),
                "s3.path.style.access.enabled" => c.store.path_style = Some(boolean(p, &text)?),
                "aws.access.key.id" => {
                    c.store.access_key_id = Some(text).filter(|s| !s.is_empty()).map(Into::into)
                }
                "aws.secret.access.key" => {
                    c.store.secret_access_key = Some(text).filter(|s| !s.is_empty()).map(Into::into)
                }
                "s3.part.size" => c.part_size = num(p, &text)?,
                "format.class" => c.format = format(p, &text)?,
                "s3.compression.type" => {
                    c.compression = match text.to_ascii_lowercase().as_str() {
                        "none" | "" => Compression::None,
                        "gzip" => Compression::Gzip,
                        "zstd" => Compression::Zstd,
                        other => {
                            return Err(bad(
                                p,
                                format!("`{other}` is not one of none, gzip, zstd"),
                            ));
                        }
                    }
                }
                "s3.compression.level" => {
                    let level: i32 = text
                        .parse()
                        .map_err(|_| bad(p, format!("`{text}` is not an integer")))?;
                    c.compression_level = (level >= 0).then_some(level);
                }
                "parquet.codec" => {
                    c.parquet_codec = match text.to_ascii_lowercase().as_str() {
                        "none" | "uncompressed" => ParquetCodec::None,
                        "snappy" => ParquetCodec::Snappy,
                        "zstd" => ParquetCodec::Zstd,
                        other => {
                            return Err(bad(
                                p,
                                format!("`{other}` is not supported (none, snappy, zstd)"),
                            ));
                        }
                    }
                }
                "behavior.on.null.values" => {
                    c.behavior_on_null_values = match text.to_ascii_lowercase().as_str() {
                        "fail" => NullBehavior::Fail,
                        "ignore" => NullBehavior::Ignore,
                        "write" => NullBehavior::Write,
                        other => {
                            return Err(bad(
                                p,
                                format!("`{other}` is not one of fail, ignore, write"),
                            ));
                        }
                    }
                }
                "errors.tolerance" => {
                    c.errors_tolerance = match text.to_ascii_lowercase().as_str() {
                        "none" => Tolerance::None,
                        "all" => Tolerance::All,
                        other => return Err(bad(p, format!("`{other}` is not one of none, all"))),
                    }
                }
                "errors.deadletterqueue.topic.name" => {
                    c.dead_letter_topic = Some(text).filter(|s| !s.is_empty())
                }
                "filename.offset.zero.pad.width" => c.offset_zero_pad_width = num(p, &text)?,
                "s3.retry.backoff.ms" => c.retry_backoff_ms = num(p, &text)?,
                "crawlhost.idle.flush.ms" => c.idle_flush_ms = Some(num(p, &text)?),
                "crawlhost.parts.in.flight" => c.parts_in_flight = num(p, &text)?,
                "crawlhost.spool.dir" => c.spool_dir = Some(PathBuf::from(text)),
                "crawlhost.store.path" => {
                    c.store.kind = StoreKind::Local;
                    c.store.path = Some(PathBuf::from(text));
                }
                _ => return Err(bad(p, "is in the property table but has no mapping")),
            }
        }
        if c.store.kind == StoreKind::S3 && c.store.path.is_some() {
            return Err(bad("crawlhost.store.path", "conflicts with s3.bucket.name"));
        }
        if c.store.kind == StoreKind::Local && c.store.path.is_none() {
            return Err(bad(
                "s3.bucket.name",
                "is required (or crawlhost.store.path for a local directory)",
            ));
        }
        ignored.sort();
        Ok(Self { config: c, ignored })
    }

    /// Check the mapped config; errors name the Connect property.
    pub fn validate(&self, data_dir: &Path) -> Result<SinkSettings, ConnectConfigError> {
        self.config.validate(data_dir).map_err(|e| {
            let property = PROPERTIES
                .iter()
                .find(|(_, field)| *field == e.field)
                .map_or(e.field.as_str(), |(p, _)| *p);
            bad(property, e.reason)
        })
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn num<T: std::str::FromStr>(p: &str, text: &str) -> Result<T, ConnectConfigError> {
    text.parse().map_err(|_| {
        bad(
            p,
            format!("`{text}` is not a non-negative integer in range"),
        )
    })
}

/// Connect's `-1` (any negative) disables an interval.
fn disabled_if_negative(p: &str, text: &str) -> Result<Option<u64>, ConnectConfigError> {
    let v: i64 = text
        .parse()
        .map_err(|_| bad(p, format!("`{text}` is not an integer")))?;
    Ok((v > 0).then_some(v as u64))
}

fn boolean(p: &str, text: &str) -> Result<bool, ConnectConfigError> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(p, format!("`{text}` is not true or false"))),
    }
}

fn partitioner(p: &str, text: &str) -> Result<PartitionerKind, ConnectConfigError> {
    let short = text.rsplit('.').next().unwrap_or(text);
    Ok(match short {
        "DefaultPartitioner" | "default" => PartitionerKind::Default,
        "FieldPartitioner" | "field" => PartitionerKind::Field,
        "TimeBasedPartitioner" | "time" => PartitionerKind::Time,
        "HourlyPartitioner" | "hourly" => PartitionerKind::Hourly,
        "DailyPartitioner" | "daily" => PartitionerKind::Daily,
        _ => {
            return Err(bad(
                p,
                format!(
                    "`{text}` is not supported (DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner, DailyPartitioner)"
                ),
            ));
        }
    })
}

fn extractor(p: &str, text: &str) -> Result<ExtractorKind, ConnectConfigError> {
    let short = text.rsplit(['.', '$']).next().unwrap_or(text);
    Ok(match short {
        "Record" | "RecordTimestampExtractor" => ExtractorKind::Record,
        "RecordField" | "RecordFieldTimestampExtractor" => ExtractorKind::RecordField,
        "Wallclock" | "WallclockTimestampExtractor" => ExtractorKind::Wallclock,
        _ => {
            return Err(bad(
                p,
                format!("`{text}` is not one of Record, RecordField, Wallclock"),
            ));
        }
    })
}

fn format(p: &str, text: &str) -> Result<Format, ConnectConfigError> {
    let short = text.rsplit('.').next().unwrap_or(text);
    Ok(match short {
        "JsonFormat" | "json" => Format::Json,
        "ParquetFormat" | "parquet" => Format::Parquet,
        _ => {
            return Err(bad(
                p,
                format!("`{text}` is not supported (JsonFormat, ParquetFormat)"),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::partitioner::Partitioner;
    use crate::sink::store::StoreTarget;

    fn parse(text: &str) -> Result<ConnectConfig, ConnectConfigError> {
        ConnectConfig::parse(text, Path::new("c.json"))
    }

    /// The original pipeline's connector, as DESIGN.md describes it.
    const ORIGINAL: &str = r#"{
      "name": "viral-s3-sink",
      "config": {
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "tasks.max": "2",
        "topics": "oliveyoung,twitter",
        "topics.dir": "bronze/viral",
        "s3.bucket.name": "datalake",
        "s3.region": "ap-northeast-2",
        "store.url": "http://127.0.0.1:9000",
        "flush.size": "100",
        "rotate.interval.ms": "60000",
        "rotate.schedule.interval.ms": "-1",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        "partition.duration.ms": "86400000",
        "path.format": "yyyy-MM-dd",
        "locale": "ko-KR",
        "timezone": "Asia/Seoul",
        "timestamp.extractor": "Record",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "behavior.on.null.values": "ignore",
        "s3.part.size": 5242880
      }
    }"#;

    #[test]
    fn original_connector_maps_and_lists_ignored() {
        let c = parse(ORIGINAL).unwrap();
        assert_eq!(
            c.ignored,
            [
                "connector.class",
                "key.converter",
                "storage.class",
                "tasks.max",
                "value.converter",
                "value.converter.schemas.enable"
            ]
        );
        assert_eq!(c.config.group, "connect-viral-s3-sink");
        assert_eq!(c.config.topics, ["oliveyoung", "twitter"]);
        assert_eq!(c.config.rotate_schedule_interval_ms, None);
        let s = c.validate(Path::new(".crawlhost")).unwrap();
        assert_eq!(s.topics_dir, "bronze/viral");
        assert_eq!(s.rotation.flush_size, Some(100));
        assert_eq!(s.rotation.rotate_interval_ms, Some(60_000));
        assert!(matches!(
            s.partitioner,
            Partitioner::Time {
                duration_ms: 86_400_000,
                ..
            }
        ));
        let StoreTarget::S3(t) = &s.store else {
            panic!("{:?}", s.store)
        };
        assert_eq!(t.bucket, "datalake");
        assert!(t.allow_http && t.path_style);
        assert_eq!(s.limits.part_size, 5_242_880);
    }

    #[test]
    fn invalid_values_name_the_property() {
        let cases = [
            (
                r#"{"s3.bucket.name":"b","topics":"t","flush.size":"many"}"#,
                "flush.size",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","format.class":"io.confluent.connect.s3.format.avro.AvroFormat"}"#,
                "format.class",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","partitioner.class":"com.example.Mine"}"#,
                "partitioner.class",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","errors.tolerance":"some"}"#,
                "errors.tolerance",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","s3.path.style.access.enabled":"yes"}"#,
                "s3.path.style.access.enabled",
            ),
            (r#"{"topics":"t"}"#, "s3.bucket.name"),
            (
                r#"{"s3.bucket.name":"b","topics":"t","parquet.codec":"lzo"}"#,
                "parquet.codec",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","flush.size":{"x":1}}"#,
                "flush.size",
            ),
        ];
        for (text, property) in cases {
            match parse(text) {
                Err(ConnectConfigError::Invalid { property: p, .. }) => {
                    assert_eq!(p, property, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // Errors found when checking the mapped config also use Connect names.
        let checks = [
            (
                r#"{"s3.bucket.name":"b","topics":"t","s3.part.size":"1000"}"#,
                "s3.part.size",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","timezone":"Nowhere/Land"}"#,
                "timezone",
            ),
            (
                r#"{"s3.bucket.name":"b","topics":"t","partitioner.class":"TimeBasedPartitioner","partition.duration.ms":"3600000","path.format":"yyyy-qq"}"#,
                "path.format",
            ),
            (r#"{"s3.bucket.name":"b","topics":""}"#, "topics"),
            (
                r#"{"s3.bucket.name":"b","topics":"t","errors.deadletterqueue.topic.name":"dlq"}"#,
                "errors.deadletterqueue.topic.name",
            ),
        ];
        for (text, property) in checks {
            match parse(text).unwrap().validate(Path::new(".")) {
                Err(ConnectConfigError::Invalid { property: p, .. }) => {
                    assert_eq!(p, property, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse("[1]"),
            Err(ConnectConfigError::NotAnObject { .. })
        ));
    }

    #[test]
    fn local_directory_and_flat_form() {
        let c = parse(r#"{"topics":"a, b","crawlhost.store.path":"out","flush.size":3,"behavior.on.null.values":"write"}"#).unwrap();
        assert!(c.ignored.is_empty());
        let s = c.validate(Path::new(".")).unwrap();
        assert_eq!(
            s.store,
            StoreTarget::Local {
                root: PathBuf::from("out")
            }
        );
        assert_eq!(s.topics, ["a", "b"]);
        assert_eq!(s.null_behavior, NullBehavior::Write);
    }

    #[test]
    fn every_mapped_property_is_known_to_the_table() {
        // The error remapping relies on the table naming real [sink] fields.
        let fields = [
            "group",
            "topics",
            "topics_dir",
            "flush_size",
            "rotate_interval_ms",
            "rotate_schedule_interval_ms",
            "partitioner",
            "partition_fields",
            "partition_duration_ms",
            "path_format",
            "locale",
            "timezone",
            "timestamp_extractor",
            "timestamp_field",
            "store.bucket",
            "store.region",
            "store.endpoint",
            "store.path_style",
            "store.access_key_id",
            "store.secret_access_key",
            "part_size",
            "format",
            "compression",
            "compression_level",
            "parquet_codec",
            "behavior_on_null_values",
            "errors_tolerance",
            "dead_letter_topic",
            "offset_zero_pad_width",
            "retry_backoff_ms",
            "idle_flush_ms",
            "parts_in_flight",
            "spool_dir",
            "store.path",
        ];
        for (_, field) in PROPERTIES {
            assert!(fields.contains(field), "{field}");
        }
    }
}
