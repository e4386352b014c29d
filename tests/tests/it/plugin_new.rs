//! `crawlhost plugin new` for real, in Rust, Python and JavaScript: generate
//! a project with the CLI, build it the way its README says (the Rust crate
//! with cargo for wasm32-wasip2, shared target directory, offline, the
//! checkout's Cargo.lock; the Python project with componentize-py; the
//! JavaScript one with jco), and run the conformance kit on the result with
//! the CLI against the Oliveyoung fixture site. Out of the box it must pass.

use std::path::{Path, PathBuf};
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

    kit_passes(&bin, &wasm, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kit, through the CLI, against a real fixture site: every check
/// passes. Run in `cwd` (the generated project), so the compile cache the
/// CLI's default configuration names (`.crawlhost/cache`) is written there.
async fn kit_passes(bin: &Path, wasm: &Path, cwd: &Path) {
    let (url, _server) = spawn(Site::generate(7)).await.unwrap();
    let start = format!("{url}/store/main/getBrandList.do");
    let (bin, wasm, cwd) = (bin.to_path_buf(), wasm.to_path_buf(), cwd.to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(bin)
            .current_dir(cwd)
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
}

/// `plugin new --lang python`: the project carries its SDK and the
/// contract, builds offline with componentize-py (installed by
/// `scripts/install/componentize-py.sh` into `.venv`), and passes the kit
/// as generated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_python_plugin_builds_and_passes_the_kit() {
    let bin = target_dir().join("debug/crawlhost");
    let componentize =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/componentize-py");
    assert!(
        componentize.exists(),
        "{} missing: bash scripts/install/componentize-py.sh (make test runs it)",
        componentize.display()
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("plugin-new-py-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, stdout, stderr) = run(Command::new(&bin)
        .args(["plugin", "new", "py-demo", "--lang", "python", "--dir"])
        .arg(&dir));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("./build.sh"), "{stdout}");
    for f in [
        "app.py",
        "build.sh",
        "README.md",
        "wit/plugin.wit",
        "crawlhost/__init__.py",
    ] {
        assert!(dir.join(f).is_file(), "{f} not generated");
    }
    // Built the way its README says, with the network closed to pip.
    let (code, stdout, stderr) = run(Command::new(dir.join("build.sh"))
        .env("COMPONENTIZE_PY", &componentize)
        .env("PIP_NO_INDEX", "1"));
    assert_eq!(code, 0, "build.sh failed:\n{stdout}\n{stderr}");
    let wasm = dir.join("py_demo.wasm");
    assert!(wasm.is_file(), "{} not built", wasm.display());
    kit_passes(&bin, &wasm, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `plugin new --lang js`: the project carries its SDK and the contract,
/// builds offline with the checkout's pinned jco and componentize-js
/// (installed by `scripts/install/jco.sh` into `tools/js`, named by
/// `CRAWLHOST_JCO` as the project's README says), and passes the kit as
/// generated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_js_plugin_builds_and_passes_the_kit() {
    let bin = target_dir().join("debug/crawlhost");
    let jco = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/js/node_modules/.bin/jco");
    assert!(
        jco.exists(),
        "{} missing: bash scripts/install/jco.sh (make test runs it)",
        jco.display()
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("plugin-new-js-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, stdout, stderr) = run(Command::new(&bin)
        .args(["plugin", "new", "js-demo", "--lang", "js", "--dir"])
        .arg(&dir));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("npm run build"), "{stdout}");
    for f in [
        "plugin.js",
        "package.json",
        "README.md",
        "wit/plugin.wit",
        "crawlhost/index.js",
        "crawlhost/index.d.ts",
    ] {
        assert!(dir.join(f).is_file(), "{f} not generated");
    }
    // Built the way its README says, with npm kept offline.
    let (code, stdout, stderr) = run(Command::new("npm")
        .current_dir(&dir)
        .args(["run", "build", "--offline"])
        .env("CRAWLHOST_JCO", &jco));
    assert_eq!(code, 0, "npm run build failed:\n{stdout}\n{stderr}");
    let wasm = dir.join("js_demo.wasm");
    assert!(wasm.is_file(), "{} not built", wasm.display());
    kit_passes(&bin, &wasm, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}
