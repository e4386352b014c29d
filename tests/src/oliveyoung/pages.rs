//! HTML of every page the Oliveyoung fixture serves, rendered on demand from
//! the generated [`Site`]. The markup follows the real site's paths, class
//! names and attributes (see `SOURCES.md`), wrapped in the noise a crawler
//! meets in the wild: header and footer menus, inline scripts that contain
//! markup-looking strings, tracking pixels, unrelated links and checkboxes.
//!
//! Pages are pure functions of the site, so the plugin's unit tests parse the
//! very bytes the server sends.

use super::drift::{Mutation, shout_attributes};
use super::model::{BRANDS_PER_CATEGORY_PAGE, Brand, Product, ROWS_PER_PAGE, Site};
use super::names;
use crate::html::{esc, thousands};

/// `robots.txt`: everything is allowed.
pub const ROBOTS_TXT: &str = "User-agent: *\nAllow: /\n";

/// Body of the HTTP 500 page (the site's error page, not an empty body).
pub const ERROR_500_HTML: &str = "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"UTF-8\"><title>올리브영 - 시스템 오류</title></head><body><div class=\"error_wrap\"><h1>서비스 이용에 불편을 드려 죄송합니다.</h1><p>일시적인 오류가 발생했습니다. 잠시 후 다시 이용해 주세요.</p><a href=\"/store/main/main.do\">메인으로</a></div></body></html>";

/// Body of the HTTP 404 page.
pub const ERROR_404_HTML: &str = "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"UTF-8\"><title>올리브영 - 페이지를 찾을 수 없습니다</title></head><body><div class=\"error_wrap\"><h1>요청하신 페이지를 찾을 수 없습니다.</h1><a href=\"/store/main/main.do\">메인으로</a></div></body></html>";

impl Site {
    /// `GET /store/display/getCategoryShop.do`: the drawer with every
    /// category as a `common.link.moveCategory` anchor, then a "frequently
    /// visited" block repeating a few of them.
    pub fn category_landing_html(&self) -> String {
        let mut body = String::with_capacity(32 * 1024);
        body.push_str(
            "<div id=\"Contents\">\n<div class=\"titBox\"><h1 class=\"tit\">카테고리</h1></div>\n",
        );
        body.push_str("<div class=\"category_drawer\" id=\"gnbAllMenu\">\n");
        let mut current_big = "";
        for category in self.categories() {
            if category.big != current_big {
                if !current_big.is_empty() {
                    body.push_str("</ul></div>\n");
                }
                current_big = category.big;
                body.push_str(&format!(
                    "<div class=\"all_menu_wrap\">\n<p class=\"sub_menu_title\"><a href=\"javascript:common.link.moveCategoryShop('{big_id}','Drawer');\" data-attr=\"공통^드로우^{big}\">{big}</a></p>\n<ul class=\"sub_depth\">\n",
                    big_id = &category.disp_cat_no[..11],
                    big = esc(category.big),
                ));
            }
            body.push_str(&format!(
                "<li><a href=\"javascript:common.link.moveCategory('{id}','0','Drawer');\" data-ref-dispcatno=\"{id}\" data-attr=\"공통^드로우^{name}\">\n    {small}\n  </a></li>\n",
                id = category.disp_cat_no,
                name = esc(&category.name()),
                small = esc(&category.small),
            ));
        }
        body.push_str("</ul></div>\n</div>\n");

        // Repeats: the same categories again, as the real page's shortcut
        // block does; a crawler must deduplicate by dispCatNo.
        body.push_str("<div class=\"recommend_cate\">\n<h3>자주 찾는 카테고리</h3>\n<ul>\n");
        for i in [0usize, 2, 13, 11] {
            let category = &self.categories()[i * self.scale()];
            body.push_str(&format!(
                "<li><a href=\"javascript:common.link.moveCategory('{id}','0','Drawer');\" data-ref-dispcatno=\"{id}\" data-attr=\"카테고리샵^자주찾는^{name}\"><span>{small}</span></a></li>\n",
                id = category.disp_cat_no,
                name = esc(&category.name()),
                small = esc(&category.small),
            ));
        }
        body.push_str("</ul>\n</div>\n");
        body.push_str(concat!(
            "<div class=\"cate_banner\">\n",
            "<a href=\"javascript:common.link.moveEventDetail('00000000012345');\" data-attr=\"카테고리샵^배너^1\"><img src=\"https://image.oliveyoung.co.kr/uploads/images/display/banner_0819.jpg\" alt=\"8월 올영세일\"></a>\n",
            "<a href=\"/store/planshop/getPlanShopDetail.do?dispCatNo=500000100020001\" data-attr=\"카테고리샵^배너^2\">기획전 바로가기</a>\n",
            "<a href=\"javascript:common.link.moveBrandShop('A000688');\" data-attr=\"카테고리샵^배너^3\">브랜드 바로가기</a>\n",
            "</div>\n</div>\n",
        ));
        let script = "var cateShopHtml = '<a href=\"javascript:common.link.moveCategory(\\'100000100099999\\',\\'0\\',\\'Drawer\\');\" data-attr=\"공통^드로우^숨김_카테고리\">숨김</a>';\nfunction fnCateShopInit() { $('#gnbAllMenu').show(); }";
        layout("카테고리 | 올리브영", "category_shop", script, &body)
    }

    /// `GET /store/display/getMCategoryList.do?dispCatNo=<id>&pageIdx=N`:
    /// one page of the category's brand filter, or none for an unknown id.
    /// A page past the end lists no brands.
    pub fn category_page_html(&self, disp_cat_no: &str, page: usize) -> Option<String> {
        let category = self.category(disp_cat_no)?;
        let page = page.max(1);
        let start = (page - 1).saturating_mul(BRANDS_PER_CATEGORY_PAGE);
        let brands: Vec<&Brand> = category
            .brands
            .iter()
            .skip(start)
            .take(BRANDS_PER_CATEGORY_PAGE)
            .map(|&b| &self.brands()[b])
            .collect();
        let mut body = String::with_capacity(16 * 1024);
        body.push_str(&format!(
            "<div id=\"Contents\">\n<div class=\"titBox\"><h1>{small}</h1><p class=\"loc\">홈 &gt; {big} &gt; {small}</p></div>\n<input type=\"hidden\" id=\"dispCatNo\" name=\"dispCatNo\" value=\"{id}\">\n",
            small = esc(&category.small),
            big = esc(category.big),
            id = category.disp_cat_no,
        ));
        body.push_str("<div class=\"cate_brand_box\">\n<h3 class=\"tit_brand\">브랜드</h3>\n<ul class=\"cate_brand_list\">\n");
        body.push_str("<li><input type=\"checkbox\" id=\"brandAll\" name=\"brandAll\" class=\"chkSmall\" checked=\"checked\"><label for=\"brandAll\">전체</label></li>\n");
        let chips = self.mutation() == Some(Mutation::CategoryFilterRenamed);
        for (i, brand) in brands.iter().enumerate() {
            let item = if chips {
                // The filter as chips: no `data-brndnm`, the name in a span.
                "<li><label class=\"brand-chip\"><input type=\"checkbox\" name=\"brand\" value=\"{code}\"><span>{ko}</span></label></li>\n"
            } else {
                "<li><input type=\"checkbox\" id=\"inpChk{n}\" name=\"onlBrndCd\" value=\"{code}\" data-brndnm=\"{ko}\" class=\"chkSmall\"><label for=\"inpChk{n}\">{ko}</label></li>\n"
            };
            body.push_str(
                &item
                    .replace("{n}", &(start + i).to_string())
                    .replace("{code}", &brand.code)
                    .replace("{ko}", &esc(&brand.name_ko)),
            );
        }
        body.push_str("</ul>\n");
        body.push_str(&paging(page, category.pages()));
        body.push_str("</div>\n");
        body.push_str(concat!(
            "<div class=\"cate_prd_list\">\n<div class=\"cate_align_box\">\n",
            "<input type=\"checkbox\" id=\"chkSoldOut\" name=\"soldOutYn\" value=\"N\"><label for=\"chkSoldOut\">품절상품 제외</label>\n",
            "<a href=\"javascript:;\" class=\"btn_sort\" data-prdsort=\"01\">인기순</a><a href=\"javascript:;\" class=\"btn_sort\" data-prdsort=\"02\">신상품순</a>\n",
            "</div>\n<p class=\"cate_info_tx\">상품을 불러오는 중입니다...</p>\n</div>\n</div>\n",
        ));
        let script = format!(
            "var _dispCatNo = \"{}\";\nvar _pageIdx = {page};\nfunction fnSearchBrand(pageIdx) {{ common.Ajax.sendRequest('GET', '/store/display/getMCategoryList.do', {{dispCatNo: _dispCatNo, pageIdx: pageIdx}}); }}",
            category.disp_cat_no
        );
        Some(layout(
            &format!("{} | 올리브영", category.small),
            "category_list",
            &script,
            &body,
        ))
    }

    /// `GET /store/main/getBrandList.do`: popular brands, then every brand in
    /// a 가나다 index (Korean names) and again in an ABC index (English
    /// names), plus anchors that are not brands.
    pub fn brand_list_html(&self) -> String {
        let mut body = String::with_capacity(64 * 1024);
        body.push_str("<div id=\"Contents\">\n<div class=\"titBox\"><h1>브랜드</h1></div>\n");
        body.push_str(
            "<div class=\"brand_best\">\n<h3>인기 브랜드</h3>\n<ul class=\"brand_best_list\">\n",
        );
        for brand in self.brands().iter().step_by(25) {
            body.push_str(&format!(
                "<li><a href=\"javascript:;\" data-ref-onlbrndcd=\"{code}\" data-attr=\"브랜드^인기브랜드^{ko}\"><img src=\"https://image.oliveyoung.co.kr/uploads/images/brand/{code}.png\" alt=\"{ko}\"><span>{ko}</span></a></li>\n",
                code = brand.code,
                ko = esc(&brand.name_ko),
            ));
        }
        body.push_str("</ul>\n</div>\n");
        body.push_str(concat!(
            "<ul class=\"brand_tab\"><li class=\"on\"><a href=\"javascript:;\" data-tab=\"kor\">가나다순</a></li>",
            "<li><a href=\"javascript:;\" data-tab=\"eng\">ABC순</a></li></ul>\n",
        ));

        let mut by_ko: Vec<&Brand> = self.brands().iter().collect();
        by_ko.sort_by(|a, b| a.name_ko.cmp(&b.name_ko));
        body.push_str("<div class=\"brand_list_wrap\" id=\"brandKor\">\n");
        for initial in names::INITIALS {
            let group: Vec<&&Brand> = by_ko
                .iter()
                .filter(|b| names::initial_of(&b.name_ko) == initial)
                .collect();
            if group.is_empty() {
                continue;
            }
            body.push_str(&format!(
                "<div class=\"brand_group\"><h4 class=\"tit\">{initial}</h4>\n<ul class=\"brand_item\">\n"
            ));
            for brand in group {
                body.push_str(&self.brand_anchor(&brand.code, &brand.name_ko));
            }
            body.push_str("</ul></div>\n");
        }
        body.push_str("</div>\n");

        let mut by_en: Vec<&Brand> = self.brands().iter().collect();
        by_en.sort_by_key(|b| b.name_en.to_lowercase());
        body.push_str("<div class=\"brand_list_wrap\" id=\"brandEng\" style=\"display:none;\">\n");
        let mut letter = None;
        for brand in by_en {
            let first = brand
                .name_en
                .chars()
                .next()
                .map(|c| c.to_ascii_uppercase())
                .filter(char::is_ascii_alphabetic)
                .unwrap_or('#');
            if letter != Some(first) {
                if letter.is_some() {
                    body.push_str("</ul></div>\n");
                }
                letter = Some(first);
                body.push_str(&format!(
                    "<div class=\"brand_group\"><h4 class=\"tit\">{first}</h4>\n<ul class=\"brand_item\">\n"
                ));
            }
            body.push_str(&self.brand_anchor(&brand.code, &brand.name_en));
        }
        if letter.is_some() {
            body.push_str("</ul></div>\n");
        }
        body.push_str("</div>\n");
        body.push_str(concat!(
            "<div class=\"brand_more\"><a href=\"javascript:;\" class=\"btn_more\" data-ref-onlbrndcd=\"\">브랜드 더보기</a>\n",
            "<a href=\"/store/main/getBrandList.do?tab=eng\" class=\"btn_eng\">영문 브랜드 보기</a></div>\n</div>\n",
        ));
        let script = "function fnBrandTab(tab) { $('#brandKor').toggle(tab === 'kor'); $('#brandEng').toggle(tab === 'eng'); }\n$(document).on('click', '.brand_item a', function() { common.link.moveBrandShop($(this).data('ref-onlbrndcd')); });";
        layout("브랜드 | 올리브영", "brand_list", script, &body)
    }

    /// `GET /store/display/getBrandShopDetail.do?onlBrndCd=<code>`: the
    /// brand shop landing with the first page of cards (`div.prod-info`), or
    /// none for an unknown code. (The server, not this page, adds the
    /// brand's HTTP faults.)
    pub fn brand_shop_html(&self, code: &str) -> Option<String> {
        let brand = self.brand(code)?;
        let mut body = String::with_capacity(32 * 1024);
        let head = if self.mutation() == Some(Mutation::BrandHeadingRenamed) {
            "<div id=\"Contents\">\n<div class=\"brand-top\">\n<h2 class=\"tit\" data-ref-onlbrndcd=\"{code}\">{ko}</h2>\n<p class=\"tit-en\">{en}</p>\n"
        } else {
            "<div id=\"Contents\">\n<div class=\"brand-head\">\n<h2 class=\"brand-name\" data-ref-onlbrndcd=\"{code}\">{ko}</h2>\n<p class=\"brand-name-en\">{en}</p>\n"
        };
        body.push_str(
            &head
                .replace("{code}", &brand.code)
                .replace("{ko}", &esc(&brand.name_ko))
                .replace("{en}", &esc(&brand.name_en)),
        );
        body.push_str(&format!(
            "<a href=\"javascript:;\" class=\"btn_like\" data-ref-onlbrndcd=\"{code}\">좋아요</a>\n</div>\n",
            code = brand.code,
        ));
        body.push_str("<ul class=\"brand_tab\"><li class=\"on\"><a href=\"javascript:;\">전체</a></li><li><a href=\"javascript:;\">베스트</a></li><li><a href=\"javascript:;\">신상품</a></li></ul>\n");
        body.push_str(&format!(
            "<p class=\"prod_count\">총 <span>{}</span>개의 상품</p>\n<ul class=\"prod-list goodsProd\" id=\"allGoodsList\">\n",
            brand.products.len()
        ));
        for (i, &p) in brand.products.iter().take(ROWS_PER_PAGE).enumerate() {
            body.push_str(&product_card(
                brand,
                &self.products()[p],
                i + 1,
                self.mutation(),
            ));
        }
        body.push_str("</ul>\n");
        body.push_str(&paging(1, brand.pages().max(1)));
        body.push_str("</div>\n");
        let script = format!(
            "var _onlBrndCd = \"{code}\";\nvar _rowsPerPage = {ROWS_PER_PAGE};\nfunction fnGoodsPaging(pageIdx) {{ $.ajax({{ url: '/store/display/getBrandShopDetailGoodsPagingAjax.do', data: {{ onlBrndCd: _onlBrndCd, pageIdx: pageIdx, dispCatNo: '', prdSort: 'rank', rowsPerPage: _rowsPerPage }}, success: function(html) {{ $('#allGoodsList').html(html); }} }}); }}",
            code = brand.code
        );
        Some(layout(
            &format!("{} | 올리브영 브랜드관", brand.name_ko),
            "brand_shop",
            &script,
            &body,
        ))
    }

    /// `GET /store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd=<code>&pageIdx=N`:
    /// an HTML fragment with up to [`ROWS_PER_PAGE`] `li[data-goods-idx]`
    /// cards; none past the end; none at all for an unknown code. Page 1 of
    /// the brands in [`super::Faults::goods_page1_malformed`] is cut off in
    /// the middle of the first card's first tag.
    pub fn goods_page_html(&self, code: &str, page: usize) -> Option<String> {
        let brand = self.brand(code)?;
        let page = page.max(1);
        let start = (page - 1).saturating_mul(ROWS_PER_PAGE);
        let mut html = String::with_capacity(24 * 2048);
        html.push_str("<ul class=\"prod-list goodsProd\">\n");
        for (i, &p) in brand
            .products
            .iter()
            .enumerate()
            .skip(start)
            .take(ROWS_PER_PAGE)
        {
            html.push_str(&product_card(
                brand,
                &self.products()[p],
                i + 1,
                self.mutation(),
            ));
        }
        html.push_str("</ul>\n<script>fnLazyLoad(); if (typeof gtm !== 'undefined') { gtm.goods.impression('브랜드관_상품리스트'); }</script>\n");
        if page == 1 && self.faults().goods_page1_malformed.contains(&brand.code) {
            // Cut inside the first card's first `<a href="...`, before any
            // goods number has been written.
            // (Case-insensitive, so a drifted page breaks the same way.)
            let lower = html.to_ascii_lowercase();
            let cut = lower
                .find("<li data-goods-idx")
                .and_then(|li| lower[li..].find("<a href=").map(|a| li + a + 30))
                .unwrap_or(html.len() / 2);
            html.truncate(cut);
        }
        Some(html)
    }

    /// `GET /store/goods/getGoodsDetail.do?goodsNo=<no>`: a simple product
    /// page, or none for an unknown number.
    pub fn goods_detail_html(&self, goods_no: &str) -> Option<String> {
        let product = self.product(goods_no)?;
        let brand = self.brand_of(product);
        let mut body = String::with_capacity(8 * 1024);
        body.push_str(&format!(
            "<div id=\"Contents\">\n<div class=\"prd_detail_box\">\n<p class=\"prd_brand\"><a href=\"javascript:common.link.moveBrandShop('{code}');\" id=\"moveBrandShop\">{ko}</a></p>\n<p class=\"prd_name\">{name}</p>\n<div class=\"price\">\n",
            code = brand.code,
            ko = esc(&brand.name_ko),
            name = esc(&product.name),
        ));
        if product.shows_original {
            body.push_str(&format!(
                "<span class=\"price-1\"><strike>{}</strike><span>원</span></span>\n",
                thousands(product.price_original)
            ));
        }
        body.push_str(&format!(
            "<span class=\"price-2\"><strong>{}</strong><span>원</span></span>\n</div>\n",
            thousands(product.price_current)
        ));
        if product.sold_out {
            body.push_str("<p class=\"soldout_msg\">일시품절된 상품입니다.</p>\n");
        }
        body.push_str(&format!(
            "<input type=\"hidden\" id=\"goodsNo\" value=\"{}\">\n</div>\n</div>\n",
            product.goods_no
        ));
        let script = format!(
            "var _goodsNo = \"{}\";\nvar _reviewApi = \"https://m.oliveyoung.co.kr/review/api/v2/reviews/\" + _goodsNo + \"/stats\";",
            product.goods_no
        );
        Some(layout(
            &format!("{} | 올리브영", product.name),
            "goods_detail",
            &script,
            &body,
        ))
    }
}

/// One product card, as the brand shop and its AJAX pages print it, with
/// `mutation`'s perturbation of its markup.
fn product_card(
    brand: &Brand,
    product: &Product,
    idx: usize,
    mutation: Option<Mutation>,
) -> String {
    let card = product_card_markup(brand, product, idx, mutation);
    match mutation {
        Some(Mutation::AttributeCase) => shout_attributes(&card),
        Some(Mutation::CardWrapper) => {
            let open = card.find('>').map_or(0, |i| i + 1);
            let close = card.rfind("</li>").unwrap_or(card.len());
            format!(
                "{}<div class=\"card-wrap\"><div class=\"card-inner\">{}</div></div>{}",
                &card[..open],
                &card[open..close],
                &card[close..]
            )
        }
        _ => card,
    }
}

fn product_card_markup(
    brand: &Brand,
    product: &Product,
    idx: usize,
    mutation: Option<Mutation>,
) -> String {
    let href = format!(
        "/store/goods/getGoodsDetail.do?goodsNo={}&amp;dispCatNo=&amp;trackingCd=BrandA_{}_PROD",
        product.goods_no, brand.code
    );
    let name = esc(&product.name);
    let mut card = String::with_capacity(2048);
    card.push_str(&format!(
        "<li data-goods-idx=\"{idx}\" class=\"flag\">\n\t<div class=\"prod\">\n\t\t<a href=\"{href}\" class=\"thumb goodsList\" data-ref-goodsNo=\"{no}\" data-ref-dispCatNo=\"\" data-ref-itemNo=\"001\" data-attr=\"{name}\" data-trk=\"/\" data-impression=\"{no}^브랜드관_상품리스트^{idx}\" onclick=\"javascript:gtm.goods.callGoodsGtmInfo('{no}', '', 'ee-productClick', '브랜드관_상품리스트', '{idx}');\">\n\t\t\t<img src=\"https://image.oliveyoung.co.kr/uploads/images/goods/220/10/0000/00{img}/{no}ko.jpg?l=ko\" alt=\"{name}\" class=\"completed-seq-lazyload\" onerror=\"common.errorImg(this);\">\n",
        no = product.goods_no,
        img = &product.goods_no[11..],
    ));
    if product.sold_out {
        if mutation == Some(Mutation::SoldOutRenamed) {
            // An icon without text: nothing says "sold out" in words.
            card.push_str("\t\t\t<i class=\"ico-oos\" aria-hidden=\"true\"></i>\n");
        } else {
            card.push_str("\t\t\t<span class=\"soldout\">일시품절</span>\n");
        }
    }
    if product.on_promotion && mutation == Some(Mutation::DiscountMoved) {
        card.push_str(&format!(
            "\t\t\t<em class=\"rate-off\">-{}%</em>\n",
            product.discount_pct
        ));
    }
    card.push_str(&format!(
        "\t\t</a>\n\t\t<div class=\"prod-info\">\n\t\t\t<a href=\"{href}\" class=\"goodsList\" data-ref-goodsNo=\"{no}\" data-attr=\"{name}\" data-trk=\"/\">\n\t\t\t\t<span class=\"tx_brand\">{ko}</span>\n\t\t\t\t<p class=\"tx_name prod-name\">\n\t\t\t\t\t{name}\n\t\t\t\t</p>\n\t\t\t</a>\n\t\t\t<p class=\"prd_price\">\n",
        no = product.goods_no,
        ko = esc(&brand.name_ko),
    ));
    if mutation == Some(Mutation::PriceMarkup) {
        // The prices leave `p.prd_price` for plain spans in classes no
        // selector knows (no struck-through or emphasised amount either).
        card.push_str("\t\t\t</p>\n\t\t\t<div class=\"cost\">");
        if product.shows_original {
            card.push_str(&format!(
                "<span class=\"was\">{}원</span> ",
                thousands(product.price_original)
            ));
        }
        card.push_str(&format!(
            "<span class=\"now\"><i>{}</i>원</span></div>\n\t\t\t<p class=\"prd_flag\">",
            thousands(product.price_current)
        ));
    } else {
        if product.shows_original {
            card.push_str(&format!(
                "\t\t\t\t<span class=\"tx_org\"><span class=\"tx_num\">{}</span>원 </span>\n",
                thousands(product.price_original)
            ));
        }
        card.push_str(&format!(
            "\t\t\t\t<span class=\"tx_cur\"><span class=\"tx_num\">{}</span>원 </span>\n\t\t\t</p>\n\t\t\t<p class=\"prd_flag\">",
            thousands(product.price_current)
        ));
    }
    for flag in &product.flags {
        let label = match *flag {
            "sale" => "세일",
            "coupon" => "쿠폰",
            "gift" => "증정",
            _ => "오늘드림",
        };
        card.push_str(&format!("<span class=\"icon_flag {flag}\">{label}</span>"));
    }
    card.push_str("</p>\n");
    let rating_shown = mutation != Some(Mutation::RatingRemoved);
    if let (Some(tenths), Some(count), true) =
        (product.rating_tenths, product.review_count, rating_shown)
    {
        card.push_str(&format!(
            "\t\t\t<p class=\"prd_point_area tx_num\"><span class=\"review_point\"><span class=\"point\" style=\"width:{pct}%\">5점 만점에 {whole}.{frac}점</span></span><span class=\"num\">({count})</span></p>\n",
            pct = tenths * 2,
            whole = tenths / 10,
            frac = tenths % 10,
            count = thousands(count),
        ));
    }
    if product.on_promotion && mutation != Some(Mutation::DiscountMoved) {
        card.push_str(&format!(
            "\t\t\t<div class=\"discount\"><span class=\"percent\">{}%</span></div>\n",
            product.discount_pct
        ));
    }
    card.push_str(&format!(
        "\t\t</div>\n\t\t<p class=\"prd_btn_area\"><button class=\"cartBtn\" data-ref-goodsNo=\"{no}\" data-ref-dispCatNo=\"\" data-ref-itemNo=\"001\">장바구니</button><button class=\"btn_zzim jeem\" data-ref-goodsNo=\"{no}\"><span>찜하기전</span></button></p>\n\t</div>\n</li>\n",
        no = product.goods_no
    ));
    card
}

impl Site {
    /// One brand anchor of the brand list.
    fn brand_anchor(&self, code: &str, text: &str) -> String {
        let anchor = format!(
            "<li><a href=\"javascript:;\" data-ref-onlbrndcd=\"{code}\">{}</a></li>\n",
            esc(text)
        );
        if self.mutation() == Some(Mutation::AttributeCase) {
            shout_attributes(&anchor)
        } else {
            anchor
        }
    }
}

/// The pager: the current page as `<strong>`, the others as anchors with
/// `data-page-no`.
fn paging(current: usize, pages: usize) -> String {
    let mut out = String::from("<div class=\"pageing\">");
    for p in 1..=pages {
        if p == current {
            out.push_str(&format!("<strong title=\"현재 페이지\">{p}</strong>"));
        } else {
            out.push_str(&format!(
                "<a href=\"javascript:void(0);\" data-page-no=\"{p}\">{p}</a>"
            ));
        }
    }
    out.push_str("</div>\n");
    out
}

/// The page frame: head with analytics scripts, the site header and menu,
/// `body`, the footer and tracking pixels.
fn layout(title: &str, page_id: &str, script: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 8 * 1024);
    out.push_str(&format!(
        concat!(
            "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"UTF-8\">\n",
            "<meta name=\"viewport\" content=\"width=1200\">\n<title>{title}</title>\n",
            "<link rel=\"stylesheet\" href=\"/pc-static-root/css/style.css?dumm=2024081901\">\n",
            "<script type=\"text/javascript\">\n//<![CDATA[\nvar _ctxPath = \"/store\";\nvar _pageId = \"{page_id}\";\n",
            "window.dataLayer = window.dataLayer || [];\nfunction gtag(){{dataLayer.push(arguments);}}\ngtag('js', new Date());\ngtag('config', 'G-OLIVE0001');\n",
            "var _trkInfo = {{\"pageId\":\"{page_id}\",\"ref\":\"<a href=\\\"/store/main/main.do\\\">\"}};\n//]]>\n</script>\n",
            "<script async src=\"https://www.googletagmanager.com/gtm.js?id=GTM-OLIVE01\"></script>\n",
            "</head>\n<body>\n",
            "<noscript><iframe src=\"https://www.googletagmanager.com/ns.html?id=GTM-OLIVE01\" height=\"0\" width=\"0\" style=\"display:none;visibility:hidden\"></iframe></noscript>\n",
            "<div id=\"Wrapper\">\n<div id=\"Header\">\n<div class=\"top_util\"><ul class=\"menu_list\">",
            "<li><a href=\"/store/login/loginForm.do\" data-attr=\"공통^헤더^로그인\">로그인</a></li>",
            "<li><a href=\"/store/join/joinForm.do\" data-attr=\"공통^헤더^회원가입\">회원가입</a></li>",
            "<li><a href=\"/store/cart/getCart.do\" data-attr=\"공통^헤더^장바구니\">장바구니<span id=\"cartToCnt\">0</span></a></li>",
            "<li><a href=\"/store/mypage/getOrderList.do\">주문배송</a></li><li><a href=\"/store/counsel/getFaqList.do\">고객센터</a></li></ul></div>\n",
            "<h1 class=\"logo\"><a href=\"/store/main/main.do\"><img src=\"/pc-static-root/image/comm/h1_logo.png\" alt=\"올리브영\"></a></h1>\n",
            "<div class=\"search_box\"><input type=\"text\" id=\"query\" name=\"query\" placeholder=\"올영세일 최대 70% 할인\"><button type=\"button\" id=\"searchSubmit\">검색</button>",
            "<input type=\"checkbox\" id=\"autoSave\" name=\"autoSave\" checked><label for=\"autoSave\">자동저장</label></div>\n",
            "<div id=\"gnbWrap\"><ul class=\"gnb_menu_list\">",
            "<li><a href=\"javascript:common.link.moveMainHome();\" data-attr=\"공통^GNB^홈\">홈</a></li>",
            "<li><a href=\"/store/main/getBestList.do\" data-attr=\"공통^GNB^랭킹\">랭킹</a></li>",
            "<li><a href=\"/store/main/getBrandList.do\" data-attr=\"공통^GNB^브랜드\">브랜드</a></li>",
            "<li><a href=\"/store/main/getEventList.do\" data-attr=\"공통^GNB^이벤트\">이벤트</a></li>",
            "<li><a href=\"/store/display/getCategoryShop.do?dispCatNo=10000010002&amp;gateCd=Drawer\" data-attr=\"공통^GNB^카테고리\">카테고리</a></li>",
            "</ul></div>\n</div>\n<div id=\"Container\">\n",
        ),
        title = esc(title),
        page_id = page_id,
    ));
    out.push_str(body);
    out.push_str(concat!(
        "</div>\n<div id=\"Footer\">\n<div class=\"ftInner\"><ul class=\"ft_menu\">",
        "<li><a href=\"https://corp.cj.net/oliveyoung\" target=\"_blank\">회사소개</a></li>",
        "<li><a href=\"/store/company/getTermsOfUse.do\">이용약관</a></li>",
        "<li><a href=\"/store/company/getPrivacy.do\"><strong>개인정보처리방침</strong></a></li>",
        "<li><a href=\"/store/company/getYouthPolicy.do\">청소년보호방침</a></li></ul>\n",
        "<address>씨제이올리브영 주식회사 | 대표이사 OOO | 서울특별시 용산구 한강대로 372, 24층 (동자동, KDB타워)<br>",
        "사업자등록번호 : 809-81-01574 | 고객센터 1577-4887 | 호스팅사업자 : CJ올리브네트웍스</address>\n",
        "<p class=\"copyright\">Copyright &copy; CJ OliveYoung. All Rights Reserved.</p></div>\n</div>\n</div>\n",
    ));
    out.push_str("<script type=\"text/javascript\">\n");
    out.push_str(script);
    out.push_str("\n</script>\n");
    out.push_str(concat!(
        "<img src=\"https://ad.oliveyoung-trk.example/px.gif?cb=1724097600&amp;ev=pageview\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">\n",
        "<script>(function(){var s=document.createElement('script');s.src='https://wcs.naver.example/wcslog.js';document.body.appendChild(s);})();</script>\n",
        "</body>\n</html>\n",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_marks_the_current_page() {
        assert_eq!(
            paging(2, 3),
            "<div class=\"pageing\"><a href=\"javascript:void(0);\" data-page-no=\"1\">1</a><strong title=\"현재 페이지\">2</strong><a href=\"javascript:void(0);\" data-page-no=\"3\">3</a></div>\n"
        );
        assert_eq!(
            paging(1, 1),
            "<div class=\"pageing\"><strong title=\"현재 페이지\">1</strong></div>\n"
        );
    }

    #[test]
    fn malformed_page_has_no_goods_numbers() {
        let site = Site::generate(7);
        for code in &site.faults().goods_page1_malformed {
            let page = site.goods_page_html(code, 1).unwrap();
            assert!(page.contains("<li data-goods-idx=\"1\""), "{page}");
            assert!(!page.contains("A000000"), "{page}");
            assert!(!page.contains("</ul>"));
            // Later pages are fine (if there are any).
            let two = site.goods_page_html(code, 2).unwrap();
            assert!(two.contains("</ul>"));
        }
    }

    #[test]
    fn pages_past_the_end_are_empty() {
        let site = Site::generate(7);
        let brand = &site.brands()[0];
        let past = site
            .goods_page_html(&brand.code, brand.pages() + 1)
            .unwrap();
        assert!(!past.contains("data-goods-idx"));
        let huge = site.goods_page_html(&brand.code, usize::MAX).unwrap();
        assert!(!huge.contains("data-goods-idx"));
        let category = &site.categories()[0];
        let past = site
            .category_page_html(&category.disp_cat_no, category.pages() + 1)
            .unwrap();
        assert!(!past.contains("data-brndnm"));
        assert!(site.goods_page_html("A999999x", 1).is_none());
    }
}
