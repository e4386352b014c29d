//! Every CSS selector and attribute name the plugin reads, in one place:
//! when the site's markup drifts, this is the file to change.
//!
//! Fields read through a list of selectors try them in order and take the
//! first that yields a value: the first entry is the markup of the live
//! site's list pages (SOURCES.md), the others are the forms the same value
//! takes on the site's other pages (product detail, older templates).
//! Identity fields (goods number, product name, brand code and name) have
//! fallbacks so a restyled card still yields its product; optional fields
//! that no selector finds become null and show in the host's field coverage.

// Category landing (`/store/display/getCategoryShop.do`).

/// Category anchors. The `(` keeps out `moveCategoryShop(...)`, which links
/// the top-level categories.
pub const CATEGORY_LINK: &str = r#"a[href*="common.link.moveCategory("]"#;
/// The category id on a category anchor.
pub const CATEGORY_ID_ATTR: &str = "data-ref-dispcatno";
/// The call in the anchor's `href` that also carries the id (fallback).
pub const CATEGORY_HREF_CALL: &str = "moveCategory(";
/// `공통^드로우^<big>_<small>`: the category name is the last `^` part.
pub const CATEGORY_NAME_ATTR: &str = "data-attr";
/// Separator of the `data-attr` parts.
pub const DATA_ATTR_SEPARATOR: char = '^';

// Brands of a category (`/store/display/getMCategoryList.do`).

/// Brand filter checkboxes.
pub const CATEGORY_BRAND_CHECKBOX: &str = r#"input[type="checkbox"][data-brndnm]"#;
/// The brand name on a checkbox.
pub const CATEGORY_BRAND_NAME_ATTR: &str = "data-brndnm";
/// Pager links; the largest `data-page-no` is the page count.
pub const PAGER_LINK: &str = ".pageing a[data-page-no]";
/// The page number on a pager link.
pub const PAGE_NO_ATTR: &str = "data-page-no";
/// The current page in the pager (not a link; its text is the number).
pub const PAGER_CURRENT: &str = ".pageing strong";

// Brand list (`/store/main/getBrandList.do`).

/// Brand anchors (each brand appears under its Korean and its English name).
pub const BRAND_LINK: &str = "a[data-ref-onlbrndcd]";
/// The brand code on a brand anchor.
pub const BRAND_CODE_ATTR: &str = "data-ref-onlbrndcd";

// Brand shop (`/store/display/getBrandShopDetail.do`).

/// The brand name heading, first match wins.
pub const SHOP_BRAND_NAME: &[&str] = &[
    ".brand-head .brand-name",
    ".brand-name",
    ".brand_name",
    r#"h1[class*="brand"][class*="name"], h2[class*="brand"][class*="name"]"#,
    r#"h1[class*="brand"][class*="title"], h2[class*="brand"][class*="title"]"#,
    r#"h1[class*="brand"], h2[class*="brand"]"#,
];
/// Pager of the shop landing's first product page: how many AJAX pages the
/// brand has (a hint that keeps paging past a failed page).
pub const SHOP_PAGER_LINK: &str = PAGER_LINK;
/// One product card of the first page.
pub const SHOP_CARD: &str = "div.prod-info";
/// The card's first anchor, whose `data-attr` is the item name.
pub const SHOP_CARD_LINK: &str = "a";
/// The item name on the card's first anchor.
pub const ITEM_NAME_ATTR: &str = "data-attr";

// Brand shop products, paged (`getBrandShopDetailGoodsPagingAjax.do`).

/// One product of a page.
pub const GOODS_ITEM: &str = "li[data-goods-idx]";
/// The product's index on the page (for messages).
pub const GOODS_INDEX_ATTR: &str = "data-goods-idx";
/// Anchors carrying the goods number.
pub const GOODS_LINK: &str = "a[data-ref-goodsno]";
/// The goods number (`A000000xxxxxx`).
pub const GOODS_NO_ATTR: &str = "data-ref-goodsno";
/// Any element carrying the goods number (buttons carry it too), the
/// fallback when no anchor does.
pub const GOODS_NO_ANY: &str = "[data-ref-goodsno]";
/// Links whose `href` names the product (`goodsNo=<no>`), the last resort.
pub const GOODS_HREF: &str = r#"a[href*="goodsNo="]"#;
/// The query parameter of [`GOODS_HREF`].
pub const GOODS_HREF_PARAM: &str = "goodsNo";
/// Product name: the name element, else the goods anchor's `data-attr`,
/// else the thumbnail's `alt`.
pub const PRODUCT_NAME: &[&str] = &[".prod-name", ".tx_name", ".prd_name"];
/// Elements whose attribute [`ITEM_NAME_ATTR`] holds the name.
pub const PRODUCT_NAME_ATTR_HOLDER: &str = "a[data-ref-goodsno][data-attr]";
/// Thumbnails whose `alt` is the name.
pub const PRODUCT_IMAGE: &str = "img[alt]";
/// List price, e.g. `25,600` (absent for some products), first match wins:
/// the list pages' markup, the detail page's, then any struck-through
/// amount (a crossed-out price is what a list price looks like anywhere).
pub const PRICE_ORIGINAL: &[&str] = &[
    "span.tx_org > span",
    ".tx_org",
    ".price-1",
    r#"[class*="price"] del"#,
    r#"[class*="price"] s"#,
    r#"[class*="price"] strike"#,
    "del",
    "strike",
];
/// Selling price, first match wins: the list pages' markup, the detail
/// page's, then the emphasised amount of a price block.
pub const PRICE_CURRENT: &[&str] = &[
    "span.tx_cur > span",
    ".tx_cur",
    ".price-2",
    r#"[class*="price"] strong"#,
    r#"strong[class*="price"]"#,
    r#"[class*="price"] b"#,
];
/// Present when the product is on promotion (also on shop cards). A card
/// whose selling price is below its list price is on promotion too.
pub const DISCOUNT: &str = r#".discount, [class*="discount"]"#;
/// A card's price block, read for amounts of money (`19,800원`, `₩19,800`)
/// when no price selector matched: lowest = selling, highest = list price.
pub const PRICE_BLOCK: &str = r#"[class*="price"], [class*="prc"]"#;
/// An attribute holding the selling price as a number.
pub const PRICE_ATTR: &str = "data-price";
/// Labels that mean sold out, as an element's whole own text.
pub const SOLD_OUT_TEXTS: &[&str] = &["품절", "일시품절", "sold out", "soldout"];
/// Badges that may show a discount rate (`25%`): a promotion when they do.
pub const DISCOUNT_RATE: &str = r#"[class*="rate"], [class*="sale"], [class*="price"]"#;
/// Star bars whose `style` width is the rating (`width:94%` = 4.7), read
/// when no rating text is found.
pub const RATING_BAR: &str = r#"[class*="star"][style*="width"], [class*="rating"][style*="width"], [class*="point"][style*="width"]"#;
/// Present when the product is sold out.
pub const SOLD_OUT: &str = r#".soldout, [class*="soldout"], [class*="sold-out"], [class*="sold_out"], [class*="sold-layer"]"#;
/// Average rating, e.g. `5점 만점에 4.7점` (the last number counts).
pub const RATING: &[&str] = &[
    ".point",
    ".review_point",
    r#"[class*="rating"]"#,
    r#"[class*="star"]"#,
    r#"[class*="score"]"#,
];
/// Review count, e.g. `(1,234)`.
pub const REVIEW_COUNT: &[&str] = &[
    ".num",
    ".review_num",
    r#"[class*="review-count"]"#,
    r#"[class*="review_count"]"#,
    r#"[class*="reviewCount"]"#,
    r#"[class*="review"] [class*="count"]"#,
    r#"[class*="count"]:not([class*="discount"])"#,
    r#"[class*="review"][class*="cnt"]"#,
];
