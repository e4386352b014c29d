"""The original crawler's approach (SOURCES.md): urllib fetches, BeautifulSoup
parses, a multiprocessing pool fans the work out, no retries, failures
skipped. Same flow and records as the oliveyoung plugin: categories ->
category pages -> brand list (joined with the categories) -> each brand's
shop and product pages -> one record per product and one per brand. Politeness
is off, as in the host's benchmark run.

Prints one JSON line: pages (HTTP requests), records, brands, products, seconds."""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from multiprocessing import Pool

from bs4 import BeautifulSoup

sys.path.insert(0, os.path.dirname(__file__))
import oy_common as oy  # noqa: E402

try:
    import lxml  # noqa: F401
    PARSER = "lxml"
except ImportError:
    PARSER = "html.parser"

SITE = None
OPENER = urllib.request.build_opener()
OPENER.addheaders = [("User-Agent", "bench-original/1.0")]


def init(base_url):
    global SITE
    SITE = oy.Site(base_url)


def fetch(url, headers=None):
    """Body on HTTP 200, None otherwise (the original skipped failures)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None


def soup(html):
    return BeautifulSoup(html, PARSER)


def parse_categories(html):
    seen, out = set(), []
    for a in soup(html).select(oy.CATEGORY_LINK):
        ident = (a.get("data-ref-dispcatno") or "").strip() or oy.id_from_href((a.get("href") or "").strip())
        if not ident or not ident.isascii() or not ident.isalnum():
            continue
        attr = (a.get("data-attr") or "").strip()
        name = oy.collapse(attr.rsplit("^", 1)[-1]) if attr else ""
        name = name or oy.collapse(a.get_text())
        if name and ident not in seen:
            seen.add(ident)
            out.append((ident, name))
    if not out:
        raise oy.ParseError("no category links")
    return out


def parse_category_page(html):
    doc = soup(html)
    seen, brands = set(), []
    for i in doc.select(oy.CATEGORY_BRAND_CHECKBOX):
        name = oy.collapse(i.get("data-brndnm") or "")
        if name and name not in seen:
            seen.add(name)
            brands.append(name)
    nums = [int(a["data-page-no"].strip()) for a in doc.select(oy.PAGER_LINK)
            if a["data-page-no"].strip().isdigit()]
    nums += [int(s.get_text().strip()) for s in doc.select(oy.PAGER_CURRENT)
             if s.get_text().strip().isdigit()]
    return brands, max(nums + [1])


def parse_brand_list(html):
    return oy.brand_entries(((a.get("data-ref-onlbrndcd") or "").strip(), oy.collapse(a.get_text()))
                            for a in soup(html).select(oy.BRAND_LINK))


def parse_goods_page(html):
    products = []
    for li in soup(html).select(oy.GOODS_ITEM):
        goods_no = next((a["data-ref-goodsno"].strip() for a in li.select(oy.GOODS_LINK)
                         if a["data-ref-goodsno"].strip()), None)
        if not goods_no:
            raise oy.ParseError("product without a goods number")
        name_el = li.select_one(oy.PRODUCT_NAME)
        name = oy.collapse(name_el.get_text()) if name_el else ""
        if not name:
            raise oy.ParseError(f"{goods_no} has no name")
        cur = li.select_one(oy.PRICE_CURRENT)
        price_current = oy.parse_amount(cur.get_text()) if cur else None
        if price_current is None:
            raise oy.ParseError(f"{goods_no} has no selling price")
        org = li.select_one(oy.PRICE_ORIGINAL)
        rating = li.select_one(oy.RATING)
        count = li.select_one(oy.REVIEW_COUNT)
        products.append({
            "goods_no": goods_no, "name": name,
            "price_original": oy.parse_amount(org.get_text()) if org else None,
            "price_current": price_current,
            "on_promotion": li.select_one(oy.DISCOUNT) is not None,
            "sold_out": li.select_one(oy.SOLD_OUT) is not None,
            "rating": oy.parse_rating(rating.get_text()) if rating else None,
            "review_count": oy.parse_amount(count.get_text()) if count else None,
        })
    return products


def category_page(job):
    """(category id, page) -> (id, page, brands, page count, requests)."""
    cat, page = job
    html = fetch(SITE.category_page(cat, page))
    if html is None:
        return cat, page, None, 0, 1
    brands, pages = parse_category_page(html)
    return cat, page, brands, pages, 1


def brand_task(job):
    """One brand: shop landing, then product pages until a short one.
    Returns (records or None when the brand failed, requests)."""
    brand, released, started_ms = job
    requests = 1
    shop = fetch(SITE.brand_shop(brand["code"]))
    if shop is None:
        return None, requests
    soup(shop).select(oy.SHOP_CARD)  # the shop landing is parsed, as by the plugin
    products, seen = [], set()
    for page in range(1, oy.MAX_PAGES + 1):
        requests += 1
        html = fetch(SITE.goods_page(brand["code"], page), SITE.goods_headers(brand["code"]))
        if html is None:
            return None, requests
        try:
            items = parse_goods_page(html)
        except oy.ParseError:
            return None, requests
        for p in items:
            if p["goods_no"] not in seen:
                seen.add(p["goods_no"])
                products.append(p)
        if len(items) < oy.ROWS_PER_PAGE:
            break
    return oy.brand_records(SITE, brand, products, released, started_ms), requests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--out", required=True, help="NDJSON file the records go to")
    args = ap.parse_args()

    started = time.perf_counter()
    started_ms = int(time.time() * 1000)
    released = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
    init(args.base_url)
    pages = 1
    landing = fetch(SITE.category_landing())
    if landing is None:
        sys.exit("the category landing did not answer")
    categories = parse_categories(landing)
    listed = {}
    with Pool(args.concurrency, initializer=init, initargs=(args.base_url,)) as pool:
        more = []
        for cat, _page, brands, n, req in pool.imap_unordered(category_page, [(c, 1) for c, _ in categories]):
            pages += req
            if brands is not None:
                listed.setdefault(cat, []).extend(brands)
                more += [(cat, p) for p in range(2, min(n, oy.MAX_PAGES) + 1)]
        for cat, _page, brands, _n, req in pool.imap_unordered(category_page, more):
            pages += req
            if brands is not None:
                listed.setdefault(cat, []).extend(brands)
        brand_list = fetch(SITE.brand_list())
        pages += 1
        if brand_list is None:
            sys.exit("the brand list did not answer")
        by_brand = oy.join_categories(categories, listed)
        brands = parse_brand_list(brand_list)
        for b in brands:
            b["categories"] = by_brand.get(b["name_ko"], [])
        records = products = ok = 0
        with open(args.out, "w", encoding="utf-8") as out:
            jobs = [(b, released, started_ms) for b in brands]
            for recs, req in pool.imap_unordered(brand_task, jobs):
                pages += req
                if recs is None:
                    continue
                ok += 1
                for topic, key, value in recs:
                    out.write(json.dumps({"topic": topic, "key": key, "value": value},
                                         ensure_ascii=False) + "\n")
                records += len(recs)
                products += len(recs) - 1
    seconds = time.perf_counter() - started
    print(json.dumps({"peer": "original", "pages": pages, "records": records, "brands": ok,
                      "products": products, "seconds": seconds, "parser": PARSER}))


if __name__ == "__main__":
    main()
