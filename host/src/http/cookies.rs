//! Cookies: one jar per plugin run (the [`Session`] every fetch of the run
//! shares), so a site's session cookie set on the first page is sent on the
//! next ones without the plugin handling it. Matching (domain, path, secure,
//! expiry) is the `cookie_store` crate's. With `http.cookies.persist` the
//! jar's persistent cookies are loaded from and saved to the plugin's state
//! store, under a host-private name the plugin cannot read or write.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cookie_store::CookieStore;
use serde::Deserialize;
use url::Url;

/// `[http.cookies]`. A field left out takes its value from
/// [`CookieConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// Keep a cookie jar per plugin run. Default true.
    pub enabled: bool,
    /// Keep persistent cookies across runs, in the plugin's state (counts
    /// toward its quota). Default false.
    pub persist: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            persist: false,
        }
    }
}

/// The state-store "plugin" name the jar of `plugin` is kept under. Plugin
/// names cannot contain `#`, so no plugin can reach it.
pub fn state_namespace(plugin: &str) -> String {
    format!("{plugin}#http")
}

/// The state key of the jar.
pub const STATE_KEY: &str = "cookies";

/// Per-run HTTP state shared by every fetch of one plugin run.
#[derive(Default)]
pub struct Session {
    jar: Mutex<CookieStore>,
    /// The persisted jar was loaded (or there was none); held while loading
    /// so concurrent first fetches wait for it.
    loaded: Mutex<bool>,
    /// Cookies changed since the last save.
    dirty: AtomicBool,
    /// Round-robin position in the plugin's proxy list.
    proxy_next: AtomicUsize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

impl Session {
    fn jar(&self) -> std::sync::MutexGuard<'_, CookieStore> {
        self.jar.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `cookie` header for a request to `url`, if any cookie matches.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let jar = self.jar();
        let pairs: Vec<String> = jar
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Store the `set-cookie` values of a response from `url`.
    pub fn store<'a>(&self, url: &Url, set_cookies: impl Iterator<Item = &'a str>) {
        let mut jar = self.jar();
        for value in set_cookies {
            if jar.parse(value, url).is_ok() {
                self.dirty.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Load the persisted jar once per session: `read` returns the JSON
    /// saved by [`Session::save_if_changed`], if any. Later calls do nothing.
    pub fn load_once(&self, read: impl FnOnce() -> Option<Vec<u8>>) -> Result<(), String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if *loaded {
            return Ok(());
        }
        *loaded = true;
        if let Some(json) = read() {
            let store =
                cookie_store::serde::json::load(json.as_slice()).map_err(|e| e.to_string())?;
            *self.jar() = store;
        }
        Ok(())
    }

    /// The jar's persistent, unexpired cookies as JSON, when they changed
    /// since the last call.
    pub fn save_if_changed(&self) -> Option<Vec<u8>> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut out = Vec::new();
        cookie_store::serde::json::save(&self.jar(), &mut out).ok()?;
        Some(out)
    }

    /// The next index into a list of `n` proxies.
    pub fn next_proxy(&self, n: usize) -> usize {
        self.proxy_next.fetch_add(1, Ordering::Relaxed) % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: CookieConfig = toml::from_str("").unwrap();
        assert_eq!(empty, CookieConfig::default());
        assert!(empty.enabled && !empty.persist);
    }

    #[test]
    fn cookies_follow_domain_and_path() {
        let s = Session::default();
        let page = Url::parse("http://shop.example/a/page").unwrap();
        s.store(&page, ["sid=abc; Path=/", "pref=1; Path=/a"].into_iter());
        let header = s
            .header_for(&Url::parse("http://shop.example/a/b").unwrap())
            .unwrap();
        let mut parts: Vec<&str> = header.split("; ").collect();
        parts.sort();
        assert_eq!(parts, vec!["pref=1", "sid=abc"]);
        assert_eq!(
            s.header_for(&Url::parse("http://shop.example/other").unwrap())
                .as_deref(),
            Some("sid=abc")
        );
        assert_eq!(
            s.header_for(&Url::parse("http://elsewhere.example/").unwrap()),
            None
        );
    }

    #[test]
    fn persistent_cookies_round_trip() {
        let s = Session::default();
        let url = Url::parse("https://shop.example/").unwrap();
        assert!(s.save_if_changed().is_none());
        s.store(&url, ["keep=1; Max-Age=3600", "session=2"].into_iter());
        let saved = s.save_if_changed().unwrap();
        assert!(s.save_if_changed().is_none(), "nothing changed since");
        let t = Session::default();
        t.load_once(|| Some(saved.clone())).unwrap();
        t.load_once(|| panic!("loaded twice")).unwrap();
        // Only the persistent cookie survives a run.
        assert_eq!(t.header_for(&url).as_deref(), Some("keep=1"));
    }

    #[test]
    fn proxies_rotate() {
        let s = Session::default();
        let picks: Vec<usize> = (0..5).map(|_| s.next_proxy(2)).collect();
        assert_eq!(picks, vec![0, 1, 0, 1, 0]);
    }
}
