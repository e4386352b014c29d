//! Test support for the HTTP tests: a local site on 127.0.0.1:0 whose
//! answers a test scripts per request, and which logs every request it
//! receives (path, headers, arrival time) so tests count at the server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crawlhost::config::{Config, Settings};
use crawlhost::contract::{Header, HttpRequest, PlanInput};
use crawlhost::host::Host;
use crawlhost::http::allow::AllowList;
use crawlhost::http::{FetchScope, FetchStats};
use crawlhost::run::{RunSummary, run_plugin};

/// One request as the site saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Path and query.
    pub path: String,
    /// The request target as sent (absolute form through a proxy).
    pub uri: String,
    pub headers: HeaderMap,
    pub at: Instant,
    pub wall: SystemTime,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Responder = dyn Fn(&Hit, usize) -> Response + Send + Sync;

struct Inner {
    hits: Mutex<Vec<Hit>>,
    respond: Box<Responder>,
}

/// A running site. Dropping it stops the server.
pub struct Site {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let hit = Hit {
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        uri: req.uri().to_string(),
        headers: req.headers().clone(),
        at: Instant::now(),
        wall: SystemTime::now(),
    };
    let nth = {
        let mut hits = inner.hits.lock().unwrap();
        let nth = hits.iter().filter(|h| h.path == hit.path).count();
        hits.push(hit.clone());
        nth
    };
    let mut response = (inner.respond)(&hit, nth);
    // A scripted delay before the headers go out (see [`delayed`]).
    if let Some(ms) = response
        .headers_mut()
        .remove(DELAY_HEADER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    response
}

const DELAY_HEADER: &str = "x-test-delay-ms";

/// `response`, sent only after `ms` milliseconds (the server stays
/// responsive meanwhile).
pub fn delayed(ms: u64, response: Response) -> Response {
    let mut response = response;
    response
        .headers_mut()
        .insert(DELAY_HEADER, ms.to_string().parse().unwrap());
    response
}

impl Site {
    /// Serve `respond(hit, n)`, where `n` counts earlier hits on the same
    /// path (0 for the first).
    pub async fn start(respond: impl Fn(&Hit, usize) -> Response + Send + Sync + 'static) -> Site {
        let inner = Arc::new(Inner {
            hits: Mutex::new(Vec::new()),
            respond: Box::new(respond),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site {
            addr,
            url: format!("http://{addr}"),
            inner,
            task,
        }
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.path.starts_with(prefix))
            .count()
    }

    /// `host:port` as the host keys it.
    pub fn host_key(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

/// A plain response.
pub fn text(status: u16, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

/// A response with headers.
pub fn with_headers(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response {
    let mut r = text(status, body);
    for (n, v) in headers {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

/// 404 for anything unscripted.
pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not here").into_response()
}

/// Settings from `[http]`-and-more TOML, with everything under `dir`.
/// Politeness is fast unless `extra` says otherwise; nothing else is
/// implied (no private addresses unless `extra` allows them).
pub fn settings(dir: &Path, extra: &str) -> Settings {
    let text = format!(
        "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
         [run]\nretry_base_ms = 10\nretry_max_ms = 50\nblocked_max_attempts = 1\nmax_attempts = 1\n\
         {extra}",
        plugins = dir.join("plugins").display(),
        data = dir.join("data").display(),
    );
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    Config::parse(&text, Path::new("http-test.toml"))
        .unwrap()
        .validate()
        .unwrap()
}

/// Fast politeness for tests that are not about politeness.
pub const FAST: &str = "[http.politeness]\nrequests_per_second = 1000\nburst = 100\nconcurrency = 32\njitter_ms = 0\n\
                        [http.retry]\nbase_ms = 10\nmax_ms = 50\n";

/// A scope allowing `patterns` (`127.0.0.1:port`, ...).
pub fn scope(patterns: &[String]) -> FetchScope {
    let allow = AllowList::from_manifest(patterns, &Default::default()).unwrap();
    FetchScope::new("t", Arc::new(allow), Arc::new(FetchStats::default()))
}

/// A GET request.
pub fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: None,
    }
}

/// A GET request with headers.
pub fn get_with(url: &str, headers: &[(&str, &str)]) -> HttpRequest {
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

/// The built fetcher guest. `make guests` builds it.
pub fn fetcher_wasm() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("wasm32-wasip2/release/guest_fetcher.wasm");
    assert!(
        path.exists(),
        "{} is missing: build it with `make guests` (make test does)",
        path.display()
    );
    path
}

/// `[plugins.fetcher]` config: the requests as JSON and up to four allowed
/// host URLs.
pub fn fetcher_config(requests: &serde_json::Value, hosts: &[&str]) -> String {
    let mut out = format!(
        "[plugins.fetcher.config]\nrequests = '''{}'''\n",
        serde_json::to_string(requests).unwrap()
    );
    for (i, h) in hosts.iter().enumerate() {
        let key = ["host_a", "host_b", "host_c", "host_d"][i];
        out.push_str(&format!("{key} = \"{h}\"\n"));
    }
    out
}

/// What a fetcher run produced: the summary and the `fetched` records by key.
pub struct Outcome {
    pub summary: RunSummary,
    pub records: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Outcome {
    /// The record of task `i`.
    pub fn record(&self, i: usize) -> &serde_json::Value {
        let key = format!("{i:04}");
        self.records.get(&key).unwrap_or_else(|| {
            panic!(
                "no record for task {key}; failures: {:?}",
                self.summary.tasks_failed
            )
        })
    }

    /// `(error_kind, error)` of failed task `i`.
    pub fn failure(&self, i: usize) -> (String, String) {
        let key = format!("{i:04}");
        let f = self
            .summary
            .tasks_failed
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| panic!("task {key} did not fail; records: {:?}", self.records));
        (f.error_kind.clone(), f.error.clone())
    }
}

/// Run the fetcher plugin once on `settings` and read what this run
/// published.
pub async fn run_fetcher(settings: Settings) -> Outcome {
    let host = Host::open(settings).unwrap();
    let plugin = Arc::new(host.engine.load(&fetcher_wasm()).await.unwrap());
    let summary = run_plugin(
        host.run_context(),
        plugin,
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert!(summary.fatal.is_none(), "run failed: {:?}", summary.fatal);
    let mut records = std::collections::BTreeMap::new();
    if host
        .bus
        .topics()
        .await
        .unwrap()
        .iter()
        .any(|(t, _)| t == "fetched")
    {
        let mut offset = 0;
        loop {
            let batch = host.bus.fetch("fetched", 0, offset, 1000).await.unwrap();
            if batch.is_empty() {
                break;
            }
            for r in &batch {
                // Only this run's records (a data directory may be reused).
                let run = r.headers.iter().find(|(n, _)| n == "crawlhost-run");
                if run.is_none_or(|(_, v)| v.as_slice() != summary.run_id.as_bytes()) {
                    continue;
                }
                let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
                let value: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
                assert!(
                    records.insert(key, value).is_none(),
                    "a key was published twice"
                );
            }
            offset = batch.last().unwrap().offset + 1;
        }
    }
    Outcome { summary, records }
}
