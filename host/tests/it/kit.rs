//! The conformance kit fails each bad test plugin with a message naming the
//! cause, and the `plugin test` command prints the table and exits non-zero.
//! (The kit passing a good plugin against its fixture site is
//! `tests/tests/it/kit_plugins.rs`.)

use crate::common;

use crawlhost::kit::{KitOptions, Report, Status, Traffic, test_plugin};

async fn kit(name: &str, max_tasks: usize) -> Report {
    let mut opts = KitOptions::new(common::wasm(name), Traffic::Live);
    opts.max_tasks = max_tasks;
    test_plugin(&opts).await.unwrap()
}

fn failed<'a>(report: &'a Report, check: &str) -> &'a str {
    let c = report
        .check(check)
        .unwrap_or_else(|| panic!("no `{check}` check in\n{}", report.table()));
    assert_eq!(
        c.status,
        Status::Fail,
        "`{check}` did not fail:\n{}",
        report.table()
    );
    assert!(!report.passed());
    &c.detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_host_fails_naming_the_host() {
    let report = kit("bad-undeclared-host", 100).await;
    let detail = failed(&report, "hosts");
    assert!(detail.contains("undeclared.example"), "{detail}");
    // Only that: the manifest and the records are fine.
    assert_eq!(report.check("manifest").unwrap().status, Status::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_follow_ups_fail_termination() {
    let report = kit("bad-endless", 200).await;
    let detail = failed(&report, "terminates");
    assert!(
        detail.contains("did not terminate") && detail.contains("200"),
        "{detail}"
    );
    assert_eq!(report.check("hosts").unwrap().status, Status::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_values_fail_the_records_check() {
    let report = kit("bad-nonjson", 100).await;
    let detail = failed(&report, "records");
    assert!(
        detail.contains("not valid JSON") && detail.contains("`bad`"),
        "{detail}"
    );
    assert_eq!(report.check("terminates").unwrap().status, Status::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_manifest_fails_naming_each_problem() {
    let report = kit("bad-manifest", 100).await;
    let detail = failed(&report, "manifest");
    assert!(detail.contains("name `Bad Plugin!`"), "{detail}");
    assert!(detail.contains("version `one` is not semver"), "{detail}");
    assert!(detail.contains("topics"), "{detail}");
    assert_eq!(report.check("records").unwrap().status, Status::Skipped);
}

/// The non-JSON guest breaks one rule only, and only that check fails:
/// the kit does not blame unrelated checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_broken_rule_fails() {
    let report = kit("bad-nonjson", 100).await;
    let failing: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name)
        .collect();
    assert_eq!(failing, ["records"], "{}", report.table());
}

/// Through the CLI: the table, exit status 1, and the plugin compiled into
/// the configuration's compile cache (default `.crawlhost/cache` under the
/// working directory), where a second `plugin test` finds it.
#[test]
fn the_command_prints_the_table_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .current_dir(dir.path())
        .args(["plugin", "test", "--max-tasks", "100"])
        .arg(common::wasm("bad-undeclared-host"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("hosts") && stdout.contains("FAIL"),
        "{stdout}"
    );
    assert!(stdout.contains("undeclared.example"), "{stdout}");
    assert!(stdout.contains("result: FAIL"), "{stdout}");
    let cached: Vec<_> = std::fs::read_dir(dir.path().join(".crawlhost/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with(".cwasm"), "{cached:?}");
}

#[test]
fn a_missing_replay_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .current_dir(dir.path())
        .args(["plugin", "test", "--replay", "/nonexistent/recording"])
        .arg(common::wasm("bad-nonjson"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("/nonexistent/recording"), "{stderr}");
}
