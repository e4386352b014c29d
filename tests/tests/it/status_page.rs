//! Issue 18: the operator's status page, in a real headless Chromium.
//!
//! `serve` runs the Oliveyoung plugin against the fixture site with the sink
//! writing to a local directory, a corrupt `.wasm` beside it; the admin API
//! has a token. The browser signs in with the token, reads the page (plugin
//! row, the run with its record count and failed tasks, a coverage chart,
//! the refused file's reason, the sink's partitions), saves a screenshot,
//! then clicks "Run": the second run appears on the page by itself (the
//! page refreshes) and finishes there.
//!
//! Screenshots: `<target>/test-output/status-page/{signed-in,after-second-run}.png`.
//! Needs `chromium` and `chromedriver` (scripts/install/chromium.sh, run by
//! `make test`); without them the test fails saying so.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crawlhost::config::Config;
use crawlhost::host::Host;
use crawlhost::serve::{self, Service, admin};
use crawlhost_tests::oliveyoung::{Site, spawn};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

const TOKEN: &str = "status-page-test-token";

/// Poll `cond` every 100 ms until it returns `Some` or `limit` passes.
async fn wait_until<T, F, Fut>(limit: Duration, what: &str, mut cond: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// chromedriver on a free loopback port, killed on drop.
struct ChromeDriver {
    child: std::process::Child,
    url: String,
}

impl ChromeDriver {
    async fn start() -> Self {
        let (_, chromedriver) = crawlhost_tests::instagram::chromium_tools();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        wait_until(Duration::from_secs(20), "chromedriver", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Self { child, url }
    }

    async fn session(&self) -> Client {
        let (chromium, _) = crawlhost_tests::instagram::chromium_tools();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1400,2400", "--hide-scrollbars"],
            }),
        );
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn output_dir() -> PathBuf {
    let dir = super::oliveyoung_e2e::target_dir().join("test-output/status-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Read every match of `css` in one script call: the page replaces its
/// content every few seconds, so elements found in one WebDriver call can
/// be stale by the next.
async fn read_all(c: &Client, css: &str, what: &str) -> Vec<String> {
    let js = "const [css, what] = arguments; \
              return [...document.querySelectorAll(css)].map(e => \
                what === '#text' ? e.innerText : (e.getAttribute(what) || ''));";
    let value = c.execute(js, vec![css.into(), what.into()]).await.unwrap();
    serde_json::from_value(value).unwrap()
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    read_all(c, css, "#text").await
}

async fn attrs(c: &Client, css: &str, name: &str) -> Vec<String> {
    read_all(c, css, name).await
}

/// Type `token` into the sign-in form and send it.
async fn submit_token(c: &Client, token: &str) {
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("main.login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Click the first match of `css`, again if a refresh replaced it between
/// finding and clicking.
async fn click(c: &Client, css: &str) {
    for _ in 0..5 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.click().await {
                Ok(()) => return,
                Err(err) => eprintln!("click on {css} retried: {err}"),
            },
            Err(err) => eprintln!("{css} not found yet: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not click {css}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_a_browser() {
    let (base_url, _site) = spawn(Site::generate(7)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("objects");
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        super::oliveyoung_e2e::plugin_wasm(),
        dir.path().join("plugins/oliveyoung.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plugins/broken.wasm"), b"not a component").unwrap();
    let text = format!(
        "{}[sink]\ntopics = [\"oliveyoung\", \"oliveyoung-products\"]\nflush_size = 1000\n\
         idle_flush_ms = 300\npoll_interval_ms = 50\n[sink.store]\nkind = \"local\"\npath = \"{}\"\n",
        super::oliveyoung_e2e::config_text(dir.path(), &base_url),
        objects.display()
    );
    let settings = Config::parse(&text, std::path::Path::new("status.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let service = Service::new(Host::open(settings).unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(service.clone(), None, async {
        let _ = stop_rx.await;
    }));
    // The admin API with a token, on its own listener.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = admin::router_with(service.clone(), Some(TOKEN.into()), addr).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    wait_until(
        Duration::from_secs(60),
        "the plugin and the refusal",
        || {
            let s = service.clone();
            async move {
                (s.plugins().iter().any(|p| p.name == "oliveyoung") && !s.refused().is_empty())
                    .then_some(())
            }
        },
    )
    .await;
    let refusal = service.refused()[0].reason.clone();

    // The first run, started from the API (the second from the page).
    service.start_run("oliveyoung").await.unwrap();
    let first = wait_until(Duration::from_secs(600), "the first run", || {
        let s = service.clone();
        async move {
            let p = s.plugins().into_iter().find(|p| p.name == "oliveyoung")?;
            if p.active_run.is_some() {
                return None;
            }
            p.last_runs.first().cloned()
        }
    })
    .await;
    assert!(first.records > 5000, "{first:?}");
    // The sink has caught up with what the run wrote.
    wait_until(Duration::from_secs(120), "the sink", || {
        let s = service.clone();
        let want = first.records;
        async move {
            let v = s.sink_handle()?.status.view();
            (v.records_written >= want).then_some(())
        }
    })
    .await;

    let driver = ChromeDriver::start().await;
    let c = driver.session().await;
    let page = format!("http://{addr}/");

    // Without the session the page asks for the token.
    c.goto(&page).await.unwrap();
    submit_token(&c, "wrong").await;
    let refused_sign_in = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("main.login p.error"))
        .await
        .unwrap();
    assert_eq!(
        refused_sign_in.text().await.unwrap(),
        "That is not the token."
    );
    submit_token(&c, TOKEN).await;
    c.wait()
        .for_element(Locator::Css("main#content"))
        .await
        .unwrap();

    // Plugins: the row, its version and hash prefix, health.
    let row = texts(&c, "tr.plugin[data-plugin=oliveyoung]").await;
    assert_eq!(row.len(), 1, "{row:?}");
    let info = service
        .plugins()
        .into_iter()
        .find(|p| p.name == "oliveyoung")
        .unwrap();
    assert!(row[0].contains(&info.version), "{row:?}");
    assert!(row[0].contains(&info.sha256[..12]), "{row:?}");
    assert!(row[0].contains("healthy"), "{row:?}");
    // Refused: the file and its reason, as the host has it.
    let refused = texts(&c, "tr.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("broken.wasm"), "{refused:?}");
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let reason_shown = texts(&c, "tr.refused td.reason").await;
    assert_eq!(reason_shown.len(), 1);
    assert_eq!(words(&reason_shown[0]), words(&refusal));
    // Runs: the run with its record count and its failed tasks.
    let records = attrs(
        &c,
        "table.runs[data-plugin=oliveyoung] td.records",
        "data-records",
    )
    .await;
    assert_eq!(records, vec![first.records.to_string()]);
    let run_text = texts(&c, "table.runs[data-plugin=oliveyoung] tr.run").await;
    assert!(run_text[0].contains("oliveyoung-products:"), "{run_text:?}");
    let failures = texts(&c, "details.failures tr.failure").await;
    assert_eq!(failures.len(), first.tasks_failed);
    // Coverage: a chart per topic, a cell per field.
    let charts = attrs(&c, "figure.coverage[data-plugin=oliveyoung]", "data-topic").await;
    assert_eq!(charts, vec!["oliveyoung", "oliveyoung-products"]);
    let cells = attrs(
        &c,
        "figure.coverage[data-topic=oliveyoung-products] svg rect.cell",
        "fill",
    )
    .await;
    assert!(cells.len() >= 10, "{} cells", cells.len());
    // Sink: the partitions, caught up.
    let lags = texts(&c, "table.sink tr.partition td.lag").await;
    assert!(!lags.is_empty());
    assert!(lags.iter().all(|l| l == "0"), "{lags:?}");
    assert!(!texts(&c, "code.last-object").await.is_empty());

    let shot = output_dir().join("signed-in.png");
    std::fs::write(&shot, c.screenshot().await.unwrap()).unwrap();
    eprintln!("screenshot: {}", shot.display());

    // "Run" starts a run that then appears on the page by itself.
    click(&c, "tr.plugin[data-plugin=oliveyoung] button.run").await;
    let notice = wait_until(Duration::from_secs(10), "the notice", || {
        let c = c.clone();
        async move {
            let t = texts(&c, "#notice").await.pop()?;
            (!t.is_empty()).then_some(t)
        }
    })
    .await;
    assert!(notice.starts_with("started oliveyoung@"), "{notice}");
    let outcomes = wait_until(
        Duration::from_secs(600),
        "the second run to finish on the page",
        || {
            let c = c.clone();
            async move {
                let o = attrs(
                    &c,
                    "table.runs[data-plugin=oliveyoung] tr.run",
                    "data-outcome",
                )
                .await;
                (o.len() == 2 && o[0] != "running").then_some(o)
            }
        },
    )
    .await;
    let want = if first.tasks_failed > 0 {
        "partial"
    } else {
        "ok"
    };
    assert_eq!(outcomes, vec![want, want]);
    let columns = attrs(
        &c,
        "figure.coverage[data-topic=oliveyoung-products] svg rect.bar",
        "height",
    )
    .await;
    assert_eq!(columns.len(), 2, "one bar per run");
    let shot = output_dir().join("after-second-run.png");
    std::fs::write(&shot, c.screenshot().await.unwrap()).unwrap();
    eprintln!("screenshot: {}", shot.display());

    c.close().await.unwrap();
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
