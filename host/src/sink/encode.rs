//! Encoding a batch file: NDJSON (plain, gzip, zstd) and Parquet.
//!
//! What the encodings are (and how `[sink]` names them) is
//! [`super::encoding`]; this module does the encoding.
//!
//! Every open file writes plain NDJSON straight into its own *spool file*
//! on local disk: an encoder holds only a small write buffer
//! ([`SPOOL_BUFFER_BYTES`]), never the file's contents and never a
//! compressor, whatever the number of open files. Everything format-specific
//! happens when the file closes, one file at a time.
//!
//! - **NDJSON** (`JsonFormat`): one value per line, each line ending in `\n`
//!   (so the file ends with a newline), the value's JSON text with the
//!   insignificant whitespace removed ([`compact_json`]): key order, number
//!   text and escapes are the producer's, as Connect's `JsonConverter`
//!   prints them compactly. gzip and zstd compress the spool file when it
//!   closes. (Compressing as records arrive kept a compressor per open file:
//!   ~0.5 MiB for gzip and ~3.2 MiB for zstd, so 100 partitions cost 89 and
//!   363 MiB peak instead of ~45; BENCHMARKS.md.)
//! - **Parquet**: lines are spooled as NDJSON and converted when the file
//!   closes ([`super::parquet_file`]): a first pass infers the schema from all of
//!   the file's values (widening), a second writes row groups of bounded
//!   size. The schema is therefore exact for the file without holding it in
//!   memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;

use super::encoding::{Compression, EncodeError, Encoding, Format, SPOOL_BUFFER_BYTES};

/// One open file being encoded into its spool file.
pub struct FileEncoder {
    file: BufWriter<File>,
    encoding: Encoding,
    path: PathBuf,
    records: u64,
}

/// Read and write buffers of the compression pass at close.
const COMPRESS_BUFFER_BYTES: usize = 64 * 1024;

impl FileEncoder {
    /// Create the spool file at `path` (truncating a leftover).
    pub fn create(encoding: Encoding, path: &Path) -> io::Result<Self> {
        let file = BufWriter::with_capacity(SPOOL_BUFFER_BYTES, File::create(path)?);
        Ok(Self {
            file,
            encoding,
            path: path.to_path_buf(),
            records: 0,
        })
    }

    /// Append one record: `line` is compact JSON without a line break.
    pub fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.file.write_all(line)?;
        self.file.write_all(b"\n")?;
        self.records += 1;
        Ok(())
    }

    /// Records appended so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Close the spool file and produce the object's bytes in the encoding;
    /// returns their path (for Parquet and compressed NDJSON a second file
    /// next to the spool file, which is removed).
    /// Drop the spool file unfinished (its batch was given up).
    pub fn discard(self) {
        let path = self.path.clone();
        drop(self.file);
        let _ = std::fs::remove_file(path);
    }

    pub fn finish(self) -> Result<PathBuf, EncodeError> {
        finish_file(self.file)?;
        let encoding = self.encoding;
        let out = match (encoding.format, encoding.compression) {
            (Format::Json, Compression::None) => return Ok(self.path),
            (Format::Parquet, _) => {
                let out = self.path.with_extension("parquet");
                super::parquet_file::convert(&self.path, &out, encoding.parquet_codec)?;
                out
            }
            (Format::Json, Compression::Gzip) => {
                let out = self.path.with_extension("gz");
                let level = encoding.level.map_or(flate2::Compression::default(), |l| {
                    flate2::Compression::new(l.clamp(0, 9) as u32)
                });
                let mut w = GzEncoder::new(create_out(&out)?, level);
                io::copy(&mut open_in(&self.path)?, &mut w)?;
                finish_file(w.finish()?)?;
                out
            }
            (Format::Json, Compression::Zstd) => {
                let out = self.path.with_extension("zst");
                let level = encoding.level.unwrap_or(zstd::DEFAULT_COMPRESSION_LEVEL);
                let mut w = zstd::stream::write::Encoder::new(create_out(&out)?, level)?;
                io::copy(&mut open_in(&self.path)?, &mut w)?;
                finish_file(w.finish()?)?;
                out
            }
        };
        let _ = std::fs::remove_file(&self.path);
        Ok(out)
    }
}

fn open_in(path: &Path) -> io::Result<BufReader<File>> {
    Ok(BufReader::with_capacity(
        COMPRESS_BUFFER_BYTES,
        File::open(path)?,
    ))
}

fn create_out(path: &Path) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        COMPRESS_BUFFER_BYTES,
        File::create(path)?,
    ))
}

fn finish_file(mut w: BufWriter<File>) -> io::Result<()> {
    w.flush()?;
    // The spool is scratch space (a crash re-reads the bus), so no fsync.
    Ok(())
}

/// `bytes` (valid JSON) without whitespace outside strings: one line.
pub fn compact_json(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'"' => {
                    in_string = true;
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::encoding::ParquetCodec;
    use std::io::Read;

    fn enc(format: Format, compression: Compression) -> Encoding {
        Encoding {
            format,
            compression,
            level: None,
            parquet_codec: ParquetCodec::Snappy,
        }
    }

    #[test]
    fn compact_keeps_strings_and_order() {
        let raw = b" {\n  \"z\" : 1 ,\r\n \"a\": \"x y\\\" \\\\ \", \"n\": [1, 2.50,\ttrue] }\n";
        assert_eq!(
            String::from_utf8(compact_json(raw)).unwrap(),
            r#"{"z":1,"a":"x y\" \\ ","n":[1,2.50,true]}"#
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(enc(Format::Json, Compression::None).extension(), "json");
        assert_eq!(enc(Format::Json, Compression::Gzip).extension(), "json.gz");
        assert_eq!(enc(Format::Json, Compression::Zstd).extension(), "json.zst");
        assert_eq!(
            enc(Format::Parquet, Compression::None).extension(),
            "snappy.parquet"
        );
        let mut p = enc(Format::Parquet, Compression::None);
        p.parquet_codec = ParquetCodec::None;
        assert_eq!(p.extension(), "parquet");
    }

    #[test]
    fn ndjson_plain_gzip_zstd_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let path = dir.path().join(format!("f-{compression:?}"));
            let mut e = FileEncoder::create(enc(Format::Json, compression), &path).unwrap();
            e.append(br#"{"a":1}"#).unwrap();
            e.append(b"null").unwrap();
            assert_eq!(e.records(), 2);
            let out = e.finish().unwrap();
            let bytes = std::fs::read(out).unwrap();
            let text = match compression {
                Compression::None => String::from_utf8(bytes).unwrap(),
                Compression::Gzip => {
                    let mut s = String::new();
                    flate2::read::GzDecoder::new(&bytes[..])
                        .read_to_string(&mut s)
                        .unwrap();
                    s
                }
                Compression::Zstd => {
                    String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap()
                }
            };
            assert_eq!(text, "{\"a\":1}\nnull\n", "{compression:?}");
        }
    }
}
