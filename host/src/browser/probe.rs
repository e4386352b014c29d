//! What a plugin may still do on a page that holds a secret the host typed
//! (`type-secret`), so that it cannot learn the secret piece by piece.
//! Pure; [`super::page`] applies it.
//!
//! Redaction ([`super::secrets`]) replaces the whole value wherever it is
//! read back. That is enough only while the plugin can neither change the
//! value nor ask yes/no questions about it:
//!
//! - **Changing it**: a Backspace typed into the field, or a Tab from
//!   another field and then a Backspace, leaves a prefix that a page echo
//!   shows in full, unredacted. While the page holds a secret, `type-text`
//!   may not target the field (or an element inside or around it) and may
//!   only send printable characters and Enter ([`key_refusal`]): no editing,
//!   focus or modifier keys. Whatever else changes the field (a page's own
//!   "delete" button the plugin clicks, a `maxlength` that cuts the typed
//!   value) is caught by the page itself: before every operation the host
//!   checks that each field still holds exactly what it typed, or nothing,
//!   and otherwise blanks the page and fails `blocked`.
//! - **Probing it**: a selector is a yes/no question. `[value^='a']` (React
//!   keeps the `value` attribute in step with what was typed), the same on
//!   any other attribute a page copies the value into (`[data-v*='x']`),
//!   wrapped in `:has()` or `:not()`, or a whole-value guess
//!   `[value='hunter2']` (a dictionary attack) all answer through a count,
//!   a click that works or not, or an error. While the page holds a secret,
//!   a selector may not name an attribute that is *hot*: `value`, or any
//!   attribute that holds the secret somewhere in the document right now
//!   (the page computes that set in the same script that answers, so it
//!   cannot change in between). Selectors whose attribute names cannot be
//!   read plainly (CSS escapes, comments) and pseudo-classes that depend on
//!   a field's value (`:valid`, `:placeholder-shown`, `:dir()`, ...) are
//!   refused outright ([`analyse`]). Attribute selectors on other attributes
//!   (`a[href*="/p/"]`, `button[type=submit]`) keep working, so a login form
//!   can still be submitted and the next page waited for.
//!
//! "Holds a secret" is a property of the document, kept in the page itself:
//! from the first `type-secret` until the document is replaced (a
//! navigation, a submitted form; a fragment change keeps it), even once the
//! field is emptied, since the page may have copied the value elsewhere. CSS cannot match text, so text is covered by redaction.
//! Not covered: a page that transforms the value before showing it (base64,
//! reversed, one character per element); such a site is in the secret's
//! `hosts` only if the operator put it there.

/// How a selector may touch a secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectorUse {
    /// The attribute names its attribute selectors test, lower case, without
    /// namespace (`[ns|value]` is `value`).
    pub attributes: Vec<String>,
    /// Why it may not run at all while the page holds a secret, when its
    /// attributes cannot be read plainly or it tests a field's value state.
    pub refusal: Option<String>,
}

/// Pseudo-classes whose match depends on a form field's current value.
const VALUE_STATE: &[&str] = &[
    "valid",
    "invalid",
    "user-valid",
    "user-invalid",
    "placeholder-shown",
    "blank",
    "in-range",
    "out-of-range",
    "autofill",
    "-webkit-autofill",
    "dir",
    "indeterminate",
];

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()
}

/// Read `selector` for what it tests.
pub fn analyse(selector: &str) -> SelectorUse {
    let mut out = SelectorUse::default();
    let refuse = |why: &str| SelectorUse {
        attributes: Vec::new(),
        refusal: Some(why.to_string()),
    };
    if selector.contains('\\') {
        return refuse("CSS escapes");
    }
    if selector.contains("/*") {
        return refuse("CSS comments");
    }
    let chars: Vec<char> = selector.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            q @ ('"' | '\'') => {
                // A string: skip to its end (no escapes, see above).
                i += 1;
                while i < chars.len() && chars[i] != q {
                    i += 1;
                }
                i += 1;
            }
            ':' => {
                i += 1;
                if chars.get(i) == Some(&':') {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && is_name_char(chars[i]) {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect::<String>().to_lowercase();
                if VALUE_STATE.contains(&name.as_str()) {
                    return refuse(&format!("`:{name}` depends on a field's value"));
                }
            }
            '[' => {
                i += 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                // [ns|name], [*|name], [|name] or [name]; `|=` is a matcher.
                let read = |i: &mut usize| {
                    let start = *i;
                    while *i < chars.len() && is_name_char(chars[*i]) {
                        *i += 1;
                    }
                    chars[start..*i].iter().collect::<String>()
                };
                let mut name = read(&mut i);
                if name.is_empty() && chars.get(i) == Some(&'*') && chars.get(i + 1) == Some(&'|') {
                    i += 2;
                    name = read(&mut i);
                } else if chars.get(i) == Some(&'|') && chars.get(i + 1) != Some(&'=') {
                    i += 1;
                    name = read(&mut i);
                }
                if name.is_empty() {
                    return refuse("an attribute selector without a plain name");
                }
                out.attributes.push(name.to_ascii_lowercase());
                // The rest of the brackets: matcher and value.
                while i < chars.len() && chars[i] != ']' {
                    if let q @ ('"' | '\'') = chars[i] {
                        i += 1;
                        while i < chars.len() && chars[i] != q {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.attributes.sort();
    out.attributes.dedup();
    out
}

/// The first key of `text` that `type-text` may not send while the page
/// holds a secret: anything but printable characters and Enter (WebDriver's
/// special keys are the private-use characters U+E000..U+F8FF: Backspace,
/// Delete, Tab, arrows, Home/End, Shift/Control/Alt/Meta ...; control
/// characters such as `\t` or `\u{8}` act as keys too).
pub fn key_refusal(text: &str) -> Option<char> {
    const RETURN: char = '\u{E006}';
    const ENTER: char = '\u{E007}';
    text.chars().find(|&c| {
        let special = ('\u{E000}'..='\u{F8FF}').contains(&c) && c != RETURN && c != ENTER;
        let control = c.is_control() && c != '\n' && c != '\r';
        special || control
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(s: &str) -> Vec<String> {
        let u = analyse(s);
        assert_eq!(u.refusal, None, "{s}");
        u.attributes
    }

    #[test]
    fn attribute_names_are_read_wherever_they_are() {
        assert_eq!(attrs("#pw[value^='Q']"), ["value"]);
        assert_eq!(attrs("body:has([value*='7!x'])"), ["value"]);
        assert_eq!(attrs("#pw:not([VALUE~=a])"), ["value"]);
        assert_eq!(attrs("#pw[value|='x' i]"), ["value"]);
        assert_eq!(attrs("[ns|value=x]"), ["value"]);
        assert_eq!(attrs("[|value]"), ["value"]);
        assert_eq!(attrs("[*|value^=x]"), ["value"]);
        assert_eq!(attrs("[ value ^= 'x' ]"), ["value"]);
        assert_eq!(
            attrs("[data-v$='W2v'], a[href*=\"/p/\"]"),
            ["data-v", "href"]
        );
        assert_eq!(attrs("a[title='[value=x]'] b"), ["title"]);
        assert_eq!(
            attrs("#loginForm button[type=\"submit\"]:not([hidden])"),
            ["hidden", "type"]
        );
        assert!(attrs("main article li.item:nth-child(2) > a").is_empty());
    }

    #[test]
    fn unreadable_selectors_and_value_state_are_refused() {
        for s in [
            "#pw[v\\61lue^='Q']",
            "#pw[value^/**/='Q']",
            "input:invalid",
            "form:has(input:PLACEHOLDER-SHOWN)",
            "input:dir(rtl)",
            "[=x]",
            "[*=x]",
        ] {
            assert!(analyse(s).refusal.is_some(), "{s}");
        }
        assert_eq!(analyse("input:first-child").refusal, None);
        assert_eq!(analyse("input::placeholder").refusal, None);
    }

    #[test]
    fn only_printable_characters_and_enter_while_a_secret_is_held() {
        assert_eq!(key_refusal("alice@example.com \u{E007}\n"), None);
        assert_eq!(key_refusal("한글 ok"), None);
        for (text, bad) in [
            ("\u{E003}", '\u{E003}'),
            ("ab\u{E004}\u{E003}", '\u{E004}'),
            ("a\u{E009}a", '\u{E009}'),
            ("\u{E017}", '\u{E017}'),
            ("x\u{8}", '\u{8}'),
            ("\t", '\t'),
            ("\u{7f}", '\u{7f}'),
        ] {
            assert_eq!(key_refusal(text), Some(bad), "{text:?}");
        }
    }
}
