//! Plugin files: `crawlhost plugins list` (what the plugins directory holds
//! and what was refused), `plugin new` (a crate from the template),
//! `plugin inspect` (one file's manifest or why it is refused),
//! `plugin compile` (ahead-of-time compilation into the compile cache) and
//! `plugin test` (the conformance kit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Settings;
use crate::contract::PluginManifest;
use crate::engine::contract::{CONTRACT_VERSION, describe};
use crate::host::Host;
use crate::kit::{KitOptions, Traffic};
use crate::registry::Scan;
use crate::template::{Generated, Lang};

use super::{lines, open_host};

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Name, version, contract, hash and file of every plugin.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Generate a plugin project that builds and passes `plugin test` as
    /// generated: a Rust crate (Cargo.toml, src/lib.rs using the SDK,
    /// README), or with `--lang python` / `--lang js` a project for
    /// componentize-py / componentize-js carrying copies of its SDK and of
    /// the contract (wit/plugin.wit).
    New {
        /// Plugin name: lower case letters, digits and `-`.
        name: String,
        /// Directory to create (missing or empty); default `./NAME`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The plugin's language.
        #[arg(long, value_enum, default_value_t = Lang::Rust)]
        lang: Lang,
        /// The guest SDK of a crawlhost checkout (`plugins/sdk`,
        /// `plugins/sdk-python` or `plugins/sdk-js`): used by path from a
        /// Rust crate, copied into a Python or JavaScript project; default:
        /// found above the directory or the current directory, else the
        /// checkout this binary was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Check a `.wasm` file and print its manifest, or why it is refused
    /// (not a component, another world, an incompatible contract version).
    Inspect {
        /// The `.wasm` file.
        file: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compile plugins ahead of time into the compile cache
    /// (`host.cache_dir`), so a later load (`serve` picking up a dropped
    /// file, a run, the kit) skips compiling: a large component, such as a
    /// Python one, takes seconds to compile and milliseconds to load from
    /// the cache. Prints what each file took; exit status 1 when one is
    /// refused.
    Compile {
        /// `.wasm` files; default: every `*.wasm` in the plugins directory.
        files: Vec<PathBuf>,
    },
    /// Conformance kit: load the `.wasm`, run it twice on recorded or
    /// fixture traffic, print a pass/fail table; exit status 1 on failure.
    /// The configuration's `[[http.secrets]]` apply, as in a normal run.
    Test {
        /// The `.wasm` file.
        file: PathBuf,
        /// Answer every fetch from a recording (`crawlhost run --once --record DIR`).
        #[arg(long, conflicts_with = "fixture")]
        replay: Option<PathBuf>,
        /// Fetch from a local fixture site at this URL (loopback allowed;
        /// sets the plugin's `base_url` config key when it has one).
        #[arg(long)]
        fixture: Option<String>,
        /// A plugin config value, `KEY=VALUE` (repeatable). Named `--set`
        /// because `--config` is the host's configuration file.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        values: Vec<String>,
        /// Distinct tasks a run may create before it counts as endless.
        #[arg(long, default_value_t = crate::kit::DEFAULT_MAX_TASKS)]
        max_tasks: usize,
        /// For trigger-driven plugins: the JSON value of a trigger record to
        /// plan from.
        #[arg(long)]
        trigger: Option<String>,
    },
}

/// `crawlhost plugins ...`.
pub(super) async fn plugins(
    settings: Settings,
    command: PluginsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        PluginsCommand::List => list(settings).await,
    }
}

/// `crawlhost plugin ...`.
pub(super) async fn plugin(settings: Settings, command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Inspect { file, json } => inspect(settings, &file, json).await,
        PluginCommand::New {
            name,
            dir,
            lang,
            sdk,
        } => new(&name, dir, sdk.as_deref(), lang),
        PluginCommand::Compile { files } => compile(settings, files).await,
        PluginCommand::Test {
            file,
            replay,
            fixture,
            values,
            max_tasks,
            trigger,
        } => {
            let mut opts = KitOptions::new(file, traffic(replay, fixture));
            opts.config = parse_set(&values)?;
            opts.max_tasks = max_tasks;
            opts.trigger = trigger;
            opts.secrets = settings.http.secrets.clone();
            opts.browser = settings.browser.clone();
            opts.cache_dir = Some(settings.cache_dir.clone());
            test(&opts).await
        }
    }
}

/// `crawlhost plugins list`: exit status 1 when a file was refused.
async fn list(settings: Settings) -> anyhow::Result<ExitCode> {
    let host = open_host(settings)?;
    let scan = host.scan_plugins().await?;
    print!("{}", list_text(&scan, &host.settings.plugins_dir));
    Ok(if scan.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The plugins table, the refused files, or that there is nothing.
fn list_text(scan: &Scan, plugins_dir: &Path) -> String {
    let mut out = vec![format!(
        "{:<16} {:<10} {:<9} {:<14} FILE",
        "NAME", "VERSION", "CONTRACT", "HASH"
    )];
    for p in scan.plugins.values() {
        out.push(format!(
            "{:<16} {:<10} {:<9} {:<14} {}",
            p.manifest.name,
            p.manifest.version,
            p.contract.to_string(),
            &p.hash[..12],
            p.path.display()
        ));
    }
    for r in &scan.refused {
        out.push(format!("REFUSED {}: {}", r.path.display(), r.reason));
    }
    if scan.plugins.is_empty() && scan.refused.is_empty() {
        out.push(format!("(no .wasm files in {})", plugins_dir.display()));
    }
    lines(out)
}

/// `crawlhost plugin new NAME`.
fn new(
    name: &str,
    dir: Option<PathBuf>,
    sdk: Option<&Path>,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let made = crate::template::generate(name, &dir, sdk, lang)?;
    print!("{}", new_text(name, &made));
    Ok(ExitCode::SUCCESS)
}

/// What `plugin new` made, and the next steps.
fn new_text(name: &str, made: &Generated) -> String {
    let mut out = vec![format!("created plugin `{name}` in {}", made.dir.display())];
    out.extend(made.files.iter().map(|f| format!("  {f}")));
    let fixture = "--fixture http://127.0.0.1:8080/";
    let dir = made.dir.display();
    let layout = match made.lang {
        Lang::Rust => None,
        Lang::Python => Some(&crate::template::script::PYTHON),
        Lang::Js => Some(&crate::template::script::JS),
    };
    match layout {
        None => {
            out.push(format!(
                "SDK: {} (path = \"{}\")",
                made.sdk.display(),
                made.sdk_path
            ));
            let wasm = crate::template::wasm_file_name(name);
            out.push(format!(
                "next:\n  cd {dir}\n  cargo build --release --target wasm32-wasip2\n  crawlhost plugin test target/wasm32-wasip2/release/{wasm} {fixture}"
            ));
        }
        Some(layout) => {
            out.push(format!("SDK: copied from {}", made.sdk.display()));
            out.push(format!(
                "next:\n  cd {dir}\n  {}\n  crawlhost plugin test {} {fixture}",
                layout.build,
                layout.wasm_file(name)
            ));
        }
    }
    lines(out)
}

/// Where `plugin test` takes its traffic from: a recording, a fixture site,
/// or the live sites.
fn traffic(replay: Option<PathBuf>, fixture: Option<String>) -> Traffic {
    match (replay, fixture) {
        (Some(dir), _) => Traffic::Replay(dir),
        (None, Some(url)) => Traffic::Fixture(url),
        (None, None) => Traffic::Live,
    }
}

/// `--set KEY=VALUE` values as a config map (a later value of a key wins).
fn parse_set(values: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut config = BTreeMap::new();
    for kv in values {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--set {kv}: expected KEY=VALUE");
        };
        config.insert(k.to_string(), v.to_string());
    }
    Ok(config)
}

/// `crawlhost plugin test FILE`: exit status 1 when a check failed.
async fn test(opts: &KitOptions) -> anyhow::Result<ExitCode> {
    let report = crate::kit::test_plugin(opts).await?;
    print!("{}", report.table());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `crawlhost plugin compile [FILE...]`: exit status 1 when a file is
/// refused.
async fn compile(settings: Settings, files: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let files = if files.is_empty() {
        crate::registry::wasm_files(&settings.plugins_dir)?
    } else {
        files
    };
    if files.is_empty() {
        println!("(no .wasm files in {})", settings.plugins_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let engine = Host::compile_engine(&settings).context("cannot start the engine")?;
    let mut refused = false;
    for file in &files {
        let started = std::time::Instant::now();
        match engine.load(file).await {
            Ok(p) => print!(
                "{}",
                compile_text(
                    file,
                    &p.manifest.name,
                    &p.manifest.version,
                    p.from_cache,
                    started.elapsed()
                )
            ),
            Err(e) => {
                refused = true;
                eprintln!("refused: {}", crate::error_text::chain(&e));
            }
        }
    }
    println!("cache: {}", settings.cache_dir.display());
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line of `plugin compile`: whether the file was compiled or already in
/// the cache, and how long its load took (compile or cache read, the
/// contract check and the `manifest()` call).
fn compile_text(
    file: &Path,
    name: &str,
    version: &str,
    from_cache: bool,
    took: std::time::Duration,
) -> String {
    let what = if from_cache { "cached  " } else { "compiled" };
    lines(vec![format!(
        "{what} {name} {version} ({}) in {:.2} s",
        file.display(),
        took.as_secs_f64()
    )])
}

/// `crawlhost plugin inspect FILE`: exit status 1 when the file is refused.
async fn inspect(settings: Settings, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let engine = Host::inspect_engine(&settings).context("cannot start the engine")?;
    let plugin = match engine.load(file).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("refused: {}", crate::error_text::chain(&e));
            return Ok(ExitCode::from(1));
        }
    };
    if json {
        let value = inspect_json(&plugin.manifest, &plugin.contract, &plugin.hash);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!(
            "{}",
            inspect_text(&plugin.manifest, &describe(&plugin.contract), &plugin.hash)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `plugin inspect --json`: the manifest, the contract versions, the hash.
fn inspect_json(m: &PluginManifest, contract: &semver::Version, hash: &str) -> serde_json::Value {
    serde_json::json!({
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "schedule": m.schedule,
        "topics": m.topics,
        "hosts": m.hosts,
        "triggers": m.triggers,
        "config": m.config.iter().map(|k| serde_json::json!({
            "name": k.name,
            "description": k.description,
            "default": k.default_value,
            "required": k.required,
        })).collect::<Vec<_>>(),
        "contract": contract.to_string(),
        "host_contract": CONTRACT_VERSION.to_string(),
        "sha256": hash,
    })
}

/// `plugin inspect`: the manifest for reading; `contract` as described by
/// [`describe`].
fn inspect_text(m: &PluginManifest, contract: &str, hash: &str) -> String {
    let mut out = vec![
        format!("{} {} — {}", m.name, m.version, m.description),
        format!("  contract:  {contract}"),
        format!("  sha256:    {hash}"),
        format!("  schedule:  {}", m.schedule.as_deref().unwrap_or("(none)")),
        format!("  topics:    {}", m.topics.join(", ")),
        format!("  hosts:     {}", m.hosts.join(", ")),
    ];
    if !m.triggers.is_empty() {
        out.push(format!("  triggers:  {}", m.triggers.join(", ")));
    }
    if !m.config.is_empty() {
        out.push("  config:".into());
        for k in &m.config {
            out.push(format!(
                "    {}{} (default: {}) — {}",
                k.name,
                if k.required { " [required]" } else { "" },
                k.default_value.as_deref().unwrap_or("none"),
                k.description
            ));
        }
    }
    lines(out)
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::super::Command;
    use super::super::tests::parse;
    use super::*;
    use crate::contract::ConfigKey;

    fn plugin_command(args: &[&str]) -> Result<PluginCommand, clap::Error> {
        let mut all = vec!["plugin"];
        all.extend_from_slice(args);
        match parse(&all)?.command {
            Command::Plugin { command } => Ok(command),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn plugin_compile_takes_files_or_none() {
        let PluginCommand::Compile { files } = plugin_command(&["compile"]).unwrap() else {
            panic!("not compile");
        };
        assert!(files.is_empty());
        let PluginCommand::Compile { files } =
            plugin_command(&["compile", "a.wasm", "b.wasm"]).unwrap()
        else {
            panic!("not compile");
        };
        assert_eq!(files, [PathBuf::from("a.wasm"), PathBuf::from("b.wasm")]);
    }

    #[test]
    fn compile_text_says_compiled_or_cached_and_the_time() {
        let d = std::time::Duration::from_millis(1234);
        assert_eq!(
            compile_text(Path::new("p/x.wasm"), "x", "1.0.0", false, d),
            "compiled x 1.0.0 (p/x.wasm) in 1.23 s\n"
        );
        assert_eq!(
            compile_text(Path::new("p/x.wasm"), "x", "1.0.0", true, d),
            "cached   x 1.0.0 (p/x.wasm) in 1.23 s\n"
        );
    }

    #[test]
    fn plugin_test_defaults_to_live_traffic_and_the_kit_budget() {
        let PluginCommand::Test {
            file,
            replay,
            fixture,
            values,
            max_tasks,
            trigger,
        } = plugin_command(&["test", "p.wasm"]).unwrap()
        else {
            panic!("not test");
        };
        assert_eq!(file, PathBuf::from("p.wasm"));
        assert!(replay.is_none() && fixture.is_none() && trigger.is_none());
        assert!(values.is_empty());
        assert_eq!(max_tasks, crate::kit::DEFAULT_MAX_TASKS);
        assert_eq!(traffic(replay, fixture), Traffic::Live);
    }

    #[test]
    fn plugin_test_takes_a_recording_or_a_fixture_not_both() {
        let err = plugin_command(&["test", "p.wasm", "--replay", "d", "--fixture", "http://x/"])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let PluginCommand::Test {
            fixture, values, ..
        } = plugin_command(&[
            "test",
            "p.wasm",
            "--fixture",
            "http://127.0.0.1:8080/",
            "--set",
            "a=1",
            "--set",
            "b=x=y",
        ])
        .unwrap()
        else {
            panic!("not test");
        };
        assert_eq!(
            traffic(None, fixture),
            Traffic::Fixture("http://127.0.0.1:8080/".into())
        );
        let config = parse_set(&values).unwrap();
        assert_eq!(config["a"], "1");
        assert_eq!(config["b"], "x=y", "split at the first `=`");
        assert_eq!(
            traffic(Some("rec".into()), None),
            Traffic::Replay("rec".into())
        );
    }

    #[test]
    fn a_set_value_without_equals_is_refused() {
        let err = parse_set(&["base_url".into()]).unwrap_err();
        assert_eq!(err.to_string(), "--set base_url: expected KEY=VALUE");
        let last = parse_set(&["k=1".into(), "k=2".into()]).unwrap();
        assert_eq!(last["k"], "2");
    }

    #[test]
    fn new_and_inspect_need_their_argument() {
        assert_eq!(
            plugin_command(&["new"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            plugin_command(&["inspect"]).unwrap_err().kind(),
            ErrorKind::MissingRequiredArgument
        );
        let PluginCommand::New {
            name,
            dir,
            sdk,
            lang,
        } = plugin_command(&["new", "shop", "--dir", "x"]).unwrap()
        else {
            panic!("not new");
        };
        assert_eq!((name.as_str(), dir), ("shop", Some(PathBuf::from("x"))));
        assert!(sdk.is_none());
        assert_eq!(lang, Lang::Rust);
        let PluginCommand::New { lang, .. } =
            plugin_command(&["new", "shop", "--lang", "python"]).unwrap()
        else {
            panic!("not new");
        };
        assert_eq!(lang, Lang::Python);
        assert_eq!(
            plugin_command(&["new", "shop", "--lang", "cobol"])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidValue
        );
    }

    fn manifest() -> PluginManifest {
        PluginManifest {
            name: "shop".into(),
            version: "0.2.0".into(),
            description: "A shop".into(),
            schedule: None,
            topics: vec!["products".into(), "brands".into()],
            hosts: vec!["{base_url}".into()],
            config: vec![
                ConfigKey {
                    name: "base_url".into(),
                    description: "Where the shop is".into(),
                    default_value: None,
                    required: true,
                },
                ConfigKey {
                    name: "pages".into(),
                    description: "Pages per brand".into(),
                    default_value: Some("3".into()),
                    required: false,
                },
            ],
            triggers: vec![],
        }
    }

    #[test]
    fn inspect_prints_the_manifest_for_reading() {
        let text = inspect_text(&manifest(), "crawlhost:plugin@0.3.0", "ab12");
        assert_eq!(
            text,
            "shop 0.2.0 — A shop
  contract:  crawlhost:plugin@0.3.0
  sha256:    ab12
  schedule:  (none)
  topics:    products, brands
  hosts:     {base_url}
  config:
    base_url [required] (default: none) — Where the shop is
    pages (default: 3) — Pages per brand
"
        );
        let mut m = manifest();
        m.triggers = vec!["brands".into()];
        m.config.clear();
        m.schedule = Some("0 0 * * * *".into());
        let text = inspect_text(&m, "c", "h");
        assert!(text.contains("\n  schedule:  0 0 * * * *\n"), "{text}");
        assert!(text.ends_with("  triggers:  brands\n"), "{text}");
    }

    #[test]
    fn inspect_json_names_both_contracts() {
        let v = inspect_json(&manifest(), &semver::Version::new(0, 2, 0), "ab12");
        assert_eq!(v["contract"], "0.2.0");
        assert_eq!(v["host_contract"], CONTRACT_VERSION.to_string());
        assert_eq!(v["sha256"], "ab12");
        assert_eq!(v["config"][1]["default"], "3");
        assert_eq!(v["config"][0]["required"], true);
        assert_eq!(v["schedule"], serde_json::Value::Null);
    }

    #[test]
    fn an_empty_plugins_directory_says_so() {
        let text = list_text(&Scan::default(), Path::new("plugins"));
        assert_eq!(
            text,
            "NAME             VERSION    CONTRACT  HASH           FILE\n(no .wasm files in plugins)\n"
        );
        let scan = Scan {
            refused: vec![crate::registry::Refused {
                path: "plugins/bad.wasm".into(),
                reason: "not a component".into(),
            }],
            ..Scan::default()
        };
        let text = list_text(&scan, Path::new("plugins"));
        assert!(
            text.ends_with("\nREFUSED plugins/bad.wasm: not a component\n"),
            "{text}"
        );
        assert!(!text.contains("no .wasm files"), "{text}");
    }

    #[test]
    fn plugin_new_says_what_it_made_and_what_next() {
        let made = Generated {
            dir: "/w/shop".into(),
            sdk: "/c/plugins/sdk".into(),
            sdk_path: "../c/plugins/sdk".into(),
            files: vec!["Cargo.toml".into(), "src/lib.rs".into()],
            lockfile: false,
            lang: Lang::Rust,
        };
        let text = new_text("shop", &made);
        let wasm = crate::template::wasm_file_name("shop");
        assert_eq!(
            text,
            format!(
                "created plugin `shop` in /w/shop
  Cargo.toml
  src/lib.rs
SDK: /c/plugins/sdk (path = \"../c/plugins/sdk\")
next:
  cd /w/shop
  cargo build --release --target wasm32-wasip2
  crawlhost plugin test target/wasm32-wasip2/release/{wasm} --fixture http://127.0.0.1:8080/
"
            )
        );
        let made = Generated {
            dir: "/w/my-shop".into(),
            sdk: "/c/plugins/sdk-python".into(),
            sdk_path: "/c/plugins/sdk-python".into(),
            files: vec!["app.py".into()],
            lockfile: false,
            lang: Lang::Python,
        };
        assert_eq!(
            new_text("my-shop", &made),
            "created plugin `my-shop` in /w/my-shop
  app.py
SDK: copied from /c/plugins/sdk-python
next:
  cd /w/my-shop
  pip install componentize-py==0.25.1   # once
  ./build.sh
  crawlhost plugin test my_shop.wasm --fixture http://127.0.0.1:8080/
"
        );
    }
}
