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

/// What replaces a secret in anything handed back to a plugin (a response,
/// a page's HTML, an error message).
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of a set of secret strings with [`REDACTED`].
///
/// The matcher (Aho-Corasick, every needle at once) is built once, when the
/// settings that hold the secrets are turned into a client, and then used
/// for every response; a search per needle per response would rescan the
/// text once per secret form. Where matches overlap (one secret inside or
/// across another, a secret that is a prefix of another) the union of the
/// matched bytes is replaced by one [`REDACTED`], so no fragment of any
/// secret survives; adjacent matches stay separate. Empty needles are
/// ignored. `Debug` shows only how many needles there are.
#[derive(Clone, Default)]
pub struct Redactor {
    matcher: Option<aho_corasick::AhoCorasick>,
    needles: usize,
}

impl Redactor {
    /// A matcher for `needles` (duplicates and empty ones are dropped).
    pub fn new<I, N>(needles: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        let mut list: Vec<Vec<u8>> = Vec::new();
        for n in needles {
            let n = n.as_ref();
            if !n.is_empty() && !list.iter().any(|o| o == n) {
                list.push(n.to_vec());
            }
        }
        if list.is_empty() {
            return Self::default();
        }
        // Standard match semantics: needed to report overlapping matches.
        let matcher = aho_corasick::AhoCorasick::new(&list)
            .expect("a matcher over a handful of secret values builds");
        Self {
            needles: list.len(),
            matcher: Some(matcher),
        }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// The byte ranges to replace: overlapping matches merged.
    fn ranges(&self, haystack: &[u8]) -> Vec<(usize, usize)> {
        let Some(m) = &self.matcher else {
            return Vec::new();
        };
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        // Matches come in order of their end; sort by start to merge.
        let mut found: Vec<(usize, usize)> = m
            .find_overlapping_iter(haystack)
            .map(|m| (m.start(), m.end()))
            .collect();
        found.sort_unstable();
        for (start, end) in found {
            match ranges.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => ranges.push((start, end)),
            }
        }
        ranges
    }

    /// `bytes` with every needle replaced by [`REDACTED`].
    pub fn redact_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let ranges = self.ranges(&bytes);
        if ranges.is_empty() {
            return bytes;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for (start, end) in ranges {
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            at = end;
        }
        out.extend_from_slice(&bytes[at..]);
        out
    }

    /// `text` with every needle replaced by [`REDACTED`]. A needle that
    /// matches inside a UTF-8 sequence cannot leave invalid text behind in
    /// practice (needles are whole strings); if it did, the text is repaired
    /// lossily rather than dropped.
    pub fn redact_str(&self, text: String) -> String {
        if self.is_empty() {
            return text;
        }
        String::from_utf8(self.redact_bytes(text.into_bytes()))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("needles", &self.needles)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(needles: &[&str], text: &str) -> String {
        Redactor::new(needles).redact_str(text.to_string())
    }

    #[test]
    fn every_occurrence_of_every_needle_is_replaced() {
        assert_eq!(
            redact(&["tok", "key"], "a tok, a key, tok again"),
            "a [redacted], a [redacted], [redacted] again"
        );
        assert_eq!(redact(&["tok"], "nothing here"), "nothing here");
        // Adjacent matches stay two.
        assert_eq!(redact(&["ab"], "abab"), "[redacted][redacted]");
    }

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        // Two secrets that overlap in the text: the union goes.
        assert_eq!(redact(&["abcd", "cdef"], "xabcdefy"), "x[redacted]y");
        // One secret inside another.
        assert_eq!(
            redact(&["Bearer tok", "tok"], "h: Bearer tok; tok"),
            "h: [redacted]; [redacted]"
        );
    }

    #[test]
    fn a_secret_that_is_a_prefix_of_another() {
        assert_eq!(
            redact(&["abc", "abcdef"], "abcdefg abcx"),
            "[redacted]g [redacted]x"
        );
        assert_eq!(
            redact(&["abcdef", "abc"], "abcdefg abcx"),
            "[redacted]g [redacted]x"
        );
    }

    #[test]
    fn empty_needles_are_ignored() {
        let r = Redactor::new(["", ""]);
        assert!(r.is_empty());
        assert_eq!(r.redact_str("text".into()), "text");
        assert_eq!(redact(&["", "x"], "axb"), "a[redacted]b");
        assert_eq!(
            format!("{:?}", Redactor::new(["secret", "", "secret"])),
            "Redactor { needles: 1 }"
        );
    }

    #[test]
    fn bytes_that_are_not_text_are_redacted_too() {
        let r = Redactor::new([b"\xffk".as_slice()]);
        assert_eq!(r.redact_bytes(b"a\xffkb".to_vec()), b"a[redacted]b");
    }

    #[test]
    fn secret_values_never_print() {
        let s = SecretString::new("MARKER");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let u = UrlWithPassword::new("http://u:MARKER@proxy:3128");
        assert_eq!(u.to_string(), "http://u:***@proxy:3128/");
        assert!(!format!("{u:?}").contains("MARKER"));
    }
}
