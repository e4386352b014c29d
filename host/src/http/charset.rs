//! Charset detection for response bodies: the `content-type` parameter first,
//! then a `<meta>` declaration near the top of an HTML body. Plugins receive
//! the bytes unchanged plus this label, and decode in the SDK.

/// The charset label from a `content-type` header value, lower-cased.
pub fn from_content_type(value: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (name, v) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_ascii_lowercase())
            .filter(|v| !v.is_empty())
    })
}

/// The charset declared by `<meta charset=...>` or
/// `<meta http-equiv="content-type" content="...; charset=...">` in the first
/// 2 KiB of an HTML body.
pub fn from_html_meta(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(2048)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = text.as_str();
    while let Some(pos) = rest.find("<meta") {
        rest = &rest[pos + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(i) = tag.find("charset=") {
            let v = tag[i + 8..].trim_start_matches(['"', '\'', ' ']);
            let end = v
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(v.len());
            if end > 0 {
                return Some(v[..end].to_string());
            }
        }
    }
    None
}

/// The detected charset: header first, then the body's meta tag.
pub fn detect(content_type: Option<&str>, body: &[u8]) -> Option<String> {
    content_type
        .and_then(from_content_type)
        .or_else(|| from_html_meta(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parameter() {
        assert_eq!(
            from_content_type("text/html; charset=EUC-KR").as_deref(),
            Some("euc-kr")
        );
        assert_eq!(
            from_content_type("text/html;charset=\"utf-8\"").as_deref(),
            Some("utf-8")
        );
        assert_eq!(from_content_type("application/json"), None);
    }

    #[test]
    fn meta_tags() {
        assert_eq!(
            from_html_meta(b"<html><head><meta charset=\"euc-kr\">").as_deref(),
            Some("euc-kr")
        );
        let equiv = b"<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=EUC-KR\">";
        assert_eq!(from_html_meta(equiv).as_deref(), Some("euc-kr"));
        assert_eq!(from_html_meta(b"<meta name=viewport content=x>"), None);
    }

    #[test]
    fn header_wins() {
        assert_eq!(
            detect(Some("text/html; charset=utf-8"), b"<meta charset=euc-kr>").as_deref(),
            Some("utf-8")
        );
        assert_eq!(
            detect(None, b"<meta charset=euc-kr>").as_deref(),
            Some("euc-kr")
        );
    }
}
