//! The plugin's configuration, checked. Pure.

use crawlhost_sdk::{CrawlError, Run};

pub const DEFAULT_BASE_URL: &str = "https://www.instagram.com";
pub const DEFAULT_MAX_SCROLLS: u64 = 10;
pub const DEFAULT_MAX_POSTS: u64 = 100;
pub const DEFAULT_WAIT_MS: u64 = 15_000;
pub const DEFAULT_USERNAME_SECRET: &str = "instagram_username";
pub const DEFAULT_PASSWORD_SECRET: &str = "instagram_password";

/// Checked settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Root URL without a trailing `/`.
    pub base_url: String,
    pub max_scrolls: u64,
    pub max_posts: u64,
    pub wait_ms: u32,
    pub username_secret: String,
    pub password_secret: String,
}

impl Settings {
    pub fn from_run(run: &Run) -> Result<Settings, CrawlError> {
        let text = |k: &str, d: &str| run.config(k).unwrap_or(d).trim().to_string();
        let base_url = text("base_url", DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_string();
        Self::check(
            base_url,
            run.config_u64("max_scrolls", DEFAULT_MAX_SCROLLS)?,
            run.config_u64("max_posts", DEFAULT_MAX_POSTS)?,
            run.config_u64("wait_ms", DEFAULT_WAIT_MS)?,
            text("username_secret", DEFAULT_USERNAME_SECRET),
            text("password_secret", DEFAULT_PASSWORD_SECRET),
        )
    }

    pub fn check(
        base_url: String,
        max_scrolls: u64,
        max_posts: u64,
        wait_ms: u64,
        username_secret: String,
        password_secret: String,
    ) -> Result<Settings, CrawlError> {
        let bad = |m: String| Err(CrawlError::Other(m));
        if url::Url::parse(&base_url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return bad(format!(
                "config key `base_url` must be an http(s) URL, got `{base_url}`"
            ));
        }
        if max_posts == 0 {
            return bad("config key `max_posts` must be at least 1".into());
        }
        if !(100..=120_000).contains(&wait_ms) {
            return bad(format!(
                "config key `wait_ms` must be between 100 and 120000, got {wait_ms}"
            ));
        }
        if username_secret.is_empty() || password_secret.is_empty() {
            return bad(
                "config keys `username_secret` and `password_secret` must name secrets".into(),
            );
        }
        Ok(Settings {
            base_url,
            max_scrolls,
            max_posts,
            wait_ms: wait_ms as u32,
            username_secret,
            password_secret,
        })
    }

    /// The hashtag page of `tag`.
    pub fn tag_url(&self, tag: &str) -> String {
        let quoted: String = url::form_urlencoded::byte_serialize(tag.as_bytes()).collect();
        format!(
            "{}/explore/tags/{}/",
            self.base_url,
            quoted.replace('+', "%20")
        )
    }

    /// The page of post `code`.
    pub fn post_url(&self, code: &str) -> String {
        format!("{}/p/{code}/", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(base: &str) -> Result<Settings, CrawlError> {
        Settings::check(base.into(), 10, 100, 15_000, "u".into(), "p".into())
    }

    #[test]
    fn urls_and_checks() {
        let st = s("http://127.0.0.1:9").unwrap();
        assert_eq!(
            st.tag_url("라운드랩"),
            "http://127.0.0.1:9/explore/tags/%EB%9D%BC%EC%9A%B4%EB%93%9C%EB%9E%A9/"
        );
        assert_eq!(st.post_url("AbC_-1"), "http://127.0.0.1:9/p/AbC_-1/");
        assert!(s("ftp://x").is_err());
        assert!(s("not a url").is_err());
        assert!(Settings::check("http://x".into(), 1, 0, 15_000, "u".into(), "p".into()).is_err());
        assert!(Settings::check("http://x".into(), 1, 1, 5, "u".into(), "p".into()).is_err());
    }
}
