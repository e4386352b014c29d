//! Tests of the generator, the ground truth and the server. Parsing the pages
//! back is tested in the `oliveyoung` plugin, with its own parsers.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const RUN_MS: i64 = 1_724_097_600_000;

fn is_hangul(c: char) -> bool {
    ('가'..='힣').contains(&c)
}

#[test]
fn same_seed_same_site() {
    let a = Site::generate(7);
    let b = Site::generate(7);
    assert_eq!(a.categories(), b.categories());
    assert_eq!(a.brands(), b.brands());
    assert_eq!(a.products(), b.products());
    assert_eq!(a.faults(), b.faults());
    assert_eq!(
        a.ground_truth("http://x", RUN_MS),
        b.ground_truth("http://x", RUN_MS)
    );
    assert_eq!(a.category_landing_html(), b.category_landing_html());
    assert_eq!(a.brand_list_html(), b.brand_list_html());
    let code = &a.brands()[17].code;
    assert_eq!(a.brand_shop_html(code), b.brand_shop_html(code));
    assert_eq!(a.goods_page_html(code, 1), b.goods_page_html(code, 1));

    let c = Site::generate(8);
    assert_ne!(a.brands(), c.brands());
    assert_ne!(a.products(), c.products());
}

#[test]
fn generation_is_fast() {
    let started = Instant::now();
    let site = Site::generate(7);
    let elapsed = started.elapsed();
    eprintln!("Site::generate(7) took {elapsed:?}");
    assert_eq!(site.products().len(), PRODUCT_COUNT);
    // The contract is < 100 ms in release builds; debug builds get slack.
    let limit = if cfg!(debug_assertions) { 1_000 } else { 100 };
    assert!(elapsed.as_millis() < limit, "took {elapsed:?}");
}

#[test]
fn scale_and_shapes() {
    for seed in [7, 1, 12_345] {
        let site = Site::generate(seed);
        assert_eq!(site.categories().len(), CATEGORY_COUNT);
        assert_eq!(site.brands().len(), BRAND_COUNT);
        assert_eq!(site.products().len(), PRODUCT_COUNT);

        let ids: HashSet<_> = site.categories().iter().map(|c| &c.disp_cat_no).collect();
        assert_eq!(ids.len(), CATEGORY_COUNT);
        for category in site.categories() {
            assert_eq!(category.disp_cat_no.len(), 15);
            assert!(!category.brands.is_empty(), "{} is empty", category.name());
        }

        let mut ko = HashSet::new();
        let mut en = HashSet::new();
        let mut codes = HashSet::new();
        let mut sizes = Vec::new();
        for brand in site.brands() {
            assert_eq!(brand.code.len(), 7);
            assert!(brand.code.starts_with('A'));
            assert!(brand.code[1..].chars().all(|c| c.is_ascii_digit()));
            assert!(codes.insert(&brand.code));
            assert!(ko.insert(&brand.name_ko), "duplicate {}", brand.name_ko);
            assert!(
                en.insert(brand.name_en.to_lowercase()),
                "duplicate {}",
                brand.name_en
            );
            assert!(brand.name_ko.chars().all(|c| is_hangul(c) || c == ' '));
            assert!(!brand.name_en.chars().any(is_hangul));
            assert!((1..=4).contains(&brand.categories.len()));
            assert!(brand.categories.windows(2).all(|w| w[0] < w[1]));
            for &c in &brand.categories {
                let listed = site.categories()[c]
                    .brands
                    .iter()
                    .filter(|&&b| site.brands()[b].code == brand.code)
                    .count();
                assert_eq!(listed, 1);
            }
            let names: HashSet<_> = brand
                .products
                .iter()
                .map(|&p| &site.products()[p].name)
                .collect();
            assert_eq!(names.len(), brand.products.len(), "names unique in a brand");
            sizes.push(brand.products.len());
        }
        assert!(sizes.iter().all(|&s| s >= 1));
        assert!(sizes.iter().filter(|&&s| s > 48).count() >= 3);
        assert!(sizes.contains(&24) && sizes.contains(&48));

        let mut goods = HashSet::new();
        for product in site.products() {
            assert_eq!(product.goods_no.len(), 13);
            assert!(product.goods_no.starts_with("A000000"));
            assert!(goods.insert(&product.goods_no));
            assert!(product.price_current <= product.price_original);
            assert_eq!(
                product.on_promotion,
                product.price_current < product.price_original
            );
        }
    }
}

#[test]
fn scale_multiplies_the_catalogue_and_its_faults() {
    let today = Site::generate(7);
    let one = Site::generate_scaled(7, 1);
    assert_eq!(one.scale(), 1);
    assert_eq!(one.brands().len(), BRAND_COUNT);
    assert_eq!(one.products().len(), PRODUCT_COUNT);
    assert_eq!(one.brands()[0], today.brands()[0]);
    assert_eq!(one.faults(), today.faults());
    assert!(one.faults().more_first_request_500.is_empty());

    let two = Site::generate_scaled(7, 2);
    assert_eq!(two.categories().len(), 2 * CATEGORY_COUNT);
    assert_eq!(two.brands().len(), 2 * BRAND_COUNT);
    assert_eq!(two.products().len(), 2 * PRODUCT_COUNT);
    assert_eq!(two.brands(), Site::generate_scaled(7, 2).brands());
    let ids: HashSet<_> = two.categories().iter().map(|c| &c.disp_cat_no).collect();
    let names: HashSet<_> = two.categories().iter().map(|c| c.name()).collect();
    assert_eq!((ids.len(), names.len()), (48, 48));
    assert!(two.categories().iter().all(|c| !c.brands.is_empty()));
    let codes: HashSet<_> = two.brands().iter().map(|b| &b.code).collect();
    assert_eq!(codes.len(), 2 * BRAND_COUNT);

    let faults = two.faults();
    assert_eq!(faults.shop_always_500.len(), 6);
    assert_eq!(faults.goods_page1_malformed.len(), 4);
    let flaky: Vec<&String> = faults.first_request_500().collect();
    assert_eq!(flaky.len(), 2);
    let faulty: HashSet<&String> = faults
        .shop_always_500
        .iter()
        .chain(&faults.goods_page1_malformed)
        .chain(flaky.iter().copied())
        .collect();
    assert_eq!(faulty.len(), 12, "faulty brands are distinct");
    // Each flaky shop fails its first request only.
    let handler = Handler::new(std::sync::Arc::new(two.clone()));
    for code in flaky {
        let path = format!("/store/display/getBrandShopDetail.do?onlBrndCd={code}");
        assert_eq!(handler.handle("GET", &path).status, 500);
        assert_eq!(handler.handle("GET", &path).status, 200);
    }
}

#[test]
fn ground_truth_is_consistent() {
    let site = Site::generate(7);
    let truth = site.ground_truth("http://127.0.0.1:1234/", RUN_MS);
    assert_eq!(truth.categories, 24);
    assert_eq!(truth.brand_count, 300);
    assert_eq!(truth.product_count, 5_000);

    let faults = site.faults();
    // No task fails: the five broken brands land incomplete, with the page
    // that failed, and keep all their products.
    assert!(truth.failed_tasks.is_empty());
    assert_eq!(truth.brands.len(), 300);
    assert_eq!(truth.incomplete.len(), 5);
    for code in faults
        .shop_always_500
        .iter()
        .chain(&faults.goods_page1_malformed)
    {
        let record = &truth.brands[code];
        assert_eq!(record["complete"], false, "{code}");
        assert_eq!(
            record["failed_pages"],
            serde_json::json!(truth.incomplete[code])
        );
        let brand = site.brand(code).unwrap();
        for &p in &brand.products {
            assert!(truth.products.contains_key(&site.products()[p].goods_no));
        }
    }
    for code in &faults.shop_always_500 {
        assert!(truth.brands[code]["shop_brand_name"].is_null());
        assert!(truth.incomplete[code][0].contains("getBrandShopDetail.do"));
    }
    for code in &faults.goods_page1_malformed {
        assert!(truth.incomplete[code][0].contains("pageIdx=1"));
    }
    assert_eq!(
        truth.skipped,
        BTreeMap::from([(
            ("oliveyoung-products".to_string(), "goods_no".to_string()),
            2
        )])
    );
    let complete = truth
        .brands
        .values()
        .filter(|r| r["complete"] == true)
        .count();
    assert_eq!(complete, 295);
    assert!(truth.brands.contains_key(&faults.shop_first_request_500));

    // Every product record is listed by exactly one brand record.
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (code, record) in &truth.brands {
        let goods = record["goods_numbers"].as_array().unwrap();
        assert_eq!(record["product_count"], goods.len());
        assert_eq!(record["items"].as_object().unwrap().len(), goods.len());
        assert_eq!(record["brand_code"], code.as_str());
        assert_eq!(
            record["brand_shop_detail_url"],
            format!("http://127.0.0.1:1234/store/display/getBrandShopDetail.do?onlBrndCd={code}")
        );
        assert_eq!(record["released_date"], "2024-08-20");
        assert_eq!(record["query_keyword"][0], record["brand"]);
        assert_eq!(record["query_keyword"][1], record["brand_name_en"]);
        assert!(!record["category"].as_array().unwrap().is_empty());
        for no in goods {
            let no = no.as_str().unwrap().to_string();
            assert!(
                owner.insert(no.clone(), code.clone()).is_none(),
                "{no} twice"
            );
        }
    }
    let listed: BTreeSet<_> = owner.keys().collect();
    let records: BTreeSet<_> = truth.products.keys().collect();
    assert_eq!(listed, records);
    assert_eq!(truth.products.len(), site.products().len());
    for (no, record) in &truth.products {
        assert_eq!(record["brand_code"], owner[no].as_str());
        assert_eq!(
            record["url"],
            format!("http://127.0.0.1:1234/store/goods/getGoodsDetail.do?goodsNo={no}")
        );
        assert_eq!(record["crawled_at_ms"], RUN_MS);
        assert_eq!(record["rating"].is_null(), record["review_count"].is_null());
    }

    // About 1% of products have no list price.
    let missing = truth
        .products
        .values()
        .filter(|r| r["price_original"].is_null())
        .count();
    assert!(
        (20..=90).contains(&missing),
        "{missing} without a list price"
    );
    assert!(
        faults
            .missing_original_price
            .iter()
            .filter(|no| truth.products.contains_key(*no))
            .count()
            == missing
    );
}

/// A raw HTTP/1.1 GET: (status, body).
async fn get(base_url: &str, path: &str) -> (u16, String) {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

#[tokio::test]
async fn serves_pages_and_faults() {
    let site = Site::generate(7);
    let faults = site.faults().clone();
    let ordinary = site
        .brands()
        .iter()
        .find(|b| !faults.is_broken(&b.code) && b.code != faults.shop_first_request_500)
        .unwrap()
        .clone();
    let category = site.categories()[0].clone();
    let goods_no = site.products()[ordinary.products[0]].goods_no.clone();
    let (base, server) = spawn(site).await.unwrap();
    assert!(base.starts_with("http://127.0.0.1:"));

    let (status, body) = get(&base, "/robots.txt").await;
    assert_eq!((status, body.as_str()), (200, "User-agent: *\nAllow: /\n"));

    let (status, body) = get(
        &base,
        "/store/display/getCategoryShop.do?dispCatNo=10000010002&gateCd=Drawer&t_page=%ED%99%88",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("data-ref-dispcatno=\"{}\"", category.disp_cat_no)));

    let (status, body) = get(
        &base,
        &format!(
            "/store/display/getMCategoryList.do?dispCatNo={}&pageIdx=1&fltDispCatNo=",
            category.disp_cat_no
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("data-brndnm="));

    let (status, body) = get(&base, "/store/main/getBrandList.do").await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("data-ref-onlbrndcd=\"{}\"", ordinary.code)));

    let shop = format!(
        "/store/display/getBrandShopDetail.do?onlBrndCd={}",
        ordinary.code
    );
    let (status, body) = get(&base, &shop).await;
    assert_eq!(status, 200);
    assert!(body.contains("class=\"prod-info\""));

    let ajax = |code: &str, page: usize| {
        format!(
            "/store/display/getBrandShopDetailGoodsPagingAjax.do?onlBrndCd={code}&pageIdx={page}&dispCatNo=&prdSort=rank&rowsPerPage=24"
        )
    };
    let (status, body) = get(&base, &ajax(&ordinary.code, 1)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body.matches("<li data-goods-idx").count(),
        ordinary.products.len().min(24)
    );
    let (status, body) = get(&base, &ajax(&ordinary.code, 999_999)).await;
    assert_eq!(status, 200);
    assert_eq!(body.matches("<li data-goods-idx").count(), 0);

    for code in &faults.shop_always_500 {
        let path = format!("/store/display/getBrandShopDetail.do?onlBrndCd={code}");
        assert_eq!(get(&base, &path).await.0, 500);
        assert_eq!(get(&base, &path).await.0, 500);
    }
    let flaky = format!(
        "/store/display/getBrandShopDetail.do?onlBrndCd={}",
        faults.shop_first_request_500
    );
    assert_eq!(get(&base, &flaky).await.0, 500);
    assert_eq!(get(&base, &flaky).await.0, 200);
    assert_eq!(get(&base, &flaky).await.0, 200);

    let (status, body) = get(
        &base,
        &format!("/store/goods/getGoodsDetail.do?goodsNo={goods_no}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(&goods_no));
    assert_eq!(get(&base, "/nope").await.0, 404);
    assert_eq!(
        get(&base, "/store/display/getBrandShopDetail.do?onlBrndCd=Z")
            .await
            .0,
        404
    );
    server.abort();
}

#[tokio::test]
async fn every_server_instance_counts_afresh() {
    let site = std::sync::Arc::new(Site::generate(3));
    let path = format!(
        "/store/display/getBrandShopDetail.do?onlBrndCd={}",
        site.faults().shop_first_request_500
    );
    for _ in 0..2 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(serve(site.clone(), listener));
        assert_eq!(get(&base, &path).await.0, 500);
        assert_eq!(get(&base, &path).await.0, 200);
        server.abort();
    }
}

#[test]
fn goods_detail_page_exists_for_every_product() {
    let site = Site::generate(7);
    let product = &site.products()[42];
    let page = site.goods_detail_html(&product.goods_no).unwrap();
    assert!(page.contains("class=\"prd_brand\""));
    assert!(site.goods_detail_html("A000000000000").is_none());
}
