//! The posts: a deterministic corpus for a seed and the Oliveyoung fixture's
//! brands. Each post is tagged with exactly one brand's hashtag (the brand's
//! Korean name without spaces) and mentions the brand in its caption.

use std::collections::BTreeMap;

use crate::rng::SplitMix64;
use crate::twitter::{BrandSeed, iso_utc};

/// Posts per JSON page of a tag grid (what one infinite-scroll load adds).
pub const PAGE_SIZE: usize = 12;
/// The newest post time; older posts go back up to 60 days.
pub const NEWEST_MS: i64 = 1_724_122_800_000;

/// One post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Shortcode (`/p/<code>/`), 11 characters of Instagram's alphabet.
    pub code: String,
    /// Oliveyoung brand code and Korean name.
    pub brand_code: String,
    pub brand: String,
    /// The hashtag it is listed under.
    pub tag: String,
    pub username: String,
    /// Caption; the grid thumbnail's `alt`.
    pub caption: String,
    /// Like count; `None` when the author hides it.
    pub likes: Option<u64>,
    /// Image paths (`/media/...`), carousel order.
    pub images: Vec<String>,
    /// Post time, ms since the epoch.
    pub taken_at_ms: i64,
    /// Comment times (after the post), shown before the post's own time.
    pub comments_ms: Vec<i64>,
}

impl Post {
    /// The post time as the page's `time[datetime]` shows it.
    pub fn date(&self) -> String {
        iso_utc(self.taken_at_ms)
    }
}

/// The hashtag of a brand name: the name without whitespace.
pub fn tag_of(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// All posts, by tag in grid order (newest first).
#[derive(Debug, Clone)]
pub struct Corpus {
    pub posts: Vec<Post>,
    by_tag: BTreeMap<String, Vec<usize>>,
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NAME_A: &[&str] = &[
    "glow", "daily", "seoul", "skin", "mint", "peach", "cloud", "honey", "soft", "dewy",
];
const NAME_B: &[&str] = &[
    "diary", "lover", "holic", "log", "note", "mood", "pick", "room", "vibe", "shelf",
];
const LINES: &[&str] = &[
    "요즘 제일 자주 쓰는 {b} 💧",
    "{b} 신상 써봤어요! 촉촉함 최고 ✨",
    "Restocked my {b} favourites today 🛒",
    "{b} 올리브영 세일에서 득템 🎉",
    "Honest review of {b}: light, no sticky finish.",
    "{b} 루틴 공유합니다 🌿\n아침 저녁으로 사용 중",
    "피부 진정엔 역시 {b} 🙌",
    // Characters the grid's `alt` attribute carries escaped.
    "{b} 토너 & 크림 세트 <3 \"인생템\"",
];
const EXTRA_TAGS: &[&str] = &[
    "#올리브영",
    "#oliveyoung",
    "#kbeauty",
    "#데일리",
    "#skincare",
];

impl Corpus {
    /// The corpus for `seed`: about one brand in ten has 1 to 16 posts.
    pub fn generate(seed: u64, brands: &[BrandSeed]) -> Corpus {
        let mut rng = SplitMix64::derive(seed, 0x1657);
        let mut posts = Vec::new();
        let mut codes = std::collections::HashSet::new();
        for brand in brands {
            if !rng.chance(100) {
                continue;
            }
            let n = rng.range(1, 16) as usize;
            let tag = tag_of(&brand.name_ko);
            for _ in 0..n {
                let code = loop {
                    let c: String = (0..11)
                        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
                        .collect();
                    if codes.insert(c.clone()) {
                        break c;
                    }
                };
                let username = format!(
                    "{}_{}{}",
                    rng.pick(NAME_A),
                    rng.pick(NAME_B),
                    rng.below(1000)
                );
                let line = rng.pick(LINES).replace("{b}", &brand.name_ko);
                let caption = format!("{line} #{tag} {}", rng.pick(EXTRA_TAGS));
                let likes = (!rng.chance(150)).then(|| {
                    if rng.chance(300) {
                        rng.range(1000, 90_000)
                    } else {
                        rng.range(0, 999)
                    }
                });
                let images = (0..rng.range(1, 5))
                    .map(|i| format!("/media/{code}_{i}.jpg"))
                    .collect();
                let taken_at_ms = NEWEST_MS - rng.range(0, 60 * 86_400) as i64 * 1000;
                let comments_ms = (0..rng.range(0, 2))
                    .map(|_| taken_at_ms + rng.range(60, 86_400) as i64 * 1000)
                    .collect();
                posts.push(Post {
                    code,
                    brand_code: brand.code.clone(),
                    brand: brand.name_ko.clone(),
                    tag: tag.clone(),
                    username,
                    caption,
                    likes,
                    images,
                    taken_at_ms,
                    comments_ms,
                });
            }
        }
        let mut by_tag: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in posts.iter().enumerate() {
            by_tag.entry(p.tag.clone()).or_default().push(i);
        }
        for list in by_tag.values_mut() {
            list.sort_by_key(|&i| {
                (
                    std::cmp::Reverse(posts[i].taken_at_ms),
                    posts[i].code.clone(),
                )
            });
        }
        Corpus { posts, by_tag }
    }

    /// Posts under `tag`, grid order.
    pub fn tag(&self, tag: &str) -> Vec<&Post> {
        self.by_tag
            .get(tag)
            .map(|l| l.iter().map(|&i| &self.posts[i]).collect())
            .unwrap_or_default()
    }

    /// One grid page: the posts after `cursor` (an index, 0 for the first
    /// page) and the next cursor when more remain.
    pub fn page(&self, tag: &str, cursor: usize) -> (Vec<&Post>, Option<usize>) {
        let all = self.tag(tag);
        let end = (cursor + PAGE_SIZE).min(all.len());
        let items = all.get(cursor..end).map(<[_]>::to_vec).unwrap_or_default();
        let next = (end < all.len()).then_some(end);
        (items, next)
    }

    /// The post with `code`.
    pub fn post(&self, code: &str) -> Option<&Post> {
        self.posts.iter().find(|p| p.code == code)
    }
}
