//! A second, independent rendition of the Oliveyoung site, written only from
//! the facts in `SOURCES.md` (URLs, identity selectors, message shape) and
//! the catalogue of [`Site::generate`], without looking at the first
//! rendition's markup or at the plugin. It serves the **same catalogue**
//! (brands, codes, names, products, prices, flags) with the markup a
//! different front-end team could have written, so a crawler that is right
//! only on the first rendition shows it here.
//!
//! # Kept exactly (what SOURCES.md pins down)
//! - Paths: `/store/display/getCategoryShop.do` and the older
//!   `/store/main/main.do` (the drawer, `#gnbAllMenu`),
//!   `/store/display/getMCategoryList.do?dispCatNo=&pageIdx=` (24 brands a
//!   page), `/store/main/getBrandList.do`,
//!   `/store/display/getBrandShopDetail.do?onlBrndCd=`,
//!   `/store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd=&pageIdx=`
//!   (24 a page, `rowsPerPage` honoured), `/store/goods/getGoodsDetail.do`,
//!   `/robots.txt` (allows everything).
//! - Category anchors: `href` contains `javascript:common.link.moveCategory(`,
//!   with `data-attr` = `공통^드로우^<big>_<small>` and `data-ref-dispcatno`.
//! - Category brand filter: `input[type=checkbox][data-brndnm]` (Korean name).
//! - Brand list: `a[data-ref-onlbrndcd]`, link text = brand name, each brand
//!   twice (Korean index, then English index).
//! - Product cards: `li[data-goods-idx]` holding `a[data-ref-goodsNo]` and
//!   `.prod-name`; `div.prod-info` whose first `<a>` carries `data-attr` = the
//!   item name. The shop landing shows page 1 with the same cards.
//! - Product detail: `.prd_brand`.
//!
//! # Chosen here (departures from SOURCES.md's example classes)
//! - **Prices**: no `span.tx_org` / `span.tx_cur`. A `div.price-box` holds
//!   the list price as `<del class="price-before">32,000<em>원</em></del>`
//!   (suffix `원`, unit in its own element) and the selling price as
//!   `<strong class="price-now"><span class="won">₩</span>24,000</strong>`
//!   (prefix `₩`). The list price is printed for every product whose catalogue
//!   entry shows it (promoted or not), as the catalogue says.
//! - **Promotion**: no `div.discount` and no `span.icon_flag.sale`. A
//!   promoted card has `<span class="rate">25%</span>` in the price box and
//!   an `<em class="badge promo">특가</em>` badge; the catalogue's flags are
//!   badges too (`<em class="badge sale">세일</em>`, `coupon` 쿠폰, `gift` 증정,
//!   `delivery` 오늘드림).
//! - **Sold out**: no `span.soldout`; `<span class="sold-layer">일시품절</span>`
//!   over the thumbnail.
//! - **Rating / reviews**: no `.point` / `.num`; `<div class="review-summary">
//!   <span class="stars" aria-label="평점 4.7">★4.7</span>
//!   <span class="review-count">리뷰 1,234</span></div>`; nothing at all for a
//!   product without reviews.
//! - **Brand heading** on the shop page: `section.brandshop-hero` with
//!   `h1.brandshop-hero__name` (Korean) and a separate
//!   `p.brandshop-hero__en` (English).
//! - **Pager**: `nav.pager` with `a.pager__item[data-index]` (not
//!   `.pageing a[data-page-no]`), plus a total `p.goods-total` (`전체 <b>57</b>개`)
//!   on the landing and `input[type=hidden][name=totCnt]` on AJAX pages; an
//!   AJAX page past the end answers an empty-state `<p class="no-goods">`.
//! - **Wrappers / attributes**: cards sit in `ul.goods-grid` (landing) or bare
//!   `<li>`s (AJAX fragment); `data-goods-idx` is the absolute rank and
//!   unquoted; `data-attr` comes before `href` on the card link and uses
//!   single quotes; `type=checkbox` unquoted on the filter.
//! - **Escaping**: Lucy-XSS style (common on Korean JSP sites): `&` `<` `>`
//!   `"` `'` `(` `)` become `&amp;` `&lt;` `&gt;` `&quot;` `&#39;` `&#40;`
//!   `&#41;` in text and attributes, so names like `세트 (본품+리필)` and
//!   `& 미니 증정` reach the client as entities.
//! - **Noise**: `dataLayer` scripts naming goods numbers, a
//!   `<script type="text/x-template">` card template with `{{goodsNo}}`
//!   placeholders, tracking pixels, cart buttons with `data-goods-no`, a
//!   `<select>` of sort options, header and footer.
//!
//! # Imperfections (deliberate, reflected in [`alt_truth`])
//! - [`MISSING_PRICE_EVERY`]: every 1013th product (from the 500th) shows
//!   `가격 문의` instead of any price, so both prices are rightly null.
//! - One extra brand ([`EMPTY_BRAND_CODE`]) is in the brand list but has no
//!   products (shop page with an empty state); it is not in the ground truth
//!   and is reported as an extra when it lands.
//! - The first rendition's request faults (HTTP 500s, truncated pages) are
//!   **not** served: every page answers, so the five brands the ground truth
//!   marks incomplete are complete here ([`alt_truth`] patches that).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::model::{Brand, Product, Site};
use super::truth::GroundTruth;
use crate::html::thousands;

/// Every how many products one card shows no price at all.
pub const MISSING_PRICE_EVERY: usize = 1013;
/// The first product (index) without a price.
const MISSING_PRICE_FROM: usize = 500;
/// The extra brand with no products (codes of the catalogue are `A0` + up to
/// 29,999, so this never collides).
pub const EMPTY_BRAND_CODE: &str = "A099001";
const EMPTY_BRAND_KO: &str = "제로샵";
const EMPTY_BRAND_EN: &str = "Zeroshop";
const ROBOTS: &str = "User-agent: *\nAllow: /\n";

/// The second rendition: the catalogue plus this rendition's imperfections.
#[derive(Debug, Clone)]
pub struct AltSite {
    site: Site,
    no_price: HashSet<String>,
}

/// A reply: status, content type, body.
pub type AltReply = (u16, &'static str, String);

/// Lucy-XSS style escaping, for text and attributes alike.
fn lucy(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '(' => out.push_str("&#40;"),
            ')' => out.push_str("&#41;"),
            c => out.push(c),
        }
    }
    out
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

const HEAD_NOISE: &str = r#"<meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="stylesheet" href="/pc-static-root/css/app.min.css?v=20240820">
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script>
<script src="/pc-static-root/js/common.link.js" defer></script>"#;

const HEADER: &str = r#"<header class="site-header"><a class="logo" href="/store/main/main.do"><img src="/pc-static-root/image/logo.svg" alt="OLIVE YOUNG"></a>
<form class="search" action="/store/search/getSearchMain.do"><input type="search" name="query" placeholder="검색어를 입력해 주세요"><button type="submit">검색</button></form>
<nav class="util"><a href="/store/login/loginForm.do">로그인</a> <a href="/store/cart/getCart.do">장바구니 <span class="cart-count">0</span></a></nav></header>"#;

const FOOTER: &str = r#"<footer class="site-footer"><p>CJ올리브영 주식회사 &middot; 서울특별시 중구 &middot; 고객센터 1577-4887</p>
<img src="/log/pv.gif?t=footer" width="1" height="1" alt="" style="display:none"></footer>"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<title>{} | 올리브영</title>\n{HEAD_NOISE}\n</head>\n<body class=\"pc\">\n{HEADER}\n<main id=\"contents\">\n{body}\n</main>\n{FOOTER}\n</body>\n</html>\n",
        lucy(title)
    )
}

impl AltSite {
    /// The rendition of `site` (its catalogue; its faults are not served).
    pub fn new(site: Site) -> AltSite {
        let no_price = site
            .products()
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                *i >= MISSING_PRICE_FROM
                    && (i - MISSING_PRICE_FROM).is_multiple_of(MISSING_PRICE_EVERY)
            })
            .map(|(_, p)| p.goods_no.clone())
            .collect();
        AltSite { site, no_price }
    }

    /// The catalogue served.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// Goods numbers whose card shows no price at all.
    pub fn products_without_price(&self) -> &HashSet<String> {
        &self.no_price
    }

    /// Answer one request (path without the query, and the raw query).
    pub fn handle(&self, path: &str, query: &str) -> AltReply {
        const HTML: &str = "text/html;charset=UTF-8";
        let not_found = || {
            (
                404,
                HTML,
                page(
                    "페이지를 찾을 수 없습니다",
                    "<div class=\"error-page\"><h2>요청하신 페이지를 찾을 수 없습니다.</h2></div>",
                ),
            )
        };
        match path {
            "/robots.txt" => (200, "text/plain; charset=utf-8", ROBOTS.to_string()),
            "/store/display/getCategoryShop.do" | "/store/main/main.do" | "/" => {
                (200, HTML, self.landing())
            }
            "/store/display/getMCategoryList.do" => {
                let Some(cat) =
                    query_param(query, "dispCatNo").and_then(|c| self.site.category(&c).cloned())
                else {
                    return not_found();
                };
                let page_idx = query_param(query, "pageIdx")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
                (200, HTML, self.category_page(&cat, page_idx))
            }
            "/store/main/getBrandList.do" => (200, HTML, self.brand_list()),
            "/store/display/getBrandShopDetail.do" => {
                match query_param(query, "onlBrndCd").as_deref() {
                    Some(EMPTY_BRAND_CODE) => (200, HTML, self.empty_shop()),
                    Some(code) => match self.site.brand(code) {
                        Some(b) => (200, HTML, self.shop(b)),
                        None => not_found(),
                    },
                    None => not_found(),
                }
            }
            "/store/display/getBrandShopDetailGoodsPagingAjax.do" => {
                let rows = query_param(query, "rowsPerPage")
                    .and_then(|r| r.parse::<usize>().ok())
                    .filter(|r| *r > 0)
                    .unwrap_or(24);
                let page_idx = query_param(query, "pageIdx")
                    .and_then(|p| p.parse::<usize>().ok())
                    .unwrap_or(1)
                    .max(1);
                match query_param(query, "onlBrndCd").as_deref() {
                    Some(EMPTY_BRAND_CODE) => (200, HTML, self.goods_fragment(&[], 1, rows)),
                    Some(code) => match self.site.brand(code) {
                        Some(b) => (200, HTML, self.goods_fragment(&b.products, page_idx, rows)),
                        None => not_found(),
                    },
                    None => not_found(),
                }
            }
            "/store/goods/getGoodsDetail.do" => {
                match query_param(query, "goodsNo").and_then(|g| self.site.product(&g).cloned()) {
                    Some(p) => (200, HTML, self.detail(&p)),
                    None => not_found(),
                }
            }
            _ => not_found(),
        }
    }

    fn landing(&self) -> String {
        let mut body = String::from(
            "<section class=\"cate-shop\">\n<div class=\"cate-shop__banner\"><a href=\"javascript:common.link.moveMainHome();\">홈</a> &gt; <span>카테고리</span></div>\n<div id=\"gnbAllMenu\" class=\"all-menu\" role=\"navigation\">\n",
        );
        let mut current_big = "";
        for c in self.site.categories() {
            if c.big != current_big {
                if !current_big.is_empty() {
                    body.push_str("</ul></div>\n");
                }
                current_big = c.big;
                let _ = writeln!(
                    body,
                    "<div class=\"menu-col\"><h4 class=\"menu-big\">{}</h4><ul class=\"menu-list\">",
                    lucy(c.big)
                );
            }
            let name = c.name();
            let _ = writeln!(
                body,
                "<li><a class=\"menu-small\" data-attr='공통^드로우^{attr}' data-ref-dispcatno=\"{no}\" href=\"javascript:common.link.moveCategory('{no}','','','Drawer_{attr}');\">{small}</a></li>",
                attr = lucy(&name),
                no = c.disp_cat_no,
                small = lucy(&c.small),
            );
        }
        if !current_big.is_empty() {
            body.push_str("</ul></div>\n");
        }
        body.push_str(
            "</div>\n<div class=\"cate-shop__links\"><a href=\"javascript:common.link.moveBrandList();\">브랜드관</a> <a href=\"/store/main/getBrandList.do\">전체 브랜드</a></div>\n</section>\n",
        );
        page("카테고리", &body)
    }

    fn category_page(&self, cat: &super::model::Category, page_idx: usize) -> String {
        let per = super::model::BRANDS_PER_CATEGORY_PAGE;
        let mut body = format!(
            "<section class=\"cate-list\" data-disp-cat-no=\"{}\">\n<h2 class=\"cate-title\">{}</h2>\n<aside class=\"filter\"><div class=\"filter-brand\"><h3>브랜드</h3>\n<ul class=\"chk-list\">\n",
            cat.disp_cat_no,
            lucy(&cat.small)
        );
        for &b in cat.brands.iter().skip((page_idx - 1) * per).take(per) {
            let brand = &self.site.brands()[b];
            let _ = writeln!(
                body,
                "<li><input type=checkbox id=\"brnd_{code}\" name=\"onlBrndCd\" value=\"{code}\" data-brndnm=\"{name}\"><label for=\"brnd_{code}\">{name}</label></li>",
                code = brand.code,
                name = lucy(&brand.name_ko)
            );
        }
        body.push_str("</ul>\n");
        let pages = cat.pages();
        body.push_str("<nav class=\"pager\">");
        for p in 1..=pages {
            let _ = write!(
                body,
                "<a class=\"pager__item{}\" href=\"#\" data-index=\"{p}\">{p}</a>",
                if p == page_idx { " is-current" } else { "" }
            );
        }
        body.push_str("</nav></div></aside>\n</section>\n");
        page(&cat.name(), &body)
    }

    fn brand_list(&self) -> String {
        let mut brands: Vec<(&str, &str, &str)> = self
            .site
            .brands()
            .iter()
            .map(|b| (b.code.as_str(), b.name_ko.as_str(), b.name_en.as_str()))
            .collect();
        brands.push((EMPTY_BRAND_CODE, EMPTY_BRAND_KO, EMPTY_BRAND_EN));
        let mut body = String::from(
            "<section class=\"brand-index\">\n<h2>전체 브랜드</h2>\n<div class=\"brand-index__tabs\"><button class=\"on\" data-tab=\"ko\">가나다</button><button data-tab=\"en\">ABC</button></div>\n<div class=\"brand-index__panel\" data-tab=\"ko\"><ul class=\"brand-names\">\n",
        );
        let mut ko = brands.clone();
        ko.sort_by(|a, b| a.1.cmp(b.1));
        for (code, name, _) in &ko {
            let _ = writeln!(
                body,
                "<li><a href=\"javascript:;\" class=\"brand-link\" data-ref-onlbrndcd=\"{code}\">{}</a></li>",
                lucy(name)
            );
        }
        body.push_str("</ul></div>\n<div class=\"brand-index__panel\" data-tab=\"en\" style=\"display:none\"><ul class=\"brand-names\">\n");
        let mut en = brands;
        en.sort_by_key(|b| b.2.to_lowercase());
        for (code, _, name) in &en {
            let _ = writeln!(
                body,
                "<li>\n  <a data-ref-onlbrndcd='{code}' href=\"javascript:;\" class=\"brand-link en\">\n    {}\n  </a>\n</li>",
                lucy(name)
            );
        }
        body.push_str("</ul></div>\n</section>\n");
        page("브랜드", &body)
    }

    fn card(&self, p: &Product, rank: usize) -> String {
        let name = lucy(&p.name);
        let goods = &p.goods_no;
        let mut s = format!(
            "<li data-goods-idx={rank} class=\"prd-item\">\n<div class=\"prod-info\">\n<a data-attr='{name}' href=\"/store/goods/getGoodsDetail.do?goodsNo={goods}&amp;dispCatNo=\" data-ref-goodsNo=\"{goods}\" class=\"prd-link\" onclick=\"gtm.click('{goods}', {rank});\">\n<div class=\"img-box\"><img src=\"//image.oliveyoung.example/goods/{goods}.jpg\" alt=\"{name}\" loading=\"lazy\">"
        );
        if p.sold_out {
            s.push_str("<span class=\"sold-layer\">일시품절</span>");
        }
        let _ = write!(
            s,
            "</div>\n<p class=\"prod-name\">{name}</p>\n</a>\n<div class=\"price-box\">"
        );
        if self.no_price.contains(goods) {
            s.push_str("<span class=\"price-ask\">가격 문의</span>");
        } else {
            if p.on_promotion {
                let _ = write!(s, "<span class=\"rate\">{}%</span>", p.discount_pct);
            }
            if p.shows_original {
                let _ = write!(
                    s,
                    "<del class=\"price-before\">{}<em>원</em></del>",
                    thousands(p.price_original)
                );
            }
            let _ = write!(
                s,
                "<strong class=\"price-now\"><span class=\"won\">₩</span>{}</strong>",
                thousands(p.price_current)
            );
        }
        s.push_str("</div>\n<div class=\"badges\">");
        if p.on_promotion {
            s.push_str("<em class=\"badge promo\">특가</em>");
        }
        for flag in &p.flags {
            let label = match *flag {
                "sale" => "세일",
                "coupon" => "쿠폰",
                "gift" => "증정",
                "delivery" => "오늘드림",
                other => other,
            };
            let _ = write!(s, "<em class=\"badge {flag}\">{label}</em>");
        }
        s.push_str("</div>\n");
        if let (Some(r), Some(n)) = (p.rating_tenths, p.review_count) {
            let _ = writeln!(
                s,
                "<div class=\"review-summary\"><span class=\"stars\" aria-label=\"평점 {a}.{b}\">★{a}.{b}</span> <span class=\"review-count\">리뷰 {n}</span></div>",
                a = r / 10,
                b = r % 10,
                n = thousands(n)
            );
        }
        let _ = write!(
            s,
            "<button type=\"button\" class=\"btn-cart\" data-goods-no=\"{goods}\">장바구니 담기</button>\n</div>\n</li>\n"
        );
        s
    }

    fn cards(&self, products: &[usize], page_idx: usize, rows: usize) -> String {
        let start = (page_idx - 1) * rows;
        products
            .iter()
            .enumerate()
            .skip(start)
            .take(rows)
            .map(|(i, &p)| self.card(&self.site.products()[p], i + 1))
            .collect()
    }

    const TEMPLATE: &'static str = "<script type=\"text/x-template\" id=\"tplGoods\">\n<li data-goods-idx=\"{{idx}}\" class=\"prd-item\"><div class=\"prod-info\"><a data-attr=\"{{goodsNm}}\" data-ref-goodsNo=\"{{goodsNo}}\" href=\"/store/goods/getGoodsDetail.do?goodsNo={{goodsNo}}\"><p class=\"prod-name\">{{goodsNm}}</p></a><div class=\"price-box\"><strong class=\"price-now\"><span class=\"won\">₩</span>{{salePrc}}</strong></div></div></li>\n</script>";

    fn shop(&self, brand: &Brand) -> String {
        let rows = 24;
        let total = brand.products.len();
        let mut body = format!(
            "<section class=\"brandshop-hero\" style=\"background-image:url(//image.oliveyoung.example/brand/{code}.jpg)\">\n<h1 class=\"brandshop-hero__name\">{ko}</h1>\n<p class=\"brandshop-hero__en\">{en}</p>\n<button type=\"button\" class=\"btn-like\" data-brand=\"{code}\">♡ 좋아요</button>\n</section>\n",
            code = brand.code,
            ko = lucy(&brand.name_ko),
            en = lucy(&brand.name_en)
        );
        let _ = write!(
            body,
            "<div class=\"goods-toolbar\"><p class=\"goods-total\">전체 <b>{total}</b>개</p><select name=\"prdSort\"><option value=\"rank\" selected>인기순</option><option value=\"new\">신상품순</option><option value=\"lowPrice\">낮은 가격순</option></select></div>\n<ul class=\"goods-grid\" id=\"brandGoodsList\">\n{}</ul>\n<nav class=\"pager\">",
            self.cards(&brand.products, 1, rows)
        );
        let pages = total.div_ceil(rows).max(1);
        for p in 1..=pages {
            let _ = write!(
                body,
                "<a class=\"pager__item{}\" href=\"#\" data-index=\"{p}\">{p}</a>",
                if p == 1 { " is-current" } else { "" }
            );
        }
        if pages > 1 {
            body.push_str("<a class=\"pager__next\" href=\"#\" data-index=\"2\">다음</a>");
        }
        let _ = write!(
            body,
            "</nav>\n{}\n<script>dataLayer.push({{'event':'brandshop','onlBrndCd':'{}','goods':[{}]}});</script>\n",
            Self::TEMPLATE,
            brand.code,
            brand
                .products
                .iter()
                .take(rows)
                .map(|&p| format!("'{}'", self.site.products()[p].goods_no))
                .collect::<Vec<_>>()
                .join(",")
        );
        page(&brand.name_ko, &body)
    }

    fn empty_shop(&self) -> String {
        let body = format!(
            "<section class=\"brandshop-hero\">\n<h1 class=\"brandshop-hero__name\">{EMPTY_BRAND_KO}</h1>\n<p class=\"brandshop-hero__en\">{EMPTY_BRAND_EN}</p>\n</section>\n<div class=\"goods-toolbar\"><p class=\"goods-total\">전체 <b>0</b>개</p></div>\n<ul class=\"goods-grid\" id=\"brandGoodsList\"></ul>\n<p class=\"no-goods\">등록된 상품이 없습니다.</p>\n{}\n",
            Self::TEMPLATE
        );
        page(EMPTY_BRAND_KO, &body)
    }

    fn goods_fragment(&self, products: &[usize], page_idx: usize, rows: usize) -> String {
        let cards = self.cards(products, page_idx, rows);
        if cards.is_empty() {
            return format!(
                "<input type=\"hidden\" name=\"totCnt\" value=\"{}\">\n<p class=\"no-goods\">상품이 없습니다.</p>\n",
                products.len()
            );
        }
        format!(
            "<input type=\"hidden\" name=\"totCnt\" value=\"{}\">\n{cards}<script>dataLayer.push({{'event':'goodsPaging','pageIdx':{page_idx}}});</script>\n",
            products.len()
        )
    }

    fn detail(&self, p: &Product) -> String {
        let brand = self.site.brand_of(p);
        let mut body = format!(
            "<div class=\"prd-detail\">\n<div class=\"prd-detail__img\"><img src=\"//image.oliveyoung.example/goods/{g}.jpg\" alt=\"{name}\"></div>\n<div class=\"prd-detail__info\">\n<a class=\"prd_brand\" href=\"/store/display/getBrandShopDetail.do?onlBrndCd={code}\">{brand}</a>\n<h2 class=\"goods-title\">{name}</h2>\n<div class=\"price-box\">",
            g = p.goods_no,
            name = lucy(&p.name),
            code = brand.code,
            brand = lucy(&brand.name_ko)
        );
        if !self.no_price.contains(&p.goods_no) {
            if p.shows_original {
                let _ = write!(
                    body,
                    "<del class=\"price-before\">{}<em>원</em></del>",
                    thousands(p.price_original)
                );
            }
            let _ = write!(
                body,
                "<strong class=\"price-now\"><span class=\"won\">₩</span>{}</strong>",
                thousands(p.price_current)
            );
        } else {
            body.push_str("<span class=\"price-ask\">가격 문의</span>");
        }
        body.push_str("</div>\n</div>\n</div>\n");
        page(&p.name, &body)
    }
}

/// The ground truth of this rendition: [`Site::ground_truth`] with what this
/// rendition serves differently: no request faults (every brand complete,
/// no failed pages, every shop heading present, nothing skipped) and no
/// prices on the cards of [`AltSite::products_without_price`]. The empty
/// extra brand is not in it.
pub fn alt_truth(alt: &AltSite, base_url: &str, run_started_at_ms: i64) -> GroundTruth {
    let site = alt.site();
    let mut truth = site.ground_truth(base_url, run_started_at_ms);
    for (code, record) in truth.brands.iter_mut() {
        if truth.incomplete.contains_key(code) {
            let brand = site.brand(code).expect("a brand of the site");
            record["complete"] = Value::Bool(true);
            record["failed_pages"] = Value::Array(Vec::new());
            record["shop_brand_name"] = Value::String(brand.name_ko.clone());
        }
    }
    truth.incomplete.clear();
    truth.skipped.clear();
    for goods in alt.products_without_price() {
        let record = truth
            .products
            .get_mut(goods)
            .expect("a product of the site");
        record["price_current"] = Value::Null;
        record["price_original"] = Value::Null;
    }
    truth
}

async fn serve_one(State(alt): State<Arc<AltSite>>, uri: Uri) -> Response {
    let (status, content_type, body) = alt.handle(uri.path(), uri.query().unwrap_or(""));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// The axum router of the rendition (every path goes through
/// [`AltSite::handle`]).
pub fn alt_router(alt: AltSite) -> Router {
    Router::new().fallback(serve_one).with_state(Arc::new(alt))
}

/// Serve the rendition of `site` on an ephemeral local port; returns the
/// base URL (`http://127.0.0.1:<port>`) and the server task.
pub async fn spawn_alt(site: Site) -> std::io::Result<(String, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = alt_router(AltSite::new(site));
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_catalogue() {
        let alt = AltSite::new(Site::generate(7));
        let (status, _, robots) = alt.handle("/robots.txt", "");
        assert_eq!(status, 200);
        assert!(robots.contains("Allow: /"));
        let (_, _, landing) =
            alt.handle("/store/display/getCategoryShop.do", "dispCatNo=10000010002");
        assert_eq!(landing.matches("common.link.moveCategory(").count(), 24);
        let (_, _, list) = alt.handle("/store/main/getBrandList.do", "");
        assert_eq!(list.matches("data-ref-onlbrndcd").count(), 2 * 301);
        let brand = &alt.site().brands()[0];
        let (_, _, ajax) = alt.handle(
            "/store/display/getBrandShopDetailGoodsPagingAjax.do",
            &format!(
                "onlBrndCd={}&pageIdx=1&dispCatNo=&prdSort=rank&rowsPerPage=24",
                brand.code
            ),
        );
        assert_eq!(
            ajax.matches("<li data-goods-idx=").count(),
            brand.products.len().min(24)
        );
        assert_eq!(alt.products_without_price().len(), 5);
        let (status, _, _) =
            alt.handle("/store/display/getBrandShopDetail.do", "onlBrndCd=A099001");
        assert_eq!(status, 200);
    }
}
