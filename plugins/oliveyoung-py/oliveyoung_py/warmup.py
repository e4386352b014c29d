"""Build-time warm-up of the card reader (run once, at import, inside componentize-py).

componentize-py snapshots the interpreter after the app module's top level
ran, and every task's instance starts from that snapshot. Code that has never
run there starts cold in every instance: CPython's adaptive interpreter
specializes each function's bytecode anew (and the writes copy snapshot pages).
Reading a few canned cards here, through a stand-in for the host's elements
(the `html` import is not there at build time), leaves the hot path warm in
the snapshot. Nothing it produces is kept.
"""

from typing import Dict, List, Optional, Sequence

from crawlhost import Tally, out

from . import parse, records
from .site import Settings

# (selector -> texts) and (selector -> attribute values) of three cards: a full
# one, one without list price, rating and reviews, one sold out.
_CARDS: Sequence[Dict[str, List[str]]] = (
    {
        "a[data-ref-goodsno]": ["A000000100001"],
        ".prod-name": ["브랜드 토너 200ml"],
        "span.tx_cur > span": ["19,800"],
        "span.tx_org > span": ["25,600"],
        ".point": ["5점 만점에 4.7점"],
        ".num": ["(1,234)"],
    },
    {"a[data-ref-goodsno]": ["A000000100002"], ".prod-name": ["세럼 [1+1]"], "span.tx_cur > span": ["9,900"]},
    {"a[data-ref-goodsno]": ["A000000100003"], ".prod-name": ["크림"], ".tx_cur": ["12,000원"], "*": ["품절"]},
)


class _Card:
    """A stand-in for `crawlhost.Element` answering from canned values."""

    def __init__(self, values: Dict[str, List[str]]) -> None:
        self.values = values

    def texts(self, css: str) -> List[str]:
        return self.values.get(css, [])

    def own_texts(self, css: str) -> List[str]:
        return self.values.get(css, [])

    def attr_values(self, css: str, name: str) -> List[Optional[str]]:
        return list(self.values.get(css, []))

    def matches(self, css: str) -> bool:
        return False

    def own_text(self) -> str:
        return ""

    def attr(self, name: str) -> Optional[str]:
        return None

    def attr_trimmed(self, name: str) -> Optional[str]:
        return None


def warm(rounds: int = 40) -> None:
    """Read the canned cards `rounds` times and build their records."""
    settings = Settings.from_values("https://www.oliveyoung.co.kr", None, None)
    info = {"code": "A000001", "name_ko": "브랜드", "name_en": "Brand", "categories": ["스킨케어_토너"]}
    for _ in range(rounds):
        tally = Tally(parse.PRODUCT_TOPIC)
        products = []
        for i, values in enumerate(_CARDS):
            card = _Card(values)
            product = tally.item(lambda: str(i), lambda item: parse.read_product(item, card))  # type: ignore[arg-type]
            if product is not None:
                products.append(product)
        for p in products:
            out.record(parse.PRODUCT_TOPIC, p.goods_no, records.product_record(settings, info, p, 0), 0)
        key, value = records.brand_record(settings, info, products, "브랜드", [], "2024-01-01", 0)
        out.record(parse.BRAND_TOPIC, key, value, 0)
        tally.report_with(lambda level, line: None, lambda topic, field, n: None)
