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
    pub fn from_record(key: Option<&str>, value: &str) -> Result<Brand, String> {
        let v: Value =
            serde_json::from_str(value).map_err(|e| format!("the record is not JSON: {e}"))?;
        let obj = v
            .as_object()
            .ok_or_else(|| "the record is not a JSON object".to_string())?;
        let name = match obj.get("brand").and_then(Value::as_str) {
            Some(n) => n.trim().to_string(),
            // The original pipeline's shape: one entry, brand name -> details.
            None if obj.len() == 1 => obj.keys().next().cloned().unwrap_or_default(),
            None => String::new(),
        };
        if name.is_empty() {
            return Err("the record names no brand (`brand`)".into());
        }
        let tag = tag_of(&name);
        let code = obj
            .get("brand_code")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| key.map(str::to_string))
            .unwrap_or_else(|| name.clone());
        Ok(Brand { code, name, tag })
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
        assert!(Brand::from_record(None, r#"{"a":1,"b":2}"#).is_err());
    }
}
