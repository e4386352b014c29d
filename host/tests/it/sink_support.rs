//! Shared helpers for the sink tests: a real S3 server (moto's
//! `moto_server`, installed by `scripts/install/moto.sh` into `.venv`)
//! started on a free loopback port and killed on drop, bucket creation, and
//! reading every object back.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::common::free_port;

/// A running `moto_server`.
pub struct Moto {
    child: Mutex<Child>,
    pub port: u16,
    pub endpoint: String,
}

fn moto_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(".venv/bin/moto_server");
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/install/moto.sh` (make test does)",
        path.display()
    );
    path
}

fn spawn(port: u16) -> Child {
    Command::new(moto_binary())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server")
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Moto {
    /// Start a fresh server.
    pub fn start() -> Moto {
        let port = free_port();
        let child = spawn(port);
        wait_listening(port);
        Moto {
            child: Mutex::new(child),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// One server per test binary, shared by the tests that run at the same
    /// time and killed when the last of them drops it.
    pub fn shared() -> Arc<Moto> {
        static SHARED: Mutex<Weak<Moto>> = Mutex::new(Weak::new());
        let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = slot.upgrade() {
            return m;
        }
        let m = Arc::new(Moto::start());
        *slot = Arc::downgrade(&m);
        m
    }

    /// Freeze the server process (SIGSTOP): it keeps its port and its
    /// objects but answers nothing.
    pub fn freeze(&self) {
        let pid = self.child.lock().unwrap().id();
        signal(pid, "STOP");
    }

    /// Resume a frozen server (SIGCONT).
    pub fn resume(&self) {
        let pid = self.child.lock().unwrap().id();
        signal(pid, "CONT");
    }

    /// Create a bucket (moto accepts an unsigned `PUT /<bucket>`).
    pub fn create_bucket(&self, bucket: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "create bucket {bucket}: {response}"
        );
    }

    /// An object_store client for `bucket`.
    pub fn client(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()
                .unwrap(),
        )
    }

    /// `[sink.store]` lines for `bucket` on this server.
    pub fn store_toml(&self, bucket: &str) -> String {
        format!(
            "[sink.store]\nkind = \"s3\"\nbucket = \"{bucket}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
             access_key_id = \"test\"\nsecret_access_key = \"test\"\nrequest_timeout_ms = 3000\nconnect_timeout_ms = 1000\n",
            self.endpoint
        )
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid}");
}

impl Drop for Moto {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        // A frozen server must be resumed to die from SIGKILL promptly on
        // some kernels; SIGKILL works on stopped processes on Linux anyway.
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Every object under `prefix`, key -> bytes.
pub async fn read_all(store: &Arc<dyn ObjectStore>, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let prefix = object_store::path::Path::from(prefix);
    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for meta in metas {
        let bytes = store
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        out.insert(meta.location.to_string(), bytes.to_vec());
    }
    out
}

/// Wait for `cond` with a deadline, polling.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if cond().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
