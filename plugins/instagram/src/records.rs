//! The record of one post, with the original crawler's field names, and
//! how it is put together from what the post page showed. Pure.
//!
//! A post's identity is its shortcode (the `/p/<code>/` of its URL): the
//! grid skips and counts a link without one. Everything else (user name,
//! date, likes, caption, images) is nullable: a post whose page lost its
//! user name to a markup change is still a post, and the miss is counted.

use crawlhost_sdk::extract::{Item, Missing, Tally};
use serde::Serialize;

use crate::parse;

/// Destination topic.
pub const TOPIC: &str = "instagram";

/// One post. Every field but `brand` and `post_url` is null when the page
/// did not show it (`like` also when the author hides the count, which the
/// original wrote as "no data").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostRecord {
    /// The brand's Korean name, as in the trigger record.
    pub brand: String,
    pub post_url: String,
    /// The caption (the grid thumbnail's `alt`).
    pub full_text: Option<String>,
    pub username: Option<String>,
    pub like: Option<u64>,
    /// Absolute image URLs, carousel order.
    pub saved_imgs: Option<Vec<String>>,
    /// The post's `time[datetime]`, as the page gives it (ISO-8601, UTC).
    pub date: Option<String>,
}

/// What a post page showed, as read from the browser: raw texts, nothing
/// checked yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostPage {
    /// The post's shortcode (from the grid link).
    pub code: String,
    /// The post's URL.
    pub post_url: String,
    /// The grid thumbnail's `alt`.
    pub caption: String,
    /// Text of the user-name element, if any.
    pub username: Option<String>,
    /// Every `time[datetime]` on the page, in document order.
    pub datetimes: Vec<String>,
    /// Text of the like-count element, if any.
    pub likes: Option<String>,
    /// Every carousel image `src`, in order.
    pub images: Vec<String>,
    /// Whether the carousel stopped before its last image.
    pub carousel_cut: bool,
}

/// The record of a post page: the shortcode is its identity; every other
/// field is optional and counted as a miss on `item`.
pub fn post_record(brand: &str, page: PostPage, item: &mut Item) -> Result<PostRecord, Missing> {
    item.identity("shortcode", parse::shortcode(&format!("/p/{}/", page.code)))?;
    let text = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let full_text = item.optional(
        "full_text",
        Some(page.caption).filter(|c| !c.trim().is_empty()),
    );
    let username = item.optional("username", text(page.username));
    // The post's own time is the last one (comments come first).
    let date = item.optional("date", text(page.datetimes.into_iter().next_back()));
    let like = item.optional("like", page.likes.as_deref().and_then(parse::like_count));
    let images: Vec<String> = page
        .images
        .iter()
        .filter(|src| !src.trim().is_empty())
        .map(|src| parse::absolute(&page.post_url, src))
        .collect();
    let saved_imgs = item.optional("saved_imgs", Some(images));
    if page.carousel_cut {
        item.miss("saved_imgs.carousel");
    }
    Ok(PostRecord {
        brand: brand.to_string(),
        post_url: page.post_url,
        full_text,
        username,
        like,
        saved_imgs,
        date,
    })
}

/// [`post_record`] through a tally of its own (one post per task).
pub fn read_post(brand: &str, page: PostPage) -> (Option<PostRecord>, Tally) {
    let mut tally = Tally::new(TOPIC);
    let at = page.post_url.clone();
    let record = tally.item(|| at, |item| post_record(brand, page, item));
    (record, tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> PostPage {
        PostPage {
            code: "AbC_-9".into(),
            post_url: "http://h:1/p/AbC_-9/".into(),
            caption: "라운드랩 토너 #라운드랩".into(),
            username: Some(" glow_diary1 ".into()),
            datetimes: vec![
                "2024-08-21T00:00:00.000Z".into(),
                "2024-08-20T03:00:00.000Z".into(),
            ],
            likes: Some("1,234".into()),
            images: vec!["/media/a.jpg".into(), "https://cdn/b.jpg".into()],
            carousel_cut: false,
        }
    }

    #[test]
    fn a_complete_post() {
        let (record, tally) = read_post("라운드랩", page());
        let r = record.unwrap();
        assert_eq!(r.username.as_deref(), Some("glow_diary1"));
        assert_eq!(r.date.as_deref(), Some("2024-08-20T03:00:00.000Z"));
        assert_eq!(r.like, Some(1234));
        assert_eq!(
            r.saved_imgs.unwrap(),
            ["http://h:1/media/a.jpg", "https://cdn/b.jpg"]
        );
        assert_eq!(r.full_text.as_deref(), Some("라운드랩 토너 #라운드랩"));
        assert!(tally.misses().is_empty(), "{:?}", tally.misses());
    }

    #[test]
    fn a_post_without_a_username_still_lands() {
        let mut p = page();
        p.username = None;
        let (record, tally) = read_post("라운드랩", p);
        let r = record.unwrap();
        assert_eq!(r.username, None);
        assert_eq!(r.like, Some(1234));
        assert_eq!(tally.misses_of("username"), 1);
        assert_eq!((tally.kept(), tally.skipped()), (1, 0));
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["username"].is_null() && v["post_url"] == "http://h:1/p/AbC_-9/");
    }

    #[test]
    fn a_post_with_nothing_but_its_shortcode_still_lands() {
        let p = PostPage {
            code: "Q1w".into(),
            post_url: "http://h:1/p/Q1w/".into(),
            caption: " ".into(),
            username: Some("  ".into()),
            likes: Some("Liked by others".into()),
            carousel_cut: true,
            ..PostPage::default()
        };
        let (record, tally) = read_post("b", p);
        let r = record.unwrap();
        assert_eq!(
            (r.full_text, r.username, r.like, r.saved_imgs, r.date),
            (None, None, None, None, None)
        );
        for f in [
            "full_text",
            "username",
            "like",
            "saved_imgs",
            "date",
            "saved_imgs.carousel",
        ] {
            assert_eq!(tally.misses_of(f), 1, "{f}");
        }
    }

    #[test]
    fn a_post_without_a_shortcode_is_skipped_and_counted() {
        let mut p = page();
        p.code = "../x".into();
        let (record, tally) = read_post("b", p);
        assert_eq!(record, None);
        assert_eq!(tally.skipped_by("shortcode"), 1);
        assert_eq!(tally.skips()["shortcode"].first_at, "http://h:1/p/AbC_-9/");
    }
}
