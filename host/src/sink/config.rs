//! `[sink]` in `crawlhost.toml`: the sink's configuration as written
//! ([`SinkConfig`]) and checked ([`SinkSettings`]).
//!
//! The fields mirror Kafka Connect's S3 sink properties (snake_case here,
//! dotted there; [`super::connect_config`] maps one onto the other), plus
//! a few of the sink's own (idle flush, spool directory, parts in flight,
//! local directory store). Checking names the field that is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::encoding::{Compression, Encoding, Format, ParquetCodec};
use super::partitioner::{Partitioner, TimestampExtractor};
use super::rotation::RotationPolicy;
use super::store::{S3Target, StoreTarget, UploadLimits};
use super::timefmt::{self, PathFormat};

/// S3's smallest part (except the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A setting that cannot be used; `field` is the `[sink]` key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sink setting `{field}`: {reason}")]
pub struct SinkConfigError {
    pub field: String,
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> SinkConfigError {
    SinkConfigError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `[sink]`: the S3 sink (Kafka Connect S3 sink semantics). A field left
/// out takes its value from [`SinkConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SinkConfig {
    /// Topics to write out (Connect `topics`). Required.
    pub topics: Vec<String>,
    /// Consumer group whose committed offsets track what is durable in the
    /// store. Default `crawlhost-sink` (a Connect config named `x` uses
    /// `connect-x`, as Connect does).
    pub group: String,
    /// Top directory of data objects (`topics.dir`). Default `topics`.
    pub topics_dir: String,
    /// Records per batch of a Kafka partition before its files close
    /// (`flush.size`). Default 1000.
    pub flush_size: u64,
    /// Close a batch when a record's time is this far past the batch's first
    /// record, or its time bucket changes (`rotate.interval.ms`; record time;
    /// time-based partitioners only, as Connect). Default off.
    pub rotate_interval_ms: Option<u64>,
    /// Close batches on wall-clock boundaries of this interval, aligned to
    /// local midnight in `timezone` (`rotate.schedule.interval.ms`). Default off.
    pub rotate_schedule_interval_ms: Option<u64>,
    /// Close a batch when its partition has had no record for this long
    /// (wall clock), so a quiet topic's last file gets out. Default: the
    /// rotate interval, else the schedule interval, else off.
    pub idle_flush_ms: Option<u64>,
    /// `default` (`partition=<n>`), `field`, `time`, `hourly`, `daily`
    /// (`partitioner.class`). Default `default`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub partitioner: PartitionerKind,
    /// Fields for the field partitioner, dotted paths allowed
    /// (`partition.field.name`).
    pub partition_fields: Vec<String>,
    /// Time bucket size for the time partitioner (`partition.duration.ms`).
    pub partition_duration_ms: Option<u64>,
    /// Joda-Time pattern of the time partitioner's directories
    /// (`path.format`), e.g. `'year'=YYYY/'month'=MM/'day'=dd`.
    pub path_format: Option<String>,
    /// Locale for month/day names in `path_format` (`locale`). Default `en-US`.
    pub locale: String,
    /// IANA time zone for time buckets and the schedule (`timezone`).
    /// Default `UTC`.
    pub timezone: String,
    /// `record`, `record_field`, `wallclock` (`timestamp.extractor`).
    /// Default `record`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub timestamp_extractor: ExtractorKind,
    /// The value field holding the time for `record_field`
    /// (`timestamp.field`; dotted path; epoch ms, epoch s or ISO-8601).
    pub timestamp_field: Option<String>,
    /// `json` (NDJSON) or `parquet` (`format.class`). Default `json`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub format: Format,
    /// NDJSON compression: `none`, `gzip`, `zstd` (`s3.compression.type`).
    /// Default `none`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub compression: Compression,
    /// Compression level (`s3.compression.level`); default the codec's.
    pub compression_level: Option<i32>,
    /// Parquet codec: `snappy`, `zstd`, `none` (`parquet.codec`). Default
    /// `snappy`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub parquet_codec: ParquetCodec,
    /// Null values: `fail`, `ignore`, `write` (`behavior.on.null.values`).
    /// Default `fail`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub behavior_on_null_values: NullBehavior,
    /// `none` (stop at a bad record) or `all` (skip it, to the dead-letter
    /// topic when set) (`errors.tolerance`). Default `none`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub errors_tolerance: Tolerance,
    /// Topic for records that cannot be written
    /// (`errors.deadletterqueue.topic.name`). Default none.
    pub dead_letter_topic: Option<String>,
    /// Digits of the zero-padded start offset in file names
    /// (`filename.offset.zero.pad.width`). Default 10.
    pub offset_zero_pad_width: usize,
    /// Multipart part size in bytes (`s3.part.size`), at least 5 MiB.
    /// Default 25 MiB (Connect's).
    pub part_size: u64,
    /// Parts in memory at once across all uploads. Default 4.
    pub parts_in_flight: usize,
    /// Most records taken from the bus per poll, all partitions together.
    /// Default 5000. A poll's records stay in memory only until they are
    /// written to the open files: size it by record size (5000 x 1 KB =
    /// 5 MB). Over Kafka the reader's own prefetch is set apart, in
    /// `[kafka.properties]` (`queued.max.messages.kbytes`, default 16 MiB
    /// for the sink).
    pub fetch_max_records: usize,
    /// Wait between polls when every partition is caught up, in ms. Default 200.
    pub poll_interval_ms: u64,
    /// First delay after a failed store operation (`s3.retry.backoff.ms`).
    /// Default 200.
    pub retry_backoff_ms: u64,
    /// Longest delay between store retries. Default 10000.
    pub retry_max_backoff_ms: u64,
    /// Local scratch directory for open files. Default `<data_dir>/sink-spool`.
    pub spool_dir: Option<PathBuf>,
    /// Key prefix of the sink's batch markers, outside `topics_dir`.
    /// Default `_crawlhost/sink`.
    pub marker_prefix: String,
    /// Where objects go.
    pub store: StoreConfig,
}

/// `[sink.store]`. A field left out takes its value from
/// [`StoreConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `local` (a directory, the default) or `s3`.
    #[serde(deserialize_with = "crate::any_case::deserialize")]
    pub kind: StoreKind,
    /// Directory for `local`. Default `data`.
    pub path: Option<PathBuf>,
    /// Bucket for `s3` (`s3.bucket.name`).
    pub bucket: Option<String>,
    /// Region (`s3.region`); default `AWS_REGION` or `us-east-1`.
    pub region: Option<String>,
    /// Endpoint URL of an S3-compatible server (`store.url`); default AWS.
    pub endpoint: Option<String>,
    /// Path-style requests (`s3.path.style.access.enabled`). Default true.
    pub path_style: Option<bool>,
    /// Allow `http://` endpoints. Default: true when `endpoint` is http.
    pub allow_http: Option<bool>,
    /// Access key (`aws.access.key.id`); default `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<crate::secret::SecretString>,
    /// Secret key (`aws.secret.access.key`); default `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<crate::secret::SecretString>,
    /// Session token; default `AWS_SESSION_TOKEN`.
    pub session_token: Option<crate::secret::SecretString>,
    /// Longest single S3 request (a part upload included), in ms; a slower
    /// request is retried. Default 60000.
    pub request_timeout_ms: u64,
    /// TCP + TLS connect timeout to S3, in ms. Default 5000.
    pub connect_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Local,
    S3,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PartitionerKind {
    #[default]
    Default,
    Field,
    Time,
    Hourly,
    Daily,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExtractorKind {
    #[default]
    #[serde(alias = "Record")]
    Record,
    #[serde(alias = "RecordField")]
    RecordField,
    #[serde(alias = "Wallclock")]
    Wallclock,
}

/// `behavior.on.null.values`.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NullBehavior {
    /// A null value is a bad record (see `errors_tolerance`).
    #[default]
    Fail,
    /// Skip it.
    Ignore,
    /// Write it: the line `null` in NDJSON, a row of nulls in Parquet.
    Write,
}

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tolerance {
    /// Stop at the first bad record (nothing after it is committed).
    #[default]
    None,
    /// Skip bad records, sending them to the dead-letter topic when set.
    All,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::Local,
            path: None,
            bucket: None,
            region: None,
            endpoint: None,
            path_style: None,
            allow_http: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            request_timeout_ms: 60_000,
            connect_timeout_ms: 5_000,
        }
    }
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            group: "crawlhost-sink".to_string(),
            topics_dir: "topics".to_string(),
            flush_size: 1000,
            rotate_interval_ms: None,
            rotate_schedule_interval_ms: None,
            idle_flush_ms: None,
            partitioner: PartitionerKind::Default,
            partition_fields: Vec::new(),
            partition_duration_ms: None,
            path_format: None,
            locale: "en-US".to_string(),
            timezone: "UTC".to_string(),
            timestamp_extractor: ExtractorKind::Record,
            timestamp_field: None,
            format: Format::Json,
            compression: Compression::None,
            compression_level: None,
            parquet_codec: ParquetCodec::Snappy,
            behavior_on_null_values: NullBehavior::Fail,
            errors_tolerance: Tolerance::None,
            dead_letter_topic: None,
            offset_zero_pad_width: 10,
            part_size: 25 * 1024 * 1024,
            parts_in_flight: 4,
            fetch_max_records: 5000,
            poll_interval_ms: 200,
            retry_backoff_ms: 200,
            retry_max_backoff_ms: 10_000,
            spool_dir: None,
            marker_prefix: "_crawlhost/sink".to_string(),
            store: StoreConfig::default(),
        }
    }
}

/// Hourly preset (Connect's `HourlyPartitioner`).
pub const HOURLY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
/// Daily preset (Connect's `DailyPartitioner`).
pub const DAILY_FORMAT: &str = "'year'=YYYY/'month'=MM/'day'=dd";

/// The checked sink configuration.
#[derive(Debug, Clone)]
pub struct SinkSettings {
    pub topics: Vec<String>,
    pub group: String,
    pub topics_dir: String,
    pub partitioner: Partitioner,
    pub rotation: RotationPolicy,
    pub encoding: Encoding,
    pub null_behavior: NullBehavior,
    pub tolerance: Tolerance,
    pub dead_letter_topic: Option<String>,
    pub pad_width: usize,
    pub fetch_max_records: usize,
    pub poll_interval: Duration,
    pub spool_dir: PathBuf,
    pub marker_prefix: String,
    pub store: StoreTarget,
    pub limits: UploadLimits,
    /// Settings that are accepted but have no effect, with why (e.g.
    /// `rotate_interval_ms` with a partitioner that has no record time).
    pub notes: Vec<String>,
}

fn positive(field: &str, v: Option<u64>) -> Result<Option<i64>, SinkConfigError> {
    match v {
        None => Ok(None),
        Some(0) => Err(invalid(
            field,
            "must be at least 1 (leave it out to disable)",
        )),
        Some(v) => i64::try_from(v)
            .map(Some)
            .map_err(|_| invalid(field, "is too large")),
    }
}

impl SinkConfig {
    /// Check every field; `data_dir` anchors the default spool directory.
    pub fn validate(&self, data_dir: &Path) -> Result<SinkSettings, SinkConfigError> {
        let mut notes = Vec::new();
        if self.topics.is_empty() {
            return Err(invalid("topics", "list at least one topic to write out"));
        }
        // Topics name object-key segments and spool files, the group the
        // spool directory the sink empties at start: checked as path
        // segments (topics also as Kafka topic names, which they are).
        for t in &self.topics {
            crate::bus::topic::validate_topic(t.trim())
                .map_err(|e| invalid("topics", e.to_string()))?;
            super::naming::check_segment(t.trim())
                .map_err(|e| invalid("topics", format!("topic {e}")))?;
        }
        super::naming::check_segment(&self.group)
            .map_err(|e| invalid("group", format!("the group name {e}")))?;
        if let Some(dlq) = &self.dead_letter_topic {
            crate::bus::topic::validate_topic(dlq)
                .map_err(|e| invalid("dead_letter_topic", e.to_string()))?;
        }
        super::naming::check_prefix(&self.topics_dir).map_err(|e| invalid("topics_dir", e))?;
        super::naming::check_prefix(&self.marker_prefix)
            .map_err(|e| invalid("marker_prefix", e))?;
        if self.flush_size == 0 {
            return Err(invalid("flush_size", "must be at least 1"));
        }
        let tz = timefmt::parse_timezone(&self.timezone).ok_or_else(|| {
            invalid(
                "timezone",
                format!(
                    "`{}` is not an IANA time zone (e.g. Asia/Seoul, UTC)",
                    self.timezone
                ),
            )
        })?;
        let rotate_interval_ms = positive("rotate_interval_ms", self.rotate_interval_ms)?;
        let schedule_interval_ms = positive(
            "rotate_schedule_interval_ms",
            self.rotate_schedule_interval_ms,
        )?;
        let idle_ms = positive("idle_flush_ms", self.idle_flush_ms)?
            .or(rotate_interval_ms)
            .or(schedule_interval_ms);

        let extractor = match self.timestamp_extractor {
            ExtractorKind::Record => TimestampExtractor::Record,
            ExtractorKind::Wallclock => TimestampExtractor::Wallclock,
            ExtractorKind::RecordField => match &self.timestamp_field {
                Some(f) if !f.trim().is_empty() => {
                    TimestampExtractor::RecordField(f.trim().to_string())
                }
                _ => {
                    return Err(invalid(
                        "timestamp_field",
                        "is required with timestamp_extractor = record_field",
                    ));
                }
            },
        };
        let time = |duration: Option<u64>,
                    format: Option<&str>|
         -> Result<Partitioner, SinkConfigError> {
            let duration = positive("partition_duration_ms", duration)?.ok_or_else(|| {
                invalid(
                    "partition_duration_ms",
                    "is required with the time partitioner",
                )
            })?;
            let format = format
                .ok_or_else(|| invalid("path_format", "is required with the time partitioner"))?;
            let format = PathFormat::compile(format, &self.locale)
                .map_err(|e| invalid("path_format", e.to_string()))?;
            Ok(Partitioner::Time {
                duration_ms: duration,
                format,
                tz,
                extractor: extractor.clone(),
            })
        };
        let partitioner = match self.partitioner {
            PartitionerKind::Default => Partitioner::Default,
            PartitionerKind::Field => {
                let fields: Vec<String> = self
                    .partition_fields
                    .iter()
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect();
                if fields.is_empty() {
                    return Err(invalid(
                        "partition_fields",
                        "list at least one field for the field partitioner",
                    ));
                }
                Partitioner::Field { fields }
            }
            PartitionerKind::Time => time(self.partition_duration_ms, self.path_format.as_deref())?,
            PartitionerKind::Hourly => time(Some(3_600_000), Some(HOURLY_FORMAT))?,
            PartitionerKind::Daily => time(Some(86_400_000), Some(DAILY_FORMAT))?,
        };
        if rotate_interval_ms.is_some() && !matches!(partitioner, Partitioner::Time { .. }) {
            notes.push(
                "rotate_interval_ms has no effect: record time exists only with a time-based partitioner (as in Kafka Connect); it still sets the idle flush".to_string(),
            );
        }

        let (format, compression) = (self.format, self.compression);
        if format == Format::Parquet && compression != Compression::None {
            return Err(invalid(
                "compression",
                "applies to json only; Parquet uses parquet_codec",
            ));
        }
        if let Some(level) = self.compression_level {
            let ok = match compression {
                Compression::Gzip => (0..=9).contains(&level),
                Compression::Zstd => (1..=22).contains(&level),
                Compression::None => false,
            };
            if !ok {
                return Err(invalid(
                    "compression_level",
                    "must be 0..=9 for gzip, 1..=22 for zstd, and needs a compression",
                ));
            }
        }
        if self.tolerance_is_none_with_dlq() {
            return Err(invalid(
                "dead_letter_topic",
                "needs errors_tolerance = \"all\" (as Kafka Connect)",
            ));
        }
        if let Some(dlq) = &self.dead_letter_topic
            && (dlq.trim().is_empty() || self.topics.contains(dlq))
        {
            return Err(invalid(
                "dead_letter_topic",
                "must be a non-empty topic that is not one of `topics`",
            ));
        }
        if !(1..=20).contains(&self.offset_zero_pad_width) {
            return Err(invalid("offset_zero_pad_width", "must be between 1 and 20"));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(invalid(
                "part_size",
                "must be between 5 MiB (5242880) and 5 GiB",
            ));
        }
        if !(1..=64).contains(&self.parts_in_flight) {
            return Err(invalid("parts_in_flight", "must be between 1 and 64"));
        }
        if !(1..=100_000).contains(&self.fetch_max_records) {
            return Err(invalid("fetch_max_records", "must be between 1 and 100000"));
        }
        if self.poll_interval_ms == 0 {
            return Err(invalid("poll_interval_ms", "must be at least 1"));
        }
        if self.retry_backoff_ms == 0 || self.retry_max_backoff_ms < self.retry_backoff_ms {
            return Err(invalid(
                "retry_backoff_ms",
                "must be at least 1 and not above retry_max_backoff_ms",
            ));
        }
        let marker_prefix = self.marker_prefix.trim_matches('/').to_string();
        let topics_dir = self.topics_dir.trim_matches('/').to_string();
        if marker_prefix.is_empty() {
            return Err(invalid("marker_prefix", "must not be empty"));
        }
        if !topics_dir.is_empty()
            && (marker_prefix == topics_dir || marker_prefix.starts_with(&format!("{topics_dir}/")))
        {
            return Err(invalid("marker_prefix", "must lie outside topics_dir"));
        }

        let s = &self.store;
        let store = match s.kind {
            StoreKind::Local => {
                for (set, name) in [
                    (s.bucket.is_some(), "store.bucket"),
                    (s.endpoint.is_some(), "store.endpoint"),
                    (s.access_key_id.is_some(), "store.access_key_id"),
                ] {
                    if set {
                        return Err(invalid(name, "applies to kind = \"s3\" only"));
                    }
                }
                StoreTarget::Local {
                    root: s.path.clone().unwrap_or_else(|| PathBuf::from("data")),
                }
            }
            StoreKind::S3 => {
                let bucket = s
                    .bucket
                    .clone()
                    .filter(|b| !b.trim().is_empty())
                    .ok_or_else(|| invalid("store.bucket", "is required with kind = \"s3\""))?;
                if bucket.len() < 3 || bucket.contains('/') {
                    return Err(invalid(
                        "store.bucket",
                        format!("`{bucket}` is not a bucket name"),
                    ));
                }
                if s.path.is_some() {
                    return Err(invalid("store.path", "applies to kind = \"local\" only"));
                }
                if let Some(endpoint) = &s.endpoint
                    && url::Url::parse(endpoint).is_err()
                {
                    return Err(invalid(
                        "store.endpoint",
                        format!("`{endpoint}` is not a URL"),
                    ));
                }
                if s.access_key_id.is_some() != s.secret_access_key.is_some() {
                    return Err(invalid(
                        "store.secret_access_key",
                        "access_key_id and secret_access_key go together",
                    ));
                }
                if s.request_timeout_ms == 0 {
                    return Err(invalid("store.request_timeout_ms", "must be at least 1"));
                }
                if s.connect_timeout_ms == 0 {
                    return Err(invalid("store.connect_timeout_ms", "must be at least 1"));
                }
                let http_endpoint = s
                    .endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://"));
                S3Target {
                    bucket,
                    region: s.region.clone(),
                    endpoint: s.endpoint.clone(),
                    path_style: s.path_style.unwrap_or(true),
                    allow_http: s.allow_http.unwrap_or(http_endpoint),
                    access_key_id: s.access_key_id.as_ref().map(|v| v.expose().to_string()),
                    secret_access_key: s.secret_access_key.as_ref().map(|v| v.expose().to_string()),
                    session_token: s.session_token.as_ref().map(|v| v.expose().to_string()),
                    request_timeout: Duration::from_millis(s.request_timeout_ms),
                    connect_timeout: Duration::from_millis(s.connect_timeout_ms),
                }
                .into()
            }
        };

        Ok(SinkSettings {
            topics: self.topics.iter().map(|t| t.trim().to_string()).collect(),
            group: self.group.clone(),
            topics_dir,
            partitioner,
            rotation: RotationPolicy {
                flush_size: Some(self.flush_size),
                rotate_interval_ms,
                schedule_interval_ms,
                idle_ms,
                tz,
            },
            encoding: Encoding {
                format,
                compression,
                level: self.compression_level,
                parquet_codec: self.parquet_codec,
            },
            null_behavior: self.behavior_on_null_values,
            tolerance: self.errors_tolerance,
            dead_letter_topic: self.dead_letter_topic.clone(),
            pad_width: self.offset_zero_pad_width,
            fetch_max_records: self.fetch_max_records,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            spool_dir: self
                .spool_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("sink-spool")),
            marker_prefix,
            store,
            limits: UploadLimits {
                part_size: self.part_size as usize,
                parts_in_flight: self.parts_in_flight,
                retry_backoff: Duration::from_millis(self.retry_backoff_ms),
                retry_max_backoff: Duration::from_millis(self.retry_max_backoff_ms),
            },
            notes,
        })
    }

    fn tolerance_is_none_with_dlq(&self) -> bool {
        self.errors_tolerance == Tolerance::None && self.dead_letter_topic.is_some()
    }
}

impl From<S3Target> for StoreTarget {
    fn from(s: S3Target) -> Self {
        StoreTarget::S3(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SinkSettings, SinkConfigError> {
        let c: SinkConfig = toml::from_str(text).map_err(|e| invalid("toml", e.to_string()))?;
        c.validate(Path::new(".crawlhost"))
    }

    #[test]
    fn minimal_is_local_default_partitioner() {
        let s = parse("topics = [\"oliveyoung\"]").unwrap();
        assert_eq!(s.group, "crawlhost-sink");
        assert_eq!(s.topics_dir, "topics");
        assert!(matches!(s.partitioner, Partitioner::Default));
        assert_eq!(
            s.store,
            StoreTarget::Local {
                root: PathBuf::from("data")
            }
        );
        assert_eq!(s.encoding.extension(), "json");
        assert_eq!(s.rotation.flush_size, Some(1000));
        assert_eq!(s.rotation.idle_ms, None);
        assert_eq!(s.spool_dir, PathBuf::from(".crawlhost/sink-spool"));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("", "topics"),
            ("topics=[\"t\"]\nflush_size = 0", "flush_size"),
            ("topics=[\"t\"]\ntimezone = \"Mars/Base\"", "timezone"),
            (
                "topics=[\"t\"]\npartitioner = \"time\"\npartition_duration_ms = 1000",
                "path_format",
            ),
            (
                "topics=[\"t\"]\npartitioner = \"time\"\npath_format = \"yyyy\"",
                "partition_duration_ms",
            ),
            (
                "topics=[\"t\"]\npartitioner = \"hourly\"\npath_format = \"x\"\nlocale=\"en\"\ntimestamp_extractor=\"record_field\"",
                "timestamp_field",
            ),
            (
                "topics=[\"t\"]\npartitioner = \"field\"",
                "partition_fields",
            ),
            ("topics=[\"t\"]\npart_size = 1024", "part_size"),
            (
                "topics=[\"t\"]\ndead_letter_topic = \"dlq\"",
                "dead_letter_topic",
            ),
            (
                "topics=[\"t\"]\nformat = \"parquet\"\ncompression = \"gzip\"",
                "compression",
            ),
            ("topics=[\"t\"]\n[store]\nkind = \"s3\"", "store.bucket"),
            ("topics=[\"t\"]\n[store]\nbucket = \"b\"", "store.bucket"),
            (
                "topics=[\"t\"]\nmarker_prefix = \"topics/x\"",
                "marker_prefix",
            ),
        ];
        for (text, field) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.field, field, "{text}: {err}");
        }
        let err = toml::from_str::<SinkConfig>("topicz = []")
            .unwrap_err()
            .to_string();
        assert!(err.contains("topicz"), "{err}");
    }

    #[test]
    fn an_empty_table_is_the_default() {
        assert_eq!(
            toml::from_str::<SinkConfig>("").unwrap(),
            SinkConfig::default()
        );
        assert_eq!(
            toml::from_str::<StoreConfig>("").unwrap(),
            StoreConfig::default()
        );
        // The defaults the docs promise.
        let s = parse("topics = [\"t\"]").unwrap();
        assert_eq!(s.encoding.extension(), "json");
        assert_eq!(s.pad_width, 10);
        assert_eq!(s.fetch_max_records, 5000);
        assert_eq!(s.poll_interval, Duration::from_millis(200));
        assert_eq!(s.limits.part_size, 25 * 1024 * 1024);
        assert_eq!(s.limits.parts_in_flight, 4);
        assert_eq!(s.limits.retry_backoff, Duration::from_millis(200));
        assert_eq!(s.limits.retry_max_backoff, Duration::from_millis(10_000));
        assert_eq!(s.marker_prefix, "_crawlhost/sink");
    }

    #[test]
    fn enums_read_in_any_case() {
        let c: SinkConfig = toml::from_str(
            "format = \"PARQUET\"\nparquet_codec = \"ZSTD\"\npartitioner = \"Daily\"\n\
             timestamp_extractor = \"RecordField\"\nbehavior_on_null_values = \"IGNORE\"\n\
             errors_tolerance = \"ALL\"\n[store]\nkind = \"S3\"",
        )
        .unwrap();
        assert_eq!(c.format, Format::Parquet);
        assert_eq!(c.parquet_codec, ParquetCodec::Zstd);
        assert_eq!(c.partitioner, PartitionerKind::Daily);
        assert_eq!(c.timestamp_extractor, ExtractorKind::RecordField);
        assert_eq!(c.behavior_on_null_values, NullBehavior::Ignore);
        assert_eq!(c.errors_tolerance, Tolerance::All);
        assert_eq!(c.store.kind, StoreKind::S3);
        let c: SinkConfig = toml::from_str("compression = \"GZIP\"").unwrap();
        assert_eq!(c.compression, Compression::Gzip);
        let c: SinkConfig = toml::from_str("compression = \"gzip\"").unwrap();
        assert_eq!(c.compression, Compression::Gzip);
        let err = toml::from_str::<SinkConfig>("compression = \"LZMA\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown variant `LZMA`, expected one of `none`, `gzip`, `zstd`"),
            "{err}"
        );
    }

    #[test]
    fn presets_and_idle_default() {
        let s = parse("topics=[\"t\"]\npartitioner=\"hourly\"\nrotate_interval_ms=60000\ntimezone=\"Asia/Seoul\"").unwrap();
        match &s.partitioner {
            Partitioner::Time {
                duration_ms, tz, ..
            } => {
                assert_eq!(*duration_ms, 3_600_000);
                assert_eq!(*tz, chrono_tz::Asia::Seoul);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.rotation.idle_ms, Some(60_000));
        assert!(s.notes.is_empty());
        let s = parse("topics=[\"t\"]\nrotate_interval_ms=60000").unwrap();
        assert_eq!(s.notes.len(), 1);
    }

    /// Issue 15 item 9: names that become directories (`<spool_dir>/<group>`
    /// is emptied at start: a group `..` emptied the data directory) or
    /// object-key segments are refused when the configuration is checked.
    #[test]
    fn names_that_become_paths_are_refused() {
        for (field, bad) in [
            ("group", ".."),
            ("group", "."),
            ("group", ""),
            ("group", " "),
            ("group", "a/b"),
            ("group", "/abs"),
            ("group", "a\\b"),
            ("group", "C:\\x"),
            ("group", "a\u{0}b"),
            ("group", "a\nb"),
            ("group", "a\u{7f}b"),
            ("topics", ".."),
            ("topics", "."),
            ("topics", ""),
            ("topics", "a/b"),
            ("topics", "a\\b"),
            ("topics", "a\u{0}b"),
            ("topics", "a\tb"),
            ("topics", "a+b"),
            ("dead_letter_topic", ".."),
            ("dead_letter_topic", "a/b"),
            ("topics_dir", "../out"),
            ("topics_dir", "a/../../b"),
            ("topics_dir", "a/./b"),
            ("topics_dir", "a//b"),
            ("topics_dir", "a\\b"),
            ("topics_dir", "a\u{1}b"),
            ("marker_prefix", ".."),
            ("marker_prefix", "x/../../y"),
            ("marker_prefix", "x\\y"),
        ] {
            let quoted = toml::Value::String(bad.to_string()).to_string();
            let text = match field {
                "topics" => format!("topics = [{quoted}]"),
                "dead_letter_topic" => format!(
                    "topics = [\"t\"]\nerrors_tolerance = \"all\"\ndead_letter_topic = {quoted}"
                ),
                f => format!("topics = [\"t\"]\n{f} = {quoted}"),
            };
            let err = parse(&text)
                .map(|_| ())
                .expect_err(&format!("{field} = {bad:?} was accepted"));
            assert_eq!(err.field, field, "{bad:?}: {err}");
        }
        // Ordinary names still pass.
        let s = parse(
            "topics = [\"oliveyoung.products\", \"x_1-2\"]\ngroup = \"connect-s3.bronze\"\n\
             topics_dir = \"/bronze/viral/\"\nmarker_prefix = \"_crawlhost/sink\"",
        )
        .unwrap();
        assert_eq!(s.group, "connect-s3.bronze");
        assert_eq!(s.topics_dir, "bronze/viral");
        parse("topics = [\"t\"]\ntopics_dir = \"\"").unwrap();
    }

    #[test]
    fn s3_target_and_secrets_not_printed() {
        let s = parse(
            "topics=[\"t\"]\n[store]\nkind=\"s3\"\nbucket=\"bronze\"\nendpoint=\"http://127.0.0.1:9000\"\naccess_key_id=\"AK\"\nsecret_access_key=\"SECRET\"",
        )
        .unwrap();
        let StoreTarget::S3(t) = &s.store else {
            panic!()
        };
        assert!(t.allow_http && t.path_style);
        assert!(!format!("{s:?}").contains("SECRET"));
    }
}
