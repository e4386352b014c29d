//! The HTTP capability through the real WebAssembly path: the `fetcher` test
//! guest asks the host for URLs and publishes what it got, so these tests see
//! exactly what a plugin sees: `blocked` errors for disallowed hosts, for
//! loopback without the operator's switch and for a redirect to the metadata
//! address; robots.txt obeyed (and the opt-out); EUC-KR decoded by the SDK;
//! secrets added but never visible; a recorded run replayed without network.

use crate::http_common;

use crawlhost::http::record::Mode;
use crawlhost::http::secrets::Secret;
use http_common::*;
use serde_json::json;

fn strict(dir: &std::path::Path, plugin: &str) -> crawlhost::config::Settings {
    settings(dir, &format!("{FAST}{plugin}"))
}

fn open(dir: &std::path::Path, plugin: &str) -> crawlhost::config::Settings {
    settings(
        dir,
        &format!("[http]\nallow_private_addresses = true\n{FAST}{plugin}"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn disallowed_hosts_loopback_and_metadata_redirects_are_blocked() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/ok" => text(200, "fine"),
        "/to-metadata" => with_headers(
            302,
            &[("location", "http://169.254.169.254/latest/meta-data/")],
            "",
        ),
        "/to-elsewhere" => with_headers(302, &[("location", "http://not-allowed.example/")], ""),
        _ => not_found(),
    })
    .await;
    let port = site.addr.port();

    // Without the switch: loopback by address and by name are refused, and
    // so is a host the manifest does not list; nothing reaches the site.
    let dir = tempfile::tempdir().unwrap();
    let requests = json!([
        format!("{}/ok", site.url),
        format!("http://localhost:{port}/ok"),
        "http://not-allowed.example/",
    ]);
    let localhost = format!("http://localhost:{port}");
    let out = run_fetcher(strict(
        dir.path(),
        &fetcher_config(&requests, &[&site.url, &localhost]),
    ))
    .await;
    assert_eq!(out.summary.tasks_done, 0, "{:?}", out.records);
    let (kind, msg) = out.failure(0);
    assert_eq!(kind, "blocked");
    assert!(
        msg.contains("127.0.0.1 is a loopback") && msg.contains("allow_private_addresses"),
        "{msg}"
    );
    let (kind, msg) = out.failure(1);
    assert_eq!(kind, "blocked");
    assert!(msg.contains("resolves only to loopback"), "{msg}");
    let (kind, msg) = out.failure(2);
    assert_eq!(kind, "blocked");
    assert!(msg.contains("not in the plugin's allow-list"), "{msg}");
    assert_eq!(site.hits().len(), 0, "no request reached the site");

    // With the switch (fixtures on loopback): the site answers, but a
    // redirect to the metadata endpoint is still refused, as is a redirect
    // off the allow-list, before any connection is made.
    let dir = tempfile::tempdir().unwrap();
    let requests = json!([
        format!("{}/ok", site.url),
        format!("{}/to-metadata", site.url),
        format!("{}/to-elsewhere", site.url),
    ]);
    let config = fetcher_config(&requests, &[&site.url, "http://169.254.169.254"]);
    let out = run_fetcher(open(dir.path(), &config)).await;
    assert_eq!(out.record(0)["status"], 200);
    assert_eq!(out.record(0)["text"], "fine");
    let (kind, msg) = out.failure(1);
    assert_eq!(kind, "blocked");
    assert!(
        msg.contains("169.254.169.254") && msg.contains("metadata"),
        "{msg}"
    );
    let (kind, msg) = out.failure(2);
    assert_eq!(kind, "blocked");
    assert!(
        msg.contains("not-allowed.example") && msg.contains("allow-list"),
        "{msg}"
    );
    assert_eq!(site.count("/to-metadata"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_disallowed_paths_are_not_fetched() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/robots.txt" => text(
            200,
            "User-agent: *\nDisallow: /private\n\nUser-agent: otherbot\nDisallow: /\n",
        ),
        p => text(200, format!("page {p}")),
    })
    .await;
    let requests = json!([
        format!("{}/public/1", site.url),
        format!("{}/private/2", site.url),
        format!("{}/public/3", site.url),
        format!("{}/private/4", site.url),
    ]);
    let config = fetcher_config(&requests, &[&site.url]);
    let dir = tempfile::tempdir().unwrap();
    let out = run_fetcher(open(dir.path(), &config)).await;
    assert_eq!(out.record(0)["text"], "page /public/1");
    assert_eq!(out.record(2)["text"], "page /public/3");
    for i in [1, 3] {
        let (kind, msg) = out.failure(i);
        assert_eq!(kind, "blocked");
        assert!(msg.contains("robots.txt"), "{msg}");
    }
    assert_eq!(
        site.count("/private"),
        0,
        "robots-disallowed paths never reached the site"
    );
    assert_eq!(
        site.count("/robots.txt"),
        1,
        "robots.txt fetched once and cached"
    );
    assert_eq!(out.summary.fetch.robots_denied, 2);

    // The per-plugin opt-out.
    let dir = tempfile::tempdir().unwrap();
    let out = run_fetcher(open(
        dir.path(),
        &format!("[http.plugins.fetcher]\nobey_robots = false\n{config}"),
    ))
    .await;
    assert!(
        out.summary.tasks_failed.is_empty(),
        "{:?}",
        out.summary.tasks_failed
    );
    assert_eq!(out.record(1)["text"], "page /private/2");
    assert_eq!(site.count("/private"), 2);
    assert_eq!(
        site.count("/robots.txt"),
        1,
        "not even fetched when not obeyed"
    );
}

fn euc_kr(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn euc_kr_pages_decode_in_the_sdk() {
    const KOREAN: &str = "올리브영 브랜드: 라운드랩, 닥터지";
    let header_page = euc_kr(&format!("<html><body><p>{KOREAN}</p></body></html>"));
    let meta_page = euc_kr(&format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=euc-kr\"></head><body>{KOREAN}</body></html>"
    ));
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/header" => with_headers(
            200,
            &[("content-type", "text/html; charset=EUC-KR")],
            header_page.clone(),
        ),
        "/meta" => with_headers(200, &[("content-type", "text/html")], meta_page.clone()),
        "/utf8" => with_headers(
            200,
            &[("content-type", "text/plain; charset=utf-8")],
            KOREAN,
        ),
        _ => not_found(),
    })
    .await;
    let requests = json!([
        format!("{}/header", site.url),
        format!("{}/meta", site.url),
        format!("{}/utf8", site.url),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = run_fetcher(open(dir.path(), &fetcher_config(&requests, &[&site.url]))).await;
    for (i, charset) in [(0, "euc-kr"), (1, "euc-kr"), (2, "utf-8")] {
        let r = out.record(i);
        assert_eq!(r["charset"], charset, "{r}");
        assert!(r["text"].as_str().unwrap().contains(KOREAN), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sent_to_their_host_only_and_never_reach_the_plugin() {
    const TOKEN: &str = "t0ken-Z9y8x7w6";
    let echo = |hit: &Hit| {
        let sent = hit.header("authorization").unwrap_or("none").to_string();
        with_headers(200, &[("x-echo", &sent)], format!("you sent: {sent}"))
    };
    let other = Site::start(move |hit, _| echo(hit)).await;
    let elsewhere = format!("{}/echo", other.url);
    let api = Site::start(move |hit, _| match hit.path.as_str() {
        "/go-elsewhere" => with_headers(302, &[("location", &elsewhere)], ""),
        "/leak-location" => {
            with_headers(302, &[("location", &format!("/echo?stolen={TOKEN}"))], "")
        }
        _ => echo(hit),
    })
    .await;
    let requests = json!([
        { "url": format!("{}/echo", api.url), "show_headers": ["x-echo"] },
        { "url": format!("{}/echo", api.url), "headers": { "Authorization": "Bearer guess" } },
        { "url": format!("{}/go-elsewhere", api.url) },
        { "url": format!("{}/leak-location", api.url) },
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(
        dir.path(),
        &fetcher_config(&requests, &[&api.url, &other.url]),
    );
    s.http.secrets.0.push(
        Secret::new(&[&api.host_key()], "authorization", "Bearer ", TOKEN)
            .unwrap()
            .allow_http(true),
    );
    let out = run_fetcher(s).await;

    // The API got the header...
    let api_hits = api.hits();
    let echoed: Vec<_> = api_hits.iter().filter(|h| h.path == "/echo").collect();
    assert_eq!(echoed.len(), 1);
    assert_eq!(
        echoed[0].header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
    // ...the plugin saw only the redaction, in the body and the headers...
    let r = out.record(0);
    assert_eq!(r["text"], "you sent: [redacted]");
    assert_eq!(r["headers"]["x-echo"], "[redacted]");
    // ...could not set the header itself...
    let (kind, msg) = out.failure(1);
    assert_eq!(kind, "blocked");
    assert!(msg.contains("authorization"), "{msg}");
    // ...and a redirect to another host does not carry it.
    assert_eq!(out.record(2)["text"], "you sent: none");
    assert!(
        other
            .hits()
            .iter()
            .all(|h| h.header("authorization").is_none())
    );
    // A server reflecting the token into a redirect URL is redacted too.
    let leaked = out.record(3);
    assert!(
        leaked["final_url"]
            .as_str()
            .unwrap()
            .contains("stolen=[redacted]"),
        "{leaked}"
    );
    // Nothing the plugin published or was told contains the token.
    let published = serde_json::to_string(&out.records).unwrap();
    assert!(
        !published.contains(TOKEN) && !published.contains("t0ken"),
        "{published}"
    );
    let errors = format!("{:?}", out.summary.tasks_failed);
    assert!(!errors.contains(TOKEN), "{errors}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_run_replays_with_the_network_off() {
    let korean = euc_kr("<p>올리브영</p>");
    let site = Site::start(move |hit, _| match hit.path.as_str() {
        "/page" => with_headers(
            200,
            &[("content-type", "text/html; charset=utf-8")],
            "<h1>hello</h1>",
        ),
        "/korean" => with_headers(
            200,
            &[("content-type", "text/html; charset=euc-kr")],
            korean.clone(),
        ),
        "/moved" => with_headers(301, &[("location", "/page")], ""),
        _ => not_found(),
    })
    .await;
    let requests = json!([
        format!("{}/page", site.url),
        format!("{}/korean", site.url),
        format!("{}/moved", site.url),
        format!("{}/missing", site.url),
        "http://not-allowed.example/",
    ]);
    let config = fetcher_config(&requests, &[&site.url]);
    let recording = tempfile::tempdir().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), &config);
    s.http.mode = Mode::Record(recording.path().to_path_buf());
    let recorded = run_fetcher(s).await;
    assert_eq!(recorded.records.len(), 4);
    assert_eq!(recorded.record(3)["status"], 404);
    assert_eq!(
        recorded.record(2)["final_url"],
        format!("{}/page", site.url)
    );
    assert!(recorded.summary.fetch.requests > 0);

    // Network off: the site is gone.
    let site_url = site.url.clone();
    drop(site);
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), &config);
    s.http.mode = Mode::Replay(recording.path().to_path_buf());
    let replayed = run_fetcher(s).await;
    assert_eq!(
        replayed.records, recorded.records,
        "the same records, byte for byte"
    );
    let failures = |o: &Outcome| {
        o.summary
            .tasks_failed
            .iter()
            .map(|f| (f.key.clone(), f.error_kind.clone(), f.error.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(failures(&replayed), failures(&recorded));
    assert_eq!(failures(&replayed).len(), 1);
    assert_eq!(
        replayed.summary.fetch.requests, 0,
        "nothing went to the network"
    );
    assert_eq!(replayed.summary.fetch.replayed, 5);

    // A request the recording does not have is a clear, non-retried error.
    let dir = tempfile::tempdir().unwrap();
    let more = json!([
        format!("{site_url}/page"),
        format!("{site_url}/never-recorded")
    ]);
    let mut s = open(dir.path(), &fetcher_config(&more, &[&site_url]));
    s.http.mode = Mode::Replay(recording.path().to_path_buf());
    let missed = run_fetcher(s).await;
    assert_eq!(missed.record(0)["text"], "<h1>hello</h1>");
    let (kind, msg) = missed.failure(1);
    assert_eq!(kind, "other");
    assert!(
        msg.contains("no recorded response for GET") && msg.contains("/never-recorded"),
        "{msg}"
    );
}

/// The CLI: `run --once --record DIR`, then `--replay DIR` with the site
/// gone gives the same records; the secret comes from the environment named
/// in `[[http.secrets]]` and never lands in a record.
#[tokio::test(flavor = "multi_thread")]
async fn cli_records_and_replays_with_a_secret_from_the_environment() {
    const TOKEN: &str = "env-t0ken-4242";
    let site = Site::start(|hit, _| {
        let sent = hit.header("x-api-key").unwrap_or("none").to_string();
        text(200, format!("{} saw key {sent}", hit.path))
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("plugins")).unwrap();
    std::fs::copy(fetcher_wasm(), work.path().join("plugins/fetcher.wasm")).unwrap();
    let requests = json!([format!("{}/a", site.url), format!("{}/b", site.url)]);
    let config = |data: &str| {
        format!(
            "[host]\nplugins_dir = \"{plugins}\"\ndata_dir = \"{data}\"\n\
             [http]\nallow_private_addresses = true\n\
             [[http.secrets]]\nhosts = [\"{host}\"]\nheader = \"x-api-key\"\nvalue_env = \"FETCHER_TEST_KEY\"\nallow_http = true\n\
             {FAST}{plugin}",
            plugins = work.path().join("plugins").display(),
            data = work.path().join(data).display(),
            host = site.host_key(),
            plugin = fetcher_config(&requests, &[&site.url]),
        )
    };
    std::fs::write(work.path().join("live.toml"), config("live")).unwrap();
    std::fs::write(work.path().join("replay.toml"), config("replay")).unwrap();
    let recording = work.path().join("recording");
    let crawlhost = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .args(args)
            .env("FETCHER_TEST_KEY", TOKEN)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cfg = |name: &str| work.path().join(name).display().to_string();
    let rec = recording.display().to_string();

    let (code, stdout, stderr) = tokio::task::block_in_place(|| {
        crawlhost(&[
            "--config",
            &cfg("live.toml"),
            "run",
            "--once",
            "--quiet",
            "--record",
            &rec,
        ])
    });
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let pages: Vec<_> = site
        .hits()
        .into_iter()
        .filter(|h| h.path != "/robots.txt")
        .collect();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|h| h.header("x-api-key") == Some(TOKEN)));
    drop(site);
    let (code, stdout, stderr) = tokio::task::block_in_place(|| {
        crawlhost(&[
            "--config",
            &cfg("replay.toml"),
            "run",
            "--once",
            "--quiet",
            "--replay",
            &rec,
        ])
    });
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 replayed"), "{stdout}");

    let values = |toml: &str| {
        let (code, stdout, stderr) =
            tokio::task::block_in_place(|| crawlhost(&["--config", &cfg(toml), "tail", "fetched"]));
        assert_eq!(code, Some(0), "{stderr}");
        let mut records = stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["key"].clone(), v["value"].clone())
            })
            .collect::<Vec<_>>();
        // The two pages are fetched by concurrent tasks: the bus order of
        // their records is not part of what a replay reproduces.
        records.sort_by_key(|(key, _)| key.to_string());
        records
    };
    let live = values("live.toml");
    assert_eq!(live.len(), 2);
    assert_eq!(live, values("replay.toml"));
    let text = format!("{live:?}");
    assert!(
        text.contains("saw key [redacted]") && !text.contains(TOKEN),
        "{text}"
    );

    let (code, _, stderr) = tokio::task::block_in_place(|| {
        crawlhost(&[
            "--config",
            &cfg("replay.toml"),
            "run",
            "--once",
            "--replay",
            "/nonexistent/rec",
        ])
    });
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no such directory"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_cookies_survive_to_the_next_run_when_asked() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/login" => with_headers(
            200,
            &[("set-cookie", "remember=me42; Max-Age=3600; Path=/")],
            "logged in",
        ),
        _ => text(200, hit.header("cookie").unwrap_or("no cookie").to_string()),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let login = fetcher_config(&json!([format!("{}/login", site.url)]), &[&site.url]);
    let check = fetcher_config(&json!([format!("{}/check", site.url)]), &[&site.url]);
    // Both runs share the data directory (and so the state store).
    for (persist, expected) in [("false", "no cookie"), ("true", "remember=me42")] {
        let cookies = format!("[http.cookies]\npersist = {persist}\n");
        run_fetcher(open(dir.path(), &format!("{cookies}{login}"))).await;
        let out = run_fetcher(open(dir.path(), &format!("{cookies}{check}"))).await;
        assert_eq!(out.record(0)["text"], expected, "persist = {persist}");
    }
}
