"""The crawl steps: what each task kind fetches, parses, stores and emits.

Ported from the Rust plugin's `flow.rs`, step for step: parsing is in `parse`,
record shapes in `records`, keys in `tasks`, URLs in `site`.
"""

from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from crawlhost import (
    Blocked,
    CrawlError,
    CrawlOutput,
    Other,
    ParseError,
    PlanInput,
    PlanInput_Trigger,
    Retryable,
    Run,
    Tally,
    Task,
    http,
    log,
    out,
    state,
)

from . import parse, records, tasks
from .parse import BRAND_TOPIC, PRODUCT_TOPIC, GoodsPage, Product
from .site import BRANDS_PER_CATEGORY_PAGE, ROWS_PER_PAGE, Settings


def plan(run: Run, input: PlanInput) -> List[Task]:
    """Seed tasks: the category landing (phase 0) and the brand list (phase 1).
    The plugin declares no triggers, so a trigger record plans nothing."""
    Settings.from_run(run)
    if isinstance(input, PlanInput_Trigger):
        log.warn(f"oliveyoung takes no triggers; ignoring a record of topic `{input.value.topic}`")
        return []
    return [tasks.categories_task(), tasks.brand_list_task()]


def crawl(run: Run, task: Task) -> CrawlOutput:
    """Run one task."""
    settings = Settings.from_run(run)
    kind = task.kind
    if kind == tasks.KIND_BRAND:
        return brand(run, settings, out.payload(task))
    if kind == tasks.KIND_CATEGORY:
        payload = out.payload(task)
        return category(run, settings, payload["id"], int(payload["page"]))
    if kind == tasks.KIND_CATEGORIES:
        return categories(run, settings)
    if kind == tasks.KIND_BRAND_LIST:
        return brand_list(run, settings)
    raise Other(f"task `{task.key}` has an unknown kind `{kind}`")


def fetch_text(url: str, headers: Optional[List[Tuple[str, str]]] = None) -> str:
    """GET `url`, require a 2xx status (others map to the retry policy), return the text."""
    return http.get(url, headers=headers, ok=True).text()


def located(error: ParseError, url: str) -> ParseError:
    """A parse error with the URL it happened on in front."""
    return ParseError(f"{url}: {error.message}")


def categories(run: Run, settings: Settings) -> CrawlOutput:
    """`categories`: landing -> categories in state, one task per category (page 1)."""
    url = settings.category_landing()
    html = fetch_text(url)
    try:
        found = parse.parse_categories(html)
    except ParseError as e:
        raise located(e, url) from None
    state.put_json(tasks.categories_key(run.id), found)
    log.info(f"found {len(found)} categories on the landing page")
    return out.output(tasks=[tasks.category_task(c["id"], 1) for c in found])


def category(run: Run, settings: Settings, cat_id: str, page: int) -> CrawlOutput:
    """`category:<id>:<page>`: brand names of one page into state; page 1 also
    stores the page count and schedules the other pages."""
    url = settings.category_page(cat_id, page)
    html = fetch_text(url)
    try:
        brands, announced_pages = parse.parse_category_page(html)
    except ParseError as e:
        raise located(e, url) from None
    state.put_json(tasks.category_page_key(run.id, cat_id, page), brands)
    follow_ups: List[Task] = []
    announced = min(announced_pages, settings.max_pages)
    if page == 1:
        if announced < announced_pages:
            log.warn(f"category {cat_id} announces {announced_pages} pages; reading only {announced} (max_pages)")
        state.put_json(tasks.category_pages_key(run.id, cat_id), announced)
        follow_ups.extend(tasks.category_task(cat_id, p) for p in range(2, announced + 1))
    # A full page at or past what the pager announced: the next page may hold
    # more brands. A short or empty page ends the chain; the frontier runs a
    # key once, so overlap with the announced pages costs nothing.
    if len(brands) >= BRANDS_PER_CATEGORY_PAGE and page >= announced and page < settings.max_pages:
        follow_ups.append(tasks.category_task(cat_id, page + 1))
    return out.output(tasks=follow_ups)


def brand_list(run: Run, settings: Settings) -> CrawlOutput:
    """`brand-list` (phase 1): join the category pages from state with the brand
    list, one `brand:<code>` task per brand, then clear the run's state (last,
    so a retry after a failed fetch still finds it)."""
    categories_key = tasks.categories_key(run.id)
    stored = state.get_json(categories_key)
    if stored is None:
        log.warn(
            f"state `{categories_key}` is missing (the categories task of run {run.id} failed); "
            "brands get no category"
        )
        stored = []
    found: List[Dict[str, str]] = stored
    used_keys = [categories_key]
    listed: Dict[str, List[str]] = {}
    for cat in found:
        pages_key = tasks.category_pages_key(run.id, cat["id"])
        pages = state.get_json(pages_key)
        if pages is None:
            log.warn(f"category {cat['id']} ({cat['name']}) has no stored pages; its brands get no category")
            pages = 1
        used_keys.append(pages_key)
        names = listed.setdefault(cat["id"], [])
        # The announced pages, then any the chain of full pages added.
        for page in range(1, settings.max_pages + 1):
            key = tasks.category_page_key(run.id, cat["id"], page)
            page_names = state.get_json(key)
            if page_names is not None:
                names.extend(page_names)
            elif page > pages:
                break
            else:
                log.warn(
                    f"page {page} of category {cat['id']} ({cat['name']}) is missing from state; "
                    "continuing without it"
                )
            used_keys.append(key)
    by_brand = records.join_categories(found, listed)

    url = settings.brand_list()
    html = fetch_text(url)
    try:
        brands, tally = parse.parse_brand_list(html)
    except ParseError as e:
        raise located(e, url) from None
    tally.report()
    follow_ups = []
    uncategorized = 0
    for entry in brands:
        cats = list(by_brand.get(entry.name_ko, ()))
        if not cats:
            uncategorized += 1
        follow_ups.append(
            tasks.brand_task({"code": entry.code, "name_ko": entry.name_ko, "name_en": entry.name_en, "categories": cats})
        )
    log.info(f"scheduling {len(follow_ups)} brands ({uncategorized} in no category)")
    for key in used_keys:
        state.delete(key)
    return out.output(tasks=follow_ups)


def brand(run: Run, settings: Settings, info: Dict[str, Any]) -> CrawlOutput:
    """`brand:<code>`: the shop landing, then the AJAX pages until a short page;
    one record per product and one for the brand.

    The brand record is never dropped for product trouble: a page that still
    fails after the host's retries (or has cards but no readable product) goes
    into `failed_pages` and the record is marked incomplete. Paging goes on past
    a failed page while the landing's pager says there are more, and a failed
    AJAX page 1 is replaced by the landing's own cards. Only `Blocked` fails the
    task, so the host backs off and tries again.
    """
    code = info["code"]
    failed_pages: List[str] = []
    tally = Tally(PRODUCT_TOPIC)
    shop_url = settings.brand_shop(code)
    landing: Optional[parse.ShopDetail] = None
    body, why = fetch_page(shop_url)
    if body is not None:
        try:
            landing = parse.parse_shop_detail(body)
        except ParseError as e:
            raise located(e, shop_url) from None
    else:
        log.warn(f"brand {code} shop landing {shop_url} failed: {why}")
        failed_pages.append(shop_url)
    announced = landing.pages if landing is not None and landing.pages is not None else 1
    shop_brand_name = landing.brand_name if landing is not None else None
    if shop_brand_name is not None and shop_brand_name != info["name_ko"]:
        log.debug(f"brand {code} is titled `{shop_brand_name}` on {shop_url}, `{info['name_ko']}` in the brand list")


    def landing_cards() -> int:
        return len(landing.products().products) if landing is not None else 0

    products: List[Product] = []
    seen: Set[str] = set()
    for page in range(1, settings.max_pages + 1):
        url, headers = settings.goods_page(code, page)
        body, why = fetch_page(url, headers)
        if body is not None:
            try:
                read = parse.parse_goods_page(body)
            except ParseError as e:
                raise located(e, url) from None
            why = judge_page(read, page, announced, landing_cards)
            tally.merge(read.tally.located(url))
            items = list(read.products)
            cards = read.cards
        else:
            items, cards = [], 0
        if why is not None:
            log.warn(f"brand {code} ({info['name_ko']}) page {page} at {url} failed: {why}")
            failed_pages.append(url)
            # Page 1 is also on the landing.
            if landing is not None and page == 1 and landing_cards() > 0:
                tally.merge(landing.products().tally.copy().located(shop_url))
                items.extend(landing.products().products)
        for item in items:
            if item.goods_no not in seen:
                seen.add(item.goods_no)
                products.append(item)
        # A failed page is passed over while the landing announces more; a good
        # one ends the brand when empty, or short at or past the last announced page.
        if why is not None:
            last = page >= announced
        else:
            last = cards == 0 or (cards < ROWS_PER_PAGE and page >= announced)
        if last:
            break
        if page == settings.max_pages:
            log.warn(f"brand {code} still has full pages after {page} (max_pages); stopping there")
    tally.report()

    started = run.started_at_ms
    out_records = [
        out.record(PRODUCT_TOPIC, p.goods_no, records.product_record(settings, info, p, started), started)
        for p in products
    ]
    key, value = records.brand_record(
        settings, info, products, shop_brand_name, failed_pages, run.date(9), started
    )
    out_records.append(out.record(BRAND_TOPIC, key, value, started))
    return out.output(records=out_records)


def judge_page(read: GoodsPage, page: int, announced: int, landing_cards: Callable[[], int]) -> Optional[str]:
    """Why page `page` of a brand, as parsed, counts as failed, if it does: cards
    but none readable; empty as page 1 while the landing shows products; short
    before the last page the landing announced (what it has is kept).
    `landing_cards` reads the landing's products only when needed."""
    if read.cards > 0 and not read.products:
        return f"{read.cards} product cards, none readable"
    if read.cards == 0 and page == 1 and landing_cards() > 0:
        return f"no product card, where the shop landing shows {landing_cards()}"
    if 0 < read.cards < ROWS_PER_PAGE and page < announced:
        return (
            f"{read.cards} product cards where a page has {ROWS_PER_PAGE} "
            f"and the shop announces {announced} pages"
        )
    return None


def fetch_page(url: str, headers: Optional[List[Tuple[str, str]]] = None) -> Tuple[Optional[str], Optional[str]]:
    """One page of a brand: `(body, None)`, or `(None, why)` when it failed after
    the host's retries; `Blocked` is raised, so the host backs off."""
    try:
        return fetch_text(url, headers), None
    except Blocked:
        raise
    except Retryable as e:
        return None, f"retryable: {e.message}"
    except ParseError as e:
        return None, f"parse: {e.message}"
    except CrawlError as e:
        return None, e.message
