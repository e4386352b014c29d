//! Reading what the browser hands back: grid thumbnails (post link and
//! caption), like counts, shortcodes and absolute URLs. Pure.

use crawlhost_sdk::extract::Tally;
use crawlhost_sdk::html::{Document, ElementExt};

use crate::records::TOPIC;
use crate::selectors as sel;

/// One thumbnail of a hashtag grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumb {
    pub code: String,
    /// The `img` `alt`: the caption, as the original crawler read it.
    pub caption: String,
}

/// The shortcode of a post link (`/p/<code>/`, absolute or not).
pub fn shortcode(href: &str) -> Option<String> {
    let (_, rest) = href.split_once("/p/")?;
    let code = rest.split(['/', '?', '#']).next()?;
    (!code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| code.to_string())
}

/// The thumbnails in the outer HTML of grid items, in order, each post once,
/// with the tally of post links that name no readable shortcode (skipped
/// and counted; `grid_url` says where). A thumbnail without an `alt` keeps
/// an empty caption: the post task counts it as a miss.
pub fn thumbs(items: &[String], grid_url: &str) -> (Vec<Thumb>, Tally) {
    let mut tally = Tally::new(TOPIC);
    let mut out: Vec<Thumb> = Vec::new();
    let mut links = 0;
    for item in items {
        let doc = Document::parse(item);
        for a in doc.select(sel::GRID_LINK).unwrap_or_default() {
            links += 1;
            let href = a.attr("href").unwrap_or_default();
            let Some(code) = tally.item(
                || format!("{grid_url} (link #{links}, href `{href}`)"),
                |i| i.identity("shortcode", shortcode(&href)),
            ) else {
                continue;
            };
            if out.iter().any(|t| t.code == code) {
                continue;
            }
            let caption = a
                .select_first("img")
                .ok()
                .flatten()
                .and_then(|img| img.attr("alt"))
                .unwrap_or_default();
            out.push(Thumb { code, caption });
        }
    }
    (out, tally)
}

/// `1,234` / `1.234` / `1 234 likes` -> 1234; none without digits.
pub fn like_count(text: &str) -> Option<u64> {
    let digits: String = text
        .split_whitespace()
        .next()?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `src` made absolute against `base` (the page's site root).
pub fn absolute(base: &str, src: &str) -> String {
    match url::Url::parse(base).and_then(|b| b.join(src)) {
        Ok(u) => u.to_string(),
        Err(_) => src.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes() {
        assert_eq!(shortcode("/p/AbC_-9/").as_deref(), Some("AbC_-9"));
        assert_eq!(shortcode("https://x/p/Q1w?img=1").as_deref(), Some("Q1w"));
        assert_eq!(shortcode("/explore/tags/x/"), None);
        assert_eq!(shortcode("/p//"), None);
    }

    #[test]
    fn grid_thumbs_in_order_once() {
        let items = vec![
            r#"<article><a href="/p/A1/"><img src="/m/a.jpg" alt="첫 줄&#10;둘째 #태그 ✨ &amp; &lt;3"></a></article>"#.to_string(),
            r#"<article><a href="/p/B2/"><img src="/m/b.jpg"></a></article>"#.to_string(),
            r#"<article><a href="/p/A1/"><img alt="again"></a></article>"#.to_string(),
        ];
        let (t, tally) = thumbs(&items, "g");
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0],
            Thumb {
                code: "A1".into(),
                caption: "첫 줄\n둘째 #태그 ✨ & <3".into()
            }
        );
        assert_eq!(t[1].caption, "");
        assert_eq!(tally.skipped(), 0);
    }

    #[test]
    fn a_link_without_a_shortcode_is_skipped_and_counted_not_its_grid() {
        let items = vec![
            r#"<article><a href="/p/A1/"><img alt="one"></a></article>"#.to_string(),
            r#"<article><a href="/p//"><img alt="broken"></a><a href="/p/B2/"><img alt="two"></a></article>"#.to_string(),
            r#"<article><a href="/p/%F0%9F/"><img alt="odd"></a></article>"#.to_string(),
        ];
        let (t, tally) = thumbs(&items, "http://h/explore/tags/x/");
        assert_eq!(
            t.iter().map(|t| t.code.as_str()).collect::<Vec<_>>(),
            ["A1", "B2"]
        );
        assert_eq!(tally.skipped_by("shortcode"), 2);
        assert_eq!(
            tally.skips()["shortcode"].first_at,
            "http://h/explore/tags/x/ (link #2, href `/p//`)"
        );
    }

    #[test]
    fn likes_and_urls() {
        assert_eq!(like_count("1,234"), Some(1234));
        assert_eq!(like_count("87 likes"), Some(87));
        assert_eq!(like_count("Liked by others"), None);
        assert_eq!(
            absolute("http://h:1/p/x/", "/media/a.jpg"),
            "http://h:1/media/a.jpg"
        );
        assert_eq!(
            absolute("http://h:1/", "https://cdn/a.jpg"),
            "https://cdn/a.jpg"
        );
    }
}
