//! The HTTP client against local sites, without a plugin in between:
//! Retry-After and rate-limit resets waited out, 5xx retried then the host's
//! circuit opened while another host carries on, bodies cut at the limit
//! (plain and gzip), cookies kept per run, per-plugin proxies.

use crate::http_common;

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use crawlhost::contract::CrawlError;
use crawlhost::http::{FetchError, HttpClient};
use http_common::*;

fn client(dir: &std::path::Path, extra: &str) -> HttpClient {
    let settings = settings(dir, extra);
    HttpClient::new(settings.http).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_429_is_waited_out_then_succeeds() {
    let site = Site::start(|hit, n| match (hit.path.as_str(), n) {
        ("/seconds", 0) => with_headers(429, &[("retry-after", "1")], "slow down"),
        ("/date", 0) => {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            with_headers(503, &[("retry-after", &at)], "maintenance")
        }
        ("/reset", 0) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            with_headers(
                429,
                &[("x-rate-limit-reset", &(now + 1).to_string())],
                "window",
            )
        }
        _ => text(200, "ok"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!("[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n{FAST}"),
    );
    let s = scope(&[site.host_key()]);
    let (a, b, r) = tokio::join!(
        c.fetch(&s, get(&format!("{}/seconds", site.url))),
        c.fetch(&s, get(&format!("{}/date", site.url))),
        c.fetch(&s, get(&format!("{}/reset", site.url))),
    );
    for resp in [a, b, r] {
        let resp = resp.unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"ok"[..]));
    }
    let hits = site.hits();
    let on = |p: &str| {
        hits.iter()
            .filter(|h| h.path == p)
            .cloned()
            .collect::<Vec<_>>()
    };
    // Each path was asked twice, and the retry came no earlier than asked.
    let secs = on("/seconds");
    assert_eq!(secs.len(), 2);
    assert!(
        secs[1].at - secs[0].at >= Duration::from_millis(1000),
        "{:?}",
        secs[1].at - secs[0].at
    );
    let date = on("/date");
    assert_eq!(date.len(), 2);
    // An HTTP-date has whole seconds: at least one full second later.
    assert!(date[1].at - date[0].at >= Duration::from_millis(1000));
    let reset = on("/reset");
    assert_eq!(reset.len(), 2);
    let reset_at = reset[0].wall.duration_since(UNIX_EPOCH).unwrap().as_secs() + 1;
    assert!(reset[1].wall.duration_since(UNIX_EPOCH).unwrap().as_secs() >= reset_at);
    let totals = s.stats.totals();
    assert_eq!(totals.retries, 3);
    assert_eq!(totals.status_2xx, 3);
    assert_eq!(totals.status_4xx + totals.status_5xx, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_times_out_at_the_first_byte_and_is_retried() {
    let site = Site::start(|_, _| {
        // Headers only after 30 s: far past the 1 s first-byte timeout.
        let body = Body::from_stream(futures::stream::once(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"late"))
        }));
        text(200, body)
    })
    .await;
    let hang = Site::start(|_, _| delayed(1500, text(200, "too late"))).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\nfirst_byte_timeout_secs = 1\nrequest_timeout_secs = 2\n\
             [http.robots]\nobey = false\n{FAST}max_attempts = 2\n"
        ),
    );
    let s = scope(&[site.host_key(), hang.host_key()]);
    // Headers arrive, the body does not: the total timeout cuts it.
    let slow_body = c.fetch(&s, get(&format!("{}/body", site.url)));
    // No headers within the first-byte timeout: retried, then an error.
    let no_headers = c.fetch(&s, get(&format!("{}/headers", hang.url)));
    let (slow_body, no_headers) = tokio::join!(slow_body, no_headers);
    let err = slow_body.unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    let err = no_headers.unwrap_err();
    assert!(
        matches!(err, FetchError::Timeout { phase, .. } if phase.contains("first_byte")),
        "{err}"
    );
    assert!(matches!(c.crawl_error(&err), CrawlError::Retryable(_)));
    assert_eq!(hang.count("/headers"), 2, "one retry after the timeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_maximum_is_handed_to_the_plugin() {
    let site =
        Site::start(|_, _| with_headers(429, &[("retry-after", "3600")], "come back later")).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n{FAST}max_retry_after_secs = 5\n"
        ),
    );
    let s = scope(&[site.host_key()]);
    let resp = c.fetch(&s, get(&format!("{}/x", site.url))).await.unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(
        site.count("/x"),
        1,
        "no retry when the server asks for an hour"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_host_is_retried_then_circuit_broken_while_another_continues() {
    let bad = Site::start(|_, _| text(500, "boom")).await;
    let good = Site::start(|_, _| text(200, "fine")).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n\
             [http.circuit]\nfailure_threshold = 4\nopen_secs = 60\n{FAST}max_attempts = 3\n"
        ),
    );
    let s = scope(&[bad.host_key(), good.host_key()]);
    // First fetch: three attempts, then the 500 goes to the plugin.
    let first = c.fetch(&s, get(&format!("{}/a", bad.url))).await.unwrap();
    assert_eq!(first.status, 500);
    assert_eq!(bad.count("/"), 3);
    // Second: one more failure reaches the threshold; the retry finds the
    // circuit open.
    let second = c
        .fetch(&s, get(&format!("{}/b", bad.url)))
        .await
        .unwrap_err();
    assert!(matches!(second, FetchError::CircuitOpen { .. }), "{second}");
    assert!(
        matches!(c.crawl_error(&second), CrawlError::Retryable(m) if m.contains("circuit open"))
    );
    assert!(c.circuit_open(&bad.host_key()));
    // From now on the bad host is not contacted; the good one still is.
    let mut good_fetches = Vec::new();
    for i in 0..5 {
        good_fetches.push(c.fetch(&s, get(&format!("{}/ok/{i}", good.url))));
    }
    let bad_fetches: Vec<_> = (0..5)
        .map(|i| c.fetch(&s, get(&format!("{}/c/{i}", bad.url))))
        .collect();
    let (goods, bads) = tokio::join!(
        futures::future::join_all(good_fetches),
        futures::future::join_all(bad_fetches)
    );
    for g in goods {
        assert_eq!(g.unwrap().status, 200);
    }
    for b in bads {
        assert!(matches!(b, Err(FetchError::CircuitOpen { .. })));
    }
    assert_eq!(
        bad.count("/"),
        4,
        "the open circuit kept requests off the failing host"
    );
    assert_eq!(good.count("/ok/"), 5);
    let totals = s.stats.totals();
    assert_eq!(totals.retries, 3);
    assert_eq!(totals.by_host[&bad.host_key()].circuit_rejections, 6);
    assert_eq!(totals.by_host[&bad.host_key()].status_5xx, 4);
    assert_eq!(totals.by_host[&good.host_key()].status_2xx, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_retry_budget_caps_retries_to_a_failing_host() {
    let bad = Site::start(|_, _| text(503, "down")).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n\
             [http.circuit]\nfailure_threshold = 0\n{FAST}max_attempts = 5\nbudget_min = 2\nbudget_ratio = 0.0\n"
        ),
    );
    let s = scope(&[bad.host_key()]);
    for i in 0..4 {
        let r = c.fetch(&s, get(&format!("{}/{i}", bad.url))).await.unwrap();
        assert_eq!(r.status, 503);
    }
    // 4 first attempts + the budget's 2 retries, not 4 x 5 attempts.
    assert_eq!(bad.count("/"), 6);
    assert_eq!(s.stats.totals().retries, 2);
}

/// 50 MB, produced lazily in 64 KiB chunks; counts what was produced.
fn fifty_megabytes(produced: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Body {
    let chunk = vec![b'x'; 64 * 1024];
    let stream = futures::stream::iter(0..800).map(move |_| {
        produced.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk.clone()))
    });
    Body::from_stream(stream)
}

use futures::StreamExt;

#[tokio::test(flavor = "multi_thread")]
async fn a_50_mb_response_is_cut_at_the_limit() {
    let produced = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let p = produced.clone();
    // 50 MiB of zeros gzip-compressed is about 50 KiB on the wire.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..50 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let mut small = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    small.write_all(b"hello, decompressed").unwrap();
    let small = small.finish().unwrap();
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/big" => text(200, fifty_megabytes(p.clone())),
        "/bomb" => with_headers(200, &[("content-encoding", "gzip")], bomb.clone()),
        "/small" => with_headers(200, &[("content-encoding", "gzip")], small.clone()),
        _ => not_found(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let limit = 1024 * 1024;
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\nmax_response_bytes = {limit}\n[http.robots]\nobey = false\n{FAST}"
        ),
    );
    let s = scope(&[site.host_key()]);
    let err = c
        .fetch(&s, get(&format!("{}/big", site.url)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: l, .. } if l == limit),
        "{err}"
    );
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert!(matches!(c.crawl_error(&err), CrawlError::Other(_)));
    assert_eq!(s.stats.totals().bytes, limit, "exactly the limit was kept");
    // The client stopped reading: the server could not push all 50 MB.
    let sent = produced.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 25 * 1024 * 1024, "server produced {sent} bytes");

    let err = c
        .fetch(&s, get(&format!("{}/bomb", site.url)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { .. }),
        "decompressed size counts: {err}"
    );
    let ok = c
        .fetch(&s, get(&format!("{}/small", site.url)))
        .await
        .unwrap();
    assert_eq!(ok.body, b"hello, decompressed");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_kept_per_run() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/login" => with_headers(
            302,
            &[("set-cookie", "sid=s3ss10n; Path=/"), ("location", "/home")],
            "",
        ),
        _ => text(200, hit.header("cookie").unwrap_or("no cookie").to_string()),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!("[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n{FAST}"),
    );
    let run1 = scope(&[site.host_key()]);
    // The cookie set on a redirect is sent on the next hop already.
    let home = c
        .fetch(&run1, get(&format!("{}/login", site.url)))
        .await
        .unwrap();
    assert_eq!(home.body, b"sid=s3ss10n");
    let later = c
        .fetch(&run1, get(&format!("{}/page", site.url)))
        .await
        .unwrap();
    assert_eq!(later.body, b"sid=s3ss10n");
    // Another run has its own jar.
    let run2 = scope(&[site.host_key()]);
    let fresh = c
        .fetch(&run2, get(&format!("{}/page", site.url)))
        .await
        .unwrap();
    assert_eq!(fresh.body, b"no cookie");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugins_proxies_are_used_in_turn() {
    let proxy_a = Site::start(|hit, _| text(200, format!("via a: {}", hit.uri))).await;
    let proxy_b = Site::start(|hit, _| text(200, format!("via b: {}", hit.uri))).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n\
             [http.plugins.t]\nproxies = [\"{}\", \"{}\"]\n{FAST}",
            proxy_a.url, proxy_b.url
        ),
    );
    // Nothing listens on the target; only the proxies can answer.
    let s = scope(&["127.0.0.1:9".to_string()]);
    let mut bodies = Vec::new();
    for i in 0..4 {
        let r = c
            .fetch(&s, get(&format!("http://127.0.0.1:9/p{i}")))
            .await
            .unwrap();
        bodies.push(String::from_utf8(r.body).unwrap());
    }
    assert_eq!(
        bodies,
        vec![
            "via a: http://127.0.0.1:9/p0",
            "via b: http://127.0.0.1:9/p1",
            "via a: http://127.0.0.1:9/p2",
            "via b: http://127.0.0.1:9/p3"
        ]
    );
    // Behind a proxy the address policy is still applied, by name lookup.
    let dir = tempfile::tempdir().unwrap();
    let strict = client(
        dir.path(),
        &format!(
            "[http.robots]\nobey = false\n[http.plugins.t]\nproxies = [\"{}\"]\n{FAST}",
            proxy_a.url
        ),
    );
    let s = scope(&["localhost:9".to_string()]);
    let err = strict
        .fetch(&s, get("http://localhost:9/x"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Restricted { .. }), "{err}");
    assert!(proxy_a.hits().iter().all(|h| !h.uri.contains("localhost")));
}

/// Issue 15 item 5: an operator secret goes over TLS only. A plain-HTTP
/// server on a secret's host and port gets no header unless the secret says
/// `allow_http` (the loopback fixtures of the other tests do).
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_is_not_sent_over_plain_http_unless_allowed() {
    const TOKEN: &str = "cleartext-t0ken-77";
    let site = Site::start(|hit, _| {
        text(
            200,
            format!("saw {}", hit.header("authorization").unwrap_or("none")),
        )
    })
    .await;
    let extra =
        format!("[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n{FAST}");
    let with_secret = |secret: crawlhost::http::secrets::Secret| {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path(), &extra);
        settings.http.secrets.0.push(secret);
        HttpClient::new(settings.http).unwrap()
    };
    let secret = || {
        crawlhost::http::secrets::Secret::new(
            &[&site.host_key()],
            "authorization",
            "Bearer ",
            TOKEN,
        )
        .unwrap()
    };
    let s = scope(&[site.host_key()]);

    // Default: https only, so the plain-HTTP request goes without it.
    let c = with_secret(secret());
    let r = c
        .fetch(&s, get(&format!("{}/plain", site.url)))
        .await
        .unwrap();
    assert_eq!(String::from_utf8(r.body).unwrap(), "saw none");
    assert!(
        site.hits()
            .iter()
            .all(|h| h.header("authorization").is_none()),
        "the token went over plain HTTP"
    );
    // The plugin may not set the header there either (it could guess).
    let guess = get_with(
        &format!("{}/guess", site.url),
        &[("Authorization", "Bearer guess")],
    );
    let err = c.fetch(&s, guess).await.unwrap_err();
    assert!(matches!(err, FetchError::SecretHeader { .. }), "{err}");

    // Allowed by the operator: sent (and redacted from what comes back).
    let c = with_secret(secret().allow_http(true));
    let r = c
        .fetch(&s, get(&format!("{}/allowed", site.url)))
        .await
        .unwrap();
    assert_eq!(String::from_utf8(r.body).unwrap(), "saw [redacted]");
    let hits = site.hits();
    let allowed = hits.iter().find(|h| h.path == "/allowed").unwrap();
    assert_eq!(
        allowed.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}
