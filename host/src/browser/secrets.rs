//! Credentials the host types into browser pages for plugins
//! (`type-secret`). A secret is typed only on a page whose host it names,
//! and only over https unless the operator allows plain HTTP for it (a form
//! on an `http://` page sends what is typed in clear text), and every string read back from a page (HTML, attributes, URLs, error
//! messages) has each value replaced by `[redacted]`, so a page that echoes a
//! form field cannot leak it to the plugin. Pure.

use url::Url;

use crate::http::allow::HostPattern;
use crate::secret::{REDACTED, Redactor};

/// One checked `[[browser.secrets]]` entry with its value.
#[derive(Clone)]
pub struct BrowserSecret {
    name: String,
    hosts: Vec<HostPattern>,
    value: String,
    allow_http: bool,
}

impl std::fmt::Debug for BrowserSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSecret")
            .field("name", &self.name)
            .field("hosts", &self.hosts)
            .field("value", &REDACTED)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl BrowserSecret {
    /// A secret from parts; on error, the field (`name`, `hosts`,
    /// `value_env`) and why.
    pub fn new(name: &str, hosts: &[&str], value: &str) -> Result<Self, (String, String)> {
        let bad = |part: &str, reason: String| (part.to_string(), reason);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        {
            return Err(bad(
                "name",
                format!("`{name}` must be letters, digits, `_`, `-` or `.`"),
            ));
        }
        if hosts.is_empty() {
            return Err(bad("hosts", "must name at least one host".into()));
        }
        let hosts = hosts
            .iter()
            .map(|h| HostPattern::parse(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("hosts", e.to_string()))?;
        if value.chars().count() < 4 {
            return Err(bad(
                "value_env",
                "the value is shorter than 4 characters".into(),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            hosts,
            value: value.to_string(),
            allow_http: false,
        })
    }

    /// Whether it may also be typed into a plain-HTTP page of its hosts
    /// (`allow_http` in `[[browser.secrets]]`; default false, https only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it may be typed into a page at `url` as far as the host goes
    /// (the scheme is checked by [`BrowserSecrets::for_page`]).
    pub fn applies_to(&self, url: &Url) -> bool {
        self.hosts.iter().any(|p| p.matches(url))
    }

    /// The value to type.
    pub(crate) fn value(&self) -> &str {
        &self.value
    }
}

/// Why `type-secret` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefusal {
    #[error("no [[browser.secrets]] entry is named `{0}`")]
    Unknown(String),
    #[error("secret `{name}` may not be typed into a page of {host} (not in its hosts)")]
    WrongHost { name: String, host: String },
    #[error(
        "secret `{name}` may not be typed into {origin}: the page is not https, so the \
         secret would leave in clear text (set allow_http = true on its [[browser.secrets]] \
         entry only for a site that has no https)"
    )]
    PlainHttp { name: String, origin: String },
}

/// Every configured browser secret.
#[derive(Debug, Clone, Default)]
pub struct BrowserSecrets(pub Vec<BrowserSecret>);

impl BrowserSecrets {
    /// The secret `name`, if it may be typed on a page at `url`.
    pub fn for_page(&self, name: &str, url: &Url) -> Result<&BrowserSecret, SecretRefusal> {
        let secret = self
            .0
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| SecretRefusal::Unknown(name.to_string()))?;
        if !secret.applies_to(url) {
            return Err(SecretRefusal::WrongHost {
                name: name.to_string(),
                host: url.host_str().unwrap_or("?").to_string(),
            });
        }
        if url.scheme() != "https" && !secret.allow_http {
            return Err(SecretRefusal::PlainHttp {
                name: name.to_string(),
                origin: url.origin().ascii_serialization(),
            });
        }
        Ok(secret)
    }

    /// The matcher that replaces every secret value by `[redacted]`, in each form
    /// a page hands it back in: as typed; percent-encoded, as a GET form puts
    /// it in a URL (`+` or `%20` for a space); HTML-escaped as `outerHTML`
    /// writes it in text (`&amp; &lt; &gt; &nbsp;`) and in attribute values
    /// (`&amp; &quot; &nbsp;`, newer Chromium also `&lt; &gt;`) or as a
    /// template escapes it (also `&quot;` in text); and JSON-escaped, as in a
    /// script's data. A value that a page transforms otherwise is not
    /// recognised; [`super::probe`] keeps the plugin from cutting it apart.
    ///
    /// The matcher is built once per browser service ([`super::Browser`]).
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.0.iter().flat_map(|s| forms(&s.value)))
    }
}

/// The forms of `value` that [`BrowserSecrets::redactor`] looks for.
fn forms(value: &str) -> Vec<String> {
    let escape = |pairs: &[(char, &str)]| {
        value.chars().fold(String::new(), |mut out, c| {
            match pairs.iter().find(|(from, _)| *from == c) {
                Some((_, to)) => out.push_str(to),
                None => out.push(c),
            }
            out
        })
    };
    let (amp, lt, gt, quot, nbsp) = (
        ('&', "&amp;"),
        ('<', "&lt;"),
        ('>', "&gt;"),
        ('"', "&quot;"),
        ('\u{a0}', "&nbsp;"),
    );
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let json = serde_json::to_string(value).unwrap_or_default();
    vec![
        value.to_string(),
        form.clone(),
        form.replace('+', "%20"),
        escape(&[amp, lt, gt, nbsp]),
        escape(&[amp, quot, nbsp]),
        escape(&[amp, lt, gt, quot, nbsp]),
        json[1..json.len() - 1].to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> BrowserSecrets {
        BrowserSecrets(vec![
            BrowserSecret::new("pw", &["www.instagram.com"], "p@ss word&<1>").unwrap(),
        ])
    }

    #[test]
    fn typed_only_on_its_hosts() {
        let s = secrets();
        let ok = Url::parse("https://www.instagram.com/accounts/login/").unwrap();
        assert_eq!(s.for_page("pw", &ok).unwrap().value(), "p@ss word&<1>");
        let evil = Url::parse("https://evil.example/login").unwrap();
        assert_eq!(
            s.for_page("pw", &evil).unwrap_err(),
            SecretRefusal::WrongHost {
                name: "pw".into(),
                host: "evil.example".into()
            }
        );
        assert_eq!(
            s.for_page("nope", &ok).unwrap_err(),
            SecretRefusal::Unknown("nope".into())
        );
    }

    #[test]
    fn typed_over_plain_http_only_when_allowed() {
        let s = secrets();
        let clear = Url::parse("http://www.instagram.com/accounts/login/").unwrap();
        let refused = s.for_page("pw", &clear).unwrap_err();
        assert_eq!(
            refused,
            SecretRefusal::PlainHttp {
                name: "pw".into(),
                origin: "http://www.instagram.com".into()
            }
        );
        let msg = refused.to_string();
        assert!(msg.contains("https") && msg.contains("allow_http"), "{msg}");
        let allowed = BrowserSecrets(vec![
            BrowserSecret::new("pw", &["www.instagram.com"], "p@ss word&<1>")
                .unwrap()
                .allow_http(true),
        ]);
        assert!(allowed.for_page("pw", &clear).is_ok());
        // allow_http does not widen the hosts.
        let evil = Url::parse("http://evil.example/login").unwrap();
        assert!(matches!(
            allowed.for_page("pw", &evil),
            Err(SecretRefusal::WrongHost { .. })
        ));
    }

    #[test]
    fn redacts_the_forms_outer_html_writes() {
        let s = BrowserSecrets(vec![
            BrowserSecret::new("pw", &["a.example"], "a\"b<c>d&e\u{a0}f g\\").unwrap(),
        ]);
        for page in [
            // outerHTML of a text node: quotes as they are.
            "<p>a\"b&lt;c&gt;d&amp;e&nbsp;f g\\</p>",
            // outerHTML of an attribute value, before and after Chromium 138.
            "<input value=\"a&quot;b<c>d&amp;e&nbsp;f g\\\">",
            "<input value=\"a&quot;b&lt;c&gt;d&amp;e&nbsp;f g\\\">",
            // A URL written with %20, and JSON in a script.
            "/login?pw=a%22b%3Cc%3Ed%26e%C2%A0f%20g%5C",
            "<script>{\"pw\":\"a\\\"b<c>d&e\u{a0}f g\\\\\"}</script>",
        ] {
            let out = s.redactor().redact_str(page.to_string());
            assert!(out.contains(REDACTED), "not redacted: {page} -> {out}");
            assert!(!out.contains("d&amp;e") && !out.contains("d&e"), "{out}");
        }
    }

    #[test]
    fn redacts_plain_url_encoded_and_html_escaped_forms() {
        let s = secrets();
        let page = "<input value=\"p@ss word&amp;&lt;1&gt;\"> /x?pw=p%40ss+word%26%3C1%3E and p@ss word&<1>";
        let out = s.redactor().redact_str(page.to_string());
        assert!(!out.contains("p@ss"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        assert!(BrowserSecret::new("a b", &["x.example"], "long enough").is_err());
        assert!(BrowserSecret::new("a", &[], "long enough").is_err());
        assert!(BrowserSecret::new("a", &["x.example"], "abc").is_err());
        assert!(!format!("{s:?}").contains("p@ss"));
    }
}
