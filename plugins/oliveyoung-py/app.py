"""`oliveyoung-py`: the Oliveyoung crawler in Python, the same crawl as the Rust
`oliveyoung` plugin (same topics, keys, records and tasks; only the name differs).

componentize-py runs this module's top level at build time and every call
starts from that snapshot, so every module the crawl uses is imported here and
the card reader is warmed up (see `oliveyoung_py.warmup`).
"""

from typing import List

import crawlhost
from crawlhost import CrawlOutput, PlanInput, PluginManifest, Run, Task, config_key

from oliveyoung_py import flow, warmup
from oliveyoung_py.parse import BRAND_TOPIC, PRODUCT_TOPIC
from oliveyoung_py.site import DEFAULT_BASE_URL, DEFAULT_MAX_PAGES, DEFAULT_RECORD_LAYOUT


class Oliveyoung(crawlhost.Plugin):
    """The plugin: manifest here, the crawl in `oliveyoung_py.flow`."""

    def manifest(self) -> PluginManifest:
        return crawlhost.manifest(
            name="oliveyoung-py",
            version="0.1.0",
            description="Oliveyoung brands (with categories) and their products (Python)",
            schedule="0 0 3 * * *",
            topics=[BRAND_TOPIC, PRODUCT_TOPIC],
            hosts=["www.oliveyoung.co.kr", "m.oliveyoung.co.kr", "{base_url}"],
            config=[
                config_key(
                    "base_url", "Root URL of the site (point it at a mirror or a fixture)", default=DEFAULT_BASE_URL
                ),
                config_key(
                    "max_pages",
                    "Safety cap on product pages read per brand (and brand pages per category)",
                    default=str(DEFAULT_MAX_PAGES),
                ),
                config_key(
                    "record_layout",
                    "Brand record shape: `current` (every field, key = brand code) or `legacy` (the original "
                    'pipeline\'s `{"<brand>": {query_keyword, brand_shop_detail_url, items, category, '
                    "released_date}}`, key = brand name)",
                    default=DEFAULT_RECORD_LAYOUT,
                ),
            ],
        )

    def plan(self, run: Run, input: PlanInput) -> List[Task]:
        return flow.plan(run, input)

    def crawl(self, run: Run, task: Task) -> CrawlOutput:
        return flow.crawl(run, task)


warmup.warm()
Crawler = crawlhost.export(Oliveyoung)
