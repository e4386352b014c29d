//! The brand a trigger record names, and what the plugin searches for it.
//! Pure functions.
//!
//! Trigger records are the `oliveyoung` plugin's brand records, in either
//! layout; the `oliveyoung-brand-record` crate (the contract between the
//! two plugins) reads them. What is searched (keywords, the query) is this
//! plugin's policy and lives here.

use oliveyoung_brand_record as brand_record;

/// The longest query X accepts on the basic access level.
pub const MAX_QUERY_CHARS: usize = 512;

/// A brand to search for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Brand {
    /// Identity: the Oliveyoung brand code, else the record key, else the
    /// Korean name. Names the `since_id` state key.
    pub code: String,
    /// Korean name (`brand`).
    pub name_ko: String,
    /// English name (`brand_name_en`), empty when unknown.
    pub name_en: String,
    /// Keywords searched for, in order, without case-insensitive repeats.
    pub keywords: Vec<String>,
}

impl Brand {
    /// The brand of a trigger record (`key` is the record key), read by the
    /// brand record contract's reader. Only the names matter: an incomplete
    /// brand record (`"complete": false`, `failed_pages`, empty `items` or
    /// `category`) is searched like any other.
    pub fn from_record(key: Option<&str>, value: &str) -> Result<Brand, String> {
        let seed = brand_record::read(key, value).map_err(|e| e.to_string())?;
        // A double quote would end the quoted phrase early.
        let listed: Vec<String> = seed
            .keywords
            .iter()
            .map(|s| s.replace('"', " ").trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let name_en = seed.name_en.unwrap_or_default();
        let mut keywords: Vec<String> = Vec::new();
        let candidates = if listed.is_empty() {
            vec![seed.name.clone(), name_en.clone()]
        } else {
            listed
        };
        for k in candidates {
            if !k.is_empty() && !keywords.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                keywords.push(k);
            }
        }
        Ok(Brand {
            code: seed.code,
            name_ko: seed.name,
            name_en,
            keywords,
        })
    }

    /// The search query: every keyword as a quoted phrase, joined by `OR`.
    pub fn query(&self) -> Result<String, String> {
        let q = self
            .keywords
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(" OR ");
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(format!(
                "the query for brand {} is longer than {MAX_QUERY_CHARS} characters",
                self.code
            ));
        }
        Ok(q)
    }

    /// The keywords that occur in `text` (see [`term_matches`]).
    pub fn matched_keywords(&self, text: &str) -> Vec<String> {
        self.keywords
            .iter()
            .filter(|k| term_matches(text, k))
            .cloned()
            .collect()
    }
}

/// Whether `term` occurs in `text`, ignoring case, and not glued to a
/// letter or digit on either side (`Moma` is not in `Momara`, `#모마` names
/// `모마`).
pub fn term_matches(text: &str, term: &str) -> bool {
    let text = text.to_lowercase();
    let term = term.to_lowercase();
    if term.is_empty() {
        return false;
    }
    let glued = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    // Every occurrence, overlapping ones included: a glued match must not
    // hide a clean one that starts inside it.
    let mut from = 0;
    while let Some(found) = text[from..].find(term.as_str()) {
        let at = from + found;
        let end = at + term.len();
        if !glued(text[..at].chars().next_back()) && !glued(text[end..].chars().next()) {
            return true;
        }
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_oliveyoung_brand_record() {
        let v = r#"{"brand":"라운드랩","brand_code":"A000123","brand_name_en":"Round Lab",
            "query_keyword":["라운드랩","Round Lab"],"items":{},"category":[]}"#;
        let b = Brand::from_record(Some("A000123"), v).unwrap();
        assert_eq!(b.code, "A000123");
        assert_eq!(b.name_ko, "라운드랩");
        assert_eq!(b.name_en, "Round Lab");
        assert_eq!(b.keywords, ["라운드랩", "Round Lab"]);
        assert_eq!(b.query().unwrap(), r#""라운드랩" OR "Round Lab""#);
    }

    #[test]
    fn reads_the_original_message_shape() {
        let v = r#"{"라운드랩":{"query_keyword":["라운드랩","ROUND LAB"],"items":{}}}"#;
        let b = Brand::from_record(Some("라운드랩"), v).unwrap();
        assert_eq!(b.name_ko, "라운드랩");
        assert_eq!(b.name_en, "ROUND LAB");
        assert_eq!(b.code, "라운드랩");
        // Without a key the name is the identity.
        assert_eq!(Brand::from_record(None, v).unwrap().code, "라운드랩");
    }

    #[test]
    fn reads_incomplete_brand_records() {
        // A brand whose product pages failed still names the brand.
        let v = r#"{"brand":"롬앤","brand_code":"A000777","brand_name_en":"rom&nd",
            "query_keyword":["롬앤","rom&nd"],"items":{},"category":[],
            "complete":false,"failed_pages":[2,3],"released_date":null}"#;
        let b = Brand::from_record(Some("A000777"), v).unwrap();
        assert_eq!(b.keywords, ["롬앤", "rom&nd"]);
        assert_eq!(b.query().unwrap(), r#""롬앤" OR "rom&nd""#);
        // Without query_keyword the names are searched.
        let v =
            r#"{"brand":"롬앤","brand_code":"A000777","brand_name_en":"rom&nd","complete":false}"#;
        assert_eq!(
            Brand::from_record(None, v).unwrap().keywords,
            ["롬앤", "rom&nd"]
        );
    }

    #[test]
    fn reads_the_legacy_layout() {
        // `record_layout = "legacy"`: the code comes from the shop URL.
        let v = r#"{"롬앤":{"query_keyword":["롬앤","rom&nd"],
            "brand_shop_detail_url":"https://www.oliveyoung.co.kr/store/display/getBrandShopDetail.do?onlBrndCd=A000777",
            "items":{"[1+1] 쥬시 래스팅 틴트":true},"category":["메이크업_립메이크업"],"released_date":"2024-08-20"}}"#;
        let b = Brand::from_record(Some("롬앤"), v).unwrap();
        assert_eq!(
            (b.code.as_str(), b.name_ko.as_str(), b.name_en.as_str()),
            ("A000777", "롬앤", "rom&nd")
        );
        // Incomplete: no keywords, empty items, no URL.
        let v = r#"{"롬앤":{"query_keyword":[],"items":{},"category":[]}}"#;
        let b = Brand::from_record(Some("롬앤"), v).unwrap();
        assert_eq!(
            (b.code.as_str(), b.keywords.as_slice()),
            ("롬앤", &["롬앤".to_string()][..])
        );
        let v = r#"{"롬앤":{"items":{}}}"#;
        assert_eq!(Brand::from_record(None, v).unwrap().name_ko, "롬앤");
    }

    #[test]
    fn keywords_are_deduplicated_and_cleaned() {
        let v = r#"{"brand":"Moma","query_keyword":["Moma","MOMA"," say \"hi\" "]}"#;
        let b = Brand::from_record(None, v).unwrap();
        assert_eq!(b.keywords, ["Moma", "say  hi"]);
        let v = r#"{"brand":"모마","brand_name_en":"Moma"}"#;
        assert_eq!(
            Brand::from_record(None, v).unwrap().keywords,
            ["모마", "Moma"]
        );
    }

    #[test]
    fn refuses_records_without_a_brand() {
        assert!(Brand::from_record(None, "[1]").is_err());
        assert!(Brand::from_record(None, "{\"x\":1}").is_err());
        assert!(Brand::from_record(None, "nope").is_err());
        let long = format!(r#"{{"brand":"{}"}}"#, "가".repeat(600));
        assert!(Brand::from_record(None, &long).unwrap().query().is_err());
    }

    #[test]
    fn matches_at_word_boundaries() {
        assert!(term_matches("Just tried ROUND LAB toner", "Round Lab"));
        assert!(term_matches("#모마 #올리브영", "모마"));
        assert!(term_matches("「Moma」の化粧水", "moma"));
        assert!(!term_matches("Momara toner", "Moma"));
        assert!(!term_matches("모마라 크림", "모마"));
        assert!(term_matches("Momara and Moma", "Moma"));
        assert!(term_matches("xab ab ab", "ab ab"));
        let b = Brand {
            code: "c".into(),
            name_ko: "모마".into(),
            name_en: "Moma".into(),
            keywords: vec!["모마".into(), "Moma".into()],
        };
        assert_eq!(b.matched_keywords("모마 (Moma) 크림"), ["모마", "Moma"]);
        assert_eq!(b.matched_keywords("Moma!"), ["Moma"]);
    }
}
