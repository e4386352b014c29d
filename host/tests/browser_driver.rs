//! The host's browser driver against a real headless Chromium (chromedriver
//! started by the host on a free loopback port): pages rendered by
//! JavaScript are read after they render; navigation to an undeclared host,
//! a redirect off the allow-list and an HTTP 429 are refused with `blocked`,
//! and requests the page makes itself (an image, XHR) to an undeclared host
//! never reach it (the egress proxy) while its own host's still work;
//! a secret is typed only where it may go and never read back; the session
//! cap makes a second page wait and the idle session is reused.
//!
//! Needs `chromium` and `chromedriver` (scripts/install/chromium.sh, run by
//! `make test`); without them the test fails saying so.

mod http_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::browser::config::BrowserConfig;
use crawlhost::browser::{Browser, Page};
use crawlhost::engine::bindings::CrawlError;
use crawlhost::http::allow::{AddressPolicy, AllowList};
use http_common::*;

fn html(body: &str) -> axum::response::Response {
    with_headers(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        body.to_string(),
    )
}

const JS_LIST: &str = r#"<!doctype html><html><body><ul id="list"></ul>
<script>
setTimeout(() => {
  for (let i = 1; i <= 3; i++) {
    const li = document.createElement('li');
    li.className = 'item'; li.dataset.id = 'n' + i; li.textContent = 'item ' + i;
    document.getElementById('list').appendChild(li);
  }
}, 300);
</script></body></html>"#;

const FORM: &str = r#"<!doctype html><html><body>
<input id="pw" type="password"><div id="echo"></div>
<script>
document.getElementById('pw').addEventListener('input', e => {
  document.getElementById('echo').textContent = 'you typed ' + e.target.value;
});
</script></body></html>"#;

/// A page that asks an undeclared host (OTHER) for an image and by XHR,
/// and its own host by XHR; `#done` says how each XHR ended.
const LEAKY: &str = r#"<!doctype html><html><body>
<img src="OTHER/pixel.png">
<script>
Promise.allSettled([fetch('OTHER/xhr'), fetch('/own')]).then(rs => {
  const d = document.createElement('p'); d.id = 'done';
  d.textContent = rs.map(r => r.status === 'fulfilled' ? String(r.value.status) : 'failed').join(',');
  document.body.appendChild(d);
});
</script></body></html>"#;

#[tokio::test(flavor = "multi_thread")]
async fn pages_checks_secrets_and_the_session_cap() {
    let (_, chromedriver) = crawlhost_tests::instagram::chromium_tools();
    let elsewhere = Site::start(|_, _| html("<p>elsewhere</p>")).await;
    let other = elsewhere.url.clone();
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/js" => html(JS_LIST),
        "/form" => html(FORM),
        "/busy" => with_headers(
            429,
            &[("content-type", "text/html")],
            "slow down".to_string(),
        ),
        "/away" => with_headers(302, &[("location", &format!("{other}/x"))], String::new()),
        "/leaky" => html(&LEAKY.replace("OTHER", &other)),
        "/own" => with_headers(200, &[("content-type", "text/plain")], "mine".to_string()),
        _ => not_found(),
    })
    .await;

    let secret_value = "hunter2-secret";
    let text = format!(
        "chromedriver = {:?}\nmax_sessions = 1\npage_deadline_secs = 10\n\
         [[secrets]]\nname = \"pw\"\nhosts = [\"{host}\"]\nvalue_env = \"PW\"\n\
         [[secrets]]\nname = \"other\"\nhosts = [\"other.example\"]\nvalue_env = \"PW\"\n",
        chromedriver.display(),
        host = site.addr,
    );
    let config: BrowserConfig = toml::from_str(&text).unwrap();
    let settings = config
        .check(&|n| (n == "PW").then(|| secret_value.to_string()))
        .unwrap();
    let policy = AddressPolicy {
        allow_private: true,
        allowed_ranges: vec![],
    };
    let browser = Browser::new(settings, policy);
    let allow =
        Arc::new(AllowList::from_manifest(&[site.addr.to_string()], &Default::default()).unwrap());

    // A page rendered by JavaScript, read after it renders.
    let started = Instant::now();
    let mut page = Page::open(
        &browser,
        "t",
        allow.clone(),
        &format!("{}/js", site.url),
        None,
    )
    .await
    .unwrap();
    eprintln!(
        "first page (chromedriver + chromium start): {:?}",
        started.elapsed()
    );
    assert_eq!(page.wait_for("li.item", 3, 5000).await.unwrap(), 3);
    let rows = page
        .attributes(
            "li.item",
            &["data-id".into(), "textContent".into(), "nope".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        rows[2],
        vec![Some("n3".to_string()), Some("item 3".to_string()), None]
    );
    // Fewer than asked for within the timeout is an answer, not an error.
    assert_eq!(page.wait_for("li.item", 10, 300).await.unwrap(), 3);
    let html = page.outer_html(Some("#list")).await.unwrap();
    assert!(html[0].contains("data-id=\"n1\""), "{html:?}");

    // Undeclared host: refused before the browser goes there.
    let err = page
        .navigate("http://not-declared.example/")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CrawlError::Blocked(m) if m.contains("allow-list")),
        "{err:?}"
    );
    // A redirect off the allow-list: the landing is refused and blanked.
    let err = page
        .navigate(&format!("{}/away", site.url))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CrawlError::Blocked(m) if m.contains("allow-list")),
        "{err:?}"
    );
    assert_eq!(page.current_url().await.unwrap(), "about:blank");
    // Requests the page makes itself: the undeclared host gets none of them
    // (nor the redirect's), its own host answers.
    page.navigate(&format!("{}/leaky", site.url)).await.unwrap();
    assert_eq!(page.wait_for("#done", 1, 5000).await.unwrap(), 1);
    let done = page
        .attributes("#done", &["textContent".into()])
        .await
        .unwrap();
    assert_eq!(done[0][0].as_deref(), Some("failed,200"), "{done:?}");
    assert_eq!(site.count("/own"), 1);
    assert_eq!(
        elsewhere.hits().len(),
        0,
        "the undeclared host was reached: {:?}",
        elsewhere.hits().iter().map(|h| &h.uri).collect::<Vec<_>>()
    );
    // HTTP 429: blocked, for the host's back-off.
    let err = page
        .navigate(&format!("{}/busy", site.url))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CrawlError::Blocked(m) if m.contains("429")),
        "{err:?}"
    );

    // Secrets: typed by the host, redacted from what is read back, refused
    // for a page of another host and for unknown names.
    page.navigate(&format!("{}/form", site.url)).await.unwrap();
    page.type_secret("#pw", "pw").await.unwrap();
    let echo = page.outer_html(Some("#echo")).await.unwrap();
    assert!(echo[0].contains("you typed [redacted]"), "{echo:?}");
    assert!(!echo[0].contains(secret_value));
    let err = page.type_secret("#pw", "other").await.unwrap_err();
    assert!(
        matches!(&err, CrawlError::Blocked(m) if m.contains("may not be typed")),
        "{err:?}"
    );
    let err = page.type_secret("#pw", "missing").await.unwrap_err();
    assert!(matches!(err, CrawlError::Blocked(_)), "{err:?}");
    let err = page.click("#no-such-button").await.unwrap_err();
    assert!(matches!(err, CrawlError::Parse(_)), "{err:?}");

    // One session at most: a second page waits, then gives up (retryable).
    let err = Page::open(
        &browser,
        "t",
        allow.clone(),
        &format!("{}/js", site.url),
        Some(Duration::from_millis(500)),
    )
    .await
    .err()
    .expect("a second session beyond max_sessions");
    assert!(
        matches!(&err, CrawlError::Retryable(m) if m.contains("max_sessions")),
        "{err:?}"
    );
    assert_eq!(browser.pool_counts(), (1, 0));
    drop(page);
    assert_eq!(browser.pool_counts(), (0, 1));
    // The idle session is reused: the next page opens without a new browser.
    let started = Instant::now();
    let mut again = Page::open(
        &browser,
        "t",
        allow.clone(),
        &format!("{}/js", site.url),
        None,
    )
    .await
    .unwrap();
    eprintln!("reused session page: {:?}", started.elapsed());
    assert_eq!(again.wait_for("li.item", 3, 5000).await.unwrap(), 3);
    assert_eq!(browser.pool_counts(), (1, 0));
    // chromedriver dies (SIGKILL): the next page starts a new one, and the
    // Chromium the dead one left behind is stopped with its process group.
    let old = browser
        .webdriver_pid()
        .await
        .expect("the host started chromedriver");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &old.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(again);
    let mut revived = Page::open(
        &browser,
        "t",
        allow.clone(),
        &format!("{}/js", site.url),
        None,
    )
    .await
    .unwrap();
    assert_eq!(revived.wait_for("li.item", 3, 5000).await.unwrap(), 3);
    let new = browser.webdriver_pid().await.unwrap();
    assert_ne!(new, old);
    drop(revived);
    // Live (not zombie) processes of a process group.
    let group_alive = |pgid: u32| {
        let out = std::process::Command::new("ps")
            .args(["-eo", "pgid=,stat="])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().any(|l| {
            let mut f = l.split_whitespace();
            f.next() == Some(&pgid.to_string()) && !f.next().unwrap_or("Z").starts_with('Z')
        })
    };
    assert!(group_alive(new), "the new chromedriver runs");
    drop(browser);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !group_alive(old),
        "processes of the dead chromedriver's group are left"
    );
    assert!(
        !group_alive(new),
        "processes of chromedriver's group outlive the host"
    );

    // The browser follows a redirect itself, through the egress proxy,
    // which refuses the undeclared target: it never saw a request.
    assert!(elsewhere.hits().is_empty());
}
