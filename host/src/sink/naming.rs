//! Object keys: Confluent's S3 sink layout, and the keys of the sink's own
//! batch markers.
//!
//! A data object is
//! `<topics.dir>/<topic>/<encoded partition>/<topic>+<kafka partition>+<start offset>.<ext>`
//! with the start offset (the first record's offset) zero-padded to
//! `filename.offset.zero.pad.width` digits (10 by default), exactly as
//! Connect's `TopicPartitionWriter.fileKey`. The name depends only on the
//! batch's first record of that encoded partition, so the same records
//! always get the same key: the base of the exactly-once mechanism.

/// Longest name accepted as one path segment (a common file-name limit).
pub const MAX_SEGMENT_LEN: usize = 255;

/// Check a name the sink uses as one directory or key segment (the consumer
/// group is the spool subdirectory the sink empties at start, and a marker
/// key segment): not empty, not `.` or `..`, no `/` or `\` (so not absolute
/// either), no NUL or other control character, no surrounding whitespace, at
/// most [`MAX_SEGMENT_LEN`] bytes. `Err` says why.
pub fn check_segment(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name == "." || name == ".." {
        "is `.` or `..`"
    } else if name.contains(['/', '\\']) {
        "contains `/` or `\\`"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else if name.trim() != name {
        "starts or ends with white space"
    } else if name.len() > MAX_SEGMENT_LEN {
        "is longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(format!("{name:?} {problem}"))
}

/// Check a `/`-separated key prefix (`topics_dir`, `marker_prefix`): each
/// segment passes [`check_segment`] once the leading and trailing `/` are
/// trimmed; an empty prefix is allowed (the caller decides whether it may
/// be empty).
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(());
    }
    for segment in trimmed.split('/') {
        check_segment(segment).map_err(|e| format!("segment {e}"))?;
    }
    Ok(())
}

/// The key of one data object.
pub fn object_key(
    topics_dir: &str,
    topic: &str,
    encoded_partition: &str,
    kafka_partition: u32,
    start_offset: u64,
    pad_width: usize,
    extension: &str,
) -> String {
    let name = format!(
        "{topic}+{kafka_partition}+{start_offset:0pad_width$}.{extension}",
        pad_width = pad_width
    );
    let dir = topics_dir.trim_matches('/');
    if dir.is_empty() {
        format!("{topic}/{encoded_partition}/{name}")
    } else {
        format!("{dir}/{topic}/{encoded_partition}/{name}")
    }
}

/// The key of the batch marker written before the batch of `topic`'s
/// `partition` that starts at committed offset `start` is made visible (see
/// the exactly-once section of [`super`]). It lives outside `topics.dir`,
/// under `marker_prefix/<group>/`, so readers of the data never see it.
pub fn marker_key(
    marker_prefix: &str,
    group: &str,
    topic: &str,
    partition: u32,
    start: u64,
) -> String {
    let prefix = marker_prefix.trim_matches('/');
    format!("{prefix}/{group}/{topic}+{partition}+{start:020}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_layout() {
        assert_eq!(
            object_key("topics", "oliveyoung", "partition=0", 0, 0, 10, "json"),
            "topics/oliveyoung/partition=0/oliveyoung+0+0000000000.json"
        );
        assert_eq!(
            object_key(
                "bronze/viral/",
                "oliveyoung",
                "2024-08-21",
                2,
                1234,
                10,
                "json.gz"
            ),
            "bronze/viral/oliveyoung/2024-08-21/oliveyoung+2+0000001234.json.gz"
        );
        assert_eq!(
            object_key("", "t", "brand=A/promo=true", 11, 42, 4, "snappy.parquet"),
            "t/brand=A/promo=true/t+11+0042.snappy.parquet"
        );
        // Offsets wider than the padding are printed in full.
        assert_eq!(
            object_key(
                "topics",
                "t",
                "partition=1",
                1,
                12_345_678_901,
                10,
                "json.zst"
            ),
            "topics/t/partition=1/t+1+12345678901.json.zst"
        );
    }

    #[test]
    fn segments_and_prefixes() {
        for ok in ["crawlhost-sink", "connect-s3.bronze", "a b", "그룹"] {
            check_segment(ok).unwrap();
        }
        for bad in [
            "", ".", "..", "a/b", "/a", "a\\b", "\\a", "a\0b", "a\nb", "a\u{7f}", " a", "a\t",
        ] {
            assert!(check_segment(bad).is_err(), "{bad:?}");
        }
        assert!(check_segment(&"x".repeat(256)).is_err());
        for ok in ["", "/", "topics", "/bronze/viral/", "_crawlhost/sink"] {
            check_prefix(ok).unwrap();
        }
        for bad in ["..", "../x", "a/../b", "a/./b", "a//b", "a\\b", "a/\0"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn marker_keys_sort_by_offset() {
        let a = marker_key("_crawlhost/sink/", "g", "t", 0, 9);
        let b = marker_key("_crawlhost/sink", "g", "t", 0, 10);
        assert_eq!(a, "_crawlhost/sink/g/t+0+00000000000000000009.json");
        assert!(a < b);
    }
}
