//! The per-host rate limit under a burst: 1,000 requests issued at once,
//! counted by the test server per time window. No busy test shares the CPU
//! while it runs (`crate::cpu`).

use crate::http_common;

use std::time::Duration;

use http_common::*;

/// Requests per second the host is configured for.
const RATE: f64 = 200.0;
const REQUESTS: usize = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn per_host_rate_limit_holds_within_ten_percent_under_a_burst() {
    let _cpu = crate::cpu::alone().await;
    let site = Site::start(|_, _| text(200, "ok")).await;
    let other = Site::start(|_, _| text(200, "ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n[http.robots]\nobey = false\n\
             [http.politeness]\nrequests_per_second = {RATE}\nburst = 1\nconcurrency = 64\njitter_ms = 0\n"
        ),
    );
    let client = crawlhost::http::HttpClient::new(settings.http).unwrap();
    let s = scope(&[site.host_key(), other.host_key()]);
    let burst = (0..REQUESTS).map(|i| client.fetch(&s, get(&format!("{}/r/{i}", site.url))));
    // A second host is limited separately: its requests do not wait behind
    // the first host's queue.
    let side = (0..20).map(|i| client.fetch(&s, get(&format!("{}/s/{i}", other.url))));
    let (results, side) = tokio::join!(
        futures::future::join_all(burst),
        futures::future::join_all(side)
    );
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status == 200))
    );
    assert!(
        side.iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status == 200))
    );

    // Count at the server: arrivals in every one-second window starting at
    // an arrival.
    let mut times: Vec<_> = site.hits().iter().map(|h| h.at).collect();
    assert_eq!(times.len(), REQUESTS);
    times.sort();
    let window = Duration::from_secs(1);
    let mut busiest = 0;
    let mut end = 0;
    for start in 0..times.len() {
        while end < times.len() && times[end] < times[start] + window {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    let span = (*times.last().unwrap() - times[0]).as_secs_f64();
    let mean = (REQUESTS - 1) as f64 / span;
    eprintln!("busiest 1 s window: {busiest} requests; mean rate {mean:.1}/s over {span:.2} s");
    let limit = RATE * 1.1;
    assert!(
        busiest as f64 <= limit,
        "{busiest} requests in one second, limit {RATE}/s"
    );
    assert!(
        mean <= limit,
        "mean rate {mean:.1}/s over the limit of {RATE}/s"
    );
    // The limiter paces; it does not starve: the burst drains at close to
    // the configured rate.
    assert!(
        mean >= RATE * 0.9,
        "mean rate {mean:.1}/s is far below {RATE}/s"
    );
    // The other host's requests finished while the burst was still queued.
    let other_done = other.hits().iter().map(|h| h.at).max().unwrap();
    assert!(other_done < *times.last().unwrap());
}
