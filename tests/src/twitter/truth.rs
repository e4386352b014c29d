//! The ground truth of the X fixture: exactly the records a correct
//! `twitter` plugin emits when the given brands trigger it (topic `twitter`,
//! key = tweet id), and the requests it needs: the text as the author
//! wrote it (not as X escapes it), matched against it. Computed from which brand
//! each tweet was written for (not by running the fixture's search), so a
//! search bug in the fixture and a matching bug in the plugin cannot cancel
//! out.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::api::brand_query;
use super::corpus::{BrandSeed, Corpus};
use super::search::{iso_utc, term_matches};

/// One expected record.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTweet {
    /// The record value.
    pub value: Value,
    /// The record timestamp: the tweet's `created_at` in ms.
    pub timestamp_ms: i64,
}

/// What a run of the `twitter` plugin over some brands must produce.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroundTruth {
    /// Records by tweet id.
    pub records: BTreeMap<String, ExpectedTweet>,
    /// Brand code -> the newest tweet id found (brands with results only):
    /// the `since_id` of the brand's next run.
    pub newest_by_brand: BTreeMap<String, String>,
    /// Brand code -> the search requests (pages) a correct plugin sends,
    /// at least one per brand, without rate-limited repeats.
    pub pages_by_brand: BTreeMap<String, usize>,
}

impl GroundTruth {
    /// Requests over every brand.
    pub fn requests(&self) -> usize {
        self.pages_by_brand.values().sum()
    }
}

impl Corpus {
    /// The records for a run triggered by `brands`, where brand code `c`
    /// searches only tweets newer than `since[c]` (absent: everything recent
    /// search covers), with pages of `max_results`.
    pub fn ground_truth(
        &self,
        brands: &[BrandSeed],
        since: &BTreeMap<String, String>,
        max_results: usize,
    ) -> GroundTruth {
        let mut truth = GroundTruth::default();
        for brand in brands {
            let index = self.brand_index(&brand.code);
            let since_id: Option<u64> = since.get(&brand.code).and_then(|s| s.parse().ok());
            let found: Vec<_> = self
                .tweets()
                .iter()
                .filter(|t| index.is_some() && t.brand == index)
                .filter(|t| self.in_window(t) && since_id.is_none_or(|s| t.id > s))
                .collect();
            truth.pages_by_brand.insert(
                brand.code.clone(),
                found.len().div_ceil(max_results.max(1)).max(1),
            );
            if let Some(newest) = found.iter().map(|t| t.id).max() {
                truth
                    .newest_by_brand
                    .insert(brand.code.clone(), newest.to_string());
            }
            let mut keywords: Vec<&str> = Vec::new();
            for k in brand.keywords() {
                if !keywords.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                    keywords.push(k);
                }
            }
            for t in found {
                let user = &self.users()[t.author];
                let m = &t.metrics;
                let matched: Vec<&str> = keywords
                    .iter()
                    .copied()
                    .filter(|k| term_matches(&t.text, k))
                    .collect();
                // A deleted author keeps its id (from the tweet) but not
                // its names, and the link goes through `/i/`.
                let (username, name, url) = if user.deleted {
                    (None, None, format!("https://x.com/i/status/{}", t.id))
                } else {
                    (
                        Some(&user.username),
                        Some(&user.name),
                        format!("https://x.com/{}/status/{}", user.username, t.id),
                    )
                };
                let value = json!({
                    "id": t.id.to_string(),
                    "text": t.text,
                    "created_at": iso_utc(t.created_at_ms),
                    "lang": t.lang,
                    "author": { "id": user.id, "username": username, "name": name },
                    "metrics": {
                        "retweet_count": m.retweet_count,
                        "reply_count": m.reply_count,
                        "like_count": m.like_count,
                        "quote_count": m.quote_count,
                        "bookmark_count": m.bookmark_count,
                        "impression_count": m.impression_count,
                    },
                    "url": url,
                    "brand": brand.name_ko,
                    "brand_code": brand.code,
                    "brand_name_en": brand.name_en,
                    "matched_keywords": matched,
                    "query": brand_query(brand),
                });
                truth.records.insert(
                    t.id.to_string(),
                    ExpectedTweet {
                        value,
                        timestamp_ms: t.created_at_ms,
                    },
                );
            }
        }
        truth
    }
}
