//! Pure parsers: page HTML in, typed data out. No fetching, no state, no
//! logging, so they run natively in unit tests against the fixture site's
//! pages. Selectors come from [`crate::selectors`].
//!
//! Items (brands of the brand list, products of a page) are read through
//! [`crawlhost_sdk::extract::Tally`]: an item without its identity fields
//! (brand code and name; goods number and name) is skipped and counted, never
//! its siblings; every other field is optional and a value that cannot be read
//! is `None`. Only a page with nothing of what it exists for (no category at
//! all on the landing, no brand on the brand list) is a `CrawlError::Parse`;
//! the caller adds the URL to the message.

use std::collections::{HashMap, HashSet};

use crawlhost_sdk::CrawlError;
use crawlhost_sdk::extract::{Item, Missing, Tally};
use crawlhost_sdk::html::{Document, Element, ElementExt, collapse_whitespace};
use serde::{Deserialize, Serialize};

use crate::selectors as sel;

/// Topic of brand records, which brand-list tallies count for
/// ([`crate::records`] re-exports it). Part of the brand record contract.
pub const BRAND_TOPIC: &str = oliveyoung_brand_record::TOPIC;
/// Topic of product records, which product-page tallies count for.
pub const PRODUCT_TOPIC: &str = "oliveyoung-products";

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

/// The brands of the brand list and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandList {
    /// Brands in order of first appearance.
    pub brands: Vec<BrandEntry>,
    /// Brand anchors skipped for a missing code or name.
    pub tally: Tally,
}

/// What the brand shop landing shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopDetail {
    /// The brand name heading, if present.
    pub brand_name: Option<String>,
    /// How many product pages the landing's pager announces, if it has one.
    pub pages: Option<u32>,
    /// The first page's products (the landing prints the same cards as the
    /// AJAX pages; a fallback when page 1 of those cannot be read).
    pub products: GoodsPage,
}

/// One page of a brand's products.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodsPage {
    /// Products read, in page order.
    pub products: Vec<Product>,
    /// Product cards on the page, read or not: a page with fewer than a full
    /// page of cards is the last one.
    pub cards: usize,
    /// Cards skipped for a missing goods number or name, and optional
    /// fields left empty.
    pub tally: Tally,
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
    /// Selling price in won; none when the card shows none readable.
    pub price_current: Option<u64>,
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
    for name in doc.attr_values(sel::CATEGORY_BRAND_CHECKBOX, sel::CATEGORY_BRAND_NAME_ATTR)? {
        let name = name.map(|v| collapse_whitespace(&v)).unwrap_or_default();
        if !name.is_empty() && seen.insert(name.clone()) {
            brands.push(name);
        }
    }
    // The pager links every page but the current one, which is a <strong>
    // (the last page's pager links only earlier pages).
    let linked = doc
        .attr_values(sel::PAGER_LINK, sel::PAGE_NO_ATTR)?
        .iter()
        .filter_map(|no| no.as_deref()?.trim().parse::<u32>().ok())
        .max();
    let current = doc
        .texts(sel::PAGER_CURRENT)?
        .iter()
        .filter_map(|s| s.trim().parse::<u32>().ok())
        .max();
    let pages = linked.max(current).unwrap_or(1).max(1);
    Ok(CategoryPage { brands, pages })
}

/// Brands of the brand list, in order of first appearance, each with its
/// Korean and English name (the list shows every brand twice). An anchor
/// with a code but no readable name anywhere is skipped and counted; no
/// brand at all is a parse error (the page changed beyond use).
pub fn parse_brand_list(html: &str) -> Result<BrandList, CrawlError> {
    let doc = Document::parse(html);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut brands: Vec<BrandEntry> = Vec::new();
    let mut tally = Tally::new(BRAND_TOPIC);
    // Codes seen without a name in any of their anchors yet.
    let mut nameless: Vec<String> = Vec::new();
    // Codes and texts of every anchor in two calls (the same selector gives
    // the same anchors in the same order); handles only when an anchor has
    // no text and its name must come from an image or an attribute.
    let codes = doc.attr_values(sel::BRAND_LINK, sel::BRAND_CODE_ATTR)?;
    let texts = doc.texts(sel::BRAND_LINK)?;
    let mut links: Option<Vec<Element>> = None;
    for (i, code) in codes.into_iter().enumerate() {
        // An empty code marks page chrome (the "more brands" button), not
        // a brand.
        let Some(code) = code.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) else {
            continue;
        };
        let text = texts
            .get(i)
            .map(|t| collapse_whitespace(t))
            .unwrap_or_default();
        let name = if text.is_empty() {
            let links = match &mut links {
                Some(links) => links,
                None => links.insert(doc.select(sel::BRAND_LINK)?),
            };
            links.get(i).and_then(brand_anchor_name)
        } else {
            Some(text)
        };
        let Some(text) = name else {
            if !index.contains_key(&code) && !nameless.contains(&code) {
                nameless.push(code);
            }
            continue;
        };
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
    for code in nameless.iter().filter(|c| !index.contains_key(*c)) {
        tally.skip("brand", || format!("brand {code}"));
    }
    for entry in &mut brands {
        if entry.name_ko.is_empty() {
            entry.name_ko = entry.name_en.clone();
        }
        if entry.name_en.is_empty() {
            entry.name_en = entry.name_ko.clone();
        }
        tally.item(String::new, |_| Ok(()));
    }
    if brands.is_empty() {
        return Err(CrawlError::Parse(format!(
            "no brand links (`{}`) with a name on the brand list",
            sel::BRAND_LINK
        )));
    }
    Ok(BrandList { brands, tally })
}

/// A brand anchor's name: its text, else an image's `alt`, else its
/// `title`, else the last `^` part of its `data-attr`.
fn brand_anchor_name(link: &Element) -> Option<String> {
    let text = link.text_trimmed();
    if !text.is_empty() {
        return Some(text);
    }
    let from_img = link
        .select_first(sel::PRODUCT_IMAGE)
        .ok()
        .flatten()
        .and_then(|img| img.attr_trimmed("alt"));
    let from_title = || link.attr_trimmed("title");
    let from_attr = || {
        link.attr_trimmed(sel::ITEM_NAME_ATTR).and_then(|a| {
            a.rsplit(sel::DATA_ATTR_SEPARATOR)
                .next()
                .map(collapse_whitespace)
        })
    };
    from_img
        .or_else(from_title)
        .or_else(from_attr)
        .map(|n| collapse_whitespace(&n))
        .filter(|n| !n.is_empty())
}

/// Whether `s` contains Hangul (syllables or jamo).
pub fn has_hangul(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
    })
}

/// The brand shop landing: brand heading, the pager's page count and the
/// first page's products. Nothing on it is required.
pub fn parse_shop_detail(html: &str) -> Result<ShopDetail, CrawlError> {
    let doc = Document::parse(html);
    let mut brand_name = None;
    for css in sel::SHOP_BRAND_NAME {
        brand_name = doc
            .first(css)?
            .map(|e| e.text_trimmed())
            .filter(|n| !n.is_empty());
        if brand_name.is_some() {
            break;
        }
    }
    let pages = doc
        .attr_values(sel::SHOP_PAGER_LINK, sel::PAGE_NO_ATTR)?
        .iter()
        .filter_map(|no| no.as_deref()?.trim().parse::<u32>().ok())
        .chain(
            doc.texts(sel::PAGER_CURRENT)?
                .iter()
                .filter_map(|s| s.trim().parse::<u32>().ok()),
        )
        .max();
    Ok(ShopDetail {
        brand_name,
        pages,
        products: goods_of(&doc)?,
    })
}

/// The products of one brand shop page (an AJAX fragment), in page order.
/// A card without a goods number or a name is skipped and counted; every
/// other field that does not read is left empty. A page without cards is
/// not an error (past the last page).
pub fn parse_goods_page(html: &str) -> Result<GoodsPage, CrawlError> {
    goods_of(&Document::parse(html))
}

/// The product cards of a document: `li[data-goods-idx]`, else the
/// `div.prod-info` blocks (the shop landing's older card markup).
fn goods_of(doc: &Document) -> Result<GoodsPage, CrawlError> {
    let mut cards = doc.select(sel::GOODS_ITEM)?;
    if cards.is_empty() {
        cards = doc.select(sel::SHOP_CARD)?;
    }
    let mut tally = Tally::new(PRODUCT_TOPIC);
    let mut products = Vec::with_capacity(cards.len());
    for (i, card) in cards.iter().enumerate() {
        let at = || {
            let idx = card.attr_trimmed(sel::GOODS_INDEX_ATTR).unwrap_or_default();
            format!("product card #{} (data-goods-idx=\"{idx}\")", i + 1)
        };
        if let Some(product) = tally.item(at, |item| read_product(item, card)) {
            products.push(product);
        }
    }
    Ok(GoodsPage {
        products,
        cards: cards.len(),
        tally,
    })
}

fn read_product(item: &mut Item, card: &Element) -> Result<Product, Missing> {
    let goods_no = item.identity("goods_no", goods_no_of(card))?;
    let name = item.identity("name", product_name_of(card))?;
    let (mut current, mut original) = (
        first_amount(card, sel::PRICE_CURRENT),
        first_amount(card, sel::PRICE_ORIGINAL),
    );
    if current.is_none() {
        let (block_current, block_original) = price_block(card);
        current = block_current;
        original = original.or(block_original);
    }
    let price_current = item.optional("price_current", current);
    let price_original = item.optional("price_original", original);
    // A selling price below the list price is a promotion whatever marks it.
    let reduced = matches!((price_current, price_original), (Some(c), Some(o)) if c < o);
    Ok(Product {
        price_current,
        price_original,
        on_promotion: has(card, sel::DISCOUNT)
            || reduced
            || card
                .texts(sel::DISCOUNT_RATE)
                .unwrap_or_default()
                .iter()
                .any(|t| has_rate(t)),
        sold_out: has(card, sel::SOLD_OUT) || has_text(card, sel::SOLD_OUT_TEXTS),
        rating: item.optional(
            "rating",
            first_text(card, sel::RATING)
                .and_then(|t| parse_rating(&t))
                .or_else(|| {
                    card.attr_values(sel::RATING_BAR, "style")
                        .unwrap_or_default()
                        .iter()
                        .find_map(|style| rating_from_width(style.as_deref()?.trim()))
                }),
        ),
        review_count: item.optional(
            "review_count",
            first_text(card, sel::REVIEW_COUNT).and_then(|t| parse_count(&t)),
        ),
        goods_no,
        name,
    })
}

/// The goods number: an anchor's `data-ref-goodsno`, else any element's,
/// else the `goodsNo` parameter of a product link.
fn goods_no_of(card: &Element) -> Option<String> {
    let valid = |no: &String| !no.is_empty() && no.chars().all(|c| c.is_ascii_alphanumeric());
    for css in [sel::GOODS_LINK, sel::GOODS_NO_ANY] {
        let found = card
            .attr_values(css, sel::GOODS_NO_ATTR)
            .ok()?
            .into_iter()
            .filter_map(|no| Some(no?.trim().to_string()))
            .find(valid);
        if found.is_some() {
            return found;
        }
    }
    card.attr_values(sel::GOODS_HREF, "href")
        .ok()?
        .into_iter()
        .filter_map(|href| query_param(href?.trim(), sel::GOODS_HREF_PARAM))
        .find(valid)
}

/// The product name: the name element's text, else the goods anchor's
/// `data-attr`, else the thumbnail's `alt`.
fn product_name_of(card: &Element) -> Option<String> {
    first_text(card, sel::PRODUCT_NAME)
        .or_else(|| first_attr(card, sel::PRODUCT_NAME_ATTR_HOLDER, sel::ITEM_NAME_ATTR))
        .or_else(|| first_attr(card, sel::PRODUCT_IMAGE, "alt"))
        .filter(|n| !n.is_empty())
}

/// The text of the first element that one of `selectors` (tried in order)
/// finds with non-empty text.
fn first_text(card: &Element, selectors: &[&str]) -> Option<String> {
    selectors
        .iter()
        .find_map(|css| first_text_of(card, css).filter(|t| !t.is_empty()))
}

/// The first amount one of `selectors` (tried in order) yields.
fn first_amount(card: &Element, selectors: &[&str]) -> Option<u64> {
    selectors
        .iter()
        .find_map(|css| parse_amount(&first_text_of(card, css)?))
}

/// The text of the first element below `card` matching `css`, whitespace
/// collapsed: one `texts` call instead of select, read and drop.
fn first_text_of(card: &Element, css: &str) -> Option<String> {
    let texts = card.texts(css).ok()?;
    texts.first().map(|t| collapse_whitespace(t))
}

/// Attribute `name` of the first element below `card` matching `css`,
/// whitespace collapsed.
fn first_attr(card: &Element, css: &str, name: &str) -> Option<String> {
    let values = card.attr_values(css, name).ok()?;
    values
        .into_iter()
        .next()
        .flatten()
        .map(|n| collapse_whitespace(&n))
}

/// Whether the card, or an element in it, matches `css`.
fn has(card: &Element, css: &str) -> bool {
    card.matches(css).unwrap_or(false) || card.select_first(css).ok().flatten().is_some()
}

/// Whether an element of the card has exactly one of `texts` as its own
/// text (case and surrounding space ignored): a label such as `일시품절`.
fn has_text(card: &Element, texts: &[&str]) -> bool {
    let says = |own: &str| {
        let own = collapse_whitespace(own);
        !own.is_empty() && texts.iter().any(|t| own.eq_ignore_ascii_case(t))
    };
    says(&card.own_text())
        || card
            .own_texts("*")
            .unwrap_or_default()
            .iter()
            .any(|t| says(t))
}

/// The value of `name` in the query of `href` (`&amp;` already decoded by
/// the parser), percent-decoding not needed for goods numbers.
fn query_param(href: &str, name: &str) -> Option<String> {
    let query = href.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The first amount in the text: `25,600원` -> 25600, `19,800원~25,000원`
/// -> 19800; none without digits or on overflow. A number with a decimal
/// point, or a rate (`23%`), is not an amount.
pub fn parse_amount(text: &str) -> Option<u64> {
    numbers(text).into_iter().find_map(|n| {
        (!n.text.contains('.') && n.next != Some('%'))
            .then(|| n.text.replace(',', "").parse().ok())
            .flatten()
    })
}

/// A review count: `(1,234)` -> 1234, `리뷰 1,234` -> 1234, `(1.2만)` ->
/// 12000, `2천` -> 2000. A decimal without a unit is not a count, nor is a
/// rate (`23%`): none.
pub fn parse_count(text: &str) -> Option<u64> {
    let n = numbers(text).into_iter().next()?;
    let value: f64 = n.text.replace(',', "").parse().ok()?;
    let scale = match n.next {
        Some('%') => return None,
        Some('만') => 10_000.0,
        Some('천') => 1_000.0,
        _ if n.text.contains('.') => return None,
        _ => 1.0,
    };
    let count = (value * scale).round();
    (count.is_finite() && (0.0..1e15).contains(&count)).then_some(count as u64)
}

/// The rating out of 5: the last number followed by `점` (`5점 만점에
/// 4.7점` -> 4.7, `4.7점 (1.2만)` -> 4.7), else the only number
/// (`★4.7`); none when that is ambiguous or out of 0..=5.
pub fn parse_rating(text: &str) -> Option<f64> {
    let numbers = numbers(text);
    let chosen = numbers
        .iter()
        .rev()
        .find(|n| n.next == Some('점'))
        .or_else(|| (numbers.len() == 1).then(|| &numbers[0]))?;
    chosen
        .text
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && (0.0..=5.0).contains(r))
}

/// One number in a text: its digits (with `,` and one `.`), and the next
/// and previous characters that are not spaces.
#[derive(Debug)]
struct Number {
    text: String,
    prev: Option<char>,
    next: Option<char>,
    /// Inside parentheses: an aside such as a unit price `(10ml당 1,320원)`.
    nested: bool,
}

fn numbers(text: &str) -> Vec<Number> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut dot = false;
        while i < chars.len() {
            let c = chars[i];
            let digit_follows = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit()
                || (c == ',' && digit_follows)
                || (c == '.' && !dot && digit_follows)
            {
                dot |= c == '.';
                i += 1;
            } else {
                break;
            }
        }
        let prev = chars[..start]
            .iter()
            .rev()
            .find(|c| !c.is_whitespace())
            .copied();
        let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
        let depth = chars[..start].iter().fold(0i32, |d, c| match c {
            '(' | '（' => d + 1,
            ')' | '）' => (d - 1).max(0),
            _ => d,
        });
        out.push(Number {
            text: chars[start..i].iter().collect(),
            prev,
            next,
            nested: depth > 0,
        });
    }
    out
}

/// A star bar's fill, `width:94%`, as a rating out of 5 (4.7); none
/// without a width or past 100%.
fn rating_from_width(style: &str) -> Option<f64> {
    let rest = style
        .split(';')
        .find_map(|d| d.trim().strip_prefix("width")?.trim().strip_prefix(':'))?;
    let pct: f64 = rest.trim().strip_suffix('%')?.trim().parse().ok()?;
    (0.0..=100.0)
        .contains(&pct)
        .then(|| (pct / 20.0 * 10.0).round() / 10.0)
}

/// Whether a text shows a discount rate: a number from 1 to 99 followed by
/// `%`.
fn has_rate(text: &str) -> bool {
    numbers(text)
        .iter()
        .any(|n| n.next == Some('%') && n.text.parse::<u32>().is_ok_and(|v| (1..=99).contains(&v)))
}

/// The amounts of money in a price block's text: numbers marked as won
/// (`19,800원`, `₩19,800`, `KRW 19,800`), not rates (`23%`), not asides in
/// parentheses and not unit prices (`10ml당 1,320원`: "per").
fn money(text: &str) -> Vec<u64> {
    numbers(text)
        .into_iter()
        .filter(|n| !n.text.contains('.') && !n.nested && n.prev != Some('당'))
        .filter(|n| matches!(n.next, Some('원')) || matches!(n.prev, Some('₩' | '￦' | 'W')))
        .filter_map(|n| n.text.replace(',', "").parse().ok())
        .collect()
}

/// Prices from the card's price block when no known selector found them:
/// the element whose class says price (`price`, `prc`) and holds amounts of
/// money; the lowest is the selling price, the highest (when higher) the
/// list price. A `data-price` attribute stands in for the selling price
/// when the text has no marked amount.
fn price_block(card: &Element) -> (Option<u64>, Option<u64>) {
    let blocks = card.select_all(sel::PRICE_BLOCK).unwrap_or_default();
    for block in &blocks {
        let amounts = money(&block.text());
        if let (Some(&low), Some(&high)) = (amounts.iter().min(), amounts.iter().max()) {
            return (Some(low), (high > low).then_some(high));
        }
    }
    let attr = blocks
        .iter()
        .chain(std::iter::once(card))
        .find_map(|e| e.attr_trimmed(sel::PRICE_ATTR))
        .and_then(|v| v.parse::<u64>().ok());
    (attr, None)
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
        assert_eq!(parse_amount("19,800원~25,000원"), Some(19_800));
        assert_eq!(parse_amount("₩24,000"), Some(24_000));
        assert_eq!(parse_amount("1.2만"), None);
        assert_eq!(parse_amount("23%"), None);
        assert_eq!(parse_count("(1,234)"), Some(1_234));
        assert_eq!(parse_count("리뷰 1,234"), Some(1_234));
        assert_eq!(parse_count("(1.2만)"), Some(12_000));
        assert_eq!(parse_count("(2만)"), Some(20_000));
        assert_eq!(parse_count("3천"), Some(3_000));
        assert_eq!(parse_count("4.5"), None);
        assert_eq!(parse_count("37%"), None);
        assert_eq!(parse_rating("4.7점 (1.2만)"), Some(4.7));
        assert_eq!(parse_rating("★4.7"), Some(4.7));
        assert_eq!(parse_rating("4.7 (1,234)"), None);
        assert_eq!(parse_rating("12점"), None);
        assert_eq!(
            money("19,800원~ <s>25,600원</s> 23% ₩1,000 3개"),
            vec![19_800, 25_600, 1_000]
        );
        assert_eq!(
            money("19,800원 (10ml당 1,320원) 100g당 990원"),
            vec![19_800]
        );
        assert_eq!(rating_from_width("width:94%"), Some(4.7));
        assert_eq!(rating_from_width("color:red; width: 100%"), Some(5.0));
        assert_eq!(rating_from_width("width:120%"), None);
        assert_eq!(rating_from_width("height:94%"), None);
        assert!(has_rate("25%"));
        assert!(!has_rate("적립 0%") && !has_rate("100%") && !has_rate("25"));
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
            <a data-ref-onlbrndcd="A2">라운드랩 (dup)</a><a data-ref-onlbrndcd="A3"><img alt="x"></a>
            <a data-ref-onlbrndcd="A4" data-attr="브랜드^인기^메디힐"></a><a data-ref-onlbrndcd="A5"> </a>"#;
        let list = parse_brand_list(html).unwrap();
        let brands = &list.brands;
        assert_eq!(brands.len(), 4);
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
        // Names from the image's alt and the data-attr when there is no text.
        assert_eq!(brands[2].name_ko, "x");
        assert_eq!(brands[3].name_ko, "메디힐");
        // The brand without any name is counted, not fatal; the anchor
        // with an empty code is page chrome.
        assert_eq!(list.tally.kept(), 4);
        assert_eq!(list.tally.skipped(), 1);
        assert_eq!(list.tally.skipped_by("brand"), 1);
        assert!(parse_brand_list("").is_err());
        assert!(parse_brand_list(r#"<a data-ref-onlbrndcd="A5"></a>"#).is_err());
    }

    #[test]
    fn cards_without_identity_are_skipped_not_fatal() {
        let html = r#"<ul><li data-goods-idx="1"><p class="prod-name">x</p>
            <span class="tx_cur"><span>1,000</span></span></li>
            <li data-goods-idx="2"><a data-ref-goodsNo="A2"></a><p class="prod-name">two</p></li>
            <li data-goods-idx="3"><a data-ref-goodsNo="A3"></a></li>
            <li data-goods-idx="4"><a href="/store/goods/getGoodsDetail.do?goodsNo=A4&amp;x=1"><img alt="four"></a>
            <div class="prd_price"><del>2,000원</del><strong>1,500원</strong></div><span class="soldout">품절</span></li></ul>"#;
        let page = parse_goods_page(html).unwrap();
        assert_eq!(page.cards, 4);
        let numbers: Vec<&str> = page.products.iter().map(|p| p.goods_no.as_str()).collect();
        assert_eq!(numbers, ["A2", "A4"]);
        // No selling price is a null, not a lost product.
        assert_eq!(page.products[0].price_current, None);
        assert_eq!(page.products[0].name, "two");
        // Fallbacks: number from the link, name from the image, prices from
        // the detail page's markup.
        assert_eq!(page.products[1].name, "four");
        assert_eq!(page.products[1].price_current, Some(1_500));
        assert_eq!(page.products[1].price_original, Some(2_000));
        assert!(page.products[1].sold_out);
        assert_eq!(page.tally.skipped_by("goods_no"), 1);
        assert_eq!(page.tally.skipped_by("name"), 1);
        assert!(page.tally.skips()["goods_no"].first_at.contains("#1"));
        assert_eq!(page.tally.misses_of("price_current"), 1);
        assert_eq!(page.tally.misses_of("rating"), 2);
        // Another front end's markup: semantic fallbacks read it, and a
        // selling price below the list price is a promotion.
        let other = r#"<li data-goods-idx=9><a data-ref-goodsNo=A9></a><p class="prod-name">n</p>
            <div class="price-box"><del class="price-before">32,000<em>원</em></del>
            <strong class="price-now"><span>₩</span>24,000</strong></div>
            <div class="review-summary"><span class="stars">★4.7</span>
            <span class="review-count">리뷰 1,234</span></div><span class="sold-layer">품절</span></li>"#;
        let read = parse_goods_page(other).unwrap();
        let p = &read.products[0];
        assert_eq!(
            (p.price_current, p.price_original),
            (Some(24_000), Some(32_000))
        );
        assert_eq!((p.rating, p.review_count), (Some(4.7), Some(1_234)));
        assert!(p.on_promotion && p.sold_out);
        let empty = parse_goods_page("<ul></ul>").unwrap();
        assert_eq!((empty.cards, empty.products.len()), (0, 0));
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
