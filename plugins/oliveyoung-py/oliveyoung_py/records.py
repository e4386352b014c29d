"""The records the plugin emits, as the Rust plugin writes them (same fields, same
order, same JSON): the product record, the brand record in both layouts of the
brand record contract (`current`, key = brand code; `legacy`, the original
pipeline's `{"<brand>": {...}}`, key = brand name), and the join of category
pages into each brand's category list. Pure functions."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from .parse import Product
from .site import Settings

Record = Dict[str, Any]


def product_record(settings: Settings, brand: Dict[str, Any], product: Product, crawled_at_ms: int) -> Record:
    """The product record (topic `oliveyoung-products`, key = goods number)."""
    return {
        "goods_no": product.goods_no,
        "name": product.name,
        "brand": brand["name_ko"],
        "brand_code": brand["code"],
        "url": settings.goods_detail_url(product.goods_no),
        "price_original": product.price_original,
        "price_current": product.price_current,
        "on_promotion": product.on_promotion,
        "sold_out": product.sold_out,
        "rating": product.rating,
        "review_count": product.review_count,
        "crawled_at_ms": crawled_at_ms,
    }


def brand_record(
    settings: Settings,
    brand: Dict[str, Any],
    products: Sequence[Product],
    shop_brand_name: Optional[str],
    failed_pages: List[str],
    released_date: str,
    crawled_at_ms: int,
) -> Tuple[str, Record]:
    """The brand record over its products (in shop order) in the configured
    layout, with its key."""
    items: Dict[str, bool] = {}
    for p in products:
        items[p.name] = p.on_promotion  # a repeated name keeps the last one, as a map does
    items = dict(sorted(items.items()))
    url = settings.brand_shop(brand["code"])
    if settings.record_layout == "legacy":
        fields = {
            "brand_shop_detail_url": url,
            "category": brand["categories"],
            "items": items,
            "query_keyword": [brand["name_ko"], brand["name_en"]],
            "released_date": released_date,
        }
        return brand["name_ko"], {brand["name_ko"]: fields}
    record = {
        "brand": brand["name_ko"],
        "query_keyword": [brand["name_ko"], brand["name_en"]],
        "brand_shop_detail_url": url,
        "items": items,
        "category": brand["categories"],
        "released_date": released_date,
        "brand_code": brand["code"],
        "brand_name_en": brand["name_en"],
        "goods_numbers": [p.goods_no for p in products],
        "product_count": len(products),
        "crawled_at_ms": crawled_at_ms,
        "shop_brand_name": shop_brand_name,
        "complete": not failed_pages,
        "failed_pages": failed_pages,
    }
    return brand["code"], record


def join_categories(categories: Sequence[Dict[str, str]], listed: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Brand name -> the names of the categories that list it, in landing order,
    without duplicates; `listed` holds each category's brand names by id."""
    by_brand: Dict[str, List[str]] = {}
    for category in categories:
        for brand in listed.get(category["id"], ()):
            names = by_brand.setdefault(brand, [])
            if category["name"] not in names:
                names.append(category["name"])
    return by_brand
