"""The Scrapy peer: a spider doing the oliveyoung plugin's extraction (same
URLs, same records: brands + products) at the same concurrency, politeness
off (no delay, no autothrottle, no retries, robots.txt not fetched).

Phases as in the plugin: the brand list is joined with every category page,
so it is requested only once the last category page has answered.
Records go to an NDJSON feed. Prints one JSON line: pages (responses),
records, brands, products, seconds."""

import argparse
import json
import os
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy import signals

sys.path.insert(0, os.path.dirname(__file__))
import oy_common as oy  # noqa: E402


def text(sel):
    return oy.collapse("".join(sel.css("::text").getall())) if sel is not None else ""


class OliveyoungSpider(scrapy.Spider):
    name = "oliveyoung"

    def __init__(self, base_url, **kw):
        super().__init__(**kw)
        self.site = oy.Site(base_url)
        self.started_ms = int(time.time() * 1000)
        self.released = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
        self.pending = 0
        self.listed = {}
        self.categories = []
        self.brands_ok = 0
        self.products = 0

    async def start(self):
        yield scrapy.Request(self.site.category_landing(), callback=self.landing)

    def start_requests(self):  # Scrapy < 2.13
        yield scrapy.Request(self.site.category_landing(), callback=self.landing)

    def landing(self, response):
        seen = set()
        for a in response.css(oy.CATEGORY_LINK):
            ident = (a.attrib.get("data-ref-dispcatno") or "").strip() or oy.id_from_href(
                (a.attrib.get("href") or "").strip())
            if not ident or not ident.isascii() or not ident.isalnum():
                continue
            attr = (a.attrib.get("data-attr") or "").strip()
            name = (oy.collapse(attr.rsplit("^", 1)[-1]) if attr else "") or text(a)
            if name and ident not in seen:
                seen.add(ident)
                self.categories.append((ident, name))
        # Count every request before yielding any: Scrapy may run a response
        # callback before this generator is drained.
        self.pending += len(self.categories)
        for ident, _ in self.categories:
            yield self.category_request(ident, 1)

    def category_request(self, ident, page):
        return scrapy.Request(self.site.category_page(ident, page), callback=self.category,
                             errback=self.category_failed, cb_kwargs={"ident": ident, "page": page},
                             dont_filter=True)

    def category_failed(self, failure):
        yield from self.category_done()

    def category_done(self):
        self.pending -= 1
        if self.pending == 0:
            yield scrapy.Request(self.site.brand_list(), callback=self.brand_list)

    def category(self, response, ident, page):
        seen, brands = set(), []
        for name in response.css(oy.CATEGORY_BRAND_CHECKBOX).xpath("@data-brndnm").getall():
            name = oy.collapse(name)
            if name and name not in seen:
                seen.add(name)
                brands.append(name)
        self.listed.setdefault(ident, []).extend(brands)
        if page == 1:
            nums = [int(n.strip()) for n in response.css(oy.PAGER_LINK).xpath("@data-page-no").getall()
                    if n.strip().isdigit()]
            nums += [int(t) for t in (text(s) for s in response.css(oy.PAGER_CURRENT)) if t.isdigit()]
            more = range(2, min(max(nums + [1]), oy.MAX_PAGES) + 1)
            self.pending += len(more)
            for p in more:
                yield self.category_request(ident, p)
        yield from self.category_done()

    def brand_list(self, response):
        by_brand = oy.join_categories(self.categories, self.listed)
        brands = oy.brand_entries(((a.attrib.get("data-ref-onlbrndcd") or "").strip(), text(a))
                                  for a in response.css(oy.BRAND_LINK))
        for b in brands:
            b["categories"] = by_brand.get(b["name_ko"], [])
            yield scrapy.Request(self.site.brand_shop(b["code"]), callback=self.shop,
                                 cb_kwargs={"brand": b})

    def shop(self, response, brand):
        response.css(oy.SHOP_CARD)  # the shop landing is parsed, as by the plugin
        yield self.goods_request(brand, 1, [], set())

    def goods_request(self, brand, page, products, seen):
        return scrapy.Request(self.site.goods_page(brand["code"], page),
                              headers=self.site.goods_headers(brand["code"]), callback=self.goods,
                              cb_kwargs={"brand": brand, "page": page, "products": products,
                                         "seen": seen})

    def goods(self, response, brand, page, products, seen):
        items = []
        for li in response.css(oy.GOODS_ITEM):
            goods_no = next((n.strip() for n in li.css(oy.GOODS_LINK).xpath("@data-ref-goodsno").getall()
                             if n.strip()), None)
            name = text(li.css(oy.PRODUCT_NAME)[:1] or None)
            cur = li.css(oy.PRICE_CURRENT)[:1]
            price = oy.parse_amount(text(cur)) if cur else None
            if not goods_no or not name or price is None:
                return  # a broken page fails the brand, as in the plugin
            org, rating, count = (li.css(s)[:1] for s in (oy.PRICE_ORIGINAL, oy.RATING, oy.REVIEW_COUNT))
            items.append({
                "goods_no": goods_no, "name": name,
                "price_original": oy.parse_amount(text(org)) if org else None,
                "price_current": price,
                "on_promotion": bool(li.css(oy.DISCOUNT)),
                "sold_out": bool(li.css(oy.SOLD_OUT)),
                "rating": oy.parse_rating(text(rating)) if rating else None,
                "review_count": oy.parse_amount(text(count)) if count else None,
            })
        for p in items:
            if p["goods_no"] not in seen:
                seen.add(p["goods_no"])
                products.append(p)
        if len(items) == oy.ROWS_PER_PAGE and page < oy.MAX_PAGES:
            yield self.goods_request(brand, page + 1, products, seen)
            return
        self.brands_ok += 1
        self.products += len(products)
        for topic, key, value in oy.brand_records(self.site, brand, products, self.released,
                                                  self.started_ms):
            yield {"topic": topic, "key": key, "value": value}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--out", required=True, help="NDJSON file the records go to")
    args = ap.parse_args()
    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "RETRY_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {args.out: {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(OliveyoungSpider)
    stats = {}

    def closed(spider):
        stats.update(crawler.stats.get_stats())

    # Scrapy holds signal receivers weakly: keep `closed` referenced here.
    crawler.signals.connect(closed, signal=signals.spider_closed)
    started = time.perf_counter()
    process.crawl(crawler, base_url=args.base_url)
    process.start()
    seconds = time.perf_counter() - started
    spider = crawler.spider
    print(json.dumps({"peer": "scrapy", "pages": stats.get("downloader/response_count", 0),
                      "records": stats.get("item_scraped_count", 0), "brands": spider.brands_ok,
                      "products": spider.products, "seconds": seconds,
                      "scrapy": scrapy.__version__}))


if __name__ == "__main__":
    main()
