//! Which object-store errors are worth waiting out (pure policy).
//!
//! The sink retries a failed store call with backoff for as long as the
//! store is down, so an outage costs time, never records. An error that
//! retrying cannot fix (wrong credentials, a bucket that does not exist, a
//! local directory the sink may not write) would turn that into a silent
//! hang; [`classify`] picks those out so the sink stops and says why.
//! Anything it does not recognise is transient: a wrong "permanent" stops a
//! sink that would have recovered, a wrong "transient" only keeps the old
//! behaviour.

use std::error::Error as _;

/// What to do about a failed store call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// May heal by waiting (5xx, timeouts, connection refused, throttling):
    /// retry with backoff.
    Transient,
    /// Will fail the same way again: stop, with this explanation.
    Permanent(String),
}

/// Classify `error` from a store call; `write` says whether the call wrote
/// (a 404 to a write means the bucket is missing, to a read only that the
/// object is, which the callers handle before asking).
pub fn classify(error: &object_store::Error, write: bool) -> Failure {
    let text = crate::error_text::chain(error);
    // S3 error codes, whichever HTTP status or object_store variant carries
    // them (the response body is part of the error text).
    for (code, why) in [
        ("NoSuchUpload", None),
        (
            "NoSuchBucket",
            Some("the bucket does not exist (NoSuchBucket); create it or fix `bucket`"),
        ),
        (
            "InvalidAccessKeyId",
            Some(
                "the store does not know the access key (InvalidAccessKeyId); check `access_key_id`",
            ),
        ),
        (
            "SignatureDoesNotMatch",
            Some(
                "the request signature does not match (SignatureDoesNotMatch); check `secret_access_key` and `region`",
            ),
        ),
        (
            "InvalidBucketName",
            Some("the bucket name is invalid (InvalidBucketName)"),
        ),
        (
            "ExpiredToken",
            Some("the session token has expired (ExpiredToken); renew `session_token`"),
        ),
        (
            "InvalidToken",
            Some("the session token is invalid (InvalidToken); check `session_token`"),
        ),
    ] {
        if text.contains(code) {
            return match why {
                Some(why) => Failure::Permanent(why.to_string()),
                // A multipart upload the store forgot: the retry starts a new
                // one from the spool file.
                None => Failure::Transient,
            };
        }
    }
    match error {
        object_store::Error::PermissionDenied { .. } => Failure::Permanent(
            "access denied (HTTP 403); check the credentials and the bucket's policy".into(),
        ),
        object_store::Error::Unauthenticated { .. } => {
            Failure::Permanent("not authenticated (HTTP 401); check the credentials".into())
        }
        object_store::Error::NotFound { .. } if write => Failure::Permanent(
            "the store answered a write with Not Found: the bucket does not exist".into(),
        ),
        _ => match io_kind(error) {
            Some(std::io::ErrorKind::PermissionDenied) => {
                Failure::Permanent("the local directory is not writable (permission denied)".into())
            }
            Some(std::io::ErrorKind::ReadOnlyFilesystem) => {
                Failure::Permanent("the local directory is on a read-only file system".into())
            }
            _ => Failure::Transient,
        },
    }
}

/// The kind of the first I/O error in `error`'s sources (a local store).
fn io_kind(error: &object_store::Error) -> Option<std::io::ErrorKind> {
    let mut source = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(message: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: message.to_string().into(),
        }
    }

    fn permanent(f: Failure) -> String {
        match f {
            Failure::Permanent(why) => why,
            Failure::Transient => panic!("classified as transient"),
        }
    }

    #[test]
    fn credentials_and_missing_buckets_are_permanent() {
        let denied = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "Client error with status 403 Forbidden: <Code>AccessDenied</Code>".into(),
        };
        assert!(permanent(classify(&denied, false)).contains("403"));
        let key = object_store::Error::PermissionDenied {
            path: "k".into(),
            source: "<Error><Code>InvalidAccessKeyId</Code></Error>".into(),
        };
        assert!(permanent(classify(&key, true)).contains("access_key_id"));
        let signature = generic("status 403: <Code>SignatureDoesNotMatch</Code>");
        assert!(permanent(classify(&signature, true)).contains("secret_access_key"));
        let unauthenticated = object_store::Error::Unauthenticated {
            path: "k".into(),
            source: "401".into(),
        };
        assert!(permanent(classify(&unauthenticated, false)).contains("401"));
        let bucket = object_store::Error::NotFound {
            path: "k".into(),
            source: "<Code>NoSuchBucket</Code><BucketName>b</BucketName>".into(),
        };
        assert!(permanent(classify(&bucket, false)).contains("NoSuchBucket"));
        let put_404 = object_store::Error::NotFound {
            path: "k".into(),
            source: "404 Not Found".into(),
        };
        assert!(permanent(classify(&put_404, true)).contains("does not exist"));
    }

    #[test]
    fn outages_and_throttling_are_transient() {
        for message in [
            "Server returned non-2xx status code: 500 Internal Server Error",
            "Server returned non-2xx status code: 503 Service Unavailable: <Code>SlowDown</Code>",
            "error sending request: operation timed out",
            "error sending request: tcp connect error: Connection refused (os error 111)",
            "status 404: <Code>NoSuchUpload</Code>",
        ] {
            assert_eq!(
                classify(&generic(message), true),
                Failure::Transient,
                "{message}"
            );
        }
        // A missing object on a read is an answer, not a failure; should it
        // reach the classifier, it is not a reason to stop.
        let absent = object_store::Error::NotFound {
            path: "k".into(),
            source: "404".into(),
        };
        assert_eq!(classify(&absent, false), Failure::Transient);
    }

    #[test]
    fn a_local_directory_that_cannot_be_written_is_permanent() {
        let io = |kind| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::new(kind, "open failed")),
        };
        assert!(
            permanent(classify(&io(std::io::ErrorKind::PermissionDenied), true))
                .contains("not writable")
        );
        assert!(
            permanent(classify(&io(std::io::ErrorKind::ReadOnlyFilesystem), true))
                .contains("read-only")
        );
        assert_eq!(
            classify(&io(std::io::ErrorKind::Interrupted), true),
            Failure::Transient
        );
    }
}
