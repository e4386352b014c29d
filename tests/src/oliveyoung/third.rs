//! A third, independent rendition of the Oliveyoung site: the same
//! catalogue ([`Site`]) and the same URL paths as SOURCES.md lists, with the
//! markup a different front-end team might ship in a 2025 redesign. Written
//! from SOURCES.md and the public catalogue types only (not from the other
//! two renditions nor from the plugin), to measure how much a plugin tuned
//! on its own fixture reads from a site it has never seen.
//!
//! # What is kept (the identity facts SOURCES.md pins down)
//! - Category landing (`/store/display/getCategoryShop.do`, also served at
//!   `/store/main/main.do`): leaf categories are `<a>` whose `href` holds
//!   `javascript:common.link.moveCategory(`, with `data-ref-dispcatno` and a
//!   `data-attr` ending in `^<big>_<small>`.
//! - Brand filter of a category (`/store/display/getMCategoryList.do`,
//!   `dispCatNo`, `pageIdx`, 24 brands a page): `input[type=checkbox]` with
//!   `data-brndnm` = the Korean brand name.
//! - Brand list (`/store/main/getBrandList.do`): `a[data-ref-onlbrndcd]`
//!   whose link text is the brand name, each brand twice (Korean index,
//!   then English index).
//! - Product cards (brand shop landing and the AJAX goods pages, 24 a page):
//!   `li[data-goods-idx]` holding `div.prod-info`, whose first `<a>` carries
//!   `data-attr` = the item name and `data-ref-goodsNo`, and `.prod-name`.
//!
//! # What this team chose (everything else)
//! - **Prices**: a `div.prd-card__price` block with the selling price in a
//!   `data-price` attribute and as plain text `19,800원`
//!   (`span.prd-card__sale`, no `strong`/`em`/`b`); about a tenth of the cards
//!   (goods number ending in 3) show an option range `19,800원~` (the value is
//!   the lowest, the selling price). The list price is shown **only on
//!   promotion** (as live Korean shops do), as a plain span
//!   `span.prd-card__was` *after* the selling price, struck through by CSS
//!   only (no `del`/`s`), labelled `<span class="blind">정가</span>`. So:
//!   `price_original` is null in the truth for products not on promotion
//!   (their list price equals the selling price, and a plugin that infers so
//!   is counted right as well) and for promoted products whose card hides the
//!   list price (`shows_original == false`).
//! - **Promotion**: a discount rate `em.prd-card__rate` (`23%`) before the
//!   selling price on every promoted card, plus a `span.badge` `세일` on most
//!   of them (the catalogue's `sale` flag). No `div.discount`.
//! - **Sold out**: the card `li` gets the modifier class `prd-card--out`, and
//!   an overlay `span.state-label` with the text `일시품절` sits in the
//!   thumbnail; the cart button is `disabled`. No `soldout` anywhere.
//! - **Rating and review count**: `span.prd-card__score` `4.7점` and
//!   `span.prd-card__count` `(1,234)`; counts of 10,000 and more are
//!   abbreviated as the Korean apps do: `(1.2만)`, `(2만)`. The truth for
//!   those is the displayed value (12,000, 20,000); the exact catalogue
//!   count is accepted too. Products without reviews have no review block.
//!   A purely visual star bar `span.stars` with `style="--rate:94%"` too.
//! - **Shop heading**: `h1.brand-hero__title` = the Korean name, the English
//!   name in a sibling `p.brand-hero__sub`; `<title>` and `og:title` carry
//!   `<ko> 브랜드관 | 올리브영`.
//! - **Paging**: no numbered pager anywhere. The brand filter and the goods
//!   pages end with a "more" button carrying the next page
//!   (`button.btn-more[data-page-idx]`), present only when there is a next
//!   page. A page past the end answers 200 with no items (a brand of exactly
//!   24·k products shows a full last page and an empty next one).
//! - **Markup style**: unquoted numeric attributes (`data-goods-idx=3`),
//!   single quotes in places, varying attribute order, numeric character
//!   references in attributes (`&#38;`, `&#39;`), `&amp;` in text, whitespace
//!   and newlines around names in text (never in attributes), omitted
//!   optional end tags (`</li>` in the brand filter, `</p>` in places).
//! - **Noise**: the drawer menu is rendered twice (desktop and mobile), so
//!   every category anchor appears twice; top-level categories are
//!   `<button>`s, and "전체보기" links are plain hrefs. The brand filter has
//!   other checkboxes (price ranges, benefits) without `data-brndnm`. Shop
//!   pages carry a JSON-LD `BreadcrumbList`, a `dataLayer` push with the
//!   page's items, a "BEST" carousel of the first three products (plain
//!   `a[data-ref-goodsNo]`, not cards), and a card template inside
//!   `<script type="text/x-template">` with `{{goodsNo}}` placeholders.
//! - **Product detail**: `a.goods-head__brand`, `h1.goods-head__name`, prices
//!   with `₩` (`₩19,800`), and JSON-LD `Product` with `offers.price`.
//!
//! # Faults
//! None: this rendition serves every page of every brand, so the truth
//! ([`third_ground_truth`]) has every brand complete (`complete: true`, no
//! `failed_pages`, the shop heading read) and nothing skipped, whatever the
//! catalogue's [`super::Faults`] say.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::model::{BRANDS_PER_CATEGORY_PAGE, Brand, Product, ROWS_PER_PAGE, Site};
use super::truth::GroundTruth;
use crate::html::{esc, thousands};

const HTML: &str = "text/html;charset=UTF-8";

/// Bind `127.0.0.1:0`, serve the third rendition of `site`, and return the
/// base URL (no trailing slash) with the server task's handle.
pub async fn spawn_third(site: Site) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let router = third_router(Arc::new(site));
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("third oliveyoung rendition stopped: {e}");
        }
    });
    Ok((base_url, handle))
}

/// The axum router of the third rendition.
pub fn third_router(site: Arc<Site>) -> Router {
    Router::new().fallback(answer).with_state(site)
}

async fn answer(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let (status, content_type, body) = render_third(&site, pq);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response()
}

/// Status, content type and body for a path and query: the whole site as a
/// pure function.
pub fn render_third(site: &Site, path_and_query: &str) -> (u16, &'static str, String) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let page_idx = param("pageIdx").parse::<usize>().ok().filter(|&n| n >= 1);
    let not_found = || (404, HTML, not_found_page());
    match path {
        "/robots.txt" => (200, "text/plain", "User-agent: *\nAllow: /\n".to_string()),
        "/store/display/getCategoryShop.do" | "/store/main/main.do" => (200, HTML, landing(site)),
        "/store/display/getMCategoryList.do" => match site.category(param("dispCatNo")) {
            Some(c) => (200, HTML, brand_filter(site, c, page_idx.unwrap_or(1))),
            None => not_found(),
        },
        "/store/main/getBrandList.do" => (200, HTML, brand_list(site)),
        "/store/display/getBrandShopDetail.do" => match site.brand(param("onlBrndCd")) {
            Some(b) => (200, HTML, shop(site, b)),
            None => not_found(),
        },
        "/store/display/getBrandShopDetailGoodsPagingAjax.do" => {
            match site.brand(param("onlBrndCd")) {
                Some(b) => {
                    let rows = param("rowsPerPage")
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .unwrap_or(ROWS_PER_PAGE);
                    (
                        200,
                        HTML,
                        goods_fragment(site, b, page_idx.unwrap_or(1), rows),
                    )
                }
                None => not_found(),
            }
        }
        "/store/goods/getGoodsDetail.do" => match site.product(param("goodsNo")) {
            Some(p) => (200, HTML, detail(site, p)),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// The list price the card shows, if any (only on promotion).
pub fn shown_list_price(p: &Product) -> Option<u64> {
    (p.on_promotion && p.shows_original).then_some(p.price_original)
}

/// The review count as the card shows it: exact under 10,000, else the
/// abbreviated `N.M만` value.
pub fn shown_review_count(p: &Product) -> Option<u64> {
    p.review_count
        .map(|n| if n < 10_000 { n } else { n / 1_000 * 1_000 })
}

/// The truth for a run against this rendition: the catalogue's truth with
/// no faults (every brand complete, its heading read, nothing skipped) and
/// the optional values as this markup shows them ([`shown_list_price`],
/// [`shown_review_count`]).
pub fn third_ground_truth(site: &Site, base_url: &str, run_started_at_ms: i64) -> GroundTruth {
    let mut t = site.ground_truth(base_url, run_started_at_ms);
    t.incomplete.clear();
    t.skipped.clear();
    t.failed_tasks.clear();
    for b in site.brands() {
        let rec = t
            .brands
            .get_mut(&b.code)
            .expect("every brand is in the truth");
        rec["complete"] = json!(true);
        rec["failed_pages"] = json!([]);
        rec["shop_brand_name"] = json!(b.name_ko);
        let items: serde_json::Map<String, Value> = b
            .products
            .iter()
            .map(|&i| {
                let p = &site.products()[i];
                (p.name.clone(), Value::Bool(p.on_promotion))
            })
            .collect();
        rec["items"] = Value::Object(items);
    }
    for p in site.products() {
        let rec = t
            .products
            .get_mut(&p.goods_no)
            .expect("every product is in the truth");
        rec["price_original"] = json!(shown_list_price(p));
        rec["price_current"] = json!(p.price_current);
        rec["on_promotion"] = json!(p.on_promotion);
        rec["sold_out"] = json!(p.sold_out);
        rec["rating"] = json!(p.rating());
        rec["review_count"] = json!(shown_review_count(p));
    }
    t
}

/// A value other than the truth's that is also right for `field` of
/// product `p` on this rendition: the list price of a product not on
/// promotion (it equals the selling price shown), the exact review count
/// behind an abbreviated one.
pub fn also_right(p: &Product, field: &str) -> Option<Value> {
    match field {
        "price_original" if !p.on_promotion => Some(json!(p.price_original)),
        "review_count" => p.review_count.map(|n| json!(n)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Pages

/// Attribute escaping with numeric character references, as this team's
/// template engine writes them.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small deterministic hash of a code, for stable per-item choices.
fn pick(code: &str, modulo: u64) -> u64 {
    code.bytes().fold(1_469_598_103_934_665_603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    }) % modulo
}

fn head(title: &str, extra: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=ko class=no-js>\n<head>\n<meta charset=utf-8>\n\
         <meta name=viewport content='width=device-width,initial-scale=1'>\n\
         <title>{title}</title>\n{extra}\
         <link rel=stylesheet href=/_next/static/css/a81f3c.css>\n\
         <script>window.dataLayer=window.dataLayer||[];</script>\n</head>\n"
    )
}

fn not_found_page() -> String {
    format!(
        "{}<body><main class=error-page><h1>페이지를 찾을 수 없습니다</h1></main></body></html>\n",
        head("올리브영", "")
    )
}

fn drawer(site: &Site, mobile: bool) -> String {
    let mut out = String::new();
    let mut current_big = "";
    let mut open = false;
    for c in site.categories() {
        if c.big != current_big {
            if open {
                out.push_str("  </ul>\n </li>\n");
            }
            current_big = c.big;
            open = true;
            out.push_str(&format!(
                " <li class=gnb__group>\n  <button type=button class=gnb__big aria-expanded=false>{}</button>\n  \
                 <a class=gnb__all href=\"/store/display/getCategoryShop.do?dispCatNo={}&amp;gateCd=Drawer\">전체보기</a>\n  <ul class=gnb__leaves>\n",
                esc(c.big),
                &c.disp_cat_no[..11],
            ));
        }
        let full = attr(&c.name());
        if mobile {
            out.push_str(&format!(
                "   <li><a data-attr='공통^모바일드로우^{full}' class=\"m-drawer__link\" href=\"javascript:common.link.moveCategory('{no}','0','MDrawer','A');\" data-ref-dispcatno={no}>{small}</a></li>\n",
                no = c.disp_cat_no,
                small = esc(&c.small),
            ));
        } else {
            out.push_str(&format!(
                "   <li><a href=\"javascript:common.link.moveCategory('{no}','0','Drawer','A');\" data-ref-dispcatno=\"{no}\" data-attr=\"공통^드로우^{full}\" class=\"gnb__leaf\">\n     {small}\n   </a></li>\n",
                no = c.disp_cat_no,
                small = esc(&c.small),
            ));
        }
    }
    if open {
        out.push_str("  </ul>\n </li>\n");
    }
    out
}

fn landing(site: &Site) -> String {
    format!(
        "{}<body class=page-category>\n<header class=site-header>\n<nav id=gnb-drawer class=gnb aria-label=카테고리>\n<ul class=gnb__list>\n{}</ul>\n</nav>\n</header>\n\
         <main id=content><section class=cate-hero><h2>카테고리</h2><p>원하는 카테고리를 선택하세요</p></section></main>\n\
         <aside id=m-drawer class=m-drawer hidden>\n<ul>\n{}</ul>\n</aside>\n\
         <script>window.dataLayer.push({{\"event\":\"page_view\",\"page_type\":\"category_shop\"}});</script>\n</body></html>\n",
        head("카테고리 | 올리브영", ""),
        drawer(site, false),
        drawer(site, true),
    )
}

fn brand_filter(site: &Site, c: &super::model::Category, page: usize) -> String {
    let start = (page - 1) * BRANDS_PER_CATEGORY_PAGE;
    let shown: Vec<&Brand> = c
        .brands
        .iter()
        .skip(start)
        .take(BRANDS_PER_CATEGORY_PAGE)
        .map(|&b| &site.brands()[b])
        .collect();
    let mut list = String::new();
    for b in &shown {
        // Attribute order varies with the template's branch; `</li>` omitted.
        if pick(&b.code, 2) == 0 {
            list.push_str(&format!(
                "  <li class=filter__item><label><input type=checkbox name=brndCd value={code} data-brndnm=\"{ko}\" class=chk> <span>{ko_text}</span></label>\n",
                code = b.code,
                ko = attr(&b.name_ko),
                ko_text = esc(&b.name_ko),
            ));
        } else {
            list.push_str(&format!(
                "  <li class=filter__item><label><input data-brndnm='{ko}' class=chk type=\"checkbox\" value=\"{code}\" name=brndCd> <span>{ko_text}</span><em class=filter__cnt>{n}</em></label>\n",
                code = b.code,
                ko = attr(&b.name_ko),
                ko_text = esc(&b.name_ko),
                n = b.products.len(),
            ));
        }
    }
    let more = if start + BRANDS_PER_CATEGORY_PAGE < c.brands.len() {
        format!(
            "<button type=button class=btn-more data-page-idx={} data-disp-cat-no={}>브랜드 더보기</button>\n",
            page + 1,
            c.disp_cat_no
        )
    } else {
        String::new()
    };
    format!(
        "{}<body class=page-mcate>\n<main id=content>\n<h2 class=cate-title>{small}</h2>\n\
         <form class=filter id=filterForm>\n<fieldset class=filter__group><legend>가격대</legend>\n\
         <label><input type=checkbox name=priceRange value=1> ~1만원</label>\n<label><input type=checkbox name=priceRange value=2> 1~3만원</label>\n\
         <label><input type=checkbox name=priceRange value=3> 3만원~</label>\n</fieldset>\n\
         <fieldset class=filter__group><legend>혜택</legend><label><input type=checkbox name=benefit value=sale> 세일</label><label><input type=checkbox name=benefit value=coupon> 쿠폰</label></fieldset>\n\
         <fieldset class='filter__group filter__group--brand'><legend>브랜드</legend>\n<ul class=filter__brands>\n{list}</ul>\n{more}</fieldset>\n</form>\n</main>\n</body></html>\n",
        head(&format!("{} | 올리브영", esc(&c.name())), ""),
        small = esc(&c.small),
    )
}

fn initial_of(name: &str) -> char {
    const INITIALS: [char; 19] = [
        'ㄱ', 'ㄱ', 'ㄴ', 'ㄷ', 'ㄷ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅂ', 'ㅅ', 'ㅅ', 'ㅇ', 'ㅈ', 'ㅈ', 'ㅊ',
        'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
    ];
    match name.chars().next() {
        Some(c @ '가'..='힣') => INITIALS[((c as u32 - 0xAC00) / 588) as usize],
        Some(c) => c.to_ascii_uppercase(),
        None => '#',
    }
}

fn brand_list(site: &Site) -> String {
    let mut ko: Vec<&Brand> = site.brands().iter().collect();
    ko.sort_by(|a, b| a.name_ko.cmp(&b.name_ko));
    let mut en: Vec<&Brand> = site.brands().iter().collect();
    en.sort_by_key(|b| b.name_en.to_lowercase());
    let section = |brands: &[&Brand], korean: bool| {
        let mut out = String::new();
        let mut current = None;
        for b in brands {
            let name = if korean { &b.name_ko } else { &b.name_en };
            let initial = initial_of(name);
            if current != Some(initial) {
                if current.is_some() {
                    out.push_str("  </ul></div>\n");
                }
                current = Some(initial);
                out.push_str(&format!(
                    "  <div class=brand-index__group><h4 class=brand-index__head>{initial}</h4><ul>\n"
                ));
            }
            // Some links are pretty-printed across lines.
            if pick(&b.code, 3) == 0 {
                out.push_str(&format!(
                    "   <li><a href='javascript:;' onclick=\"common.link.moveBrandShop('{code}')\" data-ref-onlbrndcd=\"{code}\">\n      {text}\n    </a>\n",
                    code = b.code,
                    text = esc(name),
                ));
            } else {
                out.push_str(&format!(
                    "   <li><a data-ref-onlbrndcd={code} href=\"javascript:;\" class=brand-index__link>{text}</a></li>\n",
                    code = b.code,
                    text = esc(name),
                ));
            }
        }
        if current.is_some() {
            out.push_str("  </ul></div>\n");
        }
        out
    };
    format!(
        "{}<body class=page-brands>\n<main id=content>\n<h2 class=page-title>브랜드</h2>\n\
         <div class=brand-tabs role=tablist><button role=tab aria-selected=true>가나다순</button><button role=tab>ABC순</button></div>\n\
         <section class=brand-index id=brand-ko lang=ko>\n{}</section>\n\
         <section class=brand-index id=brand-en lang=en hidden>\n{}</section>\n</main>\n</body></html>\n",
        head("브랜드 | 올리브영", ""),
        section(&ko, true),
        section(&en, false),
    )
}

fn review_count_text(n: u64) -> String {
    if n < 10_000 {
        thousands(n)
    } else {
        let tenths = n / 1_000;
        if tenths.is_multiple_of(10) {
            format!("{}만", tenths / 10)
        } else {
            format!("{}.{}만", tenths / 10, tenths % 10)
        }
    }
}

fn flag_label(flag: &str) -> &'static str {
    match flag {
        "sale" => "세일",
        "coupon" => "쿠폰",
        "gift" => "증정",
        "delivery" => "오늘드림",
        _ => "혜택",
    }
}

/// One product card, as on the shop landing and the AJAX pages.
fn card(site: &Site, p: &Product, idx: usize) -> String {
    let brand = site.brand_of(p);
    let goods = &p.goods_no;
    let range = if goods.ends_with('3') { "~" } else { "" };
    let mut price = format!(
        "<div class=prd-card__price data-price={cur}>",
        cur = p.price_current
    );
    if p.on_promotion {
        price.push_str(&format!(
            "<em class=prd-card__rate>{}%</em>",
            p.discount_pct
        ));
    }
    price.push_str(&format!(
        "<span class=prd-card__sale>{}원{range}</span>",
        thousands(p.price_current)
    ));
    if let Some(org) = shown_list_price(p) {
        price.push_str(&format!(
            "<span class=prd-card__was><span class=blind>정가</span>{}원</span>",
            thousands(org)
        ));
    }
    price.push_str("</div>");
    let tags = if p.flags.is_empty() {
        String::new()
    } else {
        let mut t = String::from("\n    <div class=prd-card__tags>");
        for f in &p.flags {
            t.push_str(&format!("<span class=badge>{}</span>", flag_label(f)));
        }
        t.push_str("</div>");
        t
    };
    let review = match (p.rating_tenths, p.review_count) {
        (Some(r), Some(n)) => format!(
            "\n    <div class=prd-card__review><span class=stars style=\"--rate:{pct}%\" aria-hidden=true></span><span class=prd-card__score>{}.{}점</span> <span class=prd-card__count>({})</span></div>",
            r / 10,
            r % 10,
            review_count_text(n),
            pct = r * 2,
        ),
        _ => String::new(),
    };
    let (li_class, overlay, disabled) = if p.sold_out {
        (
            "'prd-card prd-card--out'",
            "<span class=state-label>일시품절</span>",
            " disabled",
        )
    } else {
        ("prd-card", "", "")
    };
    format!(
        "<li class={li_class} data-goods-idx={idx}>\n  <div class=\"prod-info\">\n    \
         <a href=\"/store/goods/getGoodsDetail.do?goodsNo={goods}\" class='prd-card__link' data-ref-goodsNo=\"{goods}\" data-attr=\"{name_attr}\">\n      \
         <span class=prd-card__thumb><img src=\"https://image.oliveyoung.co.kr/cfimages/cf-goods/uploads/images/thumbnails/400/{goods}ko.jpg?l=ko\" alt=\"{name_attr}\" loading=lazy decoding=async>{overlay}</span>\n      \
         <span class=prd-card__brand>{brand}</span>\n      <p class=\"prod-name\">\n        {name}\n      </p>\n    </a>\n    \
         {price}{tags}{review}\n    <button type=button class=btn-cart data-goods-no={goods}{disabled}>장바구니</button>\n  </div>\n</li>\n",
        name_attr = attr(&p.name),
        name = esc(&p.name),
        brand = esc(&brand.name_ko),
    )
}

fn page_products<'a>(
    site: &'a Site,
    b: &Brand,
    page: usize,
    rows: usize,
) -> Vec<(usize, &'a Product)> {
    b.products
        .iter()
        .enumerate()
        .skip((page - 1) * rows)
        .take(rows)
        .map(|(i, &p)| (i + 1, &site.products()[p]))
        .collect()
}

fn more_button(b: &Brand, page: usize, rows: usize) -> String {
    if page * rows < b.products.len() {
        format!(
            "<button type=button class=btn-more data-page-idx={} data-onl-brnd-cd={}>상품 더보기</button>\n",
            page + 1,
            b.code
        )
    } else {
        String::new()
    }
}

fn data_layer(products: &[(usize, &Product)]) -> String {
    let items: Vec<Value> = products
        .iter()
        .map(|(i, p)| {
            json!({
                "item_id": p.goods_no,
                "item_name": p.name,
                "price": p.price_current,
                "index": i,
            })
        })
        .collect();
    let push = json!({"event": "view_item_list", "ecommerce": {"items": items}});
    format!("<script>window.dataLayer.push({push});</script>\n")
}

fn shop(site: &Site, b: &Brand) -> String {
    let first = page_products(site, b, 1, ROWS_PER_PAGE);
    let cards: String = first.iter().map(|(i, p)| card(site, p, *i)).collect();
    let best: String = first
        .iter()
        .take(3)
        .map(|(_, p)| {
            format!(
                "<div class=swiper-slide><a href=\"/store/goods/getGoodsDetail.do?goodsNo={g}\" data-ref-goodsNo=\"{g}\" class=best__link><img src=\"https://image.oliveyoung.co.kr/b/{g}.jpg\" alt=''><span class=best__name>{n}</span></a></div>",
                g = p.goods_no,
                n = esc(&p.name),
            )
        })
        .collect();
    let ld = json!({
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "홈", "item": "https://www.oliveyoung.co.kr/"},
            {"@type": "ListItem", "position": 2, "name": "브랜드", "item": "https://www.oliveyoung.co.kr/store/main/getBrandList.do"},
            {"@type": "ListItem", "position": 3, "name": b.name_ko},
        ]
    });
    let title = format!("{} 브랜드관 | 올리브영", esc(&b.name_ko));
    format!(
        "{}<body class=page-brandshop>\n<main id=content data-onl-brnd-cd={code}>\n\
         <section class=brand-hero>\n  <div class=brand-hero__bg style=\"background-image:url(https://image.oliveyoung.co.kr/brand/{code}.jpg)\"></div>\n  \
         <h1 class=brand-hero__title>{ko}</h1>\n  <p class=brand-hero__sub lang=en>{en}\n  <button type=button class=btn-like aria-pressed=false>좋아요</button>\n</section>\n\
         <section class=best aria-label=BEST><h3 class=best__title>BEST</h3><div class=swiper-wrapper>{best}</div></section>\n\
         <section class=goods>\n<div class=goods__bar><span class=goods__total>전체 <b>{total}</b>개</span>\n\
         <select name=prdSort><option value=rank selected>인기순</option><option value=new>신상품순</option><option value=price>낮은 가격순</option></select></div>\n\
         <ul class=prd-grid id=goodsList>\n{cards}</ul>\n{more}</section>\n</main>\n\
         <script type=\"text/x-template\" id=tpl-prd-card><li class=prd-card data-goods-idx=\"{{{{idx}}}}\"><div class=\"prod-info\"><a href=\"/store/goods/getGoodsDetail.do?goodsNo={{{{goodsNo}}}}\" data-ref-goodsNo=\"{{{{goodsNo}}}}\" data-attr=\"{{{{goodsNm}}}}\"><p class=prod-name>{{{{goodsNm}}}}</p></a><div class=prd-card__price data-price=\"{{{{salePrc}}}}\"><span class=prd-card__sale>{{{{salePrc}}}}원</span></div><span class=state-label>일시품절</span></div></li></script>\n\
         <script type=application/ld+json>{ld}</script>\n{dl}</body></html>\n",
        head(
            &title,
            &format!(
                "<meta property=og:title content=\"{}\">\n",
                attr(&format!("{} 브랜드관 | 올리브영", b.name_ko))
            )
        ),
        code = b.code,
        ko = esc(&b.name_ko),
        en = esc(&b.name_en),
        total = b.products.len(),
        more = more_button(b, 1, ROWS_PER_PAGE),
        dl = data_layer(&first),
    )
}

fn goods_fragment(site: &Site, b: &Brand, page: usize, rows: usize) -> String {
    let products = page_products(site, b, page, rows);
    if products.is_empty() {
        return "\n<!-- no more goods -->\n".to_string();
    }
    let mut out: String = products.iter().map(|(i, p)| card(site, p, *i)).collect();
    out.push_str(&more_button(b, page, rows));
    out
}

fn detail(site: &Site, p: &Product) -> String {
    let brand = site.brand_of(p);
    let ld = json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "sku": p.goods_no,
        "name": p.name,
        "brand": {"@type": "Brand", "name": brand.name_ko},
        "offers": {"@type": "Offer", "priceCurrency": "KRW", "price": p.price_current,
                   "availability": if p.sold_out { "https://schema.org/OutOfStock" } else { "https://schema.org/InStock" }},
    });
    let mut price = String::from("<div class=goods-head__price>");
    if p.on_promotion {
        price.push_str(&format!("<em class=rate>{}%</em>", p.discount_pct));
    }
    price.push_str(&format!(
        "<span class=sale>₩{}</span>",
        thousands(p.price_current)
    ));
    if let Some(org) = shown_list_price(p) {
        price.push_str(&format!("<span class=was>₩{}</span>", thousands(org)));
    }
    price.push_str("</div>");
    format!(
        "{}<body class=page-goods>\n<main id=content>\n<div class=goods-head>\n  \
         <a class=goods-head__brand href=\"/store/display/getBrandShopDetail.do?onlBrndCd={code}\">{ko}</a>\n  \
         <h1 class=goods-head__name>{name}</h1>\n  {price}\n{sold}</div>\n</main>\n\
         <script type=application/ld+json>{ld}</script>\n</body></html>\n",
        head(&format!("{} | 올리브영", esc(&p.name)), ""),
        code = brand.code,
        ko = esc(&brand.name_ko),
        name = esc(&p.name),
        sold = if p.sold_out {
            "  <p class=state-label>일시품절</p>\n"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_render_and_page_past_the_end_is_empty() {
        let site = Site::generate(7);
        let b = &site.brands()[0];
        let (s, _, body) = render_third(
            &site,
            &format!("/store/display/getBrandShopDetail.do?onlBrndCd={}", b.code),
        );
        assert_eq!(s, 200);
        assert!(body.contains(&format!(
            "<h1 class=brand-hero__title>{}</h1>",
            esc(&b.name_ko)
        )));
        let past = b.pages() + 1;
        let (s, _, body) = render_third(
            &site,
            &format!(
                "/store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd={}&pageIdx={past}&dispCatNo=&prdSort=rank&rowsPerPage=24",
                b.code
            ),
        );
        assert_eq!(s, 200);
        assert!(!body.contains("data-goods-idx"));
        assert_eq!(review_count_text(12_345), "1.2만");
        assert_eq!(review_count_text(20_999), "2만");
        assert_eq!(review_count_text(9_999), "9,999");
        let (_, _, landing) = render_third(&site, "/store/main/main.do");
        assert_eq!(
            landing
                .matches("javascript:common.link.moveCategory(")
                .count(),
            2 * site.categories().len()
        );
        let (_, _, list) = render_third(&site, "/store/main/getBrandList.do");
        assert_eq!(
            list.matches("data-ref-onlbrndcd").count(),
            2 * site.brands().len()
        );
    }
}
