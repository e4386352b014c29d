//! The encodings a batch file can have: format, NDJSON compression,
//! Parquet codec, and the file extension each gives. The `[sink]` section
//! deserializes these enums directly (any case: `GZIP`, `Snappy`), so the
//! names in `crawlhost.toml` and the encoder's choices are one type each.
//! A leaf: [`super::encode`] (NDJSON, compression) and
//! [`super::parquet_file`] (Parquet) both build on it.

use std::io;

use serde::{Deserialize, Serialize};

/// Bytes each open spool file buffers in memory before writing to disk.
/// Every open file holds one, so this is the sink's memory per partition
/// for plain NDJSON: 64 KiB made 100 partitions cost 6 MiB and 300 cost 19
/// (BENCHMARKS.md); 8 KiB is one write per few records.
pub const SPOOL_BUFFER_BYTES: usize = 8 * 1024;

/// `format` (Connect's `format.class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    /// `json`: NDJSON (`io.confluent.connect.s3.format.json.JsonFormat`).
    Json,
    /// `parquet` (`io.confluent.connect.s3.format.parquet.ParquetFormat`).
    Parquet,
}

/// `compression` for NDJSON (Connect's `s3.compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// `parquet_codec` (Connect's `parquet.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParquetCodec {
    None,
    #[default]
    Snappy,
    Zstd,
}

/// How files are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub format: Format,
    pub compression: Compression,
    /// `s3.compression.level`; `None` is the codec's default.
    pub level: Option<i32>,
    pub parquet_codec: ParquetCodec,
}

impl Encoding {
    /// The file extension, as Connect names it: `json`, `json.gz`,
    /// `json.zst`, and for Parquet the codec's extension before `parquet`
    /// (`snappy.parquet`, `zstd.parquet`, `parquet`).
    pub fn extension(&self) -> &'static str {
        match (self.format, self.compression, self.parquet_codec) {
            (Format::Json, Compression::None, _) => "json",
            (Format::Json, Compression::Gzip, _) => "json.gz",
            (Format::Json, Compression::Zstd, _) => "json.zst",
            (Format::Parquet, _, ParquetCodec::None) => "parquet",
            (Format::Parquet, _, ParquetCodec::Snappy) => "snappy.parquet",
            (Format::Parquet, _, ParquetCodec::Zstd) => "zstd.parquet",
        }
    }
}

/// A file that could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("spool file I/O failed")]
    Io(#[from] io::Error),
    #[error("parquet encoding failed: {0}")]
    Parquet(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_connects() {
        assert_eq!(Format::default(), Format::Json);
        assert_eq!(Compression::default(), Compression::None);
        assert_eq!(ParquetCodec::default(), ParquetCodec::Snappy);
    }

    #[test]
    fn names_read_in_any_case() {
        for (text, want) in [
            ("gzip", Compression::Gzip),
            ("GZIP", Compression::Gzip),
            ("Zstd", Compression::Zstd),
        ] {
            assert_eq!(
                crate::any_case::from_text::<Compression>(text).unwrap(),
                want
            );
        }
        for (text, want) in [
            ("snappy", ParquetCodec::Snappy),
            ("SNAPPY", ParquetCodec::Snappy),
            ("NONE", ParquetCodec::None),
        ] {
            assert_eq!(
                crate::any_case::from_text::<ParquetCodec>(text).unwrap(),
                want
            );
        }
        for (text, want) in [("parquet", Format::Parquet), ("JSON", Format::Json)] {
            assert_eq!(crate::any_case::from_text::<Format>(text).unwrap(), want);
        }
    }
}
