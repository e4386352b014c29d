//! The loader refuses files that are not crawlers of a compatible contract,
//! each with a message naming the cause, and loads a good one.

use crate::common;

use crawlhost::engine::LoadError;
use crawlhost::engine::contract::ContractError;
use crawlhost::error_text::chain;
use crawlhost::host::Host;

async fn load_err(host: &Host, path: &std::path::Path) -> LoadError {
    match host.engine.load(path).await {
        Ok(p) => panic!("{} loaded as {}", path.display(), p.manifest.name),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_non_components_other_worlds_and_other_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), "")).unwrap();

    let core = dir.path().join("core.wasm");
    // The smallest valid core module: magic + version 1.
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let err = load_err(&host, &core).await;
    assert!(
        matches!(
            err,
            LoadError::Contract {
                source: ContractError::CoreModule,
                ..
            }
        ),
        "{err}"
    );
    let msg = chain(&err);
    assert!(msg.contains("not a component"), "{msg}");

    let text = dir.path().join("text.wasm");
    std::fs::write(&text, b"not wasm at all").unwrap();
    let err = load_err(&host, &text).await;
    let msg = chain(&err);
    assert!(msg.contains("not a WebAssembly file"), "{msg}");

    let err = load_err(&host, &common::wasm("wrong-world")).await;
    let msg = chain(&err);
    assert!(
        matches!(
            err,
            LoadError::Contract {
                source: ContractError::WrongWorld { .. },
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("another world") && msg.contains("wasi:cli/run"),
        "{msg}"
    );

    let err = load_err(&host, &common::wasm("guest_future_contract")).await;
    let msg = chain(&err);
    assert!(
        matches!(
            err,
            LoadError::Contract {
                source: ContractError::IncompatibleContract { .. },
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("crawlhost:plugin@1.0.0")
            && msg.contains(
                "crawlhost:plugin@0.1.0, crawlhost:plugin@0.2.0 and crawlhost:plugin@0.3.0"
            ),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loads_the_oliveyoung_plugin_and_caches_the_compilation() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(common::settings(dir.path(), "")).unwrap();
    let path = common::wasm("oliveyoung");
    let first = host.engine.load(&path).await.unwrap();
    assert_eq!(first.manifest.name, "oliveyoung");
    assert_eq!(first.contract.to_string(), "0.3.0");
    assert!(!first.from_cache);
    assert!(first.manifest.topics.contains(&"oliveyoung".to_string()));
    let second = host.engine.load(&path).await.unwrap();
    assert!(
        second.from_cache,
        "the second load should come from the on-disk cache"
    );
    assert_eq!(first.hash, second.hash);
}

/// `crawlhost plugin compile`: the first time compiles into the compile
/// cache, the second loads from it; a refused file exits 1 and the others
/// are still compiled.
#[test]
fn plugin_compile_cli() {
    let dir = tempfile::tempdir().unwrap();
    let compile = |files: &[&std::path::Path]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .current_dir(dir.path())
            .args(["plugin", "compile"])
            .args(files)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let good = common::wasm("oliveyoung");
    let (code, stdout, stderr) = compile(&[&good]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("compiled oliveyoung 0.1.0 ("),
        "{stdout}"
    );
    assert!(stdout.contains("cache: .crawlhost/cache"), "{stdout}");
    let (code, stdout, _) = compile(&[&good]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.starts_with("cached   oliveyoung 0.1.0 ("),
        "{stdout}"
    );
    let future = common::wasm("guest_future_contract");
    let (code, stdout, stderr) = compile(&[&future, &good]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("crawlhost:plugin@1.0.0"), "{stderr}");
    assert!(stdout.starts_with("cached   oliveyoung"), "{stdout}");
    // Two entries, no temporary files: the refused component was compiled
    // before its exports could be checked against the contract.
    let entries: Vec<String> = std::fs::read_dir(dir.path().join(".crawlhost/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.ends_with(".cwasm")), "{entries:?}");
}

/// A reader that goes away (`crawlhost ... | head -1`) ends the command
/// quietly with status 141, as shell tools do, not with a panic.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
        .current_dir(dir.path())
        .args(["plugin", "compile"])
        .arg(common::wasm("oliveyoung"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the command prints (it compiles first).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The CLI form: `crawlhost plugin inspect` prints the manifest or the
/// refusal, exits 0 or 1, and writes nothing in the working directory.
#[test]
fn plugin_inspect_cli() {
    let dir = tempfile::tempdir().unwrap();
    let inspect = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_crawlhost"))
            .current_dir(dir.path())
            .args(["plugin", "inspect"])
            .arg(file)
            .output()
            .unwrap()
    };
    let good = inspect(&common::wasm("oliveyoung"));
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(stdout.contains("oliveyoung 0.1.0"), "{stdout}");
    assert!(stdout.contains("crawlhost:plugin@0.3.0"), "{stdout}");
    assert!(stdout.contains("base_url"), "{stdout}");

    // A frozen older contract loads, and says so.
    let older = inspect(&common::wasm("guest_legacy_v02"));
    let stdout = String::from_utf8_lossy(&older.stdout);
    assert!(older.status.success(), "{stdout}");
    assert!(
        stdout.contains("crawlhost:plugin@0.2.0 (older than this host's 0.3.0, still loaded"),
        "{stdout}"
    );

    let future = inspect(&common::wasm("guest_future_contract"));
    assert_eq!(future.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&future.stderr);
    assert!(stderr.contains("crawlhost:plugin@1.0.0"), "{stderr}");

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let refused = inspect(&core);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a component"));

    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        written,
        vec![std::ffi::OsString::from("core.wasm")],
        "inspect wrote files"
    );
}
