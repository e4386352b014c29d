//! The ground truth of a generated site: exactly the records a correct
//! `oliveyoung` plugin emits for one run against it, and the tasks that must
//! fail (with how). End-to-end tests compare the bus against this.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::model::Site;

/// What one run of the `oliveyoung` plugin against a [`Site`] must produce.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    /// Brand records (topic `oliveyoung`) by brand code, for every brand
    /// whose task can succeed.
    pub brands: BTreeMap<String, Value>,
    /// Product records (topic `oliveyoung-products`) by goods number, for the
    /// products of those brands.
    pub products: BTreeMap<String, Value>,
    /// Tasks that must end failed, by task key (`brand:<code>`), with the
    /// error kind they fail with: `"retryable"` (HTTP 500 every time, so the
    /// host gives up after its retries) or `"parse"` (a malformed page).
    pub failed_tasks: BTreeMap<String, &'static str>,
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
        let mut failed_tasks = BTreeMap::new();
        let faults = self.faults();
        for code in &faults.shop_always_500 {
            failed_tasks.insert(format!("brand:{code}"), "retryable");
        }
        for code in &faults.goods_page1_malformed {
            failed_tasks.insert(format!("brand:{code}"), "parse");
        }

        for brand in self.brands() {
            if faults.is_broken(&brand.code) {
                continue;
            }
            let mut items = serde_json::Map::new();
            let mut goods_numbers = Vec::with_capacity(brand.products.len());
            for &p in &brand.products {
                let product = &self.products()[p];
                items.insert(product.name.clone(), Value::Bool(product.on_promotion));
                goods_numbers.push(Value::String(product.goods_no.clone()));
                products.insert(
                    product.goods_no.clone(),
                    json!({
                        "goods_no": product.goods_no,
                        "name": product.name,
                        "brand": brand.name_ko,
                        "brand_code": brand.code,
                        "url": format!("{base}/store/goods/getGoodsDetail.do?goodsNo={}", product.goods_no),
                        "price_original": product.shows_original.then_some(product.price_original),
                        "price_current": product.price_current,
                        "on_promotion": product.on_promotion,
                        "sold_out": product.sold_out,
                        "rating": product.rating(),
                        "review_count": product.review_count,
                        "crawled_at_ms": run_started_at_ms,
                    }),
                );
            }
            let categories: Vec<String> = brand
                .categories
                .iter()
                .map(|&c| self.categories()[c].name())
                .collect();
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
                }),
            );
        }
        GroundTruth {
            brands,
            products,
            failed_tasks,
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
