//! Plugins built against the frozen contracts keep working on a 0.3 host:
//! the `legacy-v01` guest (wit-bindgen straight on `wit/v0.1`) loads as
//! contract 0.1.0 and a run uses its 0.1 `fetch`, `state` and `log` imports
//! for real; the `legacy-v02` guest (on `wit/v0.2`) loads as 0.2.0 and uses
//! its 0.2 `fetch`, `state`, `log` and `browser` imports.

use crate::http_common;

use std::sync::Arc;

use crawlhost::contract::PlanInput;
use crawlhost::host::Host;
use crawlhost::run::run_plugin;
use http_common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_0_1_loads_and_runs() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/page" => text(200, "hello from 0.1"),
        _ => not_found(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n{FAST}\
             [plugins.legacy.config]\nurl = \"{}/page\"\n",
            site.url
        ),
    );
    let host = Host::open(settings).unwrap();
    let path = common_wasm("guest_legacy_v01");
    let plugin = Arc::new(host.engine.load(&path).await.unwrap());
    assert_eq!(plugin.contract.to_string(), "0.1.0");
    assert_eq!(plugin.manifest.name, "legacy");

    for round in 1..=2u64 {
        let summary = run_plugin(
            host.run_context(),
            plugin.clone(),
            PlanInput::Scheduled,
            &mut |_| {},
        )
        .await;
        assert!(summary.fatal.is_none(), "{:?}", summary.fatal);
        assert_eq!(summary.tasks_done, 1, "{:?}", summary.tasks_failed);
        let batch = host.bus.fetch("legacy", 0, 0, 10).await.unwrap();
        assert_eq!(batch.len() as u64, round);
        let value: serde_json::Value =
            serde_json::from_slice(&batch.last().unwrap().value).unwrap();
        assert_eq!(value["status"], 200);
        assert_eq!(value["body"], "hello from 0.1");
        assert_eq!(value["final_url"], format!("{}/page", site.url));
        // State written by the first run is read by the second.
        assert_eq!(value["runs"], round);
    }
    let pages = site.hits().iter().filter(|h| h.path == "/page").count();
    assert_eq!(pages, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_0_2_loads_and_runs() {
    let site = Site::start(|hit, _| match hit.path.as_str() {
        "/page" => text(200, "hello from 0.2"),
        _ => not_found(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(
        dir.path(),
        &format!(
            "[http]\nallow_private_addresses = true\n{FAST}\
             [plugins.legacy2.config]\nurl = \"{}/page\"\n",
            site.url
        ),
    );
    let host = Host::open(settings).unwrap();
    let plugin = Arc::new(
        host.engine
            .load(&common_wasm("guest_legacy_v02"))
            .await
            .unwrap(),
    );
    assert_eq!(plugin.contract.to_string(), "0.2.0");
    assert_eq!(plugin.manifest.name, "legacy2");

    for round in 1..=2u64 {
        let summary = run_plugin(
            host.run_context(),
            plugin.clone(),
            PlanInput::Scheduled,
            &mut |_| {},
        )
        .await;
        assert!(summary.fatal.is_none(), "{:?}", summary.fatal);
        assert_eq!(summary.tasks_done, 1, "{:?}", summary.tasks_failed);
        // The host measures a 0.2 plugin's coverage like any other.
        let topic = &summary.coverage.topics["legacy2"];
        assert_eq!(topic.records, 1);
        assert_eq!(topic.fields["browser"].filled, 1);
        assert!(topic.skipped.is_empty());
        let batch = host.bus.fetch("legacy2", 0, 0, 10).await.unwrap();
        assert_eq!(batch.len() as u64, round);
        let value: serde_json::Value =
            serde_json::from_slice(&batch.last().unwrap().value).unwrap();
        assert_eq!(value["status"], 200);
        assert_eq!(value["body"], "hello from 0.2");
        assert_eq!(value["runs"], round);
        // The 0.2 `browser` import reached the host, which has none here.
        assert_eq!(
            value["browser"],
            "other: the host has no browser configured (add a [browser] section)"
        );
    }
    assert_eq!(site.hits().iter().filter(|h| h.path == "/page").count(), 2);
}

/// A 0.3 plugin (the SDK's contract) loads next to the older ones in the
/// same host.
#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_builds_0_3_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(settings(dir.path(), "")).unwrap();
    let v01 = host
        .engine
        .load(&common_wasm("guest_legacy_v01"))
        .await
        .unwrap();
    let v02 = host
        .engine
        .load(&common_wasm("guest_legacy_v02"))
        .await
        .unwrap();
    let current = host.engine.load(&fetcher_wasm()).await.unwrap();
    assert_eq!(v01.contract.to_string(), "0.1.0");
    assert_eq!(v02.contract.to_string(), "0.2.0");
    assert_eq!(current.contract.to_string(), "0.3.0");
    assert_eq!(
        current.contract,
        crawlhost::engine::contract::CONTRACT_VERSION
    );
}

fn common_wasm(name: &str) -> std::path::PathBuf {
    let fetcher = fetcher_wasm();
    let path = fetcher.with_file_name(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the components with `make plugins guests` (make test does)",
        path.display()
    );
    path
}
