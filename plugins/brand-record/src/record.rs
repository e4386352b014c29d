//! The brand record in both layouts, as the `oliveyoung` plugin writes it.
//! The field order of each struct is the order of the bytes written (see the
//! crate's notes on changing the contract). Deserialising these types is
//! strict; readers that must accept anything use [`crate::read`].

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// One brand record, [`crate::Layout::Current`] (topic [`crate::TOPIC`],
/// key = [`BrandRecord::key`]). The first six fields are those of the
/// original pipeline's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandRecord {
    /// Korean name.
    pub brand: String,
    /// `[korean, english]`: the keywords social crawlers search for.
    pub query_keyword: Vec<String>,
    /// The brand shop URL (its query names the code, `onlBrndCd=...`).
    pub brand_shop_detail_url: String,
    /// Product name -> on promotion.
    pub items: BTreeMap<String, bool>,
    /// Category names, landing-page order.
    pub category: Vec<String>,
    /// The run date in Asia/Seoul, `YYYY-MM-DD`.
    pub released_date: String,
    /// `onlBrndCd`.
    pub brand_code: String,
    /// English name.
    pub brand_name_en: String,
    /// Goods numbers in shop order.
    pub goods_numbers: Vec<String>,
    /// Number of products.
    pub product_count: usize,
    /// Run start, ms since the epoch.
    pub crawled_at_ms: i64,
    /// The brand name as the shop page's heading shows it; null when the
    /// landing could not be read or has no heading.
    pub shop_brand_name: Option<String>,
    /// Every page of the brand was read. False when a page failed after the
    /// host's retries or had cards but no readable product: the record then
    /// holds what the other pages gave.
    pub complete: bool,
    /// The URLs of the pages that failed, in crawl order (empty when
    /// complete).
    pub failed_pages: Vec<String>,
}

impl BrandRecord {
    /// The record key: the brand code.
    pub fn key(&self) -> &str {
        &self.brand_code
    }

    /// The same brand in the legacy layout (the fields the original
    /// pipeline had; the others are dropped).
    pub fn legacy(&self) -> LegacyBrandRecord {
        LegacyBrandRecord {
            brand: self.brand.clone(),
            fields: LegacyBrandFields {
                brand_shop_detail_url: self.brand_shop_detail_url.clone(),
                category: self.category.clone(),
                items: self.items.clone(),
                query_keyword: self.query_keyword.clone(),
                released_date: self.released_date.clone(),
            },
        }
    }
}

/// One brand record, [`crate::Layout::Legacy`]: the original pipeline's
/// message `{"<brand>": {...}}` (key = [`LegacyBrandRecord::key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBrandRecord {
    /// Korean name: the message's only key.
    pub brand: String,
    /// What the message holds under that key.
    pub fields: LegacyBrandFields,
}

impl LegacyBrandRecord {
    /// The record key: the brand name.
    pub fn key(&self) -> &str {
        &self.brand
    }
}

/// The fields of a legacy brand message. Alphabetical: the plugin built
/// this object as a `serde_json::Map`, which sorts its keys, and the bytes
/// already stored are in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyBrandFields {
    /// The brand shop URL (its query names the code, `onlBrndCd=...`).
    pub brand_shop_detail_url: String,
    /// Category names, landing-page order.
    pub category: Vec<String>,
    /// Product name -> on promotion.
    pub items: BTreeMap<String, bool>,
    /// `[korean, english]`.
    pub query_keyword: Vec<String>,
    /// The run date in Asia/Seoul, `YYYY-MM-DD`.
    pub released_date: String,
}

impl Serialize for LegacyBrandRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&self.brand, &self.fields)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for LegacyBrandRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, LegacyBrandFields>::deserialize(deserializer)?;
        let count = map.len();
        match (count, map.into_iter().next()) {
            (1, Some((brand, fields))) => Ok(LegacyBrandRecord { brand, fields }),
            _ => Err(D::Error::custom(format!(
                "a legacy brand record names exactly one brand, this one names {count}"
            ))),
        }
    }
}

/// A brand record as the plugin writes it, for tests.
#[cfg(test)]
pub(crate) fn sample() -> BrandRecord {
    BrandRecord {
        brand: "롬앤".into(),
        query_keyword: vec!["롬앤".into(), "rom&nd".into()],
        brand_shop_detail_url:
            "https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777"
                .into(),
        items: BTreeMap::from([
            ("[1+1] 쥬시 래스팅 틴트".to_string(), true),
            ("글래스팅 워터 틴트".to_string(), false),
        ]),
        category: vec!["메이크업_립메이크업".into(), "스킨케어_스킨/토너".into()],
        released_date: "2024-08-20".into(),
        brand_code: "A000777".into(),
        brand_name_en: "rom&nd".into(),
        goods_numbers: vec!["A0001".into(), "A0002".into()],
        product_count: 2,
        crawled_at_ms: 1_724_112_000_000,
        shop_brand_name: Some("롬앤".into()),
        complete: false,
        failed_pages: vec!["https://x/page=2".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_layout_round_trips_with_its_bytes_pinned() {
        let record = sample();
        let bytes = serde_json::to_string(&record).unwrap();
        assert_eq!(
            bytes,
            concat!(
                r#"{"brand":"롬앤","query_keyword":["롬앤","rom&nd"],"#,
                r#""brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777","#,
                r#""items":{"[1+1] 쥬시 래스팅 틴트":true,"글래스팅 워터 틴트":false},"#,
                r#""category":["메이크업_립메이크업","스킨케어_스킨/토너"],"released_date":"2024-08-20","#,
                r#""brand_code":"A000777","brand_name_en":"rom&nd","goods_numbers":["A0001","A0002"],"#,
                r#""product_count":2,"crawled_at_ms":1724112000000,"shop_brand_name":"롬앤","#,
                r#""complete":false,"failed_pages":["https://x/page=2"]}"#
            )
        );
        assert_eq!(serde_json::from_str::<BrandRecord>(&bytes).unwrap(), record);
        assert_eq!(record.key(), "A000777");
        // A heading that could not be read is written as null and read back.
        let record = BrandRecord {
            shop_brand_name: None,
            complete: true,
            failed_pages: Vec::new(),
            ..sample()
        };
        let bytes = serde_json::to_string(&record).unwrap();
        assert!(bytes.contains(r#""shop_brand_name":null"#), "{bytes}");
        assert_eq!(serde_json::from_str::<BrandRecord>(&bytes).unwrap(), record);
    }

    #[test]
    fn the_legacy_layout_is_the_original_message_and_round_trips() {
        let legacy = sample().legacy();
        assert_eq!(legacy.key(), "롬앤");
        let bytes = serde_json::to_string(&legacy).unwrap();
        // Keys in alphabetical order: the bytes the plugin always wrote.
        assert_eq!(
            bytes,
            concat!(
                r#"{"롬앤":{"brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777","#,
                r#""category":["메이크업_립메이크업","스킨케어_스킨/토너"],"#,
                r#""items":{"[1+1] 쥬시 래스팅 틴트":true,"글래스팅 워터 틴트":false},"#,
                r#""query_keyword":["롬앤","rom&nd"],"released_date":"2024-08-20"}}"#
            )
        );
        assert_eq!(
            serde_json::to_value(&legacy).unwrap(),
            serde_json::json!({"롬앤": {
                "query_keyword": ["롬앤", "rom&nd"],
                "brand_shop_detail_url": "https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777",
                "items": {"[1+1] 쥬시 래스팅 틴트": true, "글래스팅 워터 틴트": false},
                "category": ["메이크업_립메이크업", "스킨케어_스킨/토너"],
                "released_date": "2024-08-20",
            }})
        );
        assert_eq!(
            serde_json::from_str::<LegacyBrandRecord>(&bytes).unwrap(),
            legacy
        );
    }

    #[test]
    fn a_legacy_message_names_exactly_one_brand() {
        let fields = serde_json::to_value(&sample().legacy().fields).unwrap();
        let two = serde_json::json!({"a": fields.clone(), "b": fields});
        let err = serde_json::from_value::<LegacyBrandRecord>(two).unwrap_err();
        assert!(err.to_string().contains("names 2"), "{err}");
        assert!(serde_json::from_str::<LegacyBrandRecord>("{}").is_err());
    }
}
