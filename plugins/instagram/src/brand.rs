//! The brand a trigger record names, and its hashtag. Pure.
//!
//! Trigger records are the `oliveyoung` plugin's brand records, in either
//! layout; the `oliveyoung-brand-record` crate (the contract between the
//! two plugins) reads them. The hashtag is this plugin's own.

use serde::{Deserialize, Serialize};

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
    /// The brand of a trigger record (`key` is the record key), read by the
    /// brand record contract's reader. Only the name matters: an incomplete
    /// brand record (`"complete": false`, `failed_pages`, empty `items`) is
    /// looked up like any other.
    pub fn from_record(key: Option<&str>, value: &str) -> Result<Brand, String> {
        let seed = oliveyoung_brand_record::read(key, value).map_err(|e| e.to_string())?;
        Ok(Brand {
            code: seed.code,
            tag: tag_of(&seed.name),
            name: seed.name,
        })
    }
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
    }
}
