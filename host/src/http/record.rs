//! Record and replay: `crawlhost run --record DIR` stores every exchange a
//! plugin makes (request fingerprint -> what the plugin got back, response or
//! error), `--replay DIR` answers from those files without touching the
//! network. Conformance tests and bug reports replay a run byte for byte.
//!
//! Layout: `DIR/<plugin>/<fingerprint>.json` (request line, status, headers,
//! final URL, charset, or the error) plus `<fingerprint>.body` (raw body
//! bytes). The fingerprint is a SHA-256 over the plugin name, method, URL,
//! the plugin's headers (sorted by name) and body: what the plugin asked, not
//! what the host added, so host-side secrets and cookies never enter it and
//! what is stored has already been redacted. Cookie and credential values a
//! server sends back (`set-cookie`, `cookie`, `authorization`,
//! `proxy-authorization`) are replaced by `[redacted]` before they are
//! written, cookie names and attributes kept ([`redact_header`]): a
//! recording travels with bug reports, and a replay need not log in. A
//! request with no recording is a clear error naming the request and the
//! directory (not retried).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contract::{Header, HttpRequest, HttpResponse};

/// How the client talks to the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Mode {
    /// Normal operation.
    #[default]
    Live,
    /// Live, and every exchange is written under this directory.
    Record(PathBuf),
    /// No network: every exchange is read from this directory.
    Replay(PathBuf),
}

/// The error a recording holds, in the plugin's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedError {
    /// `retryable`, `blocked`, `parse` or `other`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct RecordedResponse {
    status: u16,
    headers: Vec<(String, String)>,
    final_url: String,
    charset: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Exchange {
    method: String,
    url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<RecordedResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<RecordedError>,
}

/// Failures of the recording itself.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "no recorded response for {method} {url} in {dir} (fingerprint {fingerprint}); record the run again with --record"
    )]
    Miss {
        method: String,
        url: String,
        dir: PathBuf,
        fingerprint: String,
    },
    #[error("recording {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// The cause is part of the message (a fetch error reaches the plugin
    /// and the logs as text), so it is not also a `source`.
    #[error("cannot write recording {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// `value` of a response header as a recording stores it: the value of a
/// cookie or credential header replaced by `[redacted]` (a `set-cookie`
/// keeps its name and attributes, an `authorization` its scheme), any other
/// header as it is.
pub fn redact_header(name: &str, value: &str) -> String {
    const HIDDEN: &str = crate::secret::REDACTED;
    match name.trim().to_ascii_lowercase().as_str() {
        "set-cookie" | "set-cookie2" => {
            let (pair, attributes) = match value.split_once(';') {
                Some((p, a)) => (p, Some(a)),
                None => (value, None),
            };
            let mut out = match pair.split_once('=') {
                Some((cookie, _)) => format!("{cookie}={HIDDEN}"),
                None => HIDDEN.to_string(),
            };
            if let Some(a) = attributes {
                out.push(';');
                out.push_str(a);
            }
            out
        }
        "authorization" | "proxy-authorization" => match value.trim().split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {HIDDEN}"),
            None => HIDDEN.to_string(),
        },
        "cookie" => HIDDEN.to_string(),
        _ => value.to_string(),
    }
}

/// The fingerprint of a plugin's request.
pub fn fingerprint(plugin: &str, request: &HttpRequest) -> String {
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|h| (h.name.trim().to_ascii_lowercase(), h.value.as_str()))
        .collect();
    headers.sort();
    let mut h = Sha256::new();
    for part in [plugin, &request.method.to_ascii_uppercase(), &request.url] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (name, value) in headers {
        h.update(name.as_bytes());
        h.update(b":");
        h.update(value.as_bytes());
        h.update(b"\n");
    }
    h.update([0]);
    if let Some(body) = &request.body {
        h.update(body);
    }
    hex::encode(&h.finalize()[..16])
}

fn paths(dir: &Path, plugin: &str, fp: &str) -> (PathBuf, PathBuf) {
    let base = dir.join(plugin);
    (
        base.join(format!("{fp}.json")),
        base.join(format!("{fp}.body")),
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let err = |cause| RecordError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Store one exchange (`outcome` as the plugin got it).
pub fn save(
    dir: &Path,
    plugin: &str,
    request: &HttpRequest,
    outcome: &Result<HttpResponse, RecordedError>,
) -> Result<(), RecordError> {
    let fp = fingerprint(plugin, request);
    let (json, body) = paths(dir, plugin, &fp);
    if let Some(parent) = json.parent() {
        std::fs::create_dir_all(parent).map_err(|cause| RecordError::Write {
            path: parent.to_path_buf(),
            cause,
        })?;
    }
    let mut exchange = Exchange {
        method: request.method.clone(),
        url: request.url.clone(),
        response: None,
        error: None,
    };
    match outcome {
        Ok(resp) => {
            write_atomic(&body, &resp.body)?;
            exchange.response = Some(RecordedResponse {
                status: resp.status,
                headers: resp
                    .headers
                    .iter()
                    .map(|h| (h.name.clone(), redact_header(&h.name, &h.value)))
                    .collect(),
                final_url: resp.final_url.clone(),
                charset: resp.charset.clone(),
            });
        }
        Err(e) => exchange.error = Some(e.clone()),
    }
    let text = serde_json::to_vec_pretty(&exchange).map_err(|e| RecordError::Write {
        path: json.clone(),
        cause: std::io::Error::other(e),
    })?;
    write_atomic(&json, &text)
}

/// The recorded outcome of `request`.
pub fn load(
    dir: &Path,
    plugin: &str,
    request: &HttpRequest,
) -> Result<Result<HttpResponse, RecordedError>, RecordError> {
    let fp = fingerprint(plugin, request);
    let (json, body) = paths(dir, plugin, &fp);
    let text = match std::fs::read(&json) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RecordError::Miss {
                method: request.method.clone(),
                url: request.url.clone(),
                dir: dir.to_path_buf(),
                fingerprint: fp,
            });
        }
        Err(e) => {
            return Err(RecordError::Corrupt {
                path: json,
                message: e.to_string(),
            });
        }
    };
    let corrupt = |message: String| RecordError::Corrupt {
        path: json.clone(),
        message,
    };
    let exchange: Exchange = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
    match (exchange.response, exchange.error) {
        (_, Some(e)) => Ok(Err(e)),
        (Some(r), None) => {
            let bytes = std::fs::read(&body).map_err(|e| RecordError::Corrupt {
                path: body.clone(),
                message: e.to_string(),
            })?;
            Ok(Ok(HttpResponse {
                status: r.status,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(name, value)| Header { name, value })
                    .collect(),
                body: bytes,
                final_url: r.final_url,
                charset: r.charset,
            }))
        }
        (None, None) => Err(corrupt("neither a response nor an error".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            body: None,
        }
    }

    #[test]
    fn fingerprints_ignore_header_order_and_case_but_not_content() {
        let a = fingerprint("p", &req("http://x/a", &[("Accept", "1"), ("x-b", "2")]));
        let b = fingerprint("p", &req("http://x/a", &[("x-b", "2"), ("accept", "1")]));
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("q", &req("http://x/a", &[("Accept", "1"), ("x-b", "2")]))
        );
        assert_ne!(
            a,
            fingerprint("p", &req("http://x/b", &[("Accept", "1"), ("x-b", "2")]))
        );
        assert_ne!(
            a,
            fingerprint("p", &req("http://x/a", &[("Accept", "2"), ("x-b", "2")]))
        );
    }

    /// Issue 15 (low): a recording is a file people attach to bug reports;
    /// session cookies and credentials a server sends back stay out of it.
    /// Cookie names and attributes are kept, so replay still shows which
    /// cookies were set.
    #[test]
    fn recordings_hold_no_cookie_or_credential_values() {
        let dir = tempfile::tempdir().unwrap();
        let r = req("http://x/login", &[("cookie", "sid=REQ-COOKIE-1")]);
        let h = |n: &str, v: &str| Header {
            name: n.into(),
            value: v.into(),
        };
        let resp = HttpResponse {
            status: 200,
            headers: vec![
                h(
                    "Set-Cookie",
                    "sid=SESSION-VALUE-1; Path=/; HttpOnly; Secure",
                ),
                h("set-cookie", "csrftoken=CSRF-VALUE-2"),
                h("set-cookie", "BARE-VALUE-3"),
                h("Authorization", "Bearer ECHOED-TOKEN-4"),
                h("proxy-authorization", "Basic PROXY-CRED-5"),
                h("cookie", "a=ECHOED-COOKIE-6"),
                h("content-type", "text/html"),
            ],
            body: b"ok".to_vec(),
            final_url: "http://x/login".into(),
            charset: None,
        };
        save(dir.path(), "p", &r, &Ok(resp)).unwrap();
        let stored: String = std::fs::read_dir(dir.path().join("p"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        for secret in [
            "SESSION-VALUE-1",
            "CSRF-VALUE-2",
            "BARE-VALUE-3",
            "ECHOED-TOKEN-4",
            "PROXY-CRED-5",
            "ECHOED-COOKIE-6",
            "REQ-COOKIE-1",
        ] {
            assert!(!stored.contains(secret), "{secret} stored:\n{stored}");
        }
        let back = load(dir.path(), "p", &r).unwrap().unwrap();
        let values: Vec<&str> = back.headers.iter().map(|h| h.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "sid=[redacted]; Path=/; HttpOnly; Secure",
                "csrftoken=[redacted]",
                "[redacted]",
                "Bearer [redacted]",
                "Basic [redacted]",
                "[redacted]",
                "text/html",
            ]
        );
    }

    #[test]
    fn round_trip_and_miss() {
        let dir = tempfile::tempdir().unwrap();
        let r = req("http://x/page", &[]);
        let resp = HttpResponse {
            status: 200,
            headers: vec![Header {
                name: "content-type".into(),
                value: "text/html; charset=euc-kr".into(),
            }],
            body: vec![0xbf, 0xc3, 0, 255],
            final_url: "http://x/final".into(),
            charset: Some("euc-kr".into()),
        };
        save(dir.path(), "p", &r, &Ok(resp.clone())).unwrap();
        let back = load(dir.path(), "p", &r).unwrap().unwrap();
        assert_eq!(
            (back.status, back.body, back.final_url, back.charset),
            (resp.status, resp.body, resp.final_url, resp.charset)
        );
        assert_eq!(back.headers[0].value, "text/html; charset=euc-kr");
        let err = RecordedError {
            kind: "blocked".into(),
            message: "nope".into(),
        };
        let r2 = req("http://x/blocked", &[]);
        save(dir.path(), "p", &r2, &Err(err.clone())).unwrap();
        assert_eq!(load(dir.path(), "p", &r2).unwrap().unwrap_err(), err);
        let miss = load(dir.path(), "p", &req("http://x/other", &[])).unwrap_err();
        let text = miss.to_string();
        assert!(matches!(miss, RecordError::Miss { .. }));
        assert!(
            text.contains("GET http://x/other") && text.contains("--record"),
            "{text}"
        );
    }
}
