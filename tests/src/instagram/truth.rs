//! The ground truth: the records a correct `instagram` plugin run produces
//! for the brands that triggered it. One record per post under a triggered
//! brand's hashtag, keyed by shortcode, with the original crawler's fields:
//! `brand` (Korean name), `post_url`, `full_text` (the grid thumbnail's
//! `alt`), `username`, `like` (number, or null when hidden), `saved_imgs`
//! (absolute image URLs, carousel order) and `date` (the post's
//! `time[datetime]`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::corpus::{Corpus, tag_of};
use crate::twitter::BrandSeed;

/// Expected records by key (shortcode).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    pub records: BTreeMap<String, Value>,
    /// Posts per triggered brand code (0 for brands without posts).
    pub posts_by_brand: BTreeMap<String, usize>,
}

impl Corpus {
    /// The truth for a run triggered by `brands`, against the fixture at
    /// `base_url`.
    pub fn ground_truth(&self, base_url: &str, brands: &[BrandSeed]) -> GroundTruth {
        let base = base_url.trim_end_matches('/');
        let mut records = BTreeMap::new();
        let mut posts_by_brand = BTreeMap::new();
        for b in brands {
            let posts = self.tag(&tag_of(&b.name_ko));
            posts_by_brand.insert(b.code.clone(), posts.len());
            for p in posts {
                let images: Vec<String> = p.images.iter().map(|i| format!("{base}{i}")).collect();
                records.insert(
                    p.code.clone(),
                    json!({
                        "brand": p.brand,
                        "post_url": format!("{base}/p/{}/", p.code),
                        "full_text": p.caption,
                        "username": p.username,
                        "like": p.likes,
                        "saved_imgs": images,
                        "date": p.date(),
                    }),
                );
            }
        }
        GroundTruth {
            records,
            posts_by_brand,
        }
    }
}
