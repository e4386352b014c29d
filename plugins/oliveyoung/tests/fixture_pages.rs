//! The parsers against the fixture site's pages: every page type parses
//! back to exactly what the generator put in it.

use crawlhost_tests::oliveyoung::{ROWS_PER_PAGE, Site};
use oliveyoung::parse::{
    self, BrandEntry, Category, parse_brand_list, parse_categories, parse_category_page,
    parse_goods_page, parse_shop_detail,
};

fn site() -> Site {
    Site::generate(7)
}

#[test]
fn landing_gives_every_category_once_in_order() {
    let site = site();
    let parsed = parse_categories(&site.category_landing_html()).unwrap();
    let expected: Vec<Category> = site
        .categories()
        .iter()
        .map(|c| Category {
            id: c.disp_cat_no.clone(),
            name: c.name(),
        })
        .collect();
    assert_eq!(parsed, expected);
    assert_eq!(parsed.len(), 24);
    assert_eq!(parsed[0].name, "스킨케어_스킨/토너");
}

#[test]
fn category_pages_give_brand_names_and_page_counts() {
    let site = site();
    let mut max_pages = 0;
    for category in site.categories() {
        let mut names = Vec::new();
        for page in 1..=category.pages() {
            let html = site
                .category_page_html(&category.disp_cat_no, page)
                .unwrap();
            let parsed = parse_category_page(&html).unwrap();
            assert_eq!(
                parsed.pages as usize,
                category.pages(),
                "{}",
                category.name()
            );
            assert!(parsed.brands.len() <= 24);
            names.extend(parsed.brands);
        }
        let expected: Vec<String> = category
            .brands
            .iter()
            .map(|&b| site.brands()[b].name_ko.clone())
            .collect();
        assert_eq!(names, expected);
        max_pages = max_pages.max(category.pages());
        let past = site
            .category_page_html(&category.disp_cat_no, category.pages() + 1)
            .unwrap();
        assert!(parse_category_page(&past).unwrap().brands.is_empty());
    }
    assert!(max_pages >= 3, "some category needs three pages");
}

#[test]
fn brand_list_pairs_korean_and_english_names() {
    let site = site();
    let list = parse_brand_list(&site.brand_list_html()).unwrap();
    assert_eq!(list.tally.skipped(), 0);
    let parsed = list.brands;
    assert_eq!(parsed.len(), 300);
    let mut parsed_sorted = parsed.clone();
    parsed_sorted.sort_by(|a, b| a.code.cmp(&b.code));
    let mut expected: Vec<BrandEntry> = site
        .brands()
        .iter()
        .map(|b| BrandEntry {
            code: b.code.clone(),
            name_ko: b.name_ko.clone(),
            name_en: b.name_en.clone(),
        })
        .collect();
    expected.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(parsed_sorted, expected);
    assert!(
        parsed.iter().any(|b| b.name_en.contains('&')),
        "escaping is exercised"
    );
}

#[test]
fn shop_landing_gives_the_first_page_of_items() {
    let site = site();
    for brand in site.brands().iter().step_by(37) {
        let detail = parse_shop_detail(&site.brand_shop_html(&brand.code).unwrap()).unwrap();
        assert_eq!(detail.brand_name.as_deref(), Some(brand.name_ko.as_str()));
        assert_eq!(detail.pages, Some(brand.pages().max(1) as u32));
        let expected: Vec<(String, bool)> = brand
            .products
            .iter()
            .take(ROWS_PER_PAGE)
            .map(|&p| {
                let p = &site.products()[p];
                (p.goods_no.clone(), p.on_promotion)
            })
            .collect();
        let read: Vec<(String, bool)> = detail
            .products
            .products
            .iter()
            .map(|p| (p.goods_no.clone(), p.on_promotion))
            .collect();
        assert_eq!(read, expected);
    }
}

#[test]
fn goods_pages_give_every_product_field() {
    let site = site();
    let mut checked = 0;
    let mut without_list_price = 0;
    for brand in site.brands() {
        if site.faults().goods_page1_malformed.contains(&brand.code) {
            continue;
        }
        let mut parsed = Vec::new();
        for page in 1..=brand.pages() + 1 {
            let html = site.goods_page_html(&brand.code, page).unwrap();
            let read = parse_goods_page(&html).unwrap();
            assert_eq!(read.tally.skipped(), 0);
            assert_eq!(read.cards, read.products.len());
            let items = read.products;
            if page <= brand.pages() {
                assert!(!items.is_empty());
            } else {
                assert!(items.is_empty(), "the page past the end is empty");
            }
            parsed.extend(items);
        }
        assert_eq!(parsed.len(), brand.products.len());
        for (item, &p) in parsed.iter().zip(&brand.products) {
            let p = &site.products()[p];
            assert_eq!(item.goods_no, p.goods_no);
            assert_eq!(item.name, p.name);
            assert_eq!(item.price_current, Some(p.price_current));
            assert_eq!(
                item.price_original,
                p.shows_original.then_some(p.price_original)
            );
            assert_eq!(item.on_promotion, p.on_promotion);
            assert_eq!(item.sold_out, p.sold_out);
            assert_eq!(item.rating, p.rating());
            assert_eq!(item.review_count, p.review_count);
            without_list_price += usize::from(item.price_original.is_none());
            checked += 1;
        }
    }
    assert!(checked > 4_900);
    assert!(without_list_price > 0);
}

#[test]
fn malformed_pages_have_a_card_without_identity() {
    let site = site();
    for code in &site.faults().goods_page1_malformed {
        let html = site.goods_page_html(code, 1).unwrap();
        let read = parse_goods_page(&html).unwrap();
        assert_eq!((read.cards, read.products.len()), (1, 0));
        assert_eq!(read.tally.skipped_by("goods_no"), 1);
    }
    assert!(parse::has_hangul("라운드랩"));
}
