//! The brand a trigger record names, and its hashtag. Pure.
//!
//! Reads the `oliveyoung` plugin's brand record (`brand`, `brand_code`,
//! ...) and the original pipeline's message `{"<brand>": {...}}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A brand to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    /// Oliveyoung brand code, else the record key, else the name.
    pub code: String,
    /// Korean name (`brand`): the record's `brand` field.
    pub name: String,
    /// The hashtag searched: the name without whitespace.
    pub tag: String,
}

/// The hashtag of a name: Instagram hashtags hold no spaces.
pub fn tag_of(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Brand {
    /// The brand of a trigger record (`key` is the record key). Only the
    /// name matters: an incomplete brand record (`"complete": false`,
    /// `failed_pages`, empty `items`) is looked up like any other.
    pub fn from_record(key: Option<&str>, value: &str) -> Result<Brand, String> {
        let v: Value =
            serde_json::from_str(value).map_err(|e| format!("the record is not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| "the record is not a JSON object".to_string())?;
        let text = |v: &Value, field: &str| {
            v.get(field)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let first_keyword = |v: &Value| {
            v.get("query_keyword")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find_map(Value::as_str))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        // The original pipeline's shape (`record_layout = "legacy"`): one
        // entry, brand name -> details.
        let (name, fields) = match obj.iter().next() {
            Some((name, inner))
                if obj.len() == 1 && !obj.contains_key("brand") && inner.is_object() =>
            {
                (
                    Some(name.trim().to_string()).filter(|n| !n.is_empty()),
                    inner,
                )
            }
            _ => (text(&v, "brand").or_else(|| first_keyword(&v)), &v),
        };
        let name = name.ok_or_else(|| "the record names no brand (`brand`)".to_string())?;
        let tag = tag_of(&name);
        let code = text(fields, "brand_code")
            .or_else(|| text(fields, "brand_shop_detail_url").and_then(|u| brand_code_of_url(&u)))
            .or_else(|| {
                key.map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| name.clone());
        Ok(Brand { code, name, tag })
    }
}

/// The brand code in a brand shop URL (`...?onlBrndCd=A000123`): the
/// legacy layout carries no `brand_code` field, only this URL.
pub fn brand_code_of_url(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split(['&', '#'])
        .find_map(|pair| pair.strip_prefix("onlBrndCd="))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_record_shapes() {
        let b = Brand::from_record(
            Some("k"),
            r#"{"brand":"라운드 랩","brand_code":"A000123","brand_name_en":"Round Lab"}"#,
        )
        .unwrap();
        assert_eq!(
            (b.code.as_str(), b.name.as_str(), b.tag.as_str()),
            ("A000123", "라운드 랩", "라운드랩")
        );
        let b = Brand::from_record(
            Some("라운드랩"),
            r#"{"라운드랩":{"query_keyword":["라운드랩"]}}"#,
        )
        .unwrap();
        assert_eq!(b.code, "라운드랩");
        assert!(Brand::from_record(None, "[]").is_err());
        assert!(Brand::from_record(None, r#"{"brand":null}"#).is_err());
        assert!(Brand::from_record(None, r#"{"a":1,"b":2}"#).is_err());
    }

    #[test]
    fn incomplete_and_legacy_records() {
        let b = Brand::from_record(
            Some("A000777"),
            r#"{"brand":"롬앤","brand_code":"A000777","brand_name_en":"rom&nd","items":{},
                "category":[],"complete":false,"failed_pages":[1]}"#,
        )
        .unwrap();
        assert_eq!((b.code.as_str(), b.tag.as_str()), ("A000777", "롬앤"));
        let b = Brand::from_record(
            Some("롬앤"),
            r#"{"롬앤 서울":{"query_keyword":["롬앤 서울","rom&nd Seoul"],
                "brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777",
                "items":{},"category":[],"released_date":"2024-08-20"}}"#,
        )
        .unwrap();
        assert_eq!(
            (b.code.as_str(), b.name.as_str(), b.tag.as_str()),
            ("A000777", "롬앤 서울", "롬앤서울")
        );
        // No `brand` but keywords: the first one names the brand.
        let b =
            Brand::from_record(None, r#"{"query_keyword":["롬앤","rom&nd"],"items":{}}"#).unwrap();
        assert_eq!(b.code, "롬앤");
        assert_eq!(
            brand_code_of_url("https://x/?onlBrndCd=A1&x=2").as_deref(),
            Some("A1")
        );
        assert_eq!(brand_code_of_url("https://x/?onlBrndCd=<b>"), None);
    }
}
