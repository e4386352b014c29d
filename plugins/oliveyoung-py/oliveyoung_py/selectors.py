"""Every CSS selector and attribute name the plugin reads, in one place.

The same selectors, in the same order, as the Rust plugin's `selectors.rs`
(both plugins must read the site the same way). Fields read through a tuple
of selectors try them in order and take the first that yields a value: the
first entry is the live site's list markup, the others the forms the same
value takes on other pages and older templates. Identity fields have fallbacks
so a restyled card still yields its product; optional fields that no selector
finds become null and show in the host's field coverage.
"""

# Category landing (`/store/display/getCategoryShop.do`).

CATEGORY_LINK = 'a[href*="common.link.moveCategory("]'
"""Category anchors; the `(` keeps out `moveCategoryShop(...)` (top-level categories)."""
CATEGORY_ID_ATTR = "data-ref-dispcatno"
"""The category id on a category anchor."""
CATEGORY_HREF_CALL = "moveCategory("
"""The call in the anchor's `href` that also carries the id (fallback)."""
CATEGORY_NAME_ATTR = "data-attr"
"""`공통^드로우^<big>_<small>`: the category name is the last `^` part."""
DATA_ATTR_SEPARATOR = "^"
"""Separator of the `data-attr` parts."""

# Brands of a category (`/store/display/getMCategoryList.do`).

CATEGORY_BRAND_CHECKBOX = 'input[type="checkbox"][data-brndnm]'
"""Brand filter checkboxes."""
CATEGORY_BRAND_NAME_ATTR = "data-brndnm"
"""The brand name on a checkbox."""
PAGER_LINK = ".pageing a[data-page-no]"
"""Pager links; the largest `data-page-no` is the page count."""
PAGE_NO_ATTR = "data-page-no"
"""The page number on a pager link."""
PAGER_CURRENT = ".pageing strong"
"""The current page in the pager (not a link; its text is the number)."""

# Brand list (`/store/main/getBrandList.do`).

BRAND_LINK = "a[data-ref-onlbrndcd]"
"""Brand anchors (each brand appears under its Korean and its English name)."""
BRAND_CODE_ATTR = "data-ref-onlbrndcd"
"""The brand code on a brand anchor."""

# Brand shop (`/store/display/getBrandShopDetail.do`).

SHOP_BRAND_NAME = (
    ".brand-head .brand-name",
    ".brand-name",
    ".brand_name",
    'h1[class*="brand"][class*="name"], h2[class*="brand"][class*="name"]',
    'h1[class*="brand"][class*="title"], h2[class*="brand"][class*="title"]',
    'h1[class*="brand"], h2[class*="brand"]',
)
"""The brand name heading, first match wins."""
SHOP_PAGER_LINK = PAGER_LINK
"""Pager of the shop landing's first product page: how many AJAX pages the brand has."""
SHOP_CARD = "div.prod-info"
"""One product card of the shop landing's older markup."""
ITEM_NAME_ATTR = "data-attr"
"""The item name on a card's anchor."""

# Brand shop products, paged (`getBrandShopDetailGoodsPagingAjax.do`).

GOODS_ITEM = "li[data-goods-idx]"
"""One product of a page."""
GOODS_INDEX_ATTR = "data-goods-idx"
"""The product's index on the page (for messages)."""
GOODS_LINK = "a[data-ref-goodsno]"
"""Anchors carrying the goods number."""
GOODS_NO_ATTR = "data-ref-goodsno"
"""The goods number (`A000000xxxxxx`)."""
GOODS_NO_ANY = "[data-ref-goodsno]"
"""Any element carrying the goods number (buttons carry it too), the fallback."""
GOODS_HREF = 'a[href*="goodsNo="]'
"""Links whose `href` names the product (`goodsNo=<no>`), the last resort."""
GOODS_HREF_PARAM = "goodsNo"
"""The query parameter of `GOODS_HREF`."""
PRODUCT_NAME = (".prod-name", ".tx_name", ".prd_name")
"""Product name: the name element, else the goods anchor's `data-attr`, else the image's `alt`."""
PRODUCT_NAME_ATTR_HOLDER = "a[data-ref-goodsno][data-attr]"
"""Elements whose `data-attr` holds the name."""
PRODUCT_IMAGE = "img[alt]"
"""Thumbnails whose `alt` is the name."""
PRICE_ORIGINAL = (
    "span.tx_org > span",
    ".tx_org",
    ".price-1",
    '[class*="price"] del',
    '[class*="price"] s',
    '[class*="price"] strike',
    "del",
    "strike",
)
"""List price (absent for some products), first match wins."""
PRICE_CURRENT = (
    "span.tx_cur > span",
    ".tx_cur",
    ".price-2",
    '[class*="price"] strong',
    'strong[class*="price"]',
    '[class*="price"] b',
)
"""Selling price, first match wins."""
DISCOUNT = '.discount, [class*="discount"]'
"""Present when the product is on promotion."""
PRICE_BLOCK = '[class*="price"], [class*="prc"]'
"""A card's price block, read for amounts of money when no price selector matched."""
PRICE_ATTR = "data-price"
"""An attribute holding the selling price as a number."""
SOLD_OUT_TEXTS = ("품절", "일시품절", "sold out", "soldout")
"""Labels that mean sold out, as an element's whole own text (ASCII case ignored)."""
DISCOUNT_RATE = '[class*="rate"], [class*="sale"], [class*="price"]'
"""Badges that may show a discount rate (`25%`): a promotion when they do."""
RATING_BAR = (
    '[class*="star"][style*="width"], [class*="rating"][style*="width"], '
    '[class*="point"][style*="width"]'
)
"""Star bars whose `style` width is the rating (`width:94%` = 4.7)."""
SOLD_OUT = '.soldout, [class*="soldout"], [class*="sold-out"], [class*="sold_out"], [class*="sold-layer"]'
"""Present when the product is sold out."""
RATING = (".point", ".review_point", '[class*="rating"]', '[class*="star"]', '[class*="score"]')
"""Average rating, e.g. `5점 만점에 4.7점` (the last number counts)."""
REVIEW_COUNT = (
    ".num",
    ".review_num",
    '[class*="review-count"]',
    '[class*="review_count"]',
    '[class*="reviewCount"]',
    '[class*="review"] [class*="count"]',
    '[class*="count"]:not([class*="discount"])',
    '[class*="review"][class*="cnt"]',
)
"""Review count, e.g. `(1,234)`."""
