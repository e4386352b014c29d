//! `crawlhost plugin new` for real: generate a crate with the CLI, build it
//! for wasm32-wasip2 with cargo (shared target directory, offline, the
//! checkout's Cargo.lock), and run the conformance kit on the result with
//! the CLI against the Oliveyoung fixture site. Out of the box it must pass.

use std::path::PathBuf;
use std::process::Command;

use crawlhost_tests::oliveyoung::{Site, spawn};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_plugin_builds_and_passes_the_kit() {
    let bin = target_dir().join("debug/crawlhost");
    assert!(
        bin.exists(),
        "{} missing: cargo build -p crawlhost",
        bin.display()
    );
    // Inside the checkout (target/tmp), so the SDK is found without --sdk
    // and the checkout's rust-toolchain.toml applies.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("plugin-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let name = "template-demo";

    let (code, stdout, stderr) = run(Command::new(&bin)
        .args(["plugin", "new", name, "--dir"])
        .arg(&dir));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("created plugin `template-demo`"),
        "{stdout}"
    );
    for f in ["Cargo.toml", "src/lib.rs", "README.md", "Cargo.lock"] {
        assert!(dir.join(f).is_file(), "{f} not generated");
    }
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains("crawlhost-sdk = { path = \"../../../plugins/sdk\" }"),
        "{cargo_toml}"
    );
    // Generating over it again is refused.
    let (code, _, stderr) = run(Command::new(&bin)
        .args(["plugin", "new", name, "--dir"])
        .arg(&dir));
    assert_eq!(code, 1);
    assert!(stderr.contains("not empty"), "{stderr}");
    let (code, _, stderr) = run(Command::new(&bin).args(["plugin", "new", "Bad_Name"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("is not valid"), "{stderr}");

    // Build it the way its README says, sharing the workspace's target dir.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let (code, stdout, stderr) = run(Command::new(cargo)
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .args([
            "build",
            "-j2",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--offline",
        ]));
    assert_eq!(code, 0, "cargo build failed:\n{stdout}\n{stderr}");
    let wasm = target_dir().join("wasm32-wasip2/release/template_demo.wasm");
    assert!(wasm.is_file(), "{} not built", wasm.display());

    // The kit, through the CLI, against a real fixture site.
    let (url, _server) = spawn(Site::generate(7)).await.unwrap();
    let start = format!("{url}/store/main/getBrandList.do");
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(bin)
            .args(["plugin", "test"])
            .arg(&wasm)
            .args(["--fixture", &start]))
    })
    .await
    .unwrap();
    let (code, stdout, stderr) = out;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("result: PASS"), "{stdout}");
    for check in [
        "load",
        "manifest",
        "plan",
        "terminates",
        "hosts",
        "records",
        "deterministic",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(check) && l.contains("PASS")),
            "{check} did not pass:\n{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
