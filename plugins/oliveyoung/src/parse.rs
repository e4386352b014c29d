//! Pure parsers: page HTML in, typed data out. No fetching, no state, no
//! logging, so they run natively in unit tests against the fixture site's
//! pages. Selectors come from [`crate::selectors`]. Problems with the page's
//! shape are `CrawlError::Parse`; the caller adds the URL to the message.

use std::collections::{HashMap, HashSet};

use crawlhost_sdk::CrawlError;
use crawlhost_sdk::html::{Document, ElementExt, ElementRef, collapse_whitespace};
use serde::{Deserialize, Serialize};

use crate::selectors as sel;

/// A display category from the landing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// `dispCatNo`.
    pub id: String,
    /// `<big>_<small>`, e.g. `스킨케어_스킨/토너`.
    pub name: String,
}

/// One page of a category's brand filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryPage {
    /// Brand names (Korean), in page order, without duplicates.
    pub brands: Vec<String>,
    /// Number of pages the pager shows (at least 1).
    pub pages: u32,
}

/// One brand of the brand list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandEntry {
    /// `onlBrndCd`.
    pub code: String,
    /// The name with Hangul in it (else the first name seen).
    pub name_ko: String,
    /// The other name (else the Korean one).
    pub name_en: String,
}

/// What the brand shop landing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopDetail {
    /// The brand name heading, if present.
    pub brand_name: Option<String>,
    /// First-page items: name (the first anchor's `data-attr`) and whether
    /// the card shows a discount.
    pub items: Vec<(String, bool)>,
}

/// One product card of a brand shop page.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// `goodsNo`.
    pub goods_no: String,
    /// Display name.
    pub name: String,
    /// List price in won; none when the card shows none.
    pub price_original: Option<u64>,
    /// Selling price in won.
    pub price_current: u64,
    /// The card has a discount block.
    pub on_promotion: bool,
    /// The card has a sold-out badge.
    pub sold_out: bool,
    /// Average rating; none without reviews.
    pub rating: Option<f64>,
    /// Number of reviews; none without reviews.
    pub review_count: Option<u64>,
}

/// Categories of the landing page in page order, deduplicated by id (the
/// first occurrence wins). No category at all is a parse error: the page
/// changed.
pub fn parse_categories(html: &str) -> Result<Vec<Category>, CrawlError> {
    let doc = Document::parse(html);
    let mut seen = HashSet::new();
    let mut categories = Vec::new();
    for link in doc.select(sel::CATEGORY_LINK)? {
        let id = link
            .attr_trimmed(sel::CATEGORY_ID_ATTR)
            .filter(|id| !id.is_empty())
            .or_else(|| link.attr_trimmed("href").and_then(|h| id_from_href(&h)));
        let Some(id) = id.filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric())) else {
            continue;
        };
        let name = link
            .attr_trimmed(sel::CATEGORY_NAME_ATTR)
            .and_then(|attr| {
                attr.rsplit(sel::DATA_ATTR_SEPARATOR)
                    .next()
                    .map(collapse_whitespace)
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| link.text_trimmed());
        if name.is_empty() || !seen.insert(id.clone()) {
            continue;
        }
        categories.push(Category { id, name });
    }
    if categories.is_empty() {
        return Err(CrawlError::Parse(format!(
            "no category links (`{}`) on the category landing page",
            sel::CATEGORY_LINK
        )));
    }
    Ok(categories)
}

/// The first quoted argument of `...moveCategory('<id>', ...)`.
fn id_from_href(href: &str) -> Option<String> {
    let args = &href[href.find(sel::CATEGORY_HREF_CALL)? + sel::CATEGORY_HREF_CALL.len()..];
    let args = args.trim_start();
    let quote = args.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &args[1..];
    let id = rest[..rest.find(quote)?].trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Brand names and the page count of one page of a category's brand filter.
/// An empty page (past the end) is not an error.
pub fn parse_category_page(html: &str) -> Result<CategoryPage, CrawlError> {
    let doc = Document::parse(html);
    let mut seen = HashSet::new();
    let mut brands = Vec::new();
    for input in doc.select(sel::CATEGORY_BRAND_CHECKBOX)? {
        let name = input
            .value()
            .attr(sel::CATEGORY_BRAND_NAME_ATTR)
            .map(collapse_whitespace)
            .unwrap_or_default();
        if !name.is_empty() && seen.insert(name.clone()) {
            brands.push(name);
        }
    }
    // The pager links every page but the current one, which is a <strong>
    // (the last page's pager links only earlier pages).
    let linked = doc
        .select(sel::PAGER_LINK)?
        .iter()
        .filter_map(|a| a.attr_trimmed(sel::PAGE_NO_ATTR)?.parse::<u32>().ok())
        .max();
    let current = doc
        .select(sel::PAGER_CURRENT)?
        .iter()
        .filter_map(|s| s.text_trimmed().parse::<u32>().ok())
        .max();
    let pages = linked.max(current).unwrap_or(1).max(1);
    Ok(CategoryPage { brands, pages })
}

/// Brands of the brand list, in order of first appearance, each with its
/// Korean and English name (the list shows every brand twice). No brand at
/// all is a parse error.
pub fn parse_brand_list(html: &str) -> Result<Vec<BrandEntry>, CrawlError> {
    let doc = Document::parse(html);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut brands: Vec<BrandEntry> = Vec::new();
    for link in doc.select(sel::BRAND_LINK)? {
        let Some(code) = link
            .attr_trimmed(sel::BRAND_CODE_ATTR)
            .filter(|c| !c.is_empty())
        else {
            continue;
        };
        let text = link.text_trimmed();
        if text.is_empty() {
            continue;
        }
        let i = *index.entry(code.clone()).or_insert_with(|| {
            brands.push(BrandEntry {
                code,
                name_ko: String::new(),
                name_en: String::new(),
            });
            brands.len() - 1
        });
        let entry = &mut brands[i];
        if has_hangul(&text) {
            if entry.name_ko.is_empty() {
                entry.name_ko = text;
            }
        } else if entry.name_en.is_empty() {
            entry.name_en = text;
        }
    }
    for entry in &mut brands {
        if entry.name_ko.is_empty() {
            entry.name_ko = entry.name_en.clone();
        }
        if entry.name_en.is_empty() {
            entry.name_en = entry.name_ko.clone();
        }
    }
    if brands.is_empty() {
        return Err(CrawlError::Parse(format!(
            "no brand links (`{}`) on the brand list",
            sel::BRAND_LINK
        )));
    }
    Ok(brands)
}

/// Whether `s` contains Hangul (syllables or jamo).
pub fn has_hangul(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
    })
}

/// The brand shop landing: brand heading and first-page items.
pub fn parse_shop_detail(html: &str) -> Result<ShopDetail, CrawlError> {
    let doc = Document::parse(html);
    let brand_name = doc
        .first(sel::SHOP_BRAND_NAME)?
        .map(|e| e.text_trimmed())
        .filter(|n| !n.is_empty());
    let mut items = Vec::new();
    for card in doc.select(sel::SHOP_CARD)? {
        let name = card
            .select_first(sel::SHOP_CARD_LINK)?
            .and_then(|a| a.attr_trimmed(sel::ITEM_NAME_ATTR))
            .map(|n| collapse_whitespace(&n))
            .unwrap_or_default();
        if !name.is_empty() {
            items.push((name, card.select_first(sel::DISCOUNT)?.is_some()));
        }
    }
    Ok(ShopDetail { brand_name, items })
}

/// The products of one brand shop page (an AJAX fragment), in page order.
/// A product without a goods number, name or selling price is a parse error
/// (a truncated or changed page); optional fields that do not parse are
/// left empty.
pub fn parse_goods_page(html: &str) -> Result<Vec<Product>, CrawlError> {
    let doc = Document::parse(html);
    doc.select(sel::GOODS_ITEM)?
        .into_iter()
        .enumerate()
        .map(|(i, li)| parse_product(i + 1, li))
        .collect()
}

fn parse_product(position: usize, li: ElementRef<'_>) -> Result<Product, CrawlError> {
    let which = || {
        let idx = li.attr_trimmed(sel::GOODS_INDEX_ATTR).unwrap_or_default();
        format!("product #{position} (data-goods-idx=\"{idx}\")")
    };
    let goods_no = li
        .select_all(sel::GOODS_LINK)?
        .iter()
        .filter_map(|a| a.attr_trimmed(sel::GOODS_NO_ATTR))
        .find(|no| !no.is_empty())
        .ok_or_else(|| CrawlError::Parse(format!("{} has no goods number", which())))?;
    let name = li
        .select_first(sel::PRODUCT_NAME)?
        .map(|e| e.text_trimmed())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| CrawlError::Parse(format!("{} ({goods_no}) has no name", which())))?;
    let price_current = li
        .select_first(sel::PRICE_CURRENT)?
        .and_then(|e| parse_amount(&e.text_trimmed()))
        .ok_or_else(|| {
            CrawlError::Parse(format!("{} ({goods_no}) has no selling price", which()))
        })?;
    let price_original = li
        .select_first(sel::PRICE_ORIGINAL)?
        .and_then(|e| parse_amount(&e.text_trimmed()));
    let rating = li
        .select_first(sel::RATING)?
        .and_then(|e| parse_rating(&e.text_trimmed()));
    let review_count = li
        .select_first(sel::REVIEW_COUNT)?
        .and_then(|e| parse_amount(&e.text_trimmed()));
    Ok(Product {
        goods_no,
        name,
        price_original,
        price_current,
        on_promotion: li.select_first(sel::DISCOUNT)?.is_some(),
        sold_out: li.select_first(sel::SOLD_OUT)?.is_some(),
        rating,
        review_count,
    })
}

/// `25,600원` -> 25600; none without digits or on overflow.
pub fn parse_amount(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The last decimal number in the text: `5점 만점에 4.7점` -> 4.7.
pub fn parse_rating(text: &str) -> Option<f64> {
    let mut last = None;
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !current.is_empty() && !current.contains('.')) {
            current.push(c);
        } else if !current.is_empty() {
            last = Some(current.trim_end_matches('.').to_string());
            current.clear();
        }
    }
    last?.parse::<f64>().ok().filter(|r| r.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_ratings() {
        assert_eq!(parse_amount("25,600"), Some(25_600));
        assert_eq!(parse_amount(" (1,234) "), Some(1_234));
        assert_eq!(parse_amount("원"), None);
        assert_eq!(parse_amount("99999999999999999999999"), None);
        assert_eq!(parse_rating("5점 만점에 4.7점"), Some(4.7));
        assert_eq!(parse_rating("4.0"), Some(4.0));
        assert_eq!(parse_rating("평점 5."), Some(5.0));
        assert_eq!(parse_rating("평점 없음"), None);
    }

    #[test]
    fn category_ids_from_href() {
        assert_eq!(
            id_from_href("javascript:common.link.moveCategory('100000100010013','0','Drawer');")
                .as_deref(),
            Some("100000100010013")
        );
        assert_eq!(
            id_from_href("javascript:common.link.moveCategory( \"12\" )").as_deref(),
            Some("12")
        );
        assert_eq!(id_from_href("javascript:common.link.moveCategory()"), None);
        assert_eq!(id_from_href("javascript:common.link.moveCategory('"), None);
    }

    #[test]
    fn categories_fall_back_to_href_and_text() {
        let html = r#"<a href="javascript:common.link.moveCategory('111','0');">  Lip  </a>
            <a href="javascript:common.link.moveCategory('111','0');" data-attr="x^dup">dup</a>
            <a href="javascript:common.link.moveCategoryShop('222');" data-attr="a^Big">Big</a>
            <a href="/x" data-ref-dispcatno="333">not a category link</a>"#;
        assert_eq!(
            parse_categories(html).unwrap(),
            vec![Category {
                id: "111".into(),
                name: "Lip".into()
            }]
        );
        assert!(matches!(
            parse_categories("<p>changed</p>"),
            Err(CrawlError::Parse(_))
        ));
    }

    #[test]
    fn brand_list_pairs_names() {
        let html = r#"<a data-ref-onlbrndcd="A1">3CE</a><a data-ref-onlbrndcd="A2">라운드랩</a>
            <a data-ref-onlbrndcd="A2"> Round&amp;Lab </a><a data-ref-onlbrndcd="">more</a>
            <a data-ref-onlbrndcd="A2">라운드랩 (dup)</a><a data-ref-onlbrndcd="A3"><img alt="x"></a>"#;
        let brands = parse_brand_list(html).unwrap();
        assert_eq!(brands.len(), 2);
        assert_eq!(
            brands[0],
            BrandEntry {
                code: "A1".into(),
                name_ko: "3CE".into(),
                name_en: "3CE".into()
            }
        );
        assert_eq!(brands[1].name_ko, "라운드랩");
        assert_eq!(brands[1].name_en, "Round&Lab");
        assert!(parse_brand_list("").is_err());
    }

    #[test]
    fn goods_without_number_are_parse_errors() {
        let html = r#"<ul><li data-goods-idx="1"><p class="prod-name">x</p>
            <span class="tx_cur"><span>1,000</span></span></li></ul>"#;
        let err = parse_goods_page(html).unwrap_err();
        assert!(
            matches!(&err, CrawlError::Parse(m) if m.contains("product #1") && m.contains("goods number")),
            "{err:?}"
        );
        let html = r#"<li data-goods-idx="1"><a data-ref-goodsNo="A1"></a><p class="prod-name">x</p></li>"#;
        assert!(
            matches!(parse_goods_page(html), Err(CrawlError::Parse(m)) if m.contains("selling price"))
        );
        assert_eq!(parse_goods_page("<ul></ul>").unwrap(), vec![]);
    }

    #[test]
    fn garbage_never_panics() {
        for html in [
            "",
            "<",
            "<li data-goods-idx",
            "\u{0}\u{FFFF}<a href=\"javascript:common.link.moveCategory('",
            "<div class=\"pageing\"><a data-page-no=\"99999999999\">",
        ] {
            let _ = parse_categories(html);
            let _ = parse_category_page(html);
            let _ = parse_brand_list(html);
            let _ = parse_shop_detail(html);
            let _ = parse_goods_page(html);
        }
    }
}
