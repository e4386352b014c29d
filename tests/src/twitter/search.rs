//! The search semantics of the X fixture, as pure functions: the query
//! language it understands, how a keyword matches a tweet, the opaque
//! `next_token`, and X's timestamp format.
//!
//! Matching: a query is one or more terms joined by `OR`; a term is a
//! quoted phrase or a bare word. A term matches a tweet when it occurs in the
//! text case-insensitively, not glued to a letter or digit on either side
//! (so `Moma` does not match `Momara`, and `#모마` matches `모마`). X itself
//! tokenizes; this is close enough for brand names and exactly reproducible.

/// Parse a query: terms joined by `OR`. Anything else (implicit AND,
/// operators such as `-is:retweet` or `lang:ko`) is refused with the reason,
/// so a plugin that sends more than the fixture models finds out.
pub fn parse_query(query: &str) -> Result<Vec<String>, String> {
    let mut terms = Vec::new();
    let mut expect_term = true;
    let mut rest = query.trim();
    while !rest.is_empty() {
        if expect_term {
            let term = if let Some(after) = rest.strip_prefix('"') {
                let end = after
                    .find('"')
                    .ok_or_else(|| "unterminated quoted phrase".to_string())?;
                let phrase = &after[..end];
                rest = &after[end + 1..];
                phrase.to_string()
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let word = &rest[..end];
                rest = &rest[end..];
                if word == "OR" {
                    return Err("`OR` without a term before it".into());
                }
                if word.starts_with('-') || word.contains(':') || word.starts_with('(') {
                    return Err(format!("operator `{word}` is not supported by the fixture"));
                }
                word.to_string()
            };
            if term.trim().is_empty() {
                return Err("empty term".into());
            }
            terms.push(term);
            expect_term = false;
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if &rest[..end] != "OR" {
                return Err(format!(
                    "expected `OR` between terms, found `{}` (the fixture only models OR lists)",
                    &rest[..end]
                ));
            }
            rest = &rest[end..];
            expect_term = true;
        }
        rest = rest.trim_start();
    }
    if terms.is_empty() {
        return Err("the query is empty".into());
    }
    if expect_term {
        return Err("the query ends with `OR`".into());
    }
    Ok(terms)
}

/// Whether `term` occurs in `text` case-insensitively and not glued to a
/// letter or digit.
pub fn term_matches(text: &str, term: &str) -> bool {
    lower_term_matches(&text.to_lowercase(), &term.to_lowercase())
}

/// [`term_matches`] on text and term already lower-cased.
pub fn lower_term_matches(text: &str, term: &str) -> bool {
    if term.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(at) = text[from..].find(term) {
        let start = from + at;
        let end = start + term.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// X's `created_at` form: `2024-08-19T10:11:12.000Z` (whole seconds).
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// FNV-1a, to salt page tokens with the query they belong to.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const TOKEN_PREFIX: &str = "b26v89c19zqg8o3f";
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The `next_token` that resumes a search at tweet `anchor` (inclusive);
/// `salt` ties it to the query and `since_id` it was issued for.
pub fn encode_token(anchor: u64, salt: u64) -> String {
    let mut n = anchor ^ salt;
    let mut digits = Vec::new();
    loop {
        digits.push(BASE36[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    format!(
        "{TOKEN_PREFIX}{}",
        String::from_utf8(digits).unwrap_or_default()
    )
}

/// The anchor of a token made by [`encode_token`] with the same salt.
pub fn decode_token(token: &str, salt: u64) -> Option<u64> {
    let digits = token.strip_prefix(TOKEN_PREFIX)?;
    if digits.is_empty() || digits.len() > 13 {
        return None;
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        let d = BASE36.iter().position(|&b| b == c)? as u64;
        n = n.checked_mul(36)?.checked_add(d)?;
    }
    Some(n ^ salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_or_lists() {
        assert_eq!(
            parse_query(r#""라운드랩" OR "Round Lab""#).unwrap(),
            vec!["라운드랩", "Round Lab"]
        );
        assert_eq!(parse_query("toner").unwrap(), vec!["toner"]);
        assert!(parse_query(r#""a" "b""#).is_err());
        assert!(parse_query(r#""a" OR"#).is_err());
        assert!(parse_query(r#""a" -is:retweet"#).is_err());
        assert!(parse_query("lang:ko").is_err());
        assert!(parse_query(r#""unterminated"#).is_err());
        assert!(parse_query("  ").is_err());
    }

    #[test]
    fn matches_at_word_boundaries() {
        assert!(term_matches("Just tried ROUND LAB toner", "Round Lab"));
        assert!(term_matches("#모마 #올리브영", "모마"));
        assert!(term_matches("「Moma」の化粧水", "moma"));
        assert!(!term_matches("Momara toner", "Moma"));
        assert!(!term_matches("모마라 크림", "모마"));
        // A later occurrence counts when the first is glued.
        assert!(term_matches("Momara and Moma", "Moma"));
        // An occurrence inside a glued one still counts.
        assert!(term_matches("xab ab ab", "ab ab"));
        assert!(term_matches("Raun & Co. is great", "Raun & Co."));
        assert!(!term_matches("", "x"));
    }

    #[test]
    fn formats_x_timestamps() {
        assert_eq!(iso_utc(1_724_122_800_000), "2024-08-20T03:00:00.000Z");
        assert_eq!(iso_utc(1_724_122_801_999), "2024-08-20T03:00:01.000Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn tokens_round_trip_only_with_their_salt() {
        let t = encode_token(1_826_000_000_000_000_000, 42);
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_eq!(decode_token(&t, 42), Some(1_826_000_000_000_000_000));
        assert_ne!(decode_token(&t, 43), Some(1_826_000_000_000_000_000));
        assert_eq!(decode_token("garbage", 42), None);
        assert_eq!(decode_token(&format!("{TOKEN_PREFIX}!!"), 42), None);
    }
}
