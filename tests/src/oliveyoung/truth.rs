//! The ground truth of a generated site: exactly the records a correct
//! `oliveyoung` plugin emits for one run against it, and what it must count
//! as skipped. End-to-end tests compare the bus against this.
//!
//! No task fails against this site: a brand whose pages break lands as an
//! incomplete brand record (`complete: false`, `failed_pages`), and its
//! products come from the pages that work. On a site served with a
//! [`Mutation`], the perturbed fields are what a tolerant crawler records
//! when their markup is gone: `null` for values, `false` for markers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::drift::Mutation;
use super::model::{ROWS_PER_PAGE, Site};

/// What one run of the `oliveyoung` plugin against a [`Site`] must produce.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Brand records (topic `oliveyoung`) by brand code, for every brand
    /// whose task can succeed.
    pub brands: BTreeMap<String, Value>,
    /// Product records (topic `oliveyoung-products`) by goods number, for the
    /// products of those brands.
    pub products: BTreeMap<String, Value>,
    /// Tasks that must end failed, by task key, with the error kind they
    /// fail with. Empty for every site this module generates: broken pages
    /// end in incomplete brand records instead (see [`Self::incomplete`]).
    pub failed_tasks: BTreeMap<String, &'static str>,
    /// Brands whose record is incomplete, by code, with the pages that
    /// failed (URLs).
    pub incomplete: BTreeMap<String, Vec<String>>,
    /// Items the plugin must report skipped for a missing identity field,
    /// by (topic, field).
    pub skipped: BTreeMap<(String, String), u64>,
    /// Categories on the landing page (24).
    pub categories: usize,
    /// Brands on the site, including the ones whose task fails (300).
    pub brand_count: usize,
    /// Products on the site, including those of failing brands (5,000).
    pub product_count: usize,
}

impl Site {
    /// The records a run must produce when the plugin's `base_url` is
    /// `base_url` (a trailing `/` is ignored) and the run started at
    /// `run_started_at_ms`.
    pub fn ground_truth(&self, base_url: &str, run_started_at_ms: i64) -> GroundTruth {
        let base = base_url.trim_end_matches('/');
        let released_date = seoul_date(run_started_at_ms);
        let mut brands = BTreeMap::new();
        let mut products = BTreeMap::new();
        let failed_tasks = BTreeMap::new();
        let mut incomplete = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        let faults = self.faults();
        let shop_url =
            |code: &str| format!("{base}/store/display/getBrandShopDetail.do?onlBrndCd={code}");
        for code in &faults.shop_always_500 {
            incomplete.insert(code.clone(), vec![shop_url(code)]);
        }
        for code in &faults.goods_page1_malformed {
            incomplete.insert(
                code.clone(),
                vec![format!(
                    "{base}/store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd={code}&pageIdx=1&dispCatNo=&prdSort=rank&rowsPerPage={ROWS_PER_PAGE}"
                )],
            );
            // The truncated first card, which has no goods number.
            *skipped
                .entry(("oliveyoung-products".to_string(), "goods_no".to_string()))
                .or_insert(0) += 1;
        }
        let m = self.mutation();
        let prices_read = m != Some(Mutation::PriceMarkup);
        let ratings_read = m != Some(Mutation::RatingRemoved);
        let sold_out_read = m != Some(Mutation::SoldOutRenamed);
        let heading_read = m != Some(Mutation::BrandHeadingRenamed);

        for brand in self.brands() {
            let mut items = serde_json::Map::new();
            let mut goods_numbers = Vec::with_capacity(brand.products.len());
            for &p in &brand.products {
                let product = &self.products()[p];
                // Moved, the marker still shows its rate (`-23%`), and a
                // selling price below the list price says the same.
                let on_promotion = product.on_promotion;
                items.insert(product.name.clone(), Value::Bool(on_promotion));
                goods_numbers.push(Value::String(product.goods_no.clone()));
                products.insert(
                    product.goods_no.clone(),
                    json!({
                        "goods_no": product.goods_no,
                        "name": product.name,
                        "brand": brand.name_ko,
                        "brand_code": brand.code,
                        "url": format!("{base}/store/goods/getGoodsDetail.do?goodsNo={}", product.goods_no),
                        "price_original": (product.shows_original && prices_read).then_some(product.price_original),
                        "price_current": prices_read.then_some(product.price_current),
                        "on_promotion": on_promotion,
                        "sold_out": product.sold_out && sold_out_read,
                        "rating": product.rating().filter(|_| ratings_read),
                        "review_count": product.review_count.filter(|_| ratings_read),
                        "crawled_at_ms": run_started_at_ms,
                    }),
                );
            }
            // Without the filter's names no brand can be placed.
            let categories: Vec<String> = if m == Some(Mutation::CategoryFilterRenamed) {
                Vec::new()
            } else {
                brand
                    .categories
                    .iter()
                    .map(|&c| self.categories()[c].name())
                    .collect()
            };
            brands.insert(
                brand.code.clone(),
                json!({
                    "brand": brand.name_ko,
                    "brand_code": brand.code,
                    "brand_name_en": brand.name_en,
                    "query_keyword": [brand.name_ko, brand.name_en],
                    "brand_shop_detail_url": format!("{base}/store/display/getBrandShopDetail.do?onlBrndCd={}", brand.code),
                    "items": items,
                    "category": categories,
                    "released_date": released_date,
                    "goods_numbers": goods_numbers,
                    "product_count": brand.products.len(),
                    "crawled_at_ms": run_started_at_ms,
                    "shop_brand_name": (heading_read && !faults.shop_always_500.contains(&brand.code))
                        .then(|| brand.name_ko.clone()),
                    "complete": !incomplete.contains_key(&brand.code),
                    "failed_pages": incomplete.get(&brand.code).cloned().unwrap_or_default(),
                }),
            );
        }
        GroundTruth {
            brands,
            products,
            failed_tasks,
            incomplete,
            skipped,
            categories: self.categories().len(),
            brand_count: self.brands().len(),
            product_count: self.products().len(),
        }
    }
}

/// `YYYY-MM-DD` of an instant in Asia/Seoul (UTC+9, no daylight saving),
/// the same computation as the SDK's `Run::date(9)`.
pub fn seoul_date(ms: i64) -> String {
    let days = (ms + 9 * 3_600_000).div_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seoul_dates() {
        // 2024-08-19T20:00:00Z is already the 20th in Seoul.
        assert_eq!(seoul_date(1_724_097_600_000), "2024-08-20");
        assert_eq!(seoul_date(1_724_097_600_000 - 5 * 3_600_000), "2024-08-20");
        assert_eq!(
            seoul_date(1_724_097_600_000 - 5 * 3_600_000 - 1),
            "2024-08-19"
        );
        assert_eq!(seoul_date(-9 * 3_600_000), "1970-01-01");
        assert_eq!(seoul_date(951_782_400_000), "2000-02-29");
    }
}
