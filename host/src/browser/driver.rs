//! The WebDriver endpoint and its sessions: starts chromedriver on a free
//! 127.0.0.1 port when configured to (stopped with the host), opens Chromium
//! sessions with the configured flags through fantoccini, and on shutdown
//! deletes the sessions still alive so no Chromium outlives the host.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::BrowserError;
use super::config::{BrowserSettings, Endpoint};

/// How long a freshly started chromedriver may take to answer `/status`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One Chromium session.
pub struct Session {
    pub(crate) client: Client,
    pub(crate) id: String,
    /// The page-load and script timeout last set on it.
    pub(crate) timeouts: Option<Duration>,
    /// The proxy all of its traffic goes through (a chromedriver the host
    /// started); `None` for an external WebDriver endpoint.
    pub(crate) egress: Option<super::egress::Egress>,
    /// Its Chromium profile (a chromedriver the host started), removed when
    /// the session is dropped (after its Chromium was ended).
    #[allow(dead_code, reason = "held for its Drop")]
    pub(crate) profile: Option<Profile>,
}

/// A new, empty Chromium profile directory (`--user-data-dir`), readable by
/// this user only, removed on drop: a session's cookies, storage and cache
/// live and die with it, even when chromedriver was killed before it could
/// clean up its own.
pub struct Profile {
    dir: std::path::PathBuf,
}

impl Profile {
    /// A fresh directory under the system temporary directory.
    pub fn create() -> std::io::Result<Self> {
        use std::hash::{BuildHasher, Hasher};
        use std::os::unix::fs::DirBuilderExt;
        let mut tries = 0;
        loop {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            let dir = std::env::temp_dir().join(format!("crawlhost-chromium-{:016x}", h.finish()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Self { dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The Chromium flag that points a session at it.
    pub fn chromium_arg(&self) -> String {
        format!("--user-data-dir={}", self.dir.display())
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A WebDriver server the host talks to (and maybe runs).
pub struct Driver {
    url: String,
    child: Mutex<Option<Child>>,
    capabilities: serde_json::Map<String, Value>,
    /// Ids of sessions alive, deleted on drop.
    sessions: Mutex<HashSet<String>>,
}

fn free_port() -> Result<u16, BrowserError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BrowserError::Unavailable(format!("no free loopback port: {e}")))?;
    Ok(l.local_addr()
        .map_err(|e| BrowserError::Unavailable(e.to_string()))?
        .port())
}

/// The `goog:chromeOptions` capability for `settings`: the configured flags,
/// then the ones the host always sets ([`super::config::ENFORCED_ARGS`]).
pub fn capabilities(settings: &BrowserSettings) -> serde_json::Map<String, Value> {
    let mut chrome = serde_json::Map::new();
    let args: Vec<&str> = settings
        .args
        .iter()
        .map(String::as_str)
        .chain(super::config::ENFORCED_ARGS.iter().copied())
        .collect();
    chrome.insert("args".into(), json!(args));
    if let Some(bin) = &settings.chromium {
        chrome.insert("binary".into(), json!(bin.to_string_lossy()));
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("pageLoadStrategy".into(), json!("normal"));
    caps.insert("goog:chromeOptions".into(), Value::Object(chrome));
    caps
}

impl Driver {
    /// Connect to `webdriver_url`, or start chromedriver and wait until it
    /// answers.
    pub async fn start(settings: &BrowserSettings) -> Result<Self, BrowserError> {
        let capabilities = capabilities(settings);
        let (url, child) = match &settings.endpoint {
            Endpoint::Url(u) => (u.trim_end_matches('/').to_string(), None),
            Endpoint::Spawn(bin) => {
                let port = free_port()?;
                // Its own process group, so the Chromiums it starts can be
                // stopped with it even when a session was not deleted.
                let child = Command::new(bin)
                    .process_group(0)
                    .arg(format!("--port={port}"))
                    .arg("--allowed-ips=127.0.0.1")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| {
                        BrowserError::Unavailable(format!(
                            "cannot start `{}`: {e} (install chromium and chromedriver, e.g. \
                             scripts/install/chromium.sh, or set browser.webdriver_url)",
                            bin.display()
                        ))
                    })?;
                (format!("http://127.0.0.1:{port}"), Some(child))
            }
        };
        let driver = Self {
            url,
            child: Mutex::new(child),
            capabilities,
            sessions: Mutex::new(HashSet::new()),
        };
        driver.wait_ready().await?;
        Ok(driver)
    }

    async fn wait_ready(&self) -> Result<(), BrowserError> {
        let addr = self.addr()?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ok = tokio::task::spawn_blocking(move || {
                raw_request(addr, "GET", "/status").is_ok_and(|r| r.contains("\"ready\""))
            })
            .await
            .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if let Some(child) = self.child.lock().unwrap().as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(BrowserError::Unavailable(format!(
                    "chromedriver exited at start ({status})"
                )));
            }
            if Instant::now() >= deadline {
                return Err(BrowserError::Unavailable(format!(
                    "no WebDriver answered at {} within {}s",
                    self.url,
                    START_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn addr(&self) -> Result<SocketAddr, BrowserError> {
        let u = url::Url::parse(&self.url).map_err(|e| BrowserError::Unavailable(e.to_string()))?;
        let host = u.host_str().unwrap_or("127.0.0.1");
        let port = u.port_or_known_default().unwrap_or(80);
        std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| BrowserError::Unavailable(format!("cannot resolve {host}")))
    }

    /// Whether Chromium runs on this machine (the host started
    /// chromedriver), so it can reach a proxy on 127.0.0.1.
    pub fn is_local(&self) -> bool {
        self.child.lock().unwrap().is_some()
    }

    /// A new Chromium session, with `extra_args` after the configured flags,
    /// in `profile` (else in a temporary profile WebDriver makes).
    pub async fn new_session(
        &self,
        extra_args: &[String],
        profile: Option<Profile>,
    ) -> Result<Session, BrowserError> {
        let mut capabilities = self.capabilities.clone();
        if let Some(Value::Object(chrome)) = capabilities.get_mut("goog:chromeOptions")
            && let Some(Value::Array(args)) = chrome.get_mut("args")
        {
            args.extend(extra_args.iter().map(|a| json!(a)));
            args.extend(profile.iter().map(|p| json!(p.chromium_arg())));
        }
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = builder
            .connect(&self.url)
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        let id = client
            .session_id()
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?
            .unwrap_or_default();
        self.sessions.lock().unwrap().insert(id.clone());
        Ok(Session {
            client,
            id,
            timeouts: None,
            egress: None,
            profile,
        })
    }

    /// End a session (its Chromium exits).
    pub async fn close_session(&self, session: Session) {
        self.sessions.lock().unwrap().remove(&session.id);
        let _ = session.client.close().await;
    }

    /// Sessions alive now.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }

    /// Whether the WebDriver can still answer: a chromedriver the host
    /// started must not have exited; an external endpoint is assumed up.
    pub fn is_alive(&self) -> bool {
        match self.child.lock().unwrap().as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// Process id of the chromedriver the host started.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Synchronous on purpose: drop may run outside any runtime. Deleting
        // the session makes chromedriver end its Chromium.
        if let Ok(addr) = self.addr() {
            for id in self.sessions.lock().unwrap().drain() {
                let _ = raw_request(addr, "DELETE", &format!("/session/{id}"));
            }
        }
        if let Some(mut child) = self.child.lock().unwrap().take() {
            // The whole group: Chromiums of sessions that could not be
            // deleted (a chromedriver that died leaves them running).
            let _ = Command::new("kill")
                .args(["-KILL", "--"])
                .arg(format!("-{}", child.id()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request with a short timeout; the response as text.
fn raw_request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<String> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // Until the body announced by content-length is in (chromedriver keeps
    // the connection open), the server closes, or the read times out.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => break,
        }
        if response_complete(&out) {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Whether `bytes` hold the headers and the whole content-length body.
fn response_complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|len| body.len() >= len)
}
