"""Where things are on the site: the checked settings (`base_url`, `max_pages`,
`record_layout`) and the URL of every page the plugin fetches, byte for byte
the URLs the Rust plugin builds (they end up in records)."""

from typing import List, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

from crawlhost import Other, Run
from crawlhost.http import with_query

from .numbers import U64_MAX, U32_MAX, parse_unsigned

DEFAULT_BASE_URL = "https://www.oliveyoung.co.kr"
"""Default `base_url`."""
DEFAULT_MAX_PAGES = 100
"""Default `max_pages`."""
DEFAULT_RECORD_LAYOUT = "current"
"""Default `record_layout`."""
ROWS_PER_PAGE = 24
"""Products per AJAX page (`rowsPerPage`); a shorter page is the last one."""
BRANDS_PER_CATEGORY_PAGE = 24
"""Brands per page of a category's brand filter; a full page may have a next one."""
LANDING_DISP_CAT_NO = "10000010002"
"""The `dispCatNo` the category landing is opened with."""

Request = Tuple[str, List[Tuple[str, str]]]
"""A GET request: URL and headers."""


class Settings(NamedTuple):
    """The plugin's configuration, validated."""

    base_url: str
    """Site root without a trailing `/`."""
    max_pages: int
    """Safety cap on pages fetched per brand (and per category)."""
    record_layout: str
    """`current` or `legacy` (the brand record contract's two shapes)."""

    @staticmethod
    def from_run(run: Run) -> "Settings":
        """Settings of the current run (`Other` naming the key when one is invalid)."""
        return Settings.from_values(run.config("base_url"), run.config("max_pages"), run.config("record_layout"))

    @staticmethod
    def from_values(base_url: Optional[str], max_pages: Optional[str], record_layout: Optional[str]) -> "Settings":
        """Settings from raw config values (`None` or blank = default)."""
        base = ((base_url or "").strip() or DEFAULT_BASE_URL).rstrip("/")

        def bad_base(why: str) -> Other:
            return Other(f"config key `base_url` must be an http(s) URL without query, got `{base}`: {why}")

        try:
            parts = urlsplit(f"{base}/")
            valid = bool(parts.scheme) and bool(parts.netloc) and " " not in base
        except ValueError:
            valid = False
        if not valid:
            raise bad_base("not a valid URL")
        if parts.scheme not in ("http", "https"):
            raise bad_base("not http or https")
        if "?" in base or "#" in base:
            raise bad_base("has a query or fragment")
        pages_text = (max_pages or "").strip()
        if not pages_text:
            pages = DEFAULT_MAX_PAGES
        else:
            parsed = parse_unsigned(pages_text, U64_MAX)
            if parsed is None:
                raise Other(f"config key `max_pages` must be a number, got `{pages_text}`")
            pages = parsed
        if pages == 0:
            raise Other("config key `max_pages` must be at least 1")
        layout = (record_layout or "").strip() or DEFAULT_RECORD_LAYOUT
        if layout not in ("current", "legacy"):
            raise Other(f"config key `record_layout` must be `current` or `legacy`, got `{layout}`")
        return Settings(base, min(pages, U32_MAX), layout)

    def category_landing(self) -> str:
        """The category landing page."""
        return with_query(
            f"{self.base_url}/store/display/getCategoryShop.do",
            [("dispCatNo", LANDING_DISP_CAT_NO), ("gateCd", "Drawer")],
        )

    def category_page(self, disp_cat_no: str, page: int) -> str:
        """Page `page` of a category's brand filter."""
        return with_query(
            f"{self.base_url}/store/display/getMCategoryList.do",
            [("dispCatNo", disp_cat_no), ("pageIdx", str(page))],
        )

    def brand_list(self) -> str:
        """The brand list."""
        return f"{self.base_url}/store/main/getBrandList.do"

    def brand_shop(self, code: str) -> str:
        """A brand's shop landing."""
        return with_query(f"{self.base_url}/store/display/getBrandShopDetail.do", [("onlBrndCd", code)])

    def goods_page(self, code: str, page: int) -> Request:
        """Page `page` of a brand's products (the AJAX fragment), with the headers
        the shop page's script sends."""
        url = with_query(
            f"{self.base_url}/store/display/getBrandShopDetailGoodsPagingAjax.do",
            [
                ("onlBrndCd", code),
                ("pageIdx", str(page)),
                ("dispCatNo", ""),
                ("prdSort", "rank"),
                ("rowsPerPage", str(ROWS_PER_PAGE)),
            ],
        )
        headers = [
            ("x-requested-with", "XMLHttpRequest"),
            ("accept", "text/html, */*; q=0.01"),
            ("referer", self.brand_shop(code)),
        ]
        return url, headers

    def goods_detail_url(self, goods_no: str) -> str:
        """A product's detail page URL (what product records link to)."""
        return with_query(f"{self.base_url}/store/goods/getGoodsDetail.do", [("goodsNo", goods_no)])
