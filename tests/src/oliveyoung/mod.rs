//! The Oliveyoung fixture site: a deterministic, seeded imitation of
//! `www.oliveyoung.co.kr` with the real URL paths and markup (SOURCES.md),
//! at the scale of a real crawl (24 categories, 300 brands, 5,000 products;
//! [`Site::generate_scaled`] multiplies all three and the faults, for
//! benchmarks) and with deliberate faults, plus the ground truth a correct
//! crawl of it produces.
//!
//! Layout:
//! - `names`: the vocabulary (category tree, Hangul syllables, product words).
//! - `model`: [`Site::generate`] and the catalogue types ([`Category`],
//!   [`Brand`], [`Product`], [`Faults`]).
//! - `pages`: the HTML of every page, as pure functions of the site.
//! - `handler`: [`Handler`], routing and the request-level faults as a
//!   synchronous function (used by the server and by in-process tests).
//! - `server`: the axum wrapper, [`serve`] and [`spawn`].
//! - `truth`: [`GroundTruth`], the expected records.
//! - `drift`: [`Mutation`], the markup perturbations a `Site` can serve
//!   ([`Site::with_mutation`]) to test a crawler against drift.
//!
//! Faults (all deterministic for a seed, listed in [`Site::faults`]):
//! - three brands whose shop page always answers HTTP 500 (their brand
//!   record lands incomplete, without the shop heading; the products come
//!   from the AJAX pages);
//! - two brands whose AJAX page 1 is truncated mid-tag, with no goods
//!   numbers (their brand record lands incomplete; page 1's products come
//!   from the shop landing);
//! - about 1% of products without a list price (`price_original: null`);
//! - one brand whose shop page answers 500 to the first request a server
//!   instance receives for it, then succeeds (the host's retries hide it).

pub mod alt;
mod drift;
pub mod fourth;
mod handler;
mod model;
mod names;
mod pages;
mod server;
pub mod third;
mod truth;

pub use drift::{Mutation, shout_attributes};
pub use handler::{Handler, Reply};
pub use model::{
    BRAND_COUNT, BRANDS_PER_CATEGORY_PAGE, Brand, CATEGORY_COUNT, Category, Faults, MAX_SCALE,
    PRODUCT_COUNT, Product, ROWS_PER_PAGE, Site,
};
pub use pages::ROBOTS_TXT;
pub use server::{router, serve, spawn};
pub use truth::{GroundTruth, seoul_date};

#[cfg(test)]
mod tests;
