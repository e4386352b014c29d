"""What both Python peers share with the oliveyoung plugin: the site's URLs,
the record shapes (brand + product, the plugin's `records.rs`) and the small
text parsers (the plugin's `parse.rs`). The HTML walking itself is each peer's
own (BeautifulSoup in the original approach, Scrapy's selectors in Scrapy)."""

import re
from urllib.parse import urlencode

ROWS_PER_PAGE = 24
MAX_PAGES = 100
BRAND_TOPIC = "oliveyoung"
PRODUCT_TOPIC = "oliveyoung-products"

# The plugin's selectors (plugins/oliveyoung/src/selectors.rs).
CATEGORY_LINK = 'a[href*="common.link.moveCategory("]'
CATEGORY_BRAND_CHECKBOX = 'input[type="checkbox"][data-brndnm]'
PAGER_LINK = ".pageing a[data-page-no]"
PAGER_CURRENT = ".pageing strong"
BRAND_LINK = "a[data-ref-onlbrndcd]"
SHOP_BRAND_NAME = ".brand-head .brand-name"
SHOP_CARD = "div.prod-info"
GOODS_ITEM = "li[data-goods-idx]"
GOODS_LINK = "a[data-ref-goodsno]"
PRODUCT_NAME = ".prod-name"
PRICE_ORIGINAL = "span.tx_org > span"
PRICE_CURRENT = "span.tx_cur > span"
DISCOUNT = "div.discount"
SOLD_OUT = "span.soldout"
RATING = ".point"
REVIEW_COUNT = ".num"

_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_NUMBER = re.compile(r"\d+(?:\.\d*)?")


class ParseError(Exception):
    """A page whose shape is wrong: the plugin fails the task on it."""


def collapse(s):
    return " ".join(s.split())


def has_hangul(s):
    return _HANGUL.search(s) is not None


def parse_amount(text):
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    return int(digits) if digits else None


def parse_rating(text):
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].rstrip("."))
    except ValueError:
        return None


def id_from_href(href):
    i = href.find("moveCategory(")
    if i < 0:
        return None
    args = href[i + len("moveCategory("):].lstrip()
    if not args or args[0] not in "'\"":
        return None
    end = args.find(args[0], 1)
    if end < 0:
        return None
    ident = args[1:end].strip()
    return ident or None


class Site:
    def __init__(self, base_url):
        self.base = base_url.rstrip("/")

    def category_landing(self):
        return f"{self.base}/store/display/getCategoryShop.do?" + urlencode(
            {"dispCatNo": "10000010002", "gateCd": "Drawer"})

    def category_page(self, cat, page):
        return f"{self.base}/store/display/getMCategoryList.do?" + urlencode(
            {"dispCatNo": cat, "pageIdx": page})

    def brand_list(self):
        return f"{self.base}/store/main/getBrandList.do"

    def brand_shop(self, code):
        return f"{self.base}/store/display/getBrandShopDetail.do?" + urlencode({"onlBrndCd": code})

    def goods_page(self, code, page):
        return f"{self.base}/store/display/getBrandShopDetailGoodsPagingAjax.do?" + urlencode(
            {"onlBrndCd": code, "pageIdx": page, "dispCatNo": "", "prdSort": "rank",
             "rowsPerPage": ROWS_PER_PAGE})

    def goods_headers(self, code):
        return {"x-requested-with": "XMLHttpRequest",
                "accept": "text/html, */*; q=0.01",
                "referer": self.brand_shop(code)}

    def goods_detail_url(self, goods_no):
        return f"{self.base}/store/goods/getGoodsDetail.do?" + urlencode({"goodsNo": goods_no})


def join_categories(categories, listed):
    """Brand name -> category names, landing order, no duplicates."""
    by_brand = {}
    for cat_id, name in categories:
        for brand in listed.get(cat_id, ()):
            names = by_brand.setdefault(brand, [])
            if name not in names:
                names.append(name)
    return by_brand


def brand_records(site, brand, products, released_date, crawled_at_ms):
    """(topic, key, value) of every product and of the brand, as the plugin emits them."""
    out = []
    for p in products:
        out.append((PRODUCT_TOPIC, p["goods_no"], {
            "goods_no": p["goods_no"], "name": p["name"], "brand": brand["name_ko"],
            "brand_code": brand["code"], "url": site.goods_detail_url(p["goods_no"]),
            "price_original": p["price_original"], "price_current": p["price_current"],
            "on_promotion": p["on_promotion"], "sold_out": p["sold_out"],
            "rating": p["rating"], "review_count": p["review_count"],
            "crawled_at_ms": crawled_at_ms}))
    out.append((BRAND_TOPIC, brand["code"], {
        "brand": brand["name_ko"],
        "query_keyword": [brand["name_ko"], brand["name_en"]],
        "brand_shop_detail_url": site.brand_shop(brand["code"]),
        "items": {p["name"]: p["on_promotion"] for p in sorted(products, key=lambda p: p["name"])},
        "category": brand["categories"],
        "released_date": released_date,
        "brand_code": brand["code"],
        "brand_name_en": brand["name_en"],
        "goods_numbers": [p["goods_no"] for p in products],
        "product_count": len(products),
        "crawled_at_ms": crawled_at_ms}))
    return out


def brand_entries(pairs):
    """(code, link text) in page order -> brands with Korean and English names."""
    index, brands = {}, []
    for code, text in pairs:
        if not code or not text:
            continue
        if code not in index:
            index[code] = len(brands)
            brands.append({"code": code, "name_ko": "", "name_en": ""})
        entry = brands[index[code]]
        if has_hangul(text):
            if not entry["name_ko"]:
                entry["name_ko"] = text
        elif not entry["name_en"]:
            entry["name_en"] = text
    for e in brands:
        e["name_ko"] = e["name_ko"] or e["name_en"]
        e["name_en"] = e["name_en"] or e["name_ko"]
    if not brands:
        raise ParseError("no brand links on the brand list")
    return brands
