//! One consumed record as one line of JSON (NDJSON), for tools and debug
//! output that show the log as text (tailing a topic, dumping a partition).
//!
//! The line carries the record's coordinates and contents:
//! `{"topic":..,"partition":..,"offset":..,"timestamp_ms":..,"key":..,"value":..,"headers":[[name,value],..]}`.
//!
//! Design choices:
//! - **Value**: when the bytes are valid JSON (plugin records always are) the
//!   value is embedded as JSON, byte for byte: key order, number precision
//!   and escapes are exactly what the plugin wrote. Only line breaks between
//!   tokens are turned into spaces (valid JSON cannot contain a raw line break
//!   inside a string), so the record stays on one line. Any other UTF-8 value
//!   becomes a JSON string. A JSON string value and plain text with the same
//!   characters therefore print alike; the line is for reading, not for
//!   re-producing records.
//! - **Key and header values**: a JSON string when the bytes are UTF-8 (the
//!   normal case); an absent key is `null`.
//! - **Bytes that are not UTF-8** (key, value or header value) become an
//!   object `{"hex":"<lowercase hex>"}` rather than a bare hex string, so they
//!   cannot be mistaken for a text key that happens to look like hex, and no
//!   byte is lost.

use std::fmt::Write as _;

use serde::de::IgnoredAny;

use super::ConsumedRecord;

/// Render `record` as one JSON object on one line, without a trailing
/// newline (the caller joins lines). See the module docs for how keys,
/// values and headers are encoded.
pub fn to_ndjson(record: &ConsumedRecord) -> String {
    let mut out = String::with_capacity(record.value.len() + 128);
    out.push_str("{\"topic\":");
    push_str(&mut out, &record.topic);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp_ms\":{}",
        record.partition, record.offset, record.timestamp_ms
    );
    out.push_str(",\"key\":");
    match &record.key {
        Some(key) => push_bytes(&mut out, key),
        None => out.push_str("null"),
    }
    out.push_str(",\"value\":");
    push_value(&mut out, &record.value);
    out.push_str(",\"headers\":[");
    for (i, (name, value)) in record.headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_str(&mut out, name);
        out.push(',');
        push_bytes(&mut out, value);
        out.push(']');
    }
    out.push_str("]}");
    out
}

/// A JSON string literal.
fn push_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// UTF-8 as a string, anything else as `{"hex":...}`.
fn push_bytes(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => push_str(out, text),
        Err(_) => push_hex(out, bytes),
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    out.push_str("{\"hex\":\"");
    out.push_str(&hex::encode(bytes));
    out.push_str("\"}");
}

/// Valid JSON spliced in as is (on one line), else as [`push_bytes`].
fn push_value(out: &mut String, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        push_hex(out, bytes);
        return;
    };
    if serde_json::from_str::<IgnoredAny>(text).is_ok() {
        // Raw CR/LF in valid JSON can only be whitespace between tokens.
        for c in text.trim().chars() {
            out.push(if c == '\n' || c == '\r' { ' ' } else { c });
        }
    } else {
        push_str(out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn record(key: Option<&[u8]>, value: &[u8], headers: &[(&str, &[u8])]) -> ConsumedRecord {
        ConsumedRecord {
            topic: "oliveyoung".to_owned(),
            partition: 2,
            offset: 17,
            key: key.map(<[u8]>::to_vec),
            value: value.to_vec(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.to_vec()))
                .collect(),
            timestamp_ms: 1_700_000_000_123,
        }
    }

    fn parse(line: &str) -> Value {
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        serde_json::from_str(line).expect("valid JSON line")
    }

    #[test]
    fn json_value_is_embedded() {
        let r = record(
            Some(b"brand-1"),
            br#"{"name":"Round Lab","price":12000}"#,
            &[("plugin", b"oliveyoung"), ("plugin", b"again")],
        );
        let line = to_ndjson(&r);
        assert_eq!(
            parse(&line),
            json!({
                "topic": "oliveyoung",
                "partition": 2,
                "offset": 17,
                "timestamp_ms": 1_700_000_000_123_i64,
                "key": "brand-1",
                "value": {"name": "Round Lab", "price": 12000},
                "headers": [["plugin", "oliveyoung"], ["plugin", "again"]],
            })
        );
        assert!(!line.ends_with('\n'));
    }

    #[test]
    fn json_value_keeps_its_exact_text_on_one_line() {
        let value =
            b"{\n  \"z\": 1,\r\n  \"a\": 123456789012345678901234567890,\n  \"s\": \"x\\ny\"\n}\n";
        let line = to_ndjson(&record(None, value, &[]));
        assert!(
            line.contains(
                r#""value":{   "z": 1,    "a": 123456789012345678901234567890,   "s": "x\ny" }"#
            ),
            "{line}"
        );
        let parsed = parse(&line);
        assert_eq!(parsed["key"], Value::Null);
        assert_eq!(parsed["value"]["s"], "x\ny");
    }

    #[test]
    fn text_value_becomes_a_string() {
        let line = to_ndjson(&record(None, b"not json {", &[]));
        assert_eq!(parse(&line)["value"], "not json {");
        let line = to_ndjson(&record(None, b"", &[]));
        assert_eq!(parse(&line)["value"], "");
        let line = to_ndjson(&record(None, b"line\nbreak \"quoted\"", &[]));
        assert_eq!(parse(&line)["value"], "line\nbreak \"quoted\"");
    }

    #[test]
    fn binary_bytes_become_hex_objects() {
        let r = record(
            Some(&[0xff, 0x00]),
            &[0x80, 0x01],
            &[("bin", &[0xc3]), ("txt", b"ok")],
        );
        let parsed = parse(&to_ndjson(&r));
        assert_eq!(parsed["key"], json!({"hex": "ff00"}));
        assert_eq!(parsed["value"], json!({"hex": "8001"}));
        assert_eq!(
            parsed["headers"],
            json!([["bin", {"hex": "c3"}], ["txt", "ok"]])
        );
    }

    #[test]
    fn strings_are_escaped() {
        let r = record(
            Some("키\"\n".as_bytes()),
            b"1",
            &[("a\tb", "값".as_bytes())],
        );
        let parsed = parse(&to_ndjson(&r));
        assert_eq!(parsed["key"], "키\"\n");
        assert_eq!(parsed["value"], 1);
        assert_eq!(parsed["headers"], json!([["a\tb", "값"]]));
    }
}
