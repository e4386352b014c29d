//! Every CSS selector the plugin uses, in one place: Instagram's markup
//! drifts, and this is the file to change when it does (SOURCES.md).

/// The login form's fields and button.
pub const LOGIN_USERNAME: &str = "#loginForm input[name=\"username\"]";
pub const LOGIN_PASSWORD: &str = "#loginForm input[name=\"password\"]";
pub const LOGIN_SUBMIT: &str = "#loginForm button[type=\"submit\"]";
/// The login error message, once shown.
pub const LOGIN_ERROR: &str = "#slfErrorAlert:not([hidden])";
/// Path prefix of the login page.
pub const LOGIN_PATH: &str = "/accounts/login";

/// The suspicious-activity popup.
pub const CHALLENGE: &str = ".wbloks_1";

/// A post in a hashtag grid.
pub const GRID_POST: &str = "main article a[href*=\"/p/\"]";
/// The grid's containers (one per thumbnail).
pub const GRID_ITEM: &str = "main article";
/// A post link inside a grid item's HTML (its `href` holds the shortcode,
/// its `img` `alt` the caption).
pub const GRID_LINK: &str = "a[href*=\"/p/\"]";
/// Shown by an empty hashtag.
pub const GRID_EMPTY: &str = "._no_posts";
/// The infinite-scroll loading indicator (gone once everything is loaded).
pub const GRID_LOADER: &str = "[data-visualcompletion=\"loading-state\"]";
/// How far one scroll goes (the original: `window.scrollBy(0,7000)`).
pub const SCROLL_PX: i32 = 7000;

/// The post itself on a post page.
pub const POST_ARTICLE: &str = "main article";
/// The post author's user name.
pub const POST_USERNAME: &str = "span._ap3a._aaco._aacw._aacx._aad7._aade";
/// Times on a post page; the post's own date is the last one.
pub const POST_TIME: &str = "main time[datetime]";
/// The like count, when the author shows it.
pub const POST_LIKES: &str = "section a[href$=\"/liked_by/\"] span";
/// Carousel images and its next button.
pub const POST_IMAGE: &str = "div._aagv img";
pub const POST_NEXT: &str = "button._afxw._al46._al47";

/// A post page has rendered: its article, or any field the plugin reads
/// (so one field whose markup changed does not hold the page up).
pub fn post_ready() -> String {
    format!("{POST_ARTICLE}, {POST_TIME}, {POST_USERNAME}, {POST_IMAGE}")
}
