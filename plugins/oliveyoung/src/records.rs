//! The records the plugin emits and how they are assembled: the brand
//! record (the original pipeline's message, plus code, goods numbers, crawl
//! time and whether every page of the brand was read) from a brand's
//! products, the product record, and the join of category pages into each
//! brand's category list. Pure functions.
//!
//! The brand record's shape, both layouts, is not defined here but in the
//! `oliveyoung-brand-record` crate: it is a contract with the plugins that
//! read it (twitter, instagram), who use the same types.

use std::collections::HashMap;

use crawlhost_sdk::CrawlError;
use serde::{Deserialize, Serialize};

use crate::parse::{Category, Product};
use crate::site::Settings;

pub use crate::parse::{BRAND_TOPIC, PRODUCT_TOPIC};
pub use oliveyoung_brand_record::BrandRecord;

/// A brand as the `brand-list` task hands it to its `brand:<code>` task
/// (the task payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandInfo {
    /// `onlBrndCd`.
    pub code: String,
    /// Korean name.
    pub name_ko: String,
    /// English name.
    pub name_en: String,
    /// Category names, in landing-page order.
    pub categories: Vec<String>,
}

/// How one brand's crawl went, beyond its products.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandCrawl {
    /// The shop heading, if read.
    pub shop_brand_name: Option<String>,
    /// Pages that failed, as URLs.
    pub failed_pages: Vec<String>,
}

/// One product record (topic `oliveyoung-products`, key = goods number).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductRecord {
    /// `goodsNo`.
    pub goods_no: String,
    /// Display name.
    pub name: String,
    /// Korean brand name.
    pub brand: String,
    /// `onlBrndCd`.
    pub brand_code: String,
    /// Product detail URL.
    pub url: String,
    /// List price in won, null when the card shows none.
    pub price_original: Option<u64>,
    /// Selling price in won, null when the card shows none readable.
    pub price_current: Option<u64>,
    /// On promotion (the card has a discount block).
    pub on_promotion: bool,
    /// Sold out.
    pub sold_out: bool,
    /// Average rating, null without reviews.
    pub rating: Option<f64>,
    /// Review count, null without reviews.
    pub review_count: Option<u64>,
    /// Run start, ms since the epoch.
    pub crawled_at_ms: i64,
}

/// The product record of `product`.
pub fn product_record(
    settings: &Settings,
    brand: &BrandInfo,
    product: &Product,
    crawled_at_ms: i64,
) -> Result<ProductRecord, CrawlError> {
    Ok(ProductRecord {
        goods_no: product.goods_no.clone(),
        name: product.name.clone(),
        brand: brand.name_ko.clone(),
        brand_code: brand.code.clone(),
        url: settings.goods_detail_url(&product.goods_no)?,
        price_original: product.price_original,
        price_current: product.price_current,
        on_promotion: product.on_promotion,
        sold_out: product.sold_out,
        rating: product.rating,
        review_count: product.review_count,
        crawled_at_ms,
    })
}

/// The brand record over all its products (in shop order).
pub fn brand_record(
    settings: &Settings,
    brand: &BrandInfo,
    products: &[Product],
    crawl: &BrandCrawl,
    released_date: &str,
    crawled_at_ms: i64,
) -> Result<BrandRecord, CrawlError> {
    Ok(BrandRecord {
        brand: brand.name_ko.clone(),
        query_keyword: vec![brand.name_ko.clone(), brand.name_en.clone()],
        brand_shop_detail_url: settings.brand_shop(&brand.code)?.url().to_string(),
        items: products
            .iter()
            .map(|p| (p.name.clone(), p.on_promotion))
            .collect(),
        category: brand.categories.clone(),
        released_date: released_date.to_string(),
        brand_code: brand.code.clone(),
        brand_name_en: brand.name_en.clone(),
        goods_numbers: products.iter().map(|p| p.goods_no.clone()).collect(),
        product_count: products.len(),
        crawled_at_ms,
        shop_brand_name: crawl.shop_brand_name.clone(),
        complete: crawl.failed_pages.is_empty(),
        failed_pages: crawl.failed_pages.clone(),
    })
}

/// Brand name -> the names of the categories that list it, in landing
/// order, without duplicates. `listed` holds each category's brand names
/// (all pages) by category id; categories missing from it list nobody.
pub fn join_categories(
    categories: &[Category],
    listed: &HashMap<String, Vec<String>>,
) -> HashMap<String, Vec<String>> {
    let mut by_brand: HashMap<String, Vec<String>> = HashMap::new();
    for category in categories {
        for brand in listed.get(&category.id).into_iter().flatten() {
            let names = by_brand.entry(brand.clone()).or_default();
            if !names.contains(&category.name) {
                names.push(category.name.clone());
            }
        }
    }
    by_brand
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_landing_order() {
        let cat = |id: &str, name: &str| Category {
            id: id.into(),
            name: name.into(),
        };
        let categories = [cat("2", "b"), cat("1", "a"), cat("3", "c")];
        let listed = HashMap::from([
            ("1".to_string(), vec!["x".to_string(), "y".to_string()]),
            ("2".to_string(), vec!["y".to_string(), "y".to_string()]),
            ("9".to_string(), vec!["z".to_string()]),
        ]);
        let joined = join_categories(&categories, &listed);
        assert_eq!(joined["x"], vec!["a"]);
        assert_eq!(joined["y"], vec!["b", "a"]);
        assert!(!joined.contains_key("z"));
    }
}
