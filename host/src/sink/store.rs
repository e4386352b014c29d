//! The object store the sink writes to, and the uploads: S3 (any
//! S3-compatible endpoint) or a local directory, both through `object_store`.
//!
//! Uploads stream a finished spool file (see [`super::encode`]): a file up to
//! `s3.part.size` is one `PUT`; a larger one is a multipart upload whose
//! parts are read from disk one at a time. Every part in memory holds a
//! permit of one semaphore shared by all uploads (`parts_in_flight`), so the
//! sink's upload memory is at most `parts_in_flight x s3.part.size`, however
//! many files are open or closing.
//!
//! S3 being down is not an error here: every operation is retried with
//! exponential backoff (capped) until it succeeds, logging each failure, so
//! the sink waits instead of losing or committing anything. Errors that
//! waiting cannot fix (wrong credentials, a missing bucket, a local
//! directory the sink may not write; [`super::store_failure::classify`])
//! end the call with [`StoreError::Refused`] instead, so the sink stops and
//! says why rather than hanging. A failed part
//! restarts its file's upload from the spool file, which is kept until the
//! object is complete.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use super::store_failure::{Failure, classify};
use crate::backoff::Backoff;

/// Where objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// A local directory (the embedded default): keys are paths below it.
    Local { root: PathBuf },
    /// An S3 bucket.
    S3(S3Target),
}

/// An S3 bucket and how to reach it. Unset fields come from the standard
/// `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Target {
    pub bucket: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub path_style: bool,
    pub allow_http: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Longest single request.
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets (config check prints settings).
        f.debug_struct("S3Target")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<set>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<set>"),
            )
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<set>"),
            )
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// Upload limits and retry pacing.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// `s3.part.size`: bytes per multipart part (at least 5 MiB).
    pub part_size: usize,
    /// Parts held in memory at once, across all uploads.
    pub parts_in_flight: usize,
    /// First retry delay.
    pub retry_backoff: Duration,
    /// Longest retry delay.
    pub retry_max_backoff: Duration,
}

impl UploadLimits {
    /// How store calls are retried: doubling from `retry_backoff` up to
    /// `retry_max_backoff`, unbounded (the sink waits out any outage).
    pub fn retry_policy(&self) -> Backoff {
        Backoff::doubling(self.retry_backoff, self.retry_max_backoff)
    }
}

/// The store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the local store directory {path}")]
    LocalDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot configure the object store: {0}")]
    Config(String),
    /// A call failed in a way retrying cannot fix.
    #[error(
        "the object store {store} refused {what} `{key}`: {reason}. Retrying cannot fix this, so the sink stops; nothing after the last committed batch is committed (store error: {error})"
    )]
    Refused {
        store: String,
        what: String,
        key: String,
        reason: String,
        error: String,
    },
}

/// The sink's view of its object store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    limits: UploadLimits,
    parts: Arc<Semaphore>,
    describe: String,
}

/// Whether an upload may replace an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace (a fresh batch: nothing of it can exist yet).
    Overwrite,
    /// Keep an existing object (a replayed batch: the object may already be
    /// there from before the crash, and is then complete and identical).
    CreateIfAbsent,
}

impl Store {
    /// Connect to `target`. Nothing is sent yet.
    pub fn open(target: &StoreTarget, limits: UploadLimits) -> Result<Self, StoreError> {
        let (inner, describe): (Arc<dyn ObjectStore>, String) = match target {
            StoreTarget::Local { root } => {
                std::fs::create_dir_all(root).map_err(|source| StoreError::LocalDir {
                    path: root.clone(),
                    source,
                })?;
                let fs = LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| StoreError::Config(e.to_string()))?
                    .with_automatic_cleanup(true);
                (Arc::new(fs), format!("directory {}", root.display()))
            }
            StoreTarget::S3(s3) => {
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_virtual_hosted_style_request(!s3.path_style)
                    .with_allow_http(s3.allow_http)
                    // Short per-request retries: the sink's own loop retries
                    // for as long as the store is down.
                    .with_retry(RetryConfig {
                        backoff: BackoffConfig::default(),
                        max_retries: 2,
                        retry_timeout: Duration::from_secs(30),
                    })
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(s3.allow_http)
                            .with_connect_timeout(s3.connect_timeout)
                            .with_timeout(s3.request_timeout),
                    );
                if let Some(region) = &s3.region {
                    b = b.with_region(region);
                }
                if let Some(endpoint) = &s3.endpoint {
                    b = b.with_endpoint(endpoint);
                }
                if let Some(key) = &s3.access_key_id {
                    b = b.with_access_key_id(key);
                }
                if let Some(secret) = &s3.secret_access_key {
                    b = b.with_secret_access_key(secret);
                }
                if let Some(token) = &s3.session_token {
                    b = b.with_token(token);
                }
                // TLS to real S3 goes through rustls with the ring provider (as
                // the crawl client); installing it twice is harmless.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let store = b.build().map_err(|e| StoreError::Config(e.to_string()))?;
                let at = s3.endpoint.as_deref().unwrap_or("AWS");
                (Arc::new(store), format!("s3://{} ({at})", s3.bucket))
            }
        };
        Ok(Self {
            inner,
            parts: Arc::new(Semaphore::new(limits.parts_in_flight.max(1))),
            limits,
            describe,
        })
    }

    /// A human description (`s3://bucket (endpoint)`, `directory data`).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The underlying store (tests read objects back through it).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.clone()
    }

    /// Run `op` until it succeeds, backing off between failures, or fails
    /// in a way retrying cannot fix. `write` says whether `op` writes (see
    /// [`classify`]).
    async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        key: &str,
        write: bool,
        mut op: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, object_store::Error>>,
    {
        let mut retry = self.limits.retry_policy().start();
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if let Failure::Permanent(reason) = classify(&e, write) {
                        return Err(self.refused(what, key, reason, e.to_string()));
                    }
                    let delay = retry.next_wait();
                    tracing::warn!(
                        store = %self.describe, key, attempt = retry.failures(), retry_in_ms = delay.as_millis() as u64,
                        "{what} failed, retrying: {e}"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn refused(&self, what: &str, key: &str, reason: String, error: String) -> StoreError {
        StoreError::Refused {
            store: self.describe.clone(),
            what: what.to_string(),
            key: key.to_string(),
            reason,
            error,
        }
    }

    /// Whether `key` exists (retried until the store answers).
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = Path::from(key);
        self.retrying("checking an object", key, false, || async {
            match self.inner.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// A small object's bytes, or `None` when absent (retried).
    pub async fn get_small(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let path = Path::from(key);
        self.retrying("reading an object", key, false, || async {
            match self.inner.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Write a small object (markers), replacing it (retried).
    pub async fn put_small(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let path = Path::from(key);
        self.retrying("writing an object", key, true, || async {
            self.inner
                .put(&path, PutPayload::from_bytes(bytes.clone()))
                .await
                .map(|_| ())
        })
        .await
    }

    /// Create a small object unless one exists (retried). Returns `None`
    /// when this call created it, else the existing object's bytes. A store
    /// without conditional puts gets a plain put.
    pub async fn create_small(&self, key: &str, bytes: Bytes) -> Result<Option<Bytes>, StoreError> {
        let path = Path::from(key);
        loop {
            let created = self
                .retrying("writing an object", key, true, || async {
                    let opts = PutOptions {
                        mode: PutMode::Create,
                        ..PutOptions::default()
                    };
                    match self
                        .inner
                        .put_opts(&path, PutPayload::from_bytes(bytes.clone()), opts)
                        .await
                    {
                        Ok(_) => Ok(true),
                        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                        Err(object_store::Error::NotImplemented { .. }) => self
                            .inner
                            .put(&path, PutPayload::from_bytes(bytes.clone()))
                            .await
                            .map(|_| true),
                        Err(e) => Err(e),
                    }
                })
                .await?;
            if created {
                return Ok(None);
            }
            // Gone again between the two calls: try to create it once more.
            if let Some(existing) = self.get_small(key).await? {
                return Ok(Some(existing));
            }
        }
    }

    /// Delete an object; absent is fine (retried).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = Path::from(key);
        self.retrying("deleting an object", key, true, || async {
            match self.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Upload the finished spool file `file` as `key`; returns once the
    /// object is durable. With [`WriteMode::CreateIfAbsent`] an existing
    /// object is kept (and counts as done). Fails only when the store
    /// refuses in a way retrying cannot fix.
    pub async fn upload_file(
        &self,
        key: &str,
        file: &FsPath,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        let path = Path::from(key);
        if mode == WriteMode::CreateIfAbsent && self.exists(key).await? {
            tracing::info!(key, "object already written before a restart; keeping it");
            return Ok(());
        }
        let mut retry = self.limits.retry_policy().start();
        loop {
            match self.try_upload(&path, file, mode).await {
                Ok(()) => return Ok(()),
                Err(UploadFailure::Exists) => {
                    tracing::info!(key, "object already written before a restart; keeping it");
                    return Ok(());
                }
                Err(UploadFailure::Refused { reason, error }) => {
                    return Err(self.refused("uploading", key, reason, error));
                }
                Err(UploadFailure::Other(e)) => {
                    let delay = retry.next_wait();
                    tracing::warn!(
                        store = %self.describe, key, attempt = retry.failures(), retry_in_ms = delay.as_millis() as u64,
                        "upload failed, retrying from the spool file: {e}"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn try_upload(
        &self,
        path: &Path,
        file: &FsPath,
        mode: WriteMode,
    ) -> Result<(), UploadFailure> {
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| UploadFailure::Other(e.to_string()))?;
        let len = f
            .metadata()
            .await
            .map_err(|e| UploadFailure::Other(e.to_string()))?
            .len();
        let part_size = self.limits.part_size;
        if len <= part_size as u64 {
            let _permit = self
                .parts
                .acquire()
                .await
                .map_err(|e| UploadFailure::Other(e.to_string()))?;
            let mut buf = Vec::with_capacity(len as usize);
            f.read_to_end(&mut buf)
                .await
                .map_err(|e| UploadFailure::Other(e.to_string()))?;
            let opts = PutOptions {
                mode: match mode {
                    WriteMode::Overwrite => PutMode::Overwrite,
                    WriteMode::CreateIfAbsent => PutMode::Create,
                },
                ..PutOptions::default()
            };
            return match self.inner.put_opts(path, PutPayload::from(buf), opts).await {
                Ok(_) => Ok(()),
                Err(object_store::Error::AlreadyExists { .. }) => Err(UploadFailure::Exists),
                Err(object_store::Error::NotImplemented { .. })
                    if mode == WriteMode::CreateIfAbsent =>
                {
                    // A store without conditional puts: existence was checked
                    // just before, and the content is the same anyway.
                    Err(UploadFailure::Other("conditional put not supported".into()))
                }
                Err(e) => Err(UploadFailure::from_store(&e)),
            };
        }
        let mut upload = self
            .inner
            .put_multipart(path)
            .await
            .map_err(|e| UploadFailure::from_store(&e))?;
        let mut tasks = Vec::new();
        let mut remaining = len;
        let mut failed: Option<UploadFailure> = None;
        while remaining > 0 {
            let permit = self
                .parts
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| UploadFailure::Other(e.to_string()))?;
            let n = remaining.min(part_size as u64) as usize;
            let mut buf = vec![0u8; n];
            if let Err(e) = f.read_exact(&mut buf).await {
                failed = Some(UploadFailure::Other(e.to_string()));
                break;
            }
            remaining -= n as u64;
            let part = upload.put_part(PutPayload::from(buf));
            tasks.push(tokio::spawn(async move {
                let result = part.await;
                drop(permit);
                result
            }));
        }
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed = failed.or(Some(UploadFailure::from_store(&e))),
                Err(e) => failed = failed.or(Some(UploadFailure::Other(e.to_string()))),
            }
        }
        if let Some(failure) = failed {
            let _ = upload.abort().await;
            return Err(failure);
        }
        match upload.complete().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = upload.abort().await;
                Err(UploadFailure::from_store(&e))
            }
        }
    }
}

enum UploadFailure {
    Exists,
    /// Retrying cannot fix it (see [`classify`]).
    Refused {
        reason: String,
        error: String,
    },
    Other(String),
}

impl UploadFailure {
    fn from_store(e: &object_store::Error) -> Self {
        match classify(e, true) {
            Failure::Permanent(reason) => Self::Refused {
                reason,
                error: e.to_string(),
            },
            Failure::Transient => Self::Other(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Store calls retry from `retry_backoff` doubling to
    /// `retry_max_backoff`, forever, as before backoff.rs.
    #[test]
    fn store_calls_back_off_as_configured_without_a_bound() {
        let limits = UploadLimits {
            part_size: 5 << 20,
            parts_in_flight: 1,
            retry_backoff: Duration::from_millis(200),
            retry_max_backoff: Duration::from_millis(1_000),
        };
        let policy = limits.retry_policy();
        assert_eq!((policy.max_attempts, policy.max_elapsed), (None, None));
        let ms: Vec<u128> = policy.start().take(5).map(|d| d.as_millis()).collect();
        assert_eq!(ms, [200, 400, 800, 1_000, 1_000]);
    }
}
