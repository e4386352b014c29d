"""`oliveyoung-bs4`: the original crawler's BeautifulSoup code, inside a plugin.

The crawler this project replaces (SOURCES.md) read pages with urllib and
BeautifulSoup. This plugin runs its brand-list code as it was (the
`parse_brand_list` and `brand_entries` of `bench/peers/original_bs4.py` and
`bench/peers/oy_common.py`): BeautifulSoup with the pure-Python
`html.parser`, bundled into the component by componentize-py
(beautifulsoup4 and soupsieve, pinned, installed by
scripts/install/componentize-py.sh into `.venv/python-plugin-libs`). Only the
fetch changes: `crawlhost.http` instead of urllib, so the host's allow-list,
politeness and retries apply.

It shows the path for a contract without the host's `html` capability, or
for code one does not want to rewrite. It is slow: a page parsed by
html.parser in CPython compiled to WebAssembly takes about a second where
the capability takes milliseconds (BENCHMARKS.md). One task, the brand list;
one record per brand (key: brand code) on topic `oliveyoung-bs4-brands`.
"""

import re
from typing import Dict, Iterable, List, Tuple

from bs4 import BeautifulSoup

import crawlhost
from crawlhost import ParseError, http, out

TOPIC = "oliveyoung-bs4-brands"
PARSER = "html.parser"
BRAND_LINK = "a[data-ref-onlbrndcd]"
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


def collapse(s: str) -> str:
    return " ".join(s.split())


def has_hangul(s: str) -> bool:
    return _HANGUL.search(s) is not None


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, PARSER)


def brand_entries(pairs: Iterable[Tuple[str, str]]) -> List[Dict[str, str]]:
    """(code, link text) in page order -> brands with Korean and English names."""
    index: Dict[str, int] = {}
    brands: List[Dict[str, str]] = []
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


def parse_brand_list(html: str) -> List[Dict[str, str]]:
    return brand_entries(((a.get("data-ref-onlbrndcd") or "").strip(), collapse(a.get_text()))
                         for a in soup(html).select(BRAND_LINK))


class OliveyoungBs4(crawlhost.Plugin):
    """The brand list, read by the original crawler's code."""

    def manifest(self) -> crawlhost.PluginManifest:
        return crawlhost.manifest(
            name="oliveyoung-bs4",
            version="0.1.0",
            description="Oliveyoung brands, read by the original crawler's BeautifulSoup code",
            topics=[TOPIC],
            hosts=["{base_url}"],
            config=[crawlhost.config_key("base_url", "Site root", default="https://www.oliveyoung.co.kr")],
        )

    def plan(self, run: crawlhost.Run, input: crawlhost.PlanInput) -> List[crawlhost.Task]:
        return [out.task("brand-list", "brand-list", {})]

    def crawl(self, run: crawlhost.Run, task: crawlhost.Task) -> crawlhost.CrawlOutput:
        base = run.require("base_url").rstrip("/")
        html = http.get(f"{base}/store/main/getBrandList.do", ok=True).text()
        return out.output([out.record(TOPIC, b["code"], b) for b in parse_brand_list(html)])


Crawler = crawlhost.export(OliveyoungBs4)
