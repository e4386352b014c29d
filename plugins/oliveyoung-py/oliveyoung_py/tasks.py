"""The task graph of one run, as data: keys, kinds, phases, payloads, and the
state keys phase-0 tasks leave for the phase-1 join. The same keys as the
Rust plugin (they are a contract: the host's tests assert them).

    phase 0: categories -> category:<id>:1 -> category:<id>:<p> (p >= 2)
    phase 1: brand-list  -> brand:<code>
"""

from typing import Any, Dict

from crawlhost import Task, out

KIND_CATEGORIES = "categories"
"""Kind of the `categories` task."""
KIND_CATEGORY = "category"
"""Kind of `category:<id>:<page>` tasks."""
KIND_BRAND_LIST = "brand-list"
"""Kind of the `brand-list` task."""
KIND_BRAND = "brand"
"""Kind of `brand:<code>` tasks."""


def categories_task() -> Task:
    """The seed task: read the category landing (phase 0)."""
    return Task(key="categories", kind=KIND_CATEGORIES, payload="{}", phase=0)


def category_task(cat_id: str, page: int) -> Task:
    """One page of a category's brand filter (phase 0); payload `{id, page}`."""
    return out.task(KIND_CATEGORY, f"category:{cat_id}:{page}", {"id": cat_id, "page": page})


def brand_list_task() -> Task:
    """The join over all category pages plus the brand list (phase 1)."""
    return Task(key="brand-list", kind=KIND_BRAND_LIST, payload="{}", phase=1)


def brand_task(brand: Dict[str, Any]) -> Task:
    """One brand's shop (phase 1); payload `{code, name_ko, name_en, categories}`."""
    return out.task(KIND_BRAND, f"brand:{brand['code']}", brand, phase=1)


def categories_key(run_id: str) -> str:
    """State key: the run's categories, `[{id, name}]`."""
    return f"run/{run_id}/categories"


def category_page_key(run_id: str, cat_id: str, page: int) -> str:
    """State key: brand names on one page of a category."""
    return f"run/{run_id}/cat/{cat_id}/{page}"


def category_pages_key(run_id: str, cat_id: str) -> str:
    """State key: the number of pages of a category that were scheduled."""
    return f"run/{run_id}/cat/{cat_id}/pages"
