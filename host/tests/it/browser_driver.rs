//! The host's browser driver against a real headless Chromium (chromedriver
//! started by the host on a free loopback port): pages rendered by
//! JavaScript are read after they render; navigation to an undeclared host,
//! a redirect off the allow-list and an HTTP 429 are refused with `blocked`,
//! and requests the page makes itself (an image, XHR) to an undeclared host
//! never reach it (the egress proxy) while its own host's still work;
//! a secret is typed only where it may go and never read back; the session
//! cap makes a second page wait and the idle session is reused.
//!
//! Issue 15's adversarial tests: a session handed to another plugin keeps
//! nothing of the first (cookies, storage, IndexedDB, caches); a typed
//! secret can be neither cut and read back nor probed with selectors; WebRTC
//! sends no UDP around the egress proxy.
//!
//! Needs `chromium` and `chromedriver` (scripts/install/chromium.sh, run by
//! `make test`); without them the test fails saying so.

use crate::http_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlhost::browser::config::BrowserConfig;
use crawlhost::browser::{Browser, Page};
use crawlhost::contract::CrawlError;
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
    let _cpu = crate::cpu::busy().await;
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
         [[secrets]]\nname = \"pw\"\nhosts = [\"{host}\"]\nvalue_env = \"PW\"\nallow_http = true\n\
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

/// A browser with one session at most and secret `pw` (value `secret`) for
/// the pages of `site`.
fn one_session_browser(site: &Site, secret: &str) -> Arc<Browser> {
    let (_, chromedriver) = crawlhost_tests::instagram::chromium_tools();
    let text = format!(
        "chromedriver = {:?}\nmax_sessions = 1\npage_deadline_secs = 15\n\
         [[secrets]]\nname = \"pw\"\nhosts = [\"{}\"]\nvalue_env = \"PW\"\nallow_http = true\n",
        chromedriver.display(),
        site.addr,
    );
    let config: BrowserConfig = toml::from_str(&text).unwrap();
    let secret = secret.to_string();
    let settings = config.check(&|_| Some(secret.clone())).unwrap();
    let policy = AddressPolicy {
        allow_private: true,
        allowed_ranges: vec![],
    };
    Browser::new(settings, policy)
}

fn allow_site(site: &Site) -> Arc<AllowList> {
    Arc::new(AllowList::from_manifest(&[site.addr.to_string()], &Default::default()).unwrap())
}

/// Stores everything a page can keep for its origin: an HTTP cookie, a
/// script cookie, localStorage, sessionStorage, IndexedDB, the Cache API;
/// `#done` when it has.
const KEEP: &str = r#"<!doctype html><html><body><script>
document.cookie = 'js=from-a; path=/; max-age=3600';
localStorage.setItem('ls', 'from-a');
sessionStorage.setItem('ss', 'from-a');
const open = indexedDB.open('db-from-a', 1);
open.onupgradeneeded = () => open.result.createObjectStore('s');
open.onsuccess = async () => {
  open.result.close();
  const c = await caches.open('cache-from-a');
  await c.put('/cached', new Response('from-a'));
  const d = document.createElement('p'); d.id = 'done'; document.body.appendChild(d);
};
</script><script src="/cached.js"></script></body></html>"#;

/// Shows what the origin holds in `#state` (once `#state` exists).
const SHOW: &str = r#"<!doctype html><html><body><script src="/cached.js"></script><script>
(async () => {
  const dbs = (await indexedDB.databases()).map(d => d.name);
  const cached = await caches.keys();
  const s = document.createElement('p'); s.id = 'state';
  s.textContent = JSON.stringify({cookie: document.cookie, ls: localStorage.getItem('ls'),
    ss: sessionStorage.getItem('ss'), dbs, cached});
  document.body.appendChild(s);
})();
</script></body></html>"#;

async fn origin_state(page: &mut Page) -> serde_json::Value {
    assert_eq!(page.wait_for("#state", 1, 5000).await.unwrap(), 1);
    let rows = page
        .attributes("#state", &["textContent".into()])
        .await
        .unwrap();
    serde_json::from_str(rows[0][0].as_deref().unwrap()).unwrap()
}

/// Issue 15, item 1: with one session, plugin B gets the session plugin A
/// used, and sees nothing A left: no cookie (sent or readable), storage,
/// IndexedDB, Cache API entry or HTTP-cached file. A's own next task still
/// has its cookies (a login survives between tasks of one plugin).
#[tokio::test(flavor = "multi_thread")]
async fn a_session_handed_to_another_plugin_keeps_nothing_of_the_first() {
    let _cpu = crate::cpu::busy().await;
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/keep" => with_headers(
            200,
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("set-cookie", "http=from-a; Path=/; Max-Age=3600; HttpOnly"),
            ],
            KEEP.to_string(),
        ),
        "/show" => html(SHOW),
        "/cached.js" => with_headers(
            200,
            &[
                ("content-type", "text/javascript"),
                ("cache-control", "public, max-age=3600"),
            ],
            "window.cachedLoaded = true;".to_string(),
        ),
        _ => not_found(),
    })
    .await;
    let browser = one_session_browser(&site, "unused-secret");
    let allow = allow_site(&site);
    let url = |p: &str| format!("{}{p}", site.url);

    let mut a = Page::open(&browser, "a", allow.clone(), &url("/keep"), None)
        .await
        .unwrap();
    assert_eq!(a.wait_for("#done", 1, 5000).await.unwrap(), 1);
    drop(a);
    // Plugin A again: its login survives.
    let mut a = Page::open(&browser, "a", allow.clone(), &url("/show"), None)
        .await
        .unwrap();
    let state = origin_state(&mut a).await;
    assert_eq!(state["ls"], "from-a", "{state}");
    assert!(
        state["cookie"].as_str().unwrap().contains("js=from-a"),
        "{state}"
    );
    let show = site
        .hits()
        .into_iter()
        .rfind(|h| h.path == "/show")
        .unwrap();
    assert!(
        show.header("cookie").unwrap_or("").contains("http=from-a"),
        "A's own cookie was not sent to A's next page"
    );
    drop(a);
    let cached_fetches = site.count("/cached.js");

    // Plugin B, same single session slot, same origin: nothing of A's.
    let mut b = Page::open(&browser, "b", allow.clone(), &url("/show"), None)
        .await
        .unwrap();
    let state = origin_state(&mut b).await;
    assert_eq!(
        state,
        serde_json::json!({"cookie": "", "ls": null, "ss": null, "dbs": [], "cached": []}),
        "plugin b sees what plugin a stored"
    );
    let show = site
        .hits()
        .into_iter()
        .rfind(|h| h.path == "/show")
        .unwrap();
    assert_eq!(
        show.header("cookie"),
        None,
        "plugin a's cookies were sent with plugin b's page"
    );
    assert_eq!(
        site.count("/cached.js"),
        cached_fetches + 1,
        "plugin b's page was served from plugin a's HTTP cache"
    );
    assert_eq!(browser.pool_counts(), (1, 0));
}

/// A login form whose page mirrors every field into its `value` attribute
/// (as React does), echoes the last field typed into `#echo` (text and
/// `data-v`), and has an on-page backspace button (`#bs`) for `#pw`.
const LOGIN: &str = r#"<!doctype html><html><body>
<form onsubmit="return false"><input id="user" name="user"><input id="pw" type="password">
<input id="short" maxlength="6"><button id="go" type="submit">go</button>
<button id="bs" type="button">&#9003;</button></form>
<div id="echo"></div>
<script>
const pw = document.getElementById('pw'), echo = document.getElementById('echo');
for (const f of document.querySelectorAll('input')) f.addEventListener('input', e => {
  e.target.setAttribute('value', e.target.value);
  echo.textContent = 'you typed ' + e.target.value;
  echo.dataset.v = e.target.value;
});
document.getElementById('bs').addEventListener('click', () => {
  pw.value = pw.value.slice(0, -1);
  pw.dispatchEvent(new Event('input'));
});
</script></body></html>"#;

/// Issue 15, item 2: once the host typed a secret into a page, the plugin
/// can neither change the field and read what is left (Backspace into it,
/// Tab into it from another field, the page's own backspace button, a
/// `maxlength` that cuts it), nor use selectors as an oracle on it
/// (`[value^=..]`, `[value*=..]` inside `:has()`, another attribute the page
/// copies it to, a whole-value guess), with any operation that takes a
/// selector. A new document lifts the restriction; a login still works.
#[tokio::test(flavor = "multi_thread")]
async fn a_typed_secret_cannot_be_read_or_probed_piece_by_piece() {
    let _cpu = crate::cpu::busy().await;
    const SECRET: &str = "Qz7!xK9#mW2v";
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/login" => html(LOGIN),
        "/plain" => html("<input id=q value=x>"),
        _ => not_found(),
    })
    .await;
    let browser = one_session_browser(&site, SECRET);
    let url = |p: &str| format!("{}{p}", site.url);
    let mut page = Page::open(&browser, "t", allow_site(&site), &url("/login"), None)
        .await
        .unwrap();
    // Any four characters of the secret in a row.
    let leaks = |text: &str| {
        (0..=SECRET.len() - 4)
            .map(|i| &SECRET[i..i + 4])
            .find(|w| text.contains(w))
            .map(str::to_string)
    };
    let blocked = |r: &Result<(), CrawlError>| matches!(r, Err(CrawlError::Blocked(_)));

    // Changing the field, then reading the page.
    let attacks: [(&str, &str, &str); 4] = [
        ("type", "#pw", "\u{E003}"),
        ("type", "#user", "\u{E004}\u{E003}"),
        ("click", "#bs", ""),
        ("secret", "#short", ""),
    ];
    for (op, selector, keys) in attacks {
        page.navigate(&url("/login")).await.unwrap();
        if op != "secret" {
            page.type_secret("#pw", "pw").await.unwrap();
        }
        let r = match op {
            "type" => page.type_text(selector, keys).await,
            "click" => page.click(selector).await,
            _ => page.type_secret(selector, "pw").await,
        };
        let mut read = format!("{r:?}");
        if let Ok(all) = page.outer_html(None).await {
            read.push_str(&all.concat());
        }
        if let Ok(rows) = page
            .attributes("input, #echo", &["value".into(), "textContent".into()])
            .await
        {
            read.push_str(&format!("{rows:?}"));
        }
        assert_eq!(
            leaks(&read),
            None,
            "{op} {selector} {keys:?} leaked part of the secret: {read}"
        );
        assert!(blocked(&r), "{op} {selector} {keys:?}: {r:?}");
        if matches!(op, "click" | "secret") {
            // The page changed the field: blanked, with whatever it showed.
            assert_eq!(page.current_url().await.unwrap(), "about:blank");
        }
    }

    // Selectors as an oracle: a right and a wrong guess must look the same.
    page.navigate(&url("/login")).await.unwrap();
    page.type_text("#user", "alice").await.unwrap();
    page.type_secret("#pw", "pw").await.unwrap();
    // A fragment is the same document: the secret is still in it.
    page.navigate(&url("/login#again")).await.unwrap();
    let probes = [
        ("#pw[value^='Q']", "#pw[value^='x']"),
        ("body:has([value*='7!x'])", "body:has([value*='7!y'])"),
        ("[data-v$='W2v']", "[data-v$='W2w']"),
        ("#pw[value='Qz7!xK9#mW2v']", "#pw[value='password1']"),
        ("#pw[VALUE|='Qz7!xK9#mW2v' i]", "#pw[VALUE|='password1' i]"),
        ("#pw[value^/**/='Q']", "#pw[value^/**/='x']"),
        ("#pw[v\\61lue^='Q']", "#pw[v\\61lue^='x']"),
        ("#pw:not([value~='Qz7!xK9#mW2v'])", "#pw:not([value~='x'])"),
    ];
    for (right, wrong) in probes {
        for sel in [right, wrong] {
            let wait = page.wait_for(sel, 1, 0).await.map(|_| ());
            let click = page.click(sel).await;
            let attrs = page.attributes(sel, &["id".into()]).await.map(|_| ());
            let html = page.outer_html(Some(sel)).await.map(|_| ());
            let typed = page.type_text(sel, "a").await;
            for r in [wait, click, attrs, html, typed] {
                assert!(blocked(&r), "`{sel}` was answered: {r:?}");
                assert_eq!(leaks(&format!("{r:?}")), None, "{r:?}");
            }
        }
    }
    assert_eq!(page.current_url().await.unwrap(), url("/login#again"));
    // What a login needs still works on that page: selectors on attributes
    // that do not hold the secret, typing text and Enter elsewhere.
    assert_eq!(page.wait_for("button[type=submit]", 1, 0).await.unwrap(), 1);
    assert_eq!(page.wait_for("input[name^=us]", 1, 0).await.unwrap(), 1);
    page.type_text("#user", "2\u{E007}").await.unwrap();
    page.click("#go").await.unwrap();

    // A new document holds no secret: any selector again.
    page.navigate(&url("/plain")).await.unwrap();
    assert_eq!(page.wait_for("[value^='x']", 1, 0).await.unwrap(), 1);
    page.type_text("#q", "\u{E003}\u{E004}").await.unwrap();
}

/// A page that asks for a STUN server on 127.0.0.1:PORT and gets a remote
/// ICE candidate there, so a browser that sends UDP past the proxy sends
/// STUN binding requests to PORT. `#done` lists the local candidates.
const RTC: &str = r#"<!doctype html><html><body><script>
const done = t => { const d = document.createElement('p'); d.id = 'done'; d.textContent = t; document.body.appendChild(d); };
(async () => {
  const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:127.0.0.1:PORT'}]});
  const cands = [];
  pc.onicecandidate = e => { if (e.candidate) cands.push(e.candidate.candidate); };
  pc.createDataChannel('x');
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const peer = new RTCPeerConnection();
  await peer.setRemoteDescription(offer);
  await peer.setLocalDescription(await peer.createAnswer());
  await pc.setRemoteDescription(peer.localDescription);
  await pc.addIceCandidate({candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 PORT typ host', sdpMid: '0'});
  setTimeout(() => done('candidates: ' + cands.join(' | ')), 2000);
})().catch(e => done('error: ' + e));
</script></body></html>"#;

/// Issue 15, item 13: WebRTC sends nothing over UDP around the egress proxy
/// (neither to a STUN server nor to a remote candidate).
#[tokio::test(flavor = "multi_thread")]
async fn pages_send_no_webrtc_udp_around_the_egress_proxy() {
    let _cpu = crate::cpu::busy().await;
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = udp.local_addr().unwrap().port();
    let rtc = RTC.replace("PORT", &port.to_string());
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/rtc" => html(&rtc),
        _ => not_found(),
    })
    .await;
    let browser = one_session_browser(&site, "unused-secret");
    let mut page = Page::open(
        &browser,
        "t",
        allow_site(&site),
        &format!("{}/rtc", site.url),
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.wait_for("#done", 1, 10_000).await.unwrap(), 1);
    let done = page
        .attributes("#done", &["textContent".into()])
        .await
        .unwrap();
    eprintln!("{:?}", done[0][0]);
    let mut buf = [0u8; 2048];
    let got = tokio::time::timeout(Duration::from_millis(500), udp.recv_from(&mut buf)).await;
    if let Ok(Ok((n, from))) = got {
        panic!("the page sent {n} bytes of UDP from {from} to 127.0.0.1:{port}");
    }
}
