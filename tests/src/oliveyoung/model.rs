//! The generated Oliveyoung catalogue: categories, brands, products and the
//! deliberate faults, all derived from one seed (and a scale, 1 unless a
//! benchmark asks for a bigger site). Rendering lives in `pages`, serving in
//! `server`, the expected plugin output in `truth`.

use std::collections::{HashMap, HashSet};

use super::drift::Mutation;
use super::names;
use crate::rng::SplitMix64;

/// Number of display categories on the landing page (at scale 1).
pub const CATEGORY_COUNT: usize = 24;
/// Number of brands in the brand list (at scale 1).
pub const BRAND_COUNT: usize = 300;
/// Number of products over all brands (at scale 1).
pub const PRODUCT_COUNT: usize = 5_000;
/// Largest scale [`Site::generate_scaled`] takes: the site's identifiers
/// keep their real formats (brand codes `A` + 6 digits, goods numbers
/// `A000000` + 6 digits, 4-digit leaf numbers in `dispCatNo`), which run
/// out of room above it.
pub const MAX_SCALE: usize = 100;
/// Brands per page of a category's brand filter.
pub const BRANDS_PER_CATEGORY_PAGE: usize = 24;
/// Products per page of the brand shop (the AJAX `rowsPerPage`).
pub const ROWS_PER_PAGE: usize = 24;

/// Largest size of an ordinary brand; only the few "big" brands exceed two
/// AJAX pages.
const ORDINARY_MAX_PRODUCTS: usize = 47;

/// One display category (a leaf of the drawer menu).
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// The site's id, `dispCatNo` (15 digits).
    pub disp_cat_no: String,
    /// Top-level category, e.g. `스킨케어`.
    pub big: &'static str,
    /// Leaf name, e.g. `스킨/토너` (at scales above 1 the copies of a leaf
    /// are numbered: `스킨/토너 2`, `스킨/토너 3`, ...).
    pub small: String,
    /// Brands listed in this category's brand filter, in page order
    /// (indices into [`Site::brands`]).
    pub brands: Vec<usize>,
}

impl Category {
    /// The name the site shows in `data-attr`: `<big>_<small>`.
    pub fn name(&self) -> String {
        format!("{}_{}", self.big, self.small)
    }

    /// Pages of the brand filter (at least one, even when empty).
    pub fn pages(&self) -> usize {
        self.brands.len().div_ceil(BRANDS_PER_CATEGORY_PAGE).max(1)
    }
}

/// One brand.
#[derive(Debug, Clone, PartialEq)]
pub struct Brand {
    /// `onlBrndCd`, `A` + 6 digits.
    pub code: String,
    /// Korean name (Hangul syllables, unique).
    pub name_ko: String,
    /// English name (unique).
    pub name_en: String,
    /// Categories the brand is in, in landing-page order (indices into
    /// [`Site::categories`]).
    pub categories: Vec<usize>,
    /// Products in shop order (`prdSort=rank`), indices into [`Site::products`].
    pub products: Vec<usize>,
}

impl Brand {
    /// Number of AJAX pages that hold products.
    pub fn pages(&self) -> usize {
        self.products.len().div_ceil(ROWS_PER_PAGE)
    }
}

/// One product card.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// `goodsNo`, `A000000` + 6 digits.
    pub goods_no: String,
    /// Display name, unique within its brand.
    pub name: String,
    /// Index into [`Site::brands`].
    pub brand: usize,
    /// List price in won.
    pub price_original: u64,
    /// Whether the card prints the list price (`span.tx_org`); about 1% do not.
    pub shows_original: bool,
    /// Selling price in won (lower than the list price when on promotion).
    pub price_current: u64,
    /// On promotion: the card has a `div.discount`.
    pub on_promotion: bool,
    /// Discount in percent, 0 when not on promotion.
    pub discount_pct: u64,
    /// Sold out: the card has a `span.soldout`.
    pub sold_out: bool,
    /// Flags printed as `span.icon_flag.<flag>` (`sale`, `coupon`, ...).
    pub flags: Vec<&'static str>,
    /// Average rating out of 5 in tenths (47 = 4.7), none without reviews.
    pub rating_tenths: Option<u64>,
    /// Number of reviews, none without reviews.
    pub review_count: Option<u64>,
}

impl Product {
    /// The rating as the plugin reports it.
    pub fn rating(&self) -> Option<f64> {
        self.rating_tenths.map(|t| t as f64 / 10.0)
    }
}

/// The deliberate faults of a site, by brand code or goods number.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Brands whose shop page always answers HTTP 500.
    pub shop_always_500: Vec<String>,
    /// Brands whose AJAX page 1 is truncated mid-tag (no goods numbers).
    pub goods_page1_malformed: Vec<String>,
    /// The brand whose shop page answers 500 to the first request a server
    /// instance gets for it, and succeeds afterwards.
    pub shop_first_request_500: String,
    /// More brands that behave like `shop_first_request_500`: none at scale
    /// 1, `scale - 1` of them above, so the faults stay proportional.
    pub more_first_request_500: Vec<String>,
    /// Products whose card has no list price.
    pub missing_original_price: Vec<String>,
}

impl Faults {
    /// Whether the brand's crawl task can never succeed.
    pub fn is_broken(&self, code: &str) -> bool {
        self.shop_always_500.iter().any(|c| c == code)
            || self.goods_page1_malformed.iter().any(|c| c == code)
    }

    /// Every brand whose shop page fails only its first request.
    pub fn first_request_500(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.shop_first_request_500).chain(&self.more_first_request_500)
    }
}

/// A generated Oliveyoung-like site. Immutable once generated; the server
/// keeps its per-instance counters elsewhere.
#[derive(Debug, Clone)]
pub struct Site {
    seed: u64,
    scale: usize,
    categories: Vec<Category>,
    brands: Vec<Brand>,
    products: Vec<Product>,
    faults: Faults,
    mutation: Option<Mutation>,
    category_index: HashMap<String, usize>,
    brand_index: HashMap<String, usize>,
    product_index: HashMap<String, usize>,
}

impl Site {
    /// Generate the site for `seed`: the same seed always gives the same
    /// site, byte for byte.
    pub fn generate(seed: u64) -> Site {
        Site::generate_scaled(seed, 1)
    }

    /// Generate the site for `seed` at `scale` (1..=[`MAX_SCALE`]):
    /// `scale` times the categories, brands and products of
    /// [`Site::generate`] and of each deliberate fault, in the same shapes
    /// (so every kind of page keeps its share of a crawl). Scale 1 is
    /// [`Site::generate`] exactly; each (seed, scale) always gives the same
    /// site.
    pub fn generate_scaled(seed: u64, scale: usize) -> Site {
        assert!(
            (1..=MAX_SCALE).contains(&scale),
            "scale {scale} is not in 1..={MAX_SCALE}"
        );
        let mut categories = generate_categories(&mut SplitMix64::derive(seed, 1), scale);
        let mut brands = generate_brands(&mut SplitMix64::derive(seed, 2), scale);
        let sizes = brand_sizes(&mut SplitMix64::derive(seed, 3), scale);
        let products = generate_products(
            &mut SplitMix64::derive(seed, 4),
            &categories,
            &mut brands,
            &sizes,
        );
        fill_categories(
            &mut SplitMix64::derive(seed, 5),
            &mut categories,
            &mut brands,
        );
        let faults = choose_faults(&mut SplitMix64::derive(seed, 6), &brands, &products, scale);

        let category_index = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.disp_cat_no.clone(), i))
            .collect();
        let brand_index = brands
            .iter()
            .enumerate()
            .map(|(i, b)| (b.code.clone(), i))
            .collect();
        let product_index = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.goods_no.clone(), i))
            .collect();
        Site {
            seed,
            scale,
            categories,
            brands,
            products,
            faults,
            mutation: None,
            category_index,
            brand_index,
            product_index,
        }
    }

    /// The same site with its optional markup perturbed by `mutation`
    /// (none: the normal markup). The catalogue and the faults stay.
    pub fn with_mutation(mut self, mutation: Option<Mutation>) -> Site {
        self.mutation = mutation;
        self
    }

    /// The markup perturbation served, if any.
    pub fn mutation(&self) -> Option<Mutation> {
        self.mutation
    }

    /// The seed the site was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scale the site was generated at (1 for [`Site::generate`]).
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// Categories in landing-page order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Brands in generation order.
    pub fn brands(&self) -> &[Brand] {
        &self.brands
    }

    /// Products, grouped by brand in shop order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The deliberate faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A category by `dispCatNo`.
    pub fn category(&self, disp_cat_no: &str) -> Option<&Category> {
        self.category_index
            .get(disp_cat_no)
            .map(|&i| &self.categories[i])
    }

    /// A brand by code.
    pub fn brand(&self, code: &str) -> Option<&Brand> {
        self.brand_index.get(code).map(|&i| &self.brands[i])
    }

    /// A product by goods number.
    pub fn product(&self, goods_no: &str) -> Option<&Product> {
        self.product_index.get(goods_no).map(|&i| &self.products[i])
    }

    /// The brand a product belongs to.
    pub fn brand_of(&self, product: &Product) -> &Brand {
        &self.brands[product.brand]
    }
}

/// Each leaf of [`names::CATEGORIES`] `scale` times in a row (category `i`
/// is a copy of leaf `i / scale`), so the leaves of a big category stay
/// together on the landing page.
fn generate_categories(rng: &mut SplitMix64, scale: usize) -> Vec<Category> {
    // Leaf codes are unique within their big category and deliberately not
    // in landing order, as on the real site.
    let mut used: HashSet<(usize, u64)> = HashSet::new();
    let mut bigs: Vec<&str> = Vec::new();
    let mut categories = Vec::with_capacity(CATEGORY_COUNT * scale);
    for &(big, small) in &names::CATEGORIES {
        let big_no = match bigs.iter().position(|b| *b == big) {
            Some(i) => i + 1,
            None => {
                bigs.push(big);
                bigs.len()
            }
        };
        for copy in 1..=scale {
            let small_no = loop {
                let n = rng.range(1, 60 * scale as u64);
                if used.insert((big_no, n)) {
                    break n;
                }
            };
            categories.push(Category {
                disp_cat_no: format!("1000001{big_no:04}{small_no:04}"),
                big,
                small: match copy {
                    1 => small.to_string(),
                    _ => format!("{small} {copy}"),
                },
                brands: Vec::new(),
            });
        }
    }
    categories
}

fn generate_brands(rng: &mut SplitMix64, scale: usize) -> Vec<Brand> {
    let mut codes = HashSet::new();
    let mut ko_names = HashSet::new();
    let mut en_names = HashSet::new();
    let count = BRAND_COUNT * scale;
    let mut brands = Vec::with_capacity(count);
    while brands.len() < count {
        let code = format!("A{:06}", rng.range(1, 29_999 * scale as u64));
        if codes.contains(&code) {
            continue;
        }
        let syllables = match rng.below(100) {
            0..40 => 2,
            40..85 => 3,
            _ => 4,
        };
        let mut ko = String::new();
        let mut en = String::new();
        for _ in 0..syllables {
            let (k, e) = rng.pick(names::SYLLABLES);
            ko.push_str(k);
            en.push_str(e);
        }
        let (suffix_ko, suffix_en) = rng.pick(names::BRAND_SUFFIXES);
        ko.push_str(suffix_ko);
        let mut en = capitalize(&en);
        en.push_str(suffix_en);
        if ko_names.contains(&ko) || en_names.contains(&en.to_lowercase()) {
            continue;
        }
        codes.insert(code.clone());
        ko_names.insert(ko.clone());
        en_names.insert(en.to_lowercase());
        let categories = pick_categories(rng, scale);
        brands.push(Brand {
            code,
            name_ko: ko,
            name_en: en,
            categories,
            products: Vec::new(),
        });
    }
    brands
}

/// 1-4 distinct categories, weighted by popularity (every copy of a leaf
/// as popular as the leaf), in landing order.
fn pick_categories(rng: &mut SplitMix64, scale: usize) -> Vec<usize> {
    let count = match rng.below(100) {
        0..35 => 1,
        35..70 => 2,
        70..90 => 3,
        _ => 4,
    };
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count {
        let weights = || {
            names::CATEGORY_WEIGHTS
                .iter()
                .flat_map(|&w| std::iter::repeat_n(w, scale))
        };
        let total: u64 = weights().sum();
        let mut x = rng.below(total);
        let mut pick = 0;
        for (i, w) in weights().enumerate() {
            if x < w {
                pick = i;
                break;
            }
            x -= w;
        }
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    chosen.sort_unstable();
    chosen
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Product counts per brand: a few big brands (more than two AJAX pages),
/// one brand of exactly one page and one of exactly two (the "page past the
/// end is empty" edges), the rest exponentially distributed, summing to
/// [`PRODUCT_COUNT`]; `scale` times as many of each at larger scales.
fn brand_sizes(rng: &mut SplitMix64, scale: usize) -> Vec<usize> {
    let special: Vec<usize> = (0..scale)
        .flat_map(|_| {
            [
                ROWS_PER_PAGE,
                2 * ROWS_PER_PAGE,
                3 * ROWS_PER_PAGE,
                49 + rng.below(20) as usize,
                96 + rng.below(30) as usize,
                130 + rng.below(40) as usize,
            ]
        })
        .collect();
    let count = BRAND_COUNT * scale;
    let mut order: Vec<usize> = (0..count).collect();
    rng.shuffle(&mut order);
    let mut sizes = vec![0usize; count];
    for (slot, &size) in order.iter().zip(&special) {
        sizes[*slot] = size;
    }
    let ordinary = &order[special.len()..];
    let target = PRODUCT_COUNT * scale - special.iter().sum::<usize>();
    let weights: Vec<f64> = ordinary
        .iter()
        .map(|_| -(1.0 - rng.unit()).ln() + 0.05)
        .collect();
    let total: f64 = weights.iter().sum();
    for (slot, w) in ordinary.iter().zip(&weights) {
        let size = (w / total * target as f64).round() as usize;
        sizes[*slot] = size.clamp(1, ORDINARY_MAX_PRODUCTS);
    }
    let mut sum: usize = ordinary.iter().map(|&i| sizes[i]).sum();
    while sum != target {
        let i = *rng.pick(ordinary);
        if sum < target && sizes[i] < ORDINARY_MAX_PRODUCTS {
            sizes[i] += 1;
            sum += 1;
        } else if sum > target && sizes[i] > 1 {
            sizes[i] -= 1;
            sum -= 1;
        }
    }
    sizes
}

fn generate_products(
    rng: &mut SplitMix64,
    categories: &[Category],
    brands: &mut [Brand],
    sizes: &[usize],
) -> Vec<Product> {
    let mut goods_numbers = HashSet::new();
    let mut products = Vec::with_capacity(sizes.iter().sum());
    for (b, brand) in brands.iter_mut().enumerate() {
        let mut names_seen = HashSet::new();
        for _ in 0..sizes[b] {
            let goods_no = loop {
                let n = format!("A000000{:06}", rng.range(100_000, 999_999));
                if goods_numbers.insert(n.clone()) {
                    break n;
                }
            };
            let name = product_name(rng, categories, brand, &mut names_seen);
            let price_original = rng.range(60, 680) * 100;
            let on_promotion = rng.chance(350);
            let discount_pct = if on_promotion { rng.range(10, 50) } else { 0 };
            let price_current = if on_promotion {
                price_original * (100 - discount_pct) / 100 / 10 * 10
            } else {
                price_original
            };
            let mut flags = Vec::new();
            if on_promotion && rng.chance(800) {
                flags.push("sale");
            }
            if rng.chance(250) {
                flags.push("coupon");
            }
            if rng.chance(150) {
                flags.push("gift");
            }
            if rng.chance(400) {
                flags.push("delivery");
            }
            let (rating_tenths, review_count) = if rng.chance(920) {
                let rating = if rng.chance(850) {
                    rng.range(42, 50)
                } else {
                    rng.range(25, 49)
                };
                let count = (rng.unit() * 30_000f64.ln()).exp() as u64;
                (Some(rating), Some(count.max(1)))
            } else {
                (None, None)
            };
            brand.products.push(products.len());
            products.push(Product {
                goods_no,
                name,
                brand: b,
                price_original,
                shows_original: !rng.chance(10),
                price_current,
                on_promotion,
                discount_pct,
                sold_out: rng.chance(30),
                flags,
                rating_tenths,
                review_count,
            });
        }
    }
    products
}

/// `[prefix] <brand> <line> <type> <volume>[ set ending]`, unique in the brand.
fn product_name(
    rng: &mut SplitMix64,
    categories: &[Category],
    brand: &Brand,
    seen: &mut HashSet<String>,
) -> String {
    for attempt in 0.. {
        let mut name = String::new();
        if rng.chance(200) {
            name.push_str(rng.pick::<&str>(names::NAME_PREFIXES));
        }
        let category = *rng.pick(&brand.categories);
        let big = categories[category].big;
        name.push_str(&brand.name_ko);
        name.push(' ');
        name.push_str(rng.pick::<&str>(names::PRODUCT_LINES));
        name.push(' ');
        name.push_str(rng.pick::<&str>(names::product_types(big)));
        name.push(' ');
        name.push_str(rng.pick::<&str>(names::VOLUMES));
        if rng.chance(80) {
            name.push_str(rng.pick::<&str>(names::NAME_SETS));
        }
        if attempt >= 8 {
            name.push_str(&format!(" {}호", attempt - 7));
        }
        if seen.insert(name.clone()) {
            return name;
        }
    }
    unreachable!("the numbered names above are always new")
}

/// List every brand in its categories (shuffled: the filter is not sorted by
/// name), first making sure no category is empty.
fn fill_categories(rng: &mut SplitMix64, categories: &mut [Category], brands: &mut [Brand]) {
    for c in 0..categories.len() {
        if brands.iter().any(|b| b.categories.contains(&c)) {
            continue;
        }
        let start = rng.below(brands.len() as u64) as usize;
        if let Some(b) = (0..brands.len())
            .map(|i| (start + i) % brands.len())
            .find(|&b| brands[b].categories.len() < 4)
        {
            brands[b].categories.push(c);
            brands[b].categories.sort_unstable();
        }
    }
    for (b, brand) in brands.iter().enumerate() {
        for &c in &brand.categories {
            categories[c].brands.push(b);
        }
    }
    for category in categories.iter_mut() {
        rng.shuffle(&mut category.brands);
    }
}

/// Three brands whose shop always fails, two with a malformed AJAX page 1
/// and one flaky shop, per unit of scale.
fn choose_faults(
    rng: &mut SplitMix64,
    brands: &[Brand],
    products: &[Product],
    scale: usize,
) -> Faults {
    // Faulty brands are ordinary ones (one or two pages), distinct.
    let mut candidates: Vec<usize> = (0..brands.len())
        .filter(|&b| brands[b].products.len() <= ORDINARY_MAX_PRODUCTS)
        .collect();
    rng.shuffle(&mut candidates);
    let codes = |range: std::ops::Range<usize>| -> Vec<String> {
        candidates[range]
            .iter()
            .map(|&b| brands[b].code.clone())
            .collect()
    };
    // The flaky brands have two pages, so a retried task still pages
    // through (any later candidates if too few do).
    let rest = &candidates[6 * scale..];
    let mut flaky: Vec<usize> = rest
        .iter()
        .copied()
        .filter(|&b| brands[b].products.len() > ROWS_PER_PAGE)
        .take(scale)
        .collect();
    for &b in rest {
        if flaky.len() == scale {
            break;
        }
        if !flaky.contains(&b) {
            flaky.push(b);
        }
    }
    let mut flaky: Vec<String> = flaky.iter().map(|&b| brands[b].code.clone()).collect();
    let more_first_request_500 = flaky.split_off(1);
    let missing_original_price = products
        .iter()
        .filter(|p| !p.shows_original)
        .map(|p| p.goods_no.clone())
        .collect();
    Faults {
        shop_always_500: codes(0..3 * scale),
        goods_page1_malformed: codes(3 * scale..5 * scale),
        shop_first_request_500: flaky.remove(0),
        more_first_request_500,
        missing_original_price,
    }
}
