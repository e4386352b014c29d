//! Where things are on the site: the checked plugin settings (`base_url`,
//! `max_pages`, `record_layout`) and the URL of every page the plugin fetches. Building a
//! request calls no import, so this is testable natively.

use crawlhost_sdk::http::{self, Request};
use crawlhost_sdk::{CrawlError, Run};

/// Default `base_url`.
pub const DEFAULT_BASE_URL: &str = "https://www.oliveyoung.co.kr";
/// Default `max_pages`.
pub const DEFAULT_MAX_PAGES: u64 = 100;
/// Products per AJAX page (`rowsPerPage`); a shorter page is the last one.
pub const ROWS_PER_PAGE: usize = 24;
/// Brands per page of a category's brand filter; a full page may have a
/// next one even when no pager says so.
pub const BRANDS_PER_CATEGORY_PAGE: usize = 24;
/// The `dispCatNo` the category landing is opened with.
const LANDING_DISP_CAT_NO: &str = "10000010002";

/// Default `record_layout`.
pub const DEFAULT_RECORD_LAYOUT: &str = "current";

/// The shape of brand records (`current` or `legacy`), defined by the brand
/// record contract.
pub use oliveyoung_brand_record::Layout as RecordLayout;

/// The plugin's configuration, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Site root without a trailing `/`, e.g. `https://www.oliveyoung.co.kr`.
    pub base_url: String,
    /// Safety cap on pages fetched per brand (and per category).
    pub max_pages: u32,
    /// The shape of brand records.
    pub record_layout: RecordLayout,
}

impl Settings {
    /// Settings of the current run.
    pub fn from_run(run: &Run) -> Result<Self, CrawlError> {
        Self::from_values(
            run.config("base_url"),
            run.config("max_pages"),
            run.config("record_layout"),
        )
    }

    /// Settings from raw config values (none = default).
    pub fn from_values(
        base_url: Option<&str>,
        max_pages: Option<&str>,
        record_layout: Option<&str>,
    ) -> Result<Self, CrawlError> {
        let base_url = base_url
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_string();
        let bad_base = |why: &str| {
            CrawlError::Other(format!(
                "config key `base_url` must be an http(s) URL without query, got `{base_url}`: {why}"
            ))
        };
        // Let the SDK's URL parser judge the value.
        let probe = http::get(&format!("{base_url}/")).map_err(|_| bad_base("not a valid URL"))?;
        let probe = probe.url();
        if !(probe.starts_with("http://") || probe.starts_with("https://")) {
            return Err(bad_base("not http or https"));
        }
        if base_url.contains('?') || base_url.contains('#') {
            return Err(bad_base("has a query or fragment"));
        }
        let max_pages = match max_pages.map(str::trim).filter(|m| !m.is_empty()) {
            None => DEFAULT_MAX_PAGES,
            Some(m) => m.parse::<u64>().map_err(|_| {
                CrawlError::Other(format!(
                    "config key `max_pages` must be a number, got `{m}`"
                ))
            })?,
        };
        if max_pages == 0 {
            return Err(CrawlError::Other(
                "config key `max_pages` must be at least 1".into(),
            ));
        }
        let record_layout = match record_layout.map(str::trim).filter(|l| !l.is_empty()) {
            None | Some("current") => RecordLayout::Current,
            Some("legacy") => RecordLayout::Legacy,
            Some(other) => {
                return Err(CrawlError::Other(format!(
                    "config key `record_layout` must be `current` or `legacy`, got `{other}`"
                )));
            }
        };
        Ok(Settings {
            base_url,
            max_pages: u32::try_from(max_pages).unwrap_or(u32::MAX),
            record_layout,
        })
    }

    fn get(&self, path: &str) -> Result<Request, CrawlError> {
        http::get(&format!("{}{path}", self.base_url))
    }

    /// The category landing page.
    pub fn category_landing(&self) -> Result<Request, CrawlError> {
        Ok(self
            .get("/store/display/getCategoryShop.do")?
            .query("dispCatNo", LANDING_DISP_CAT_NO)
            .query("gateCd", "Drawer"))
    }

    /// Page `page` of a category's brand filter.
    pub fn category_page(&self, disp_cat_no: &str, page: u32) -> Result<Request, CrawlError> {
        Ok(self
            .get("/store/display/getMCategoryList.do")?
            .query("dispCatNo", disp_cat_no)
            .query("pageIdx", page.to_string()))
    }

    /// The brand list.
    pub fn brand_list(&self) -> Result<Request, CrawlError> {
        self.get("/store/main/getBrandList.do")
    }

    /// A brand's shop landing.
    pub fn brand_shop(&self, code: &str) -> Result<Request, CrawlError> {
        Ok(self
            .get("/store/display/getBrandShopDetail.do")?
            .query("onlBrndCd", code))
    }

    /// Page `page` of a brand's products (the AJAX fragment), sent the way
    /// the shop page's script sends it.
    pub fn goods_page(&self, code: &str, page: u32) -> Result<Request, CrawlError> {
        let referer = self.brand_shop(code)?.url().to_string();
        Ok(self
            .get("/store/display/getBrandShopDetailGoodsPagingAjax.do")?
            .query("onlBrndCd", code)
            .query("pageIdx", page.to_string())
            .query("dispCatNo", "")
            .query("prdSort", "rank")
            .query("rowsPerPage", ROWS_PER_PAGE.to_string())
            .header("x-requested-with", "XMLHttpRequest")
            .header("accept", "text/html, */*; q=0.01")
            .header("referer", &referer))
    }

    /// A product's detail page URL (what product records link to).
    pub fn goods_detail_url(&self, goods_no: &str) -> Result<String, CrawlError> {
        Ok(self
            .get("/store/goods/getGoodsDetail.do")?
            .query("goodsNo", goods_no)
            .url()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let s = Settings::from_values(None, None, None).unwrap();
        assert_eq!(s.base_url, "https://www.oliveyoung.co.kr");
        assert_eq!(s.max_pages, 100);
        assert_eq!(s.record_layout, RecordLayout::Current);
        let s = Settings::from_values(Some(" http://127.0.0.1:8080/ "), Some("3"), Some("legacy"))
            .unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.max_pages, 3);
        assert_eq!(s.record_layout, RecordLayout::Legacy);
        assert!(Settings::from_values(Some("ftp://x"), None, None).is_err());
        assert!(Settings::from_values(Some("not a url"), None, None).is_err());
        assert!(Settings::from_values(Some("http://x/?a=1"), None, None).is_err());
        assert!(Settings::from_values(None, Some("0"), None).is_err());
        assert!(Settings::from_values(None, Some("many"), None).is_err());
        let err = Settings::from_values(None, None, Some("bronze")).unwrap_err();
        assert!(format!("{err:?}").contains("record_layout"), "{err:?}");
    }

    #[test]
    fn urls_match_the_site() {
        let s = Settings::from_values(Some("http://127.0.0.1:8080"), None, None).unwrap();
        assert_eq!(
            s.category_landing().unwrap().url(),
            "http://127.0.0.1:8080/store/display/getCategoryShop.do?dispCatNo=10000010002&gateCd=Drawer"
        );
        assert_eq!(
            s.category_page("100000100010013", 2).unwrap().url(),
            "http://127.0.0.1:8080/store/display/getMCategoryList.do?dispCatNo=100000100010013&pageIdx=2"
        );
        assert_eq!(
            s.goods_page("A000123", 3).unwrap().url(),
            "http://127.0.0.1:8080/store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd=A000123&pageIdx=3&dispCatNo=&prdSort=rank&rowsPerPage=24"
        );
        assert_eq!(
            s.brand_shop("A&B").unwrap().url(),
            "http://127.0.0.1:8080/store/display/getBrandShopDetail.do?onlBrndCd=A%26B"
        );
        assert_eq!(
            s.goods_detail_url("A000000123456").unwrap(),
            "http://127.0.0.1:8080/store/goods/getGoodsDetail.do?goodsNo=A000000123456"
        );
    }
}
