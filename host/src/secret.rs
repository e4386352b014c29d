//! Secrets and their redaction: one leaf every section owner uses.
//!
//! Owns [`SecretString`] and [`UrlWithPassword`] (configuration values that
//! never print), [`HIDDEN`] (what they print as) and [`Redactor`], the one
//! matcher that replaces known secret values in text the host shows (a
//! response handed to a plugin, a page's HTML). Depends on nothing else in
//! the crate.

use serde::{Deserialize, Serialize};

/// What a secret prints as, in `Debug`, `Display` and the summary of
/// `crawlhost config check`.
pub const HIDDEN: &str = "***";

/// A value that must never be printed: passwords, keys, tokens.
///
/// Every configuration field that holds a secret has this type, so redaction
/// lives in one place: `Debug`, `Display` and `Serialize` all give
/// [`HIDDEN`], and the value itself is reachable only through
/// [`SecretString::expose`], which makes each use visible in review.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wrap a value read from a file, the environment or a test.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(HIDDEN)
    }
}

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(HIDDEN)
    }
}

/// `url` with the password of its user-info (`http://user:pass@proxy`)
/// replaced by [`HIDDEN`]; other text unchanged.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some(HIDDEN));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// A URL that may carry a password (`http://user:pass@proxy:3128`):
/// `Debug`, `Display` and `Serialize` give it with the password as
/// [`HIDDEN`]; [`UrlWithPassword::expose`] gives it whole.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct UrlWithPassword(String);

impl UrlWithPassword {
    /// Wrap a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for the client that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UrlWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

impl std::fmt::Display for UrlWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Serialize for UrlWithPassword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&redact_url(&self.0))
    }
}
