//! A fourth, independent rendition of the Oliveyoung site: the same
//! catalogue as [`Site::generate`], served on the URL paths of SOURCES.md
//! with markup as a mobile-first front-end team might write it. Built only
//! from SOURCES.md, issue 14 and the public catalogue types, to measure how
//! much a crawler extracts from markup its authors never saw.
//!
//! Identity markup kept exactly as SOURCES.md pins it:
//! - landing: leaf category anchors with
//!   `href="javascript:common.link.moveCategory('<id>', ...)"`,
//!   `data-ref-dispcatno` and `data-attr="모바일^전체카테고리^<big>_<small>"`;
//! - category brand filter: `input[type=checkbox][data-brndnm]`, 24 brands a
//!   page (`pageIdx`);
//! - brand list: `a[data-ref-onlbrndcd]` with the name as link text, once in
//!   the Korean index (ㄱ, ㄴ, ... by initial consonant, sorted by Korean
//!   name) and once in the English index (sorted by English name);
//! - product cards `li[data-goods-idx]` holding `a[data-ref-goodsNo]`,
//!   `.prod-name` and a `div.prod-info` whose first `<a>` has
//!   `data-attr` = item name; the shop landing shows the first 24 cards with
//!   the same partial as the AJAX pages.
//!
//! Everything else is this rendition's own choice:
//! - prices: selling price `<em class="cur">19,800</em><span class="won">원</span>`;
//!   the list price is shown only for a product on promotion, struck:
//!   `<s class="origin">26,400<span>원</span></s>`. A product not on
//!   promotion shows one price (its list price equals its selling price, so
//!   a crawler may infer it; a `null` there counts as a miss). The product
//!   detail page writes prices as `19,800&nbsp;KRW` in `<strong>`/`<del>`.
//! - unit price noise after the price, `(10ml당 1,320원)`, for ml volumes;
//! - promotion: only a badge `<span class="badge-rate">25<i>%</i></span>` in
//!   the price box (no `div.discount`); flags are text chips
//!   (`<span class="chip">세일</span>`, 쿠폰, 증정, 오늘드림);
//! - sold out: an overlay `<div class="dim-soldout">` over the thumbnail and
//!   the cart button disabled with text `일시품절` (else `장바구니`);
//! - rating: star width only, `<span class="star-fill" style="width:94%">`
//!   (4.7 = 94%); review count as mobile apps print it: `리뷰 123`,
//!   `리뷰 1.2천` (1,000-9,999) or `리뷰 2.3만` (10,000 and more). The
//!   compressed forms cannot express the exact count: there the expected
//!   answer is `null`, and the rounded figure the page shows is counted as
//!   "approx", not wrong;
//! - paging: no numbered pager, a "더보기" button
//!   `<button class="btn-more" data-page-idx="2">` while more pages exist;
//!   pages past the end answer 200 with an empty list and a "no data" line;
//! - brand heading: `<h2 class="brand-tit">` in a hero block, English name in
//!   a `<p>` below it.
//!
//! Realistic imperfections: card hrefs carry tracking parameters
//! (`&dispCatNo=9000002&trackingCd=BrandShop_Goods`); a banner `li` with a
//! `data-goods-idx` and no goods number after the fourth card of page 1
//! (brands with at least eight products); a wish button carrying
//! `data-ref-goodsNo` (a `<button>`, not an `<a>`); names with surrounding
//! whitespace and newlines; single-quoted and unquoted attributes, and the
//! goods attribute spelled `DATA-REF-GOODSNO` on every other card; a quick
//! menu repeating four leaf category anchors (same id and name) above the
//! drawer; a "전체" checkbox with an empty `data-brndnm` and non-brand filter
//! checkboxes; like buttons with `data-ref-onlbrndcd` in the brand list.
//!
//! Not reproduced: the request-level faults of the main fixture (HTTP 500,
//! truncated pages). Every brand's record is therefore expected complete,
//! with its shop heading.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;

use super::model::{BRANDS_PER_CATEGORY_PAGE, Brand, Product, ROWS_PER_PAGE, Site};

/// Serve `site` in this rendition on a free loopback port; returns the base
/// URL (no trailing `/`) and the server task.
pub async fn spawn_fourth(site: Site) -> (String, JoinHandle<()>) {
    let site = Arc::new(site);
    let app = Router::new().fallback(get(move |uri: Uri| {
        let site = site.clone();
        async move { route(&site, &uri) }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), handle)
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html;charset=UTF-8")], body).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        "<html><body><p class=\"err\">페이지를 찾을 수 없습니다.</p></body></html>",
    )
        .into_response()
}

fn param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn page_idx(uri: &Uri) -> usize {
    param(uri, "pageIdx")
        .and_then(|p| p.parse().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1)
}

fn route(site: &Site, uri: &Uri) -> Response {
    match uri.path() {
        "/robots.txt" => (
            [(header::CONTENT_TYPE, "text/plain")],
            "User-agent: *\nAllow: /\n",
        )
            .into_response(),
        "/" | "/store/main/main.do" | "/store/display/getCategoryShop.do" => html(landing(site)),
        "/store/display/getMCategoryList.do" => {
            match param(uri, "dispCatNo").and_then(|c| site.category(&c).map(|_| c)) {
                Some(c) => html(category_page(site, &c, page_idx(uri))),
                None => not_found(),
            }
        }
        "/store/main/getBrandList.do" => html(brand_list(site)),
        "/store/display/getBrandShopDetail.do" => {
            match param(uri, "onlBrndCd").and_then(|c| site.brand(&c)) {
                Some(b) => html(brand_shop(site, b)),
                None => not_found(),
            }
        }
        "/store/display/getBrandShopDetailGoodsPagingAjax.do" => {
            match param(uri, "onlBrndCd").and_then(|c| site.brand(&c)) {
                Some(b) => html(goods_fragment(site, b, page_idx(uri))),
                None => not_found(),
            }
        }
        "/store/goods/getGoodsDetail.do" => {
            match param(uri, "goodsNo").and_then(|g| site.product(&g)) {
                Some(p) => html(detail(site, p)),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// Escape for attribute values and text (`'` as `&#39;`, `"` as `&quot;`).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `19800` -> `19,800`.
fn won(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=ko><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1,user-scalable=no\">\
         <title>{} | 올리브영 모바일</title>\
         <link rel=stylesheet href=\"/m/css/common.css?v=20241102\"></head>\n<body class=\"m-body\">\n\
         <header id=mHeader><h1 class=logo><a href=\"/m/main\">OLIVE YOUNG</a></h1>\
         <a href=\"javascript:common.link.moveMainTab('0001');\" class=\"btn-home\">홈</a>\
         <a href=\"/store/main/getBrandList.do\" class=btn-brand>브랜드</a></header>\n",
        esc(title)
    )
}

const FOOT: &str = "<footer class=\"m-foot\"><p>&copy; CJ OLIVEYOUNG Corp. 고객센터 1577-4887</p></footer>\n</body></html>\n";

fn cat_anchor(out: &mut String, site: &Site, i: usize, menu: &str) {
    let c = &site.categories()[i];
    let _ = write!(
        out,
        "<li><a href=\"javascript:common.link.moveCategory('{id}','0','{menu}','{i}');\" class=cate-link data-ref-dispcatno=\"{id}\" data-attr='모바일^{menu}^{name}'>{small}</a></li>",
        id = c.disp_cat_no,
        name = esc(&c.name()),
        small = esc(&c.small),
    );
}

fn landing(site: &Site) -> String {
    let mut out = head("카테고리");
    out.push_str("<div class=quick-cate><strong>자주 찾는 카테고리</strong><ul>");
    for i in [3usize, 0, 7, 1] {
        if i < site.categories().len() {
            cat_anchor(&mut out, site, i, "퀵메뉴");
        }
    }
    out.push_str("</ul></div>\n<nav class=m-drawer id=mDrawer>\n");
    let mut bigs: Vec<&str> = Vec::new();
    for c in site.categories() {
        if !bigs.contains(&c.big) {
            bigs.push(c.big);
        }
    }
    for big in bigs {
        let _ = write!(
            out,
            "<section class=drawer-group><button type=button class=drawer-tit aria-expanded=false>{}</button><ul class=drawer-sub>",
            esc(big)
        );
        for (i, c) in site.categories().iter().enumerate() {
            if c.big == big {
                cat_anchor(&mut out, site, i, "전체카테고리");
            }
        }
        out.push_str("</ul></section>\n");
    }
    out.push_str("</nav>\n");
    out.push_str(FOOT);
    out
}

fn category_page(site: &Site, disp_cat_no: &str, page: usize) -> String {
    let c = site.category(disp_cat_no).expect("checked by the router");
    let mut out = head(&c.name());
    let total = c.brands.len();
    let _ = write!(
        out,
        "<div class=cate-head><h2>{}</h2></div>\n<div class=filter-layer>\
         <p class=filter-count>총 <b>{total}</b>개 브랜드</p>\
         <ul class=filter-etc><li><input type=checkbox id=chkDeliv name=quickYn value=Y><label for=chkDeliv>오늘드림</label></li>\
         <li><input type=checkbox id=chkSale name=saleYn value=Y><label for=chkSale>세일상품</label></li></ul>\n\
         <ul class=brand-chk>",
        esc(&c.small)
    );
    if page == 1 {
        out.push_str("<li><input type=checkbox id=brndAll data-brndnm=\"\" checked><label for=brndAll>전체</label></li>");
    }
    let start = (page - 1) * BRANDS_PER_CATEGORY_PAGE;
    for &b in c.brands.iter().skip(start).take(BRANDS_PER_CATEGORY_PAGE) {
        let brand = &site.brands()[b];
        let _ = write!(
            out,
            "\n  <li><input type=\"checkbox\" id=\"brnd_{code}\" name=\"brndCd\" value=\"{code}\" data-brndnm=\"{name}\"><label for=\"brnd_{code}\">{name}</label></li>",
            code = brand.code,
            name = esc(&brand.name_ko),
        );
    }
    out.push_str("</ul>\n");
    if start + BRANDS_PER_CATEGORY_PAGE < total {
        let _ = writeln!(
            out,
            "<button type=button class=btn-more data-page-idx={}>브랜드 더보기 <span>{}/{}</span></button>",
            page + 1,
            (start + BRANDS_PER_CATEGORY_PAGE).min(total),
            total
        );
    }
    out.push_str("</div>\n");
    out.push_str(FOOT);
    out
}

/// The initial consonant of a Hangul syllable, for the Korean index.
fn initial(name: &str) -> char {
    const CHO: [char; 19] = [
        'ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ',
        'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
    ];
    match name.chars().next() {
        Some(c) if ('\u{AC00}'..='\u{D7A3}').contains(&c) => {
            CHO[((c as u32 - 0xAC00) / 588) as usize]
        }
        _ => '#',
    }
}

fn brand_list(site: &Site) -> String {
    let mut out = head("브랜드");
    let mut ko: Vec<&Brand> = site.brands().iter().collect();
    ko.sort_by(|a, b| a.name_ko.cmp(&b.name_ko));
    let mut en: Vec<&Brand> = site.brands().iter().collect();
    en.sort_by_key(|b| b.name_en.to_lowercase());
    out.push_str("<div class=tab-brand role=tablist><button role=tab aria-selected=true>가나다순</button><button role=tab>ABC</button></div>\n<div class=brand-index id=tabKo>");
    let mut current = None;
    for b in ko {
        let i = initial(&b.name_ko);
        if current != Some(i) {
            if current.is_some() {
                out.push_str("</ul>");
            }
            let _ = write!(out, "\n<h3 class=idx>{i}</h3><ul class=brand-ul>");
            current = Some(i);
        }
        let _ = write!(
            out,
            "<li><a href=\"javascript:;\" data-ref-onlbrndcd=\"{code}\" class=brand-item>\n\t\t{name}\n\t</a><button type=button class=btn-like data-ref-onlbrndcd=\"{code}\"><span class=blind>관심 브랜드 등록</span></button></li>",
            code = b.code,
            name = esc(&b.name_ko)
        );
    }
    out.push_str("</ul></div>\n<div class=brand-index id=tabEn style=\"display:none\">");
    let mut current = None;
    for b in en {
        let i = b.name_en.chars().next().unwrap_or('#').to_ascii_uppercase();
        if current != Some(i) {
            if current.is_some() {
                out.push_str("</ul>");
            }
            let _ = write!(out, "\n<h3 class=idx>{i}</h3><ul class=brand-ul>");
            current = Some(i);
        }
        let _ = write!(
            out,
            "<li><a data-ref-onlbrndcd='{code}' href='javascript:;'>{name}</a></li>",
            code = b.code,
            name = esc(&b.name_en)
        );
    }
    out.push_str("</ul></div>\n");
    out.push_str(FOOT);
    out
}

/// The review count as the card prints it.
fn review_text(n: u64) -> String {
    let tenths = |unit: f64| (n as f64 / unit * 10.0).round() as u64;
    if n < 1_000 {
        format!("리뷰 {n}")
    } else if n < 10_000 {
        let t = tenths(1_000.0);
        format!("리뷰 {}.{}천", t / 10, t % 10)
    } else {
        let t = tenths(10_000.0);
        format!("리뷰 {}.{}만", t / 10, t % 10)
    }
}

/// The figure a reader of [`review_text`] gets back (rounded for the
/// compressed forms).
pub fn review_shown(n: u64) -> u64 {
    if n < 1_000 {
        n
    } else if n < 10_000 {
        ((n as f64 / 1_000.0 * 10.0).round() as u64) * 100
    } else {
        ((n as f64 / 10_000.0 * 10.0).round() as u64) * 1_000
    }
}

/// Milliliters in a product name (`150ml`), for the unit price.
fn ml(name: &str) -> Option<u64> {
    let at = name.find("ml")?;
    let digits: String = name[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok().filter(|&n| n >= 10)
}

fn card(out: &mut String, site: &Site, p: &Product, idx: usize) {
    let brand = site.brand_of(p);
    let goods_attr = if idx.is_multiple_of(2) {
        "data-ref-goodsNo"
    } else {
        "DATA-REF-GOODSNO"
    };
    let href = format!(
        "/store/goods/getGoodsDetail.do?goodsNo={}&amp;dispCatNo=9000002&amp;trackingCd=BrandShop_Goods",
        p.goods_no
    );
    let name = esc(&p.name);
    let _ = write!(
        out,
        "\n<li class=\"goods-unit{so}\" data-goods-idx={idx}>\n <div class=thumb-area>\
         <a href=\"{href}\" class=goods-link {goods_attr}=\"{no}\" data-attr='브랜드샵^상품^{name}'>\
         <img src=\"https://image.oliveyoung.co.kr/cfimages/cf-goods/uploads/images/thumbnails/400/{no}ko.jpg\" alt=\"{name}\" loading=lazy>",
        so = if p.sold_out { " is-soldout" } else { "" },
        no = p.goods_no,
    );
    if p.sold_out {
        out.push_str(
            "<div class=dim-soldout aria-hidden=true><span class=blind>일시품절</span></div>",
        );
    }
    let _ = write!(
        out,
        "</a><button type=button class=btn-zzim data-ref-goodsNo=\"{no}\"><span class=blind>찜하기</span></button></div>\n \
         <div class=\"prod-info\">\n  <a href=\"{href}\" data-attr='{name}' class=info-link>\
         <span class=tx-brand>{brand}</span>\n   <p class=\"prod-name\">\n     {name}\n   </p></a>\n  <div class=price-box>",
        no = p.goods_no,
        brand = esc(&brand.name_ko),
    );
    if p.on_promotion {
        let _ = write!(
            out,
            "<span class=badge-rate>{}<i>%</i></span>",
            p.discount_pct
        );
    }
    let _ = write!(
        out,
        "<em class=cur>{}</em><span class=won>원</span>",
        won(p.price_current)
    );
    if p.on_promotion && p.shows_original {
        let _ = write!(
            out,
            " <s class=origin>{}<span>원</span></s>",
            won(p.price_original)
        );
    }
    if let Some(ml) = ml(&p.name) {
        let _ = write!(
            out,
            " <span class=unit-price>(10ml당 {}원)</span>",
            won(p.price_current * 10 / ml)
        );
    }
    out.push_str("</div>\n  <div class=chips>");
    for flag in &p.flags {
        let text = match *flag {
            "sale" => "세일",
            "coupon" => "쿠폰",
            "gift" => "증정",
            "delivery" => "오늘드림",
            other => other,
        };
        let _ = write!(out, "<span class=chip>{text}</span>");
    }
    out.push_str("</div>\n  ");
    match (p.rating_tenths, p.review_count) {
        (Some(r), Some(n)) => {
            let _ = write!(
                out,
                "<div class=review-sum><span class=star-bg><span class=star-fill style=\"width:{}%\"></span></span> <span class=review-cnt>{}</span></div>",
                r * 2,
                review_text(n)
            );
        }
        _ => out.push_str(
            "<div class=review-sum><span class=review-none>첫 리뷰를 남겨주세요</span></div>",
        ),
    }
    let _ = write!(
        out,
        "\n  <button type=button class=btn-cart{}>{}</button>\n </div>\n</li>",
        if p.sold_out { " disabled" } else { "" },
        if p.sold_out {
            "일시품절"
        } else {
            "장바구니"
        }
    );
}

fn cards(site: &Site, brand: &Brand, page: usize) -> String {
    let mut out = String::from("<ul class=goods-grid>");
    let start = (page - 1) * ROWS_PER_PAGE;
    let on_page: Vec<usize> = brand
        .products
        .iter()
        .copied()
        .skip(start)
        .take(ROWS_PER_PAGE)
        .collect();
    for (i, &p) in on_page.iter().enumerate() {
        card(&mut out, site, &site.products()[p], start + i);
        if page == 1 && i == 3 && brand.products.len() >= 8 {
            out.push_str("\n<li class=list-banner data-goods-idx=\"\"><a href=\"/store/planshop/getPlanShopDetail.do?dispCatNo=500000200070001\"><img src=\"https://image.oliveyoung.co.kr/uploads/images/display/banner_m.jpg\" alt=\"이달의 브랜드 기획전\"></a></li>");
        }
    }
    out.push_str("\n</ul>\n");
    if on_page.is_empty() {
        out.push_str("<p class=no-data>등록된 상품이 없습니다.</p>\n");
    } else if start + ROWS_PER_PAGE < brand.products.len() {
        let _ = writeln!(
            out,
            "<div class=more-area><button type=button class=btn-more data-page-idx=\"{}\" onclick=\"brandShop.goods.more(this);\">상품 더보기 <span>{} / {}</span></button></div>",
            page + 1,
            start + on_page.len(),
            brand.products.len()
        );
    }
    out
}

fn brand_shop(site: &Site, brand: &Brand) -> String {
    let mut out = head(&brand.name_ko);
    let _ = write!(
        out,
        "<div class=brand-hero style=\"background-image:url('https://image.oliveyoung.co.kr/uploads/images/onlBrand/{code}_m.jpg')\">\
         <h2 class=brand-tit>{ko}</h2><p class=brand-en>{en}</p>\
         <button type=button class=btn-like data-ref-onlbrndcd=\"{code}\">좋아요 <span>{likes}</span></button></div>\n\
         <div class=sort-bar><p class=total>총 <strong>{n}</strong>개의 상품</p>\
         <select name=prdSort><option value=rank selected>인기순</option><option value=new>신상품순</option></select></div>\n",
        code = brand.code,
        ko = esc(&brand.name_ko),
        en = esc(&brand.name_en),
        likes = won(brand.products.len() as u64 * 137),
        n = brand.products.len(),
    );
    out.push_str("<div id=goodsList>");
    out.push_str(&cards(site, brand, 1));
    out.push_str("</div>\n");
    out.push_str(FOOT);
    out
}

fn goods_fragment(site: &Site, brand: &Brand, page: usize) -> String {
    cards(site, brand, page)
}

fn detail(site: &Site, p: &Product) -> String {
    let brand = site.brand_of(p);
    let mut out = head(&p.name);
    let _ = write!(
        out,
        "<div class=goods-top><a class=brand-link href=\"/store/display/getBrandShopDetail.do?onlBrndCd={code}\">{b} &gt;</a>\
         <h2 class=goods-tit>{name}</h2><div class=price>",
        code = brand.code,
        b = esc(&brand.name_ko),
        name = esc(&p.name),
    );
    if p.on_promotion {
        let _ = write!(out, "<span class=discount-rate>{}%</span>", p.discount_pct);
    }
    let _ = write!(out, "<strong>{}&nbsp;KRW</strong>", won(p.price_current));
    if p.on_promotion && p.shows_original {
        let _ = write!(out, "<del>{}&nbsp;KRW</del>", won(p.price_original));
    }
    out.push_str("</div>");
    if p.sold_out {
        out.push_str("<p class=stock-out>일시품절 상품입니다</p>");
    }
    if let (Some(r), Some(n)) = (p.rating_tenths, p.review_count) {
        let _ = write!(
            out,
            "<div class=rating aria-label=\"별점 {}.{}\"><span>{}</span></div>",
            r / 10,
            r % 10,
            review_text(n)
        );
    }
    out.push_str("</div>\n");
    out.push_str(FOOT);
    out
}
