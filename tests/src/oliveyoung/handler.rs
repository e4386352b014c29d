//! Request routing and the request-level faults, as a plain synchronous
//! function of (method, path and query) -> reply. The axum server in
//! `server` is a thin wrapper around it, and in-process tests (the plugin's
//! native flow tests) call it directly, so both see the very same responses.
//!
//! Per-instance state (the flaky brands' hit counters) lives here, not in the
//! [`Site`]: every handler starts fresh and a site can back many handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::model::Site;
use super::pages::{ERROR_404_HTML, ERROR_500_HTML, ROBOTS_TXT};

/// `text/html` in UTF-8, as the real site labels its pages.
pub const HTML: &str = "text/html;charset=UTF-8";
/// `text/plain` in UTF-8 (robots.txt).
pub const TEXT: &str = "text/plain;charset=UTF-8";

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `content-type` header.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

impl Reply {
    fn html(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: HTML,
            body,
        }
    }

    fn found(body: Option<String>) -> Self {
        match body {
            Some(body) => Reply::html(200, body),
            None => Reply::not_found(),
        }
    }

    fn not_found() -> Self {
        Reply::html(404, ERROR_404_HTML.to_string())
    }

    fn server_error() -> Self {
        Reply::html(500, ERROR_500_HTML.to_string())
    }
}

/// Answers requests for one [`Site`], counting what the faults need.
#[derive(Debug)]
pub struct Handler {
    site: Arc<Site>,
    /// Requests seen for each flaky brand's shop page, in the order of
    /// [`super::Faults::first_request_500`].
    flaky_hits: Vec<AtomicU64>,
}

impl Handler {
    /// A handler with fresh counters.
    pub fn new(site: Arc<Site>) -> Self {
        let flaky_hits = site
            .faults()
            .first_request_500()
            .map(|_| AtomicU64::new(0))
            .collect();
        Handler { site, flaky_hits }
    }

    /// The site served.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Answer `method path?query` (`path_and_query` as in the request line,
    /// e.g. `/store/main/getBrandList.do?x=1`). Query values are
    /// form-urlencoded; unknown parameters are ignored.
    pub fn handle(&self, method: &str, path_and_query: &str) -> Reply {
        if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
            return Reply::html(405, ERROR_404_HTML.to_string());
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
            .collect();
        let param = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
        // `pageIdx` as the site reads it: missing, malformed or 0 mean page 1.
        let page = params
            .get("pageIdx")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let site = &self.site;
        match path {
            "/robots.txt" => Reply {
                status: 200,
                content_type: TEXT,
                body: ROBOTS_TXT.to_string(),
            },
            "/store/display/getCategoryShop.do" => Reply::html(200, site.category_landing_html()),
            "/store/display/getMCategoryList.do" => {
                Reply::found(site.category_page_html(param("dispCatNo"), page))
            }
            "/store/main/getBrandList.do" => Reply::html(200, site.brand_list_html()),
            "/store/display/getBrandShopDetail.do" => self.brand_shop(param("onlBrndCd")),
            "/store/display/getBrandShopDetailGoodsPagingAjax.do" => {
                Reply::found(site.goods_page_html(param("onlBrndCd"), page))
            }
            "/store/goods/getGoodsDetail.do" => {
                Reply::found(site.goods_detail_html(param("goodsNo")))
            }
            _ => Reply::not_found(),
        }
    }

    fn brand_shop(&self, code: &str) -> Reply {
        let faults = self.site.faults();
        if faults.shop_always_500.iter().any(|c| c == code) {
            return Reply::server_error();
        }
        if let Some(i) = faults.first_request_500().position(|c| c == code)
            && self.flaky_hits[i].fetch_add(1, Ordering::SeqCst) == 0
        {
            return Reply::server_error();
        }
        Reply::found(self.site.brand_shop_html(code))
    }
}
