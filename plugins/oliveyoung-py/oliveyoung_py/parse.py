"""Page parsers: page HTML in, plain data out, through the host's `html` capability.

Ported from the Rust plugin's `parse.rs`, rule for rule, so both plugins read
the same values from the same pages, drifted markup included. Items (brands of
the brand list, product cards) are read through `Tally`: an item without its
identity fields (brand code and name; goods number and name) is skipped and
counted, never its siblings; every other field is optional and `None` when it
cannot be read. Only a page with nothing of what it exists for (no category on
the landing, no brand on the brand list) is a `ParseError`; the caller adds
the URL. Reads go in bulk (`texts`, `attr_values`: one call for every match)
wherever the Rust plugin's per-element reads give the same answer.
"""

import re
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from crawlhost import CrawlError, Document, Element, Item, ParseError, Tally, collapse_whitespace

from . import numbers as num
from . import selectors as sel

BRAND_TOPIC = "oliveyoung"
"""Topic of brand records (the brand record contract's topic)."""
PRODUCT_TOPIC = "oliveyoung-products"
"""Topic of product records."""

# An attribute no element has: `attr_values(css, _NONE_ATTR)` counts matches
# without moving any text across the boundary.
_NONE_ATTR = "data-crawlhost-count"
_COMBINATOR = re.compile(r"\[[^\]]*\]|\([^)]*\)|[\s>+~]")


def _self_or_descendant(css: str) -> str:
    """One selector matching an element that matches `css` or has a descendant that
    does (`has` in one call); `css` must be a list of compound selectors, where
    `:has` means the same as a search below the element."""
    for part in css.split(","):
        if any(m.group() in " \t\n>+~" for m in _COMBINATOR.finditer(part.strip())):
            raise ValueError(f"`{css}` has a combinator")
    return f":is({css}), :has({css})"


class Chain(NamedTuple):
    """Selectors tried in order, the rest joined into one selector list so that one
    call tells when none of them matches (the usual case for a missing field)."""

    selectors: Tuple[str, ...]
    rest: str


def _chain(selectors: Sequence[str]) -> Chain:
    return Chain(tuple(selectors), ", ".join(selectors[1:]))


PRICE_CURRENT = _chain(sel.PRICE_CURRENT)
PRICE_ORIGINAL = _chain(sel.PRICE_ORIGINAL)
RATING = _chain(sel.RATING)
REVIEW_COUNT = _chain(sel.REVIEW_COUNT)
PRODUCT_NAME = _chain(sel.PRODUCT_NAME)
HAS_DISCOUNT = _self_or_descendant(sel.DISCOUNT)
HAS_SOLD_OUT = _self_or_descendant(sel.SOLD_OUT)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Product(NamedTuple):
    """One product card of a brand shop page."""

    goods_no: str
    name: str
    price_original: Optional[int]
    price_current: Optional[int]
    on_promotion: bool
    sold_out: bool
    rating: Optional[float]
    review_count: Optional[int]


class GoodsPage(NamedTuple):
    """One page of a brand's products: those read, the card count, the tally."""

    products: List[Product]
    cards: int
    tally: Tally


class ShopDetail:
    """The brand shop landing: heading, announced page count, and the first page's
    products, read from the landing only when asked (the brand flow needs them only
    when AJAX page 1 fails or is empty, so most landings never read their cards)."""

    __slots__ = ("brand_name", "pages", "_doc", "_products")

    def __init__(self, brand_name: Optional[str], pages: Optional[int], doc: Document) -> None:
        self.brand_name = brand_name
        """The brand name heading, if present."""
        self.pages = pages
        """How many product pages the landing's pager announces, if it has one."""
        self._doc = doc
        self._products: Optional[GoodsPage] = None

    def products(self) -> GoodsPage:
        """The landing's product cards (the same cards as AJAX page 1), read once."""
        if self._products is None:
            self._products = goods_of(self._doc)
        return self._products


class BrandEntry(NamedTuple):
    """One brand of the brand list."""

    code: str
    name_ko: str
    name_en: str


def _u32s(values: Sequence[Optional[str]]) -> List[int]:
    out = []
    for v in values:
        if v is not None:
            n = num.parse_unsigned(v.strip(), num.U32_MAX)
            if n is not None:
                out.append(n)
    return out


def _last_part(attr: str) -> str:
    return collapse_whitespace(attr.rsplit(sel.DATA_ATTR_SEPARATOR, 1)[-1])


def _is_code(s: str) -> bool:
    return s != "" and s.isascii() and s.isalnum()


def parse_categories(html: str) -> List[Dict[str, str]]:
    """Categories (`{id, name}`) of the landing page in page order, first id wins;
    none at all is a `ParseError` (the page changed)."""
    doc = Document.parse(html)
    ids = doc.attr_values(sel.CATEGORY_LINK, sel.CATEGORY_ID_ATTR)
    hrefs = doc.attr_values(sel.CATEGORY_LINK, "href")
    attrs = doc.attr_values(sel.CATEGORY_LINK, sel.CATEGORY_NAME_ATTR)
    texts = doc.texts(sel.CATEGORY_LINK)
    seen: Set[str] = set()
    categories: List[Dict[str, str]] = []
    for raw_id, href, attr, text in zip(ids, hrefs, attrs, texts):
        cat_id = raw_id.strip() if raw_id is not None else None
        if not cat_id:
            cat_id = id_from_href(href.strip()) if href is not None else None
        if cat_id is None or not _is_code(cat_id):
            continue
        name = _last_part(attr.strip()) if attr is not None else ""
        if not name:
            name = collapse_whitespace(text)
        if not name or cat_id in seen:
            continue
        seen.add(cat_id)
        categories.append({"id": cat_id, "name": name})
    if not categories:
        raise ParseError(f"no category links (`{sel.CATEGORY_LINK}`) on the category landing page")
    return categories


def id_from_href(href: str) -> Optional[str]:
    """The first quoted argument of `...moveCategory('<id>', ...)`."""
    at = href.find(sel.CATEGORY_HREF_CALL)
    if at < 0:
        return None
    args = href[at + len(sel.CATEGORY_HREF_CALL):].lstrip()
    if not args or args[0] not in "'\"":
        return None
    rest = args[1:]
    end = rest.find(args[0])
    if end < 0:
        return None
    cat_id = rest[:end].strip()
    return cat_id or None


def parse_category_page(html: str) -> Tuple[List[str], int]:
    """Brand names (deduplicated, in order) and the page count of one page of a
    category's brand filter. An empty page (past the end) is not an error."""
    doc = Document.parse(html)
    seen: Set[str] = set()
    brands: List[str] = []
    for name in doc.attr_values(sel.CATEGORY_BRAND_CHECKBOX, sel.CATEGORY_BRAND_NAME_ATTR):
        name = collapse_whitespace(name) if name is not None else ""
        if name and name not in seen:
            seen.add(name)
            brands.append(name)
    # The pager links every page but the current one, which is a <strong>.
    numbers = _u32s(doc.attr_values(sel.PAGER_LINK, sel.PAGE_NO_ATTR)) + _u32s(doc.texts(sel.PAGER_CURRENT))
    pages = max(max(numbers, default=1), 1)
    return brands, pages


def parse_brand_list(html: str) -> Tuple[List[BrandEntry], Tally]:
    """Brands of the brand list in order of first appearance, with Korean and
    English names, and the tally of anchors skipped for want of a name; no brand
    at all is a `ParseError`."""
    doc = Document.parse(html)
    codes = doc.attr_values(sel.BRAND_LINK, sel.BRAND_CODE_ATTR)
    texts = doc.texts(sel.BRAND_LINK)
    links: Optional[List[Element]] = None
    index: Dict[str, int] = {}
    names: List[List[str]] = []  # [code, name_ko, name_en]
    nameless: List[str] = []
    for i, code in enumerate(codes):
        # An empty code marks page chrome (the "more brands" button).
        code = code.strip() if code is not None else ""
        if not code:
            continue
        name: Optional[str] = collapse_whitespace(texts[i]) if i < len(texts) else ""
        if not name:
            if links is None:
                links = doc.select(sel.BRAND_LINK)
            name = brand_anchor_name(links[i]) if i < len(links) else None
        if name is None:
            if code not in index and code not in nameless:
                nameless.append(code)
            continue
        at = index.get(code)
        if at is None:
            at = index[code] = len(names)
            names.append([code, "", ""])
        entry = names[at]
        if has_hangul(name):
            if not entry[1]:
                entry[1] = name
        elif not entry[2]:
            entry[2] = name
    tally = Tally(BRAND_TOPIC)
    for code in nameless:
        if code not in index:
            tally.skip("brand", lambda code=code: f"brand {code}")
    brands = []
    for code, ko, en in names:
        brands.append(BrandEntry(code, ko or en, en or ko))
        tally.item(str, lambda item: None)
    if not brands:
        raise ParseError(f"no brand links (`{sel.BRAND_LINK}`) with a name on the brand list")
    return brands, tally


def brand_anchor_name(link: Element) -> Optional[str]:
    """A brand anchor's name: its text, else an image's `alt`, else its `title`,
    else the last `^` part of its `data-attr` (the first present one counts)."""
    text = link.text_trimmed()
    if text:
        return text
    alts = link.attr_values(sel.PRODUCT_IMAGE, "alt")
    name = alts[0].strip() if alts and alts[0] is not None else None
    if name is None:
        name = link.attr_trimmed("title")
    if name is None:
        attr = link.attr_trimmed(sel.ITEM_NAME_ATTR)
        name = _last_part(attr) if attr is not None else None
    if name is None:
        return None
    return collapse_whitespace(name) or None


def has_hangul(s: str) -> bool:
    """Whether `s` contains Hangul (syllables or jamo)."""
    for c in s:
        if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff" or "\u3130" <= c <= "\u318f":
            return True
    return False


def parse_shop_detail(html: str) -> ShopDetail:
    """The brand shop landing: heading, the pager's page count, first page's products."""
    doc = Document.parse(html)
    brand_name = None
    for css in sel.SHOP_BRAND_NAME:
        texts = doc.texts(css)
        if texts:
            brand_name = collapse_whitespace(texts[0]) or None
            if brand_name is not None:
                break
    numbers = _u32s(doc.attr_values(sel.SHOP_PAGER_LINK, sel.PAGE_NO_ATTR)) + _u32s(doc.texts(sel.PAGER_CURRENT))
    return ShopDetail(brand_name, max(numbers) if numbers else None, doc)


def parse_goods_page(html: str) -> GoodsPage:
    """The products of one brand shop page (an AJAX fragment), in page order."""
    return goods_of(Document.parse(html))


def goods_of(doc: Document) -> GoodsPage:
    """The product cards of a document: `li[data-goods-idx]`, else `div.prod-info`."""
    cards = doc.select(sel.GOODS_ITEM)
    if not cards:
        cards = doc.select(sel.SHOP_CARD)
    tally = Tally(PRODUCT_TOPIC)
    products: List[Product] = []
    for i, card in enumerate(cards):
        product = tally.item(lambda: _card_place(card, i), lambda item: read_product(item, card))
        if product is not None:
            products.append(product)
    return GoodsPage(products, len(cards), tally)


def _card_place(card: Element, i: int) -> str:
    idx = card.attr_trimmed(sel.GOODS_INDEX_ATTR) or ""
    return f'product card #{i + 1} (data-goods-idx="{idx}")'


def read_product(item: Item, card: Element) -> Product:
    """One card's product; raises `Missing` without a goods number or a name."""
    goods_no = item.identity("goods_no", goods_no_of(card))
    name = item.identity("name", product_name_of(card))
    current = first_amount(card, PRICE_CURRENT)
    original = first_amount(card, PRICE_ORIGINAL)
    if current is None:
        block_current, block_original = price_block(card)
        current = block_current
        if original is None:
            original = block_original
    price_current = item.optional("price_current", current)
    price_original = item.optional("price_original", original)
    # A selling price below the list price is a promotion whatever marks it.
    reduced = price_current is not None and price_original is not None and price_current < price_original
    on_promotion = (
        has(card, HAS_DISCOUNT) or reduced or any(num.has_rate(t) for t in _texts(card, sel.DISCOUNT_RATE))
    )
    sold_out = has(card, HAS_SOLD_OUT) or has_text(card, sel.SOLD_OUT_TEXTS)
    rating_text = first_text(card, RATING)
    rating = num.parse_rating(rating_text) if rating_text is not None else None
    if rating is None:
        for style in _attr_values(card, sel.RATING_BAR, "style"):
            if style is not None:
                rating = num.rating_from_width(style.strip())
                if rating is not None:
                    break
    count_text = first_text(card, REVIEW_COUNT)
    return Product(
        goods_no=goods_no,
        name=name,
        price_original=price_original,
        price_current=price_current,
        on_promotion=on_promotion,
        sold_out=sold_out,
        rating=item.optional("rating", rating),
        review_count=item.optional("review_count", num.parse_count(count_text) if count_text is not None else None),
    )


def _texts(card: Element, css: str) -> List[str]:
    try:
        return card.texts(css)
    except CrawlError:
        return []


def _attr_values(card: Element, css: str, name: str) -> List[Optional[str]]:
    try:
        return card.attr_values(css, name)
    except CrawlError:
        return []


def goods_no_of(card: Element) -> Optional[str]:
    """The goods number: an anchor's `data-ref-goodsno`, else any element's, else
    the `goodsNo` parameter of a product link."""
    for css in (sel.GOODS_LINK, sel.GOODS_NO_ANY):
        for no in card.attr_values(css, sel.GOODS_NO_ATTR):
            if no is not None:
                no = no.strip()
                if _is_code(no):
                    return no
    for href in card.attr_values(sel.GOODS_HREF, "href"):
        if href is not None:
            no = query_param(href.strip(), sel.GOODS_HREF_PARAM)
            if no is not None and _is_code(no):
                return no
    return None


def product_name_of(card: Element) -> Optional[str]:
    """The product name: the name element's text, else the goods anchor's
    `data-attr`, else the thumbnail's `alt` (the first present one counts)."""
    name = first_text(card, PRODUCT_NAME)
    if name is None:
        name = first_attr(card, sel.PRODUCT_NAME_ATTR_HOLDER, sel.ITEM_NAME_ATTR)
    if name is None:
        name = first_attr(card, sel.PRODUCT_IMAGE, "alt")
    return name or None


def first_texts(card: Element, chain: Chain) -> Iterator[str]:
    """The first match's text of each selector of `chain` that matches, in order,
    lazily. After the first selector, one call over the rest finds whether any of
    them matches at all; only then are they tried one by one."""
    texts = _texts(card, chain.selectors[0])
    if texts:
        yield texts[0]
    if not chain.rest:
        return
    try:
        if not card.attr_values(chain.rest, _NONE_ATTR):
            return
    except CrawlError:
        pass  # a bad selector among the rest: try them one by one
    for css in chain.selectors[1:]:
        texts = _texts(card, css)
        if texts:
            yield texts[0]


def first_text(card: Element, chain: Chain) -> Optional[str]:
    """The whitespace-collapsed text of the first element one of the selectors (in
    order) finds with non-empty text (only each selector's first match counts)."""
    for text in first_texts(card, chain):
        text = collapse_whitespace(text)
        if text:
            return text
    return None


def first_amount(card: Element, chain: Chain) -> Optional[int]:
    """The first amount one of the selectors (in order) yields from its first match."""
    for text in first_texts(card, chain):
        amount = num.parse_amount(collapse_whitespace(text))
        if amount is not None:
            return amount
    return None


def first_attr(card: Element, css: str, name: str) -> Optional[str]:
    """Attribute `name` of the first element matching `css`, whitespace collapsed."""
    values = _attr_values(card, css, name)
    if values and values[0] is not None:
        return collapse_whitespace(values[0])
    return None


def has(card: Element, self_or_descendant: str) -> bool:
    """Whether the card, or an element in it, matches (a `_self_or_descendant` selector)."""
    try:
        return card.matches(self_or_descendant)
    except CrawlError:
        return False


def has_text(card: Element, labels: Sequence[str]) -> bool:
    """Whether an element of the card has exactly one of `labels` as its own text
    (ASCII case and surrounding space ignored)."""

    def says(own: str) -> bool:
        own = collapse_whitespace(own)
        return own != "" and own.translate(_ASCII_LOWER) in labels

    if says(card.own_text()):
        return True
    try:
        owns = card.own_texts("*")
    except CrawlError:
        return False
    return any(says(t) for t in owns)


def query_param(href: str, name: str) -> Optional[str]:
    """The value of `name` in the query of `href` (no percent-decoding)."""
    _, mark, query = href.partition("?")
    if not mark:
        return None
    query = query.split("#", 1)[0]
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq and key == name:
            return value.strip()
    return None


def price_block(card: Element) -> Tuple[Optional[int], Optional[int]]:
    """Prices from the card's price block when no price selector found them: the
    first block with amounts of money gives the lowest (selling) and the highest
    (list, when higher); else a `data-price` attribute stands for the selling price."""
    for text in _texts(card, sel.PRICE_BLOCK):
        amounts = num.money(text)
        if amounts:
            low, high = min(amounts), max(amounts)
            return low, (high if high > low else None)
    attr = next((v for v in _attr_values(card, sel.PRICE_BLOCK, sel.PRICE_ATTR) if v is not None), None)
    if attr is None:
        attr = card.attr(sel.PRICE_ATTR)
    if attr is None:
        return None, None
    return num.parse_unsigned(attr.strip(), num.U64_MAX), None
