//! HTTP through the host: request building, status policy, text decoding.

use crate::bindings::crawlhost::plugin::fetch;
use crate::bindings::crawlhost::plugin::types::{Header, HttpRequest, HttpResponse};
use crate::{CrawlError, html::Document};

/// A request under construction.
pub struct Request {
    method: String,
    url: url::Url,
    headers: Vec<Header>,
    body: Option<Vec<u8>>,
}

/// `GET url`.
pub fn get(url: &str) -> Result<Request, CrawlError> {
    Request::new("GET", url)
}

/// `POST url` with a JSON body.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<Request, CrawlError> {
    let mut req = Request::new("POST", url)?;
    req.body = Some(body.to_string().into_bytes());
    Ok(req.header("content-type", "application/json"))
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: &str) -> Result<Self, CrawlError> {
        let url = url::Url::parse(url)
            .map_err(|e| CrawlError::Other(format!("invalid URL `{url}`: {e}")))?;
        Ok(Self {
            method: method.to_ascii_uppercase(),
            url,
            headers: Vec::new(),
            body: None,
        })
    }

    /// Append one query parameter (percent-encoded).
    pub fn query(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.url.query_pairs_mut().append_pair(name, value.as_ref());
        self
    }

    /// Add a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.to_string(),
        });
        self
    }

    /// The URL as it will be sent.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Send the request. Transport failures come back as the host's typed
    /// error; any HTTP status comes back as a [`Response`].
    pub fn send(self) -> Result<Response, CrawlError> {
        let raw = fetch::fetch(&HttpRequest {
            method: self.method,
            url: self.url.into(),
            headers: self.headers,
            body: self.body,
        })?;
        Ok(Response { raw })
    }

    /// Send and require a 2xx status (see [`Response::ensure_success`]).
    pub fn send_ok(self) -> Result<Response, CrawlError> {
        self.send()?.ensure_success()
    }
}

/// A response from the host.
pub struct Response {
    raw: HttpResponse,
}

impl Response {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.raw.status
    }

    /// The URL that answered, after redirects.
    pub fn final_url(&self) -> &str {
        &self.raw.final_url
    }

    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Raw body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.raw.body
    }

    /// The charset the host detected, if any.
    pub fn charset(&self) -> Option<&str> {
        self.raw.charset.as_deref()
    }

    /// Map a non-2xx status to the error the host's retry policy expects:
    /// 5xx and 408 are retryable, 403 and 429 mean blocked, the rest are
    /// other errors naming the status and URL.
    pub fn ensure_success(self) -> Result<Self, CrawlError> {
        match status_error(self.raw.status, &self.raw.final_url) {
            None => Ok(self),
            Some(e) => Err(e),
        }
    }

    /// Body decoded to text with the detected charset (UTF-8 when unknown;
    /// malformed sequences become U+FFFD).
    pub fn text(&self) -> String {
        decode(&self.raw.body, self.raw.charset.as_deref())
    }

    /// Body parsed as HTML.
    pub fn html(&self) -> Document {
        Document::parse(&self.text())
    }

    /// Body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, CrawlError> {
        serde_json::from_slice(&self.raw.body).map_err(|e| {
            CrawlError::Parse(format!(
                "{} is not the expected JSON: {e}",
                self.raw.final_url
            ))
        })
    }
}

/// The error a status maps to, or none for 2xx.
pub fn status_error(status: u16, url: &str) -> Option<CrawlError> {
    let msg = format!("HTTP {status} from {url}");
    match status {
        200..=299 => None,
        408 | 500..=599 => Some(CrawlError::Retryable(msg)),
        403 | 429 => Some(CrawlError::Blocked(msg)),
        _ => Some(CrawlError::Other(msg)),
    }
}

/// Decode bytes with a charset label (`utf-8`, `euc-kr`, ...).
pub fn decode(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_retry_policy() {
        assert!(status_error(200, "u").is_none());
        assert!(matches!(
            status_error(503, "u"),
            Some(CrawlError::Retryable(_))
        ));
        assert!(matches!(
            status_error(429, "u"),
            Some(CrawlError::Blocked(_))
        ));
        assert!(
            matches!(status_error(404, "u"), Some(CrawlError::Other(m)) if m == "HTTP 404 from u")
        );
    }

    #[test]
    fn decodes_euc_kr() {
        // "올리브영" in EUC-KR.
        let bytes = [0xbf, 0xc3, 0xb8, 0xae, 0xba, 0xea, 0xbf, 0xb5];
        assert_eq!(decode(&bytes, Some("euc-kr")), "올리브영");
        assert_eq!(decode("올리브영".as_bytes(), None), "올리브영");
    }
}
