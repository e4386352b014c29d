//! The browser capability through the real WebAssembly path: the `browser`
//! test guest runs configured steps (open, wait, read, type a secret) in
//! the host's headless Chromium, so these tests see exactly what a plugin
//! sees: a JavaScript-rendered page read after it renders; `blocked` for an
//! undeclared host and for a redirect off the allow-list; a secret typed by
//! the host that the plugin only ever reads back as `[redacted]`, and cannot
//! cut (a Backspace) or probe (`[value^=..]`); `other` when the host has no
//! `[browser]` section.
//!
//! Needs `chromium` and `chromedriver` (scripts/install/chromium.sh, run by
//! `make test`); without them the test fails saying so.

use crate::http_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use crawlhost::browser::config::{BrowserConfig, BrowserSecretConfig};
use crawlhost::contract::PlanInput;
use crawlhost::host::Host;
use crawlhost::run::{RunSummary, run_plugin};
use http_common::*;
use serde_json::{Value, json};

const SECRET: &str = "s3cret-typed-by-host";

fn guest() -> std::path::PathBuf {
    let path = fetcher_wasm().with_file_name("guest_browser.wasm");
    assert!(
        path.exists(),
        "{} is missing: build it with `make guests` (make test does)",
        path.display()
    );
    path
}

fn html(body: &str) -> axum::response::Response {
    with_headers(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        body.to_string(),
    )
}

/// Run the guest on `cases`; the summary and the records by task key.
async fn run(
    site: &str,
    cases: &Value,
    with_browser: bool,
) -> (RunSummary, BTreeMap<String, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[http]\nallow_private_addresses = true\n{FAST}\
         [plugins.browser.config]\ncases = '''{}'''\nsite = \"{site}\"\n",
        serde_json::to_string(cases).unwrap()
    );
    let mut settings = settings(dir.path(), &extra);
    if with_browser {
        let host = site.trim_start_matches("http://");
        let (chromium, chromedriver) = crawlhost_tests::instagram::chromium_tools();
        let config = BrowserConfig {
            chromedriver,
            chromium: Some(chromium),
            max_sessions: 1,
            page_deadline_secs: 15,
            secrets: vec![
                BrowserSecretConfig {
                    name: "pw".into(),
                    hosts: vec![host.to_string()],
                    value_env: "PW".into(),
                    // The fixture is plain HTTP on loopback.
                    allow_http: true,
                },
                // The same host, over TLS only (the default): the fixture
                // serves plain HTTP, so this one is never typed.
                BrowserSecretConfig {
                    name: "pw_tls_only".into(),
                    hosts: vec![host.to_string()],
                    value_env: "PW".into(),
                    allow_http: false,
                },
            ],
            ..BrowserConfig::default()
        };
        settings.browser = Some(config.check(&|_| Some(SECRET.to_string())).unwrap());
    }
    let host = Host::open(settings).unwrap();
    let plugin = Arc::new(host.engine.load(&guest()).await.unwrap());
    assert_eq!(plugin.contract.to_string(), "0.3.0");
    let summary = run_plugin(
        host.run_context(),
        plugin,
        PlanInput::Scheduled,
        &mut |_| {},
    )
    .await;
    assert!(summary.fatal.is_none(), "{:?}", summary.fatal);
    let mut records = BTreeMap::new();
    if let Ok(batch) = host.bus.fetch("browsed", 0, 0, 100).await {
        for r in batch {
            let key = String::from_utf8(r.key.unwrap()).unwrap();
            records.insert(key, serde_json::from_slice(&r.value).unwrap());
        }
    }
    (summary, records)
}

fn failure(summary: &RunSummary, key: &str) -> (String, String) {
    let f = summary
        .tasks_failed
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("task {key} did not fail: {summary:#?}"));
    (f.error_kind.clone(), f.error.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_browse_only_declared_hosts_and_never_see_secrets() {
    let _cpu = crate::cpu::busy().await;
    let elsewhere = Site::start(|_, _| html("<p>elsewhere</p>")).await;
    let other = elsewhere.url.clone();
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/js" => html(
            "<ul id=l></ul><script>setTimeout(() => { for (const n of ['a','b']) { \
             const li = document.createElement('li'); li.dataset.n = n; li.textContent = 'item ' + n; \
             document.getElementById('l').appendChild(li); } }, 200);</script>",
        ),
        "/form" => html(
            "<input id=pw><p id=echo></p><script>document.getElementById('pw').addEventListener(\
             'input', e => { document.getElementById('echo').textContent = e.target.value; \
             e.target.setAttribute('value', e.target.value); });</script>",
        ),
        "/away" => with_headers(302, &[("location", &format!("{other}/x"))], String::new()),
        _ => not_found(),
    })
    .await;
    let url = |p: &str| format!("{}{p}", site.url);
    let cases = json!([
        [
            {"op": "open", "url": url("/js")},
            {"op": "wait", "selector": "li", "min": 2, "timeout_ms": 5000},
            {"op": "attrs", "selector": "li", "names": ["data-n", "textContent"]},
            {"op": "url"},
        ],
        [{"op": "open", "url": "http://undeclared.example/"}],
        [{"op": "open", "url": url("/js")}, {"op": "navigate", "url": url("/away")}],
        [
            {"op": "open", "url": url("/form")},
            {"op": "secret", "selector": "#pw", "name": "pw"},
            {"op": "html", "selector": "#echo"},
        ],
        // Issue 15, item 2: a Backspace into the field, then the echo.
        [
            {"op": "open", "url": url("/form")},
            {"op": "secret", "selector": "#pw", "name": "pw"},
            {"op": "type", "selector": "#pw", "text": "\u{E003}"},
            {"op": "html", "selector": "#echo"},
        ],
        // ... or a prefix probe on the value attribute the page keeps.
        [
            {"op": "open", "url": url("/form")},
            {"op": "secret", "selector": "#pw", "name": "pw"},
            {"op": "wait", "selector": "#pw[value^='s3']", "min": 1, "timeout_ms": 0},
        ],
        // A secret is not typed into a plain-HTTP page of its host unless it
        // says `allow_http`: submitting would send it in clear text.
        [
            {"op": "open", "url": url("/form")},
            {"op": "secret", "selector": "#pw", "name": "pw_tls_only"},
            {"op": "html", "selector": "#echo"},
        ],
    ]);
    let (summary, records) = run(&site.url, &cases, true).await;

    let r = &records["0000"]["results"];
    assert_eq!(r[1], 2);
    assert_eq!(r[2], json!([["a", "item a"], ["b", "item b"]]));
    assert_eq!(r[3], url("/js"));

    let (kind, msg) = failure(&summary, "0001");
    assert_eq!(kind, "blocked");
    assert!(
        msg.contains("undeclared.example") && msg.contains("allow-list"),
        "{msg}"
    );
    let (kind, msg) = failure(&summary, "0002");
    assert_eq!(kind, "blocked");
    assert!(msg.contains("allow-list"), "{msg}");

    let echo = records["0003"]["results"][2].to_string();
    assert!(echo.contains("[redacted]"), "{echo}");
    for key in ["0004", "0005"] {
        let (kind, msg) = failure(&summary, key);
        assert_eq!(kind, "blocked", "{key}: {msg}");
        assert!(msg.contains("secret the host typed"), "{key}: {msg}");
    }
    let (kind, msg) = failure(&summary, "0006");
    assert_eq!(kind, "blocked", "{msg}");
    assert!(
        msg.contains("pw_tls_only") && msg.contains("https") && msg.contains("allow_http"),
        "{msg}"
    );
    let everything = format!("{records:?} {summary:?}");
    assert!(
        !everything.contains(&SECRET[..SECRET.len() - 1]),
        "the secret (or all of it but its last character) reached the plugin"
    );

    // Without [browser] the capability answers `other`, naming the section.
    let (summary, _) = run(
        &site.url,
        &json!([[{"op": "open", "url": url("/js")}]]),
        false,
    )
    .await;
    let (kind, msg) = failure(&summary, "0000");
    assert_eq!(kind, "other");
    assert!(msg.contains("[browser]"), "{msg}");
}
