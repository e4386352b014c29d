//! The conformance kit over every plugin shipped in `plugins/`, each against
//! its fixture site: they must all pass. A plugin without a fixture here
//! fails the test (add its fixture before shipping it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crawlhost::http::secrets::{Secret, Secrets};
use crawlhost::kit::{KitOptions, Status, Traffic, test_plugin};
use crawlhost_tests::oliveyoung::{Site, spawn};
use crawlhost_tests::twitter::{self, Api, ApiConfig, Corpus};

fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

/// Kit options for a shipped plugin against its fixture, started here.
/// Returns the server guard with the options.
async fn fixture_for(name: &str, wasm: PathBuf) -> (KitOptions, Box<dyn std::any::Any + Send>) {
    match name {
        "oliveyoung" => {
            let (url, server) = spawn(Site::generate(7)).await.unwrap();
            (
                KitOptions::new(wasm, Traffic::Fixture(url)),
                Box::new(server),
            )
        }
        "twitter" => {
            // The X API fixture over the same brands, the token injected as
            // `[[http.secrets]]` would, one brand record as the trigger
            // (one whose search needs several pages of 10).
            let api = Arc::new(Api::new(
                Corpus::from_site(&Site::generate(7)),
                ApiConfig {
                    token: "kit-token-1234".into(),
                    rate_limit: None,
                },
            ));
            let (url, server) = twitter::spawn(api.clone()).await.unwrap();
            let site = Site::generate(7);
            let truth = site.ground_truth("http://fixture.test", 0);
            let tweets = api.with_corpus(|c| c.ground_truth(c.brands(), &BTreeMap::new(), 10));
            let (code, _) = tweets
                .pages_by_brand
                .iter()
                .find(|(code, pages)| **pages > 1 && truth.brands.contains_key(*code))
                .unwrap();
            let mut opts = KitOptions::new(wasm, Traffic::Fixture(url.clone()));
            opts.trigger = Some(truth.brands[code].to_string());
            opts.config.insert("max_results".into(), "10".into());
            opts.secrets = Secrets(vec![
                Secret::new(
                    &[url.trim_start_matches("http://")],
                    "authorization",
                    "Bearer ",
                    "kit-token-1234",
                )
                .unwrap()
                // The fixture is plain HTTP on loopback.
                .allow_http(true),
            ]);
            (opts, Box::new(server))
        }
        "instagram" => {
            // The Instagram fixture over the same brands, the browser with
            // the login as `[browser]` and `[[browser.secrets]]` would give
            // it, the brand with the most posts as the trigger.
            use crawlhost::browser::config::{BrowserConfig, BrowserSecretConfig};
            use crawlhost_tests::instagram::{self, Fixture, tag_of};
            let site = Site::generate(7);
            let brands = twitter::BrandSeed::from_site(&site);
            let corpus = instagram::Corpus::generate(7, &brands);
            let busiest = brands
                .iter()
                .max_by_key(|b| corpus.tag(&tag_of(&b.name_ko)).len())
                .unwrap()
                .clone();
            let fixture = Arc::new(Fixture::new(corpus, "kit.user", "kit-password"));
            let (url, server) = instagram::spawn(fixture).await.unwrap();
            let (chromium, chromedriver) = instagram::chromium_tools();
            let host = url.trim_start_matches("http://").to_string();
            let secret = |name: &str, env: &str| BrowserSecretConfig {
                name: name.into(),
                hosts: vec![host.clone()],
                value_env: env.into(),
                // The fixture is plain HTTP on loopback.
                allow_http: true,
            };
            let browser = BrowserConfig {
                chromedriver,
                chromium: Some(chromium),
                max_sessions: 1,
                secrets: vec![
                    secret("instagram_username", "U"),
                    secret("instagram_password", "P"),
                ],
                ..BrowserConfig::default()
            };
            let mut opts = KitOptions::new(wasm, Traffic::Fixture(url));
            opts.browser = Some(
                browser
                    .check(&|n| Some(if n == "U" { "kit.user" } else { "kit-password" }.into()))
                    .unwrap(),
            );
            opts.trigger = Some(
                serde_json::json!({"brand": busiest.name_ko, "brand_code": busiest.code})
                    .to_string(),
            );
            (opts, Box::new(server))
        }
        other => panic!(
            "plugins/{other}.wasm has no fixture in tests/tests/it/kit_plugins.rs: add one so the kit can check it"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_plugin_passes_the_kit() {
    let mut wasm: Vec<PathBuf> = std::fs::read_dir(plugins_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    wasm.sort();
    assert!(
        !wasm.is_empty(),
        "no plugins in {}: build them with `make plugins` (make test does)",
        plugins_dir().display()
    );
    for path in wasm {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (opts, _server) = fixture_for(&name, path).await;
        let report = test_plugin(&opts).await.unwrap();
        println!("{}", report.table());
        assert!(report.passed(), "{name} fails the kit:\n{}", report.table());
        for check in [
            "manifest",
            "plan",
            "terminates",
            "hosts",
            "limits",
            "records",
            "deterministic",
        ] {
            assert_eq!(
                report.check(check).map(|c| &c.status),
                Some(&Status::Pass),
                "{name}: {check}\n{}",
                report.table()
            );
        }
    }
}
