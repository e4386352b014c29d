//! The one reader of brand records: any JSON value on [`crate::TOPIC`] ->
//! the brand it names ([`BrandSeed`]). Pure.
//!
//! Tolerant on purpose: a record written by an older or newer `oliveyoung`
//! plugin, an incomplete brand (`"complete": false`, `failed_pages`, empty
//! `items` or `category`), or a message of the original pipeline must still
//! seed a search. Unknown fields are ignored, a field that is missing,
//! blank or of the wrong type counts as absent, and only the brand's name
//! is required.

use serde_json::{Map, Value};

use crate::Layout;

/// What a reader learns from a brand record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandSeed {
    /// The layout the record was recognised as.
    pub layout: Layout,
    /// Korean name: `brand`, else (legacy) the message's key, else the first
    /// keyword. Trimmed, never empty.
    pub name: String,
    /// English name: `brand_name_en`, else the second keyword (the writer
    /// lists `[korean, english]`); `None` when neither is there.
    pub name_en: Option<String>,
    /// Identity: `brand_code`, else the code in `brand_shop_detail_url`
    /// (the legacy layout carries only the URL), else the record key, else
    /// the name. Trimmed, never empty.
    pub code: String,
    /// `query_keyword`: its strings, trimmed, blank ones dropped, in order.
    pub keywords: Vec<String>,
}

/// Why a record names no brand.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The value does not parse.
    #[error("the record is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// The value parses but is an array, a string, a number or null.
    #[error("the record is not a JSON object")]
    NotAnObject,
    /// Neither `brand`, a legacy key nor a keyword names the brand.
    #[error("the record names no brand (`brand`, a legacy message's key or `query_keyword`)")]
    NoBrand,
}

/// The brand that the record `value` (with record key `key`) names, in
/// either layout.
pub fn read(key: Option<&str>, value: &str) -> Result<BrandSeed, ReadError> {
    let v: Value = serde_json::from_str(value).map_err(ReadError::NotJson)?;
    let obj = v.as_object().ok_or(ReadError::NotAnObject)?;
    // The legacy layout: one entry, brand name -> an object of fields. A
    // current record always has more than one field.
    let (layout, legacy_name, fields) = match obj.iter().next() {
        Some((name, Value::Object(inner))) if obj.len() == 1 && !obj.contains_key("brand") => {
            (Layout::Legacy, trimmed(name), inner)
        }
        _ => (Layout::Current, None, obj),
    };
    let keywords: Vec<String> = fields
        .get("query_keyword")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(trimmed)
                .collect()
        })
        .unwrap_or_default();
    let name = text(fields, "brand")
        .or(legacy_name)
        .or_else(|| keywords.first().cloned())
        .ok_or(ReadError::NoBrand)?;
    let name_en = text(fields, "brand_name_en").or_else(|| keywords.get(1).cloned());
    let code = text(fields, "brand_code")
        .or_else(|| text(fields, "brand_shop_detail_url").and_then(|u| brand_code_of_url(&u)))
        .or_else(|| key.and_then(trimmed))
        .unwrap_or_else(|| name.clone());
    Ok(BrandSeed {
        layout,
        name,
        name_en,
        code,
        keywords,
    })
}

/// The brand code in a brand shop URL (`...?onlBrndCd=A000123`); `None`
/// when the URL names none or a code that is not alphanumeric.
pub fn brand_code_of_url(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split(['&', '#'])
        .find_map(|pair| pair.strip_prefix("onlBrndCd="))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string)
}

/// `s` trimmed, unless blank.
fn trimmed(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A string field, trimmed, unless missing, blank or not a string.
fn text(fields: &Map<String, Value>, field: &str) -> Option<String> {
    fields.get(field).and_then(Value::as_str).and_then(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::sample;

    fn seed(key: Option<&str>, value: &str) -> BrandSeed {
        read(key, value).unwrap_or_else(|e| panic!("{value}: {e}"))
    }

    #[test]
    fn reads_what_the_writer_writes_in_both_layouts() {
        let record = sample();
        let current = serde_json::to_string(&record).unwrap();
        assert_eq!(
            seed(Some(record.key()), &current),
            BrandSeed {
                layout: Layout::Current,
                name: "롬앤".into(),
                name_en: Some("rom&nd".into()),
                code: "A000777".into(),
                keywords: vec!["롬앤".into(), "rom&nd".into()],
            }
        );
        // The legacy message has no code and no English name: the code comes
        // from the shop URL, the English name from the second keyword.
        let legacy = record.legacy();
        let bytes = serde_json::to_string(&legacy).unwrap();
        assert_eq!(
            seed(Some(legacy.key()), &bytes),
            BrandSeed {
                layout: Layout::Legacy,
                ..seed(Some(record.key()), &current)
            }
        );
    }

    #[test]
    fn ignores_unknown_fields_and_tolerates_missing_ones() {
        let s = seed(
            Some("A1"),
            r#"{"brand":" 라운드랩 ","brand_code":"A1","brand_name_en":"Round Lab",
                "field_from_the_future":{"x":[1,2]},"complete":false,"failed_pages":[2,3],
                "released_date":null,"items":{},"category":[]}"#,
        );
        assert_eq!(
            (
                s.layout,
                s.name.as_str(),
                s.name_en.as_deref(),
                s.code.as_str()
            ),
            (Layout::Current, "라운드랩", Some("Round Lab"), "A1")
        );
        assert!(s.keywords.is_empty());
        // Only the name: the key is the identity, else the name.
        let s = seed(Some(" k "), r#"{"brand":"모마"}"#);
        assert_eq!((s.code.as_str(), s.name_en), ("k", None));
        assert_eq!(seed(None, r#"{"brand":"모마"}"#).code, "모마");
        // Wrong types count as absent.
        let s = seed(
            None,
            r#"{"brand":"모마","brand_code":5,"brand_name_en":[],"query_keyword":"모마"}"#,
        );
        assert_eq!(
            (s.code.as_str(), s.name_en, s.keywords.len()),
            ("모마", None, 0)
        );
        // Keywords: strings only, trimmed, blanks dropped; the first names a
        // brand that has no `brand`.
        let s = seed(
            None,
            r#"{"query_keyword":[1," ","롬앤 "," rom&nd"],"items":{}}"#,
        );
        assert_eq!(s.keywords, ["롬앤", "rom&nd"]);
        assert_eq!(
            (s.name.as_str(), s.name_en.as_deref(), s.code.as_str()),
            ("롬앤", Some("rom&nd"), "롬앤")
        );
    }

    #[test]
    fn reads_legacy_messages_however_incomplete() {
        let s = seed(
            Some("롬앤"),
            r#"{"롬앤 서울":{"query_keyword":["롬앤 서울","rom&nd Seoul"],
                "brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777",
                "items":{"[1+1] 쥬시 래스팅 틴트":true},"category":[],"released_date":"2024-08-20"}}"#,
        );
        assert_eq!(
            (
                s.layout,
                s.name.as_str(),
                s.name_en.as_deref(),
                s.code.as_str()
            ),
            (Layout::Legacy, "롬앤 서울", Some("rom&nd Seoul"), "A000777")
        );
        let s = seed(
            Some("롬앤"),
            r#"{"롬앤":{"query_keyword":[],"items":{},"category":[]}}"#,
        );
        assert_eq!(
            (s.code.as_str(), s.name_en, s.keywords.len()),
            ("롬앤", None, 0)
        );
        let s = seed(None, r#"{"롬앤":{"items":{}}}"#);
        assert_eq!(
            (s.layout, s.name.as_str(), s.code.as_str()),
            (Layout::Legacy, "롬앤", "롬앤")
        );
        // A blank key falls back to the keywords.
        assert_eq!(
            seed(None, r#"{" ":{"query_keyword":["롬앤"]}}"#).name,
            "롬앤"
        );
    }

    #[test]
    fn refuses_records_that_name_no_brand() {
        assert!(matches!(read(None, "nope"), Err(ReadError::NotJson(_))));
        assert!(matches!(read(None, "[1]"), Err(ReadError::NotAnObject)));
        for value in [
            r#"{"x":1}"#,
            r#"{"brand":null}"#,
            r#"{"brand":"  "}"#,
            r#"{"a":1,"b":2}"#,
            r#"{" ":{"items":{}}}"#,
        ] {
            assert!(
                matches!(read(Some("k"), value), Err(ReadError::NoBrand)),
                "{value}"
            );
        }
        // The cause is said once, in the message.
        let err = read(None, "nope").unwrap_err().to_string();
        assert!(err.starts_with("the record is not JSON: expected"), "{err}");
    }

    #[test]
    fn brand_codes_of_shop_urls() {
        assert_eq!(
            brand_code_of_url("https://x/y?a=1&onlBrndCd=A00012&b=2").as_deref(),
            Some("A00012")
        );
        assert_eq!(
            brand_code_of_url("https://x/?onlBrndCd=A1#top").as_deref(),
            Some("A1")
        );
        assert_eq!(brand_code_of_url("https://x/y?onlBrndCd="), None);
        assert_eq!(brand_code_of_url("https://x/?onlBrndCd=<b>"), None);
        assert_eq!(brand_code_of_url("https://x/y"), None);
    }
}
