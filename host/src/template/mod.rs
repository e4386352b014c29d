//! `crawlhost plugin new NAME`: generate a plugin crate that builds for
//! `wasm32-wasip2` and passes `crawlhost plugin test` as generated.
//!
//! This module owns the plugin template (the files under
//! `host/templates/plugin/`, compiled into the binary), rendering it for a
//! name ([`render`], pure), and where the generated crate finds the guest
//! SDK. The SDK is not published on crates.io, so the crate uses it by path:
//! `--sdk PATH` names it; without it the generator looks for
//! `plugins/sdk` of a crawlhost checkout above the target directory and
//! above the current directory, then in the checkout this binary was built
//! from. The path is written relative to the crate when both share a root,
//! so a checkout can move. When the SDK comes from a checkout with a
//! `Cargo.lock`, that lock is copied too, so the new crate builds with the
//! exact dependency versions the host was tested with (and offline when
//! they are in the local cargo cache).
//!
//! The generated crate is its own cargo workspace (an empty `[workspace]`
//! table), so it builds wherever it is put, including inside this
//! repository's directory.
//!
//! `--lang python` and `--lang js` write a project for componentize-py or
//! componentize-js instead ([`script`]): it carries copies of its SDK and of
//! the contract rather than paths to them.

pub mod script;

use std::path::{Component, Path, PathBuf};

/// Template files: (path in the crate, contents).
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/plugin/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/plugin/lib.rs.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../templates/plugin/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/plugin/gitignore.tmpl"),
    ),
];

/// The package name of the SDK, checked in `--sdk` directories.
const SDK_PACKAGE: &str = "crawlhost-sdk";

/// The language of a generated plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate built with cargo for `wasm32-wasip2`.
    Rust,
    /// A Python project built with componentize-py.
    Python,
    /// A JavaScript project built with componentize-js (jco).
    Js,
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        })
    }
}

impl Lang {
    /// Where the language's SDK sits in a crawlhost checkout.
    fn sdk_in_checkout(self) -> &'static str {
        match self {
            Lang::Rust => "plugins/sdk",
            Lang::Python => script::PYTHON.sdk_in_checkout,
            Lang::Js => script::JS.sdk_in_checkout,
        }
    }

    /// Whether `dir` holds this language's SDK.
    fn is_sdk(self, dir: &Path) -> bool {
        match self {
            Lang::Rust => is_sdk(dir),
            Lang::Python => script::PYTHON.is_sdk(dir),
            Lang::Js => script::JS.is_sdk(dir),
        }
    }
}

/// Why a plugin crate could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "plugin name `{0}` is not valid: use lower case letters, digits and `-`, starting with a letter (at most 64 characters)"
    )]
    BadName(String),
    #[error("{0} already exists and is not empty; choose another --dir")]
    NotEmpty(PathBuf),
    #[error("{0} is not the crawlhost {1} SDK (`{sdk}` of a crawlhost checkout)", sdk = .1.sdk_in_checkout())]
    NotSdk(PathBuf, Lang),
    #[error("cannot find the crawlhost guest SDK ({0} of a crawlhost checkout); pass --sdk PATH")]
    NoSdk(&'static str),
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TemplateError + '_ {
    move |source| TemplateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A plugin name as manifests require it (lower case letters, digits and
/// `-`), also a valid cargo package name.
pub fn check_name(name: &str) -> Result<(), TemplateError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::BadName(name.to_string()))
    }
}

/// The file cargo names the component after: the package name with `-` as
/// `_` (`my-shop` -> `my_shop.wasm`).
pub fn wasm_file_name(name: &str) -> String {
    format!("{}.wasm", name.replace('-', "_"))
}

/// The template's files for plugin `name`, with the SDK at `sdk_path` (as
/// written into `Cargo.toml`). Pure.
pub fn render(name: &str, sdk_path: &str) -> Vec<(&'static str, String)> {
    let crate_name = name.replace('-', "_");
    FILES
        .iter()
        .map(|(path, text)| {
            let text = text
                .replace("{{name}}", name)
                .replace("{{crate_name}}", &crate_name)
                .replace("{{sdk_path}}", &sdk_path.replace('\\', "/"));
            (*path, text)
        })
        .collect()
}

/// `to` relative to the directory `from` (both absolute and normalised),
/// or `None` when they share nothing below the root.
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    // Sharing only `/` is no shared root: an absolute path reads better.
    let rooted = matches!(
        from.first(),
        Some(Component::RootDir | Component::Prefix(_))
    );
    if !rooted || common < 2 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

/// Whether `dir` holds the guest SDK.
fn is_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| {
        text.lines()
            .any(|l| l.replace(' ', "") == format!("name=\"{SDK_PACKAGE}\""))
    })
}

/// The SDK directory: `explicit` when given (checked), else `plugins/sdk`
/// in an ancestor of one of `search_from`, else the checkout this binary was
/// built from.
pub fn find_sdk(
    lang: Lang,
    explicit: Option<&Path>,
    search_from: &[&Path],
) -> Result<PathBuf, TemplateError> {
    if let Some(dir) = explicit {
        if lang.is_sdk(dir) {
            return dir.canonicalize().map_err(io(dir));
        }
        return Err(TemplateError::NotSdk(dir.to_path_buf(), lang));
    }
    for start in search_from {
        for dir in start.ancestors() {
            let candidate = dir.join(lang.sdk_in_checkout());
            if lang.is_sdk(&candidate) {
                return candidate.canonicalize().map_err(io(&candidate));
            }
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(lang.sdk_in_checkout());
    if lang.is_sdk(&built_from) {
        return built_from.canonicalize().map_err(io(&built_from));
    }
    Err(TemplateError::NoSdk(lang.sdk_in_checkout()))
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The crate directory (absolute).
    pub dir: PathBuf,
    /// The SDK used (absolute).
    pub sdk: PathBuf,
    /// The SDK path as written into `Cargo.toml`.
    pub sdk_path: String,
    /// Files written, relative to `dir`.
    pub files: Vec<String>,
    /// Whether a checkout's `Cargo.lock` was copied.
    pub lockfile: bool,
    /// The plugin's language.
    pub lang: Lang,
}

/// Generate plugin `name` in `lang` into `dir` (created; must be missing or
/// empty), with the SDK from [`find_sdk`].
pub fn generate(
    name: &str,
    dir: &Path,
    sdk: Option<&Path>,
    lang: Lang,
) -> Result<Generated, TemplateError> {
    check_name(name)?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(TemplateError::NotEmpty(dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| dir.clone());
    let sdk = find_sdk(lang, sdk, &[&dir, &cwd])?;
    let layout = match lang {
        Lang::Rust => None,
        Lang::Python => Some(&script::PYTHON),
        Lang::Js => Some(&script::JS),
    };
    if let Some(layout) = layout {
        let files = layout.write(name, &dir, &sdk)?;
        return Ok(Generated {
            sdk_path: sdk.to_string_lossy().into_owned(),
            dir,
            sdk,
            files,
            lockfile: false,
            lang,
        });
    }
    let sdk_path = relative_path(&dir, &sdk)
        .unwrap_or_else(|| sdk.clone())
        .to_string_lossy()
        .into_owned();
    let mut files = Vec::new();
    for (path, text) in render(name, &sdk_path) {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&target, text).map_err(io(&target))?;
        files.push(path.to_string());
    }
    // The checkout's lock: plugins/sdk -> the workspace root.
    let lock = sdk.join("../../Cargo.lock");
    let lockfile = lock.is_file();
    if lockfile {
        let target = dir.join("Cargo.lock");
        std::fs::copy(&lock, &target).map_err(io(&target))?;
        files.push("Cargo.lock".to_string());
    }
    Ok(Generated {
        dir,
        sdk,
        sdk_path,
        files,
        lockfile,
        lang,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_manifest_rules() {
        for ok in ["myshop", "my-shop", "shop2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "MyShop",
            "2shop",
            "my_shop",
            "shop-",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(wasm_file_name("my-shop"), "my_shop.wasm");
    }

    #[test]
    fn renders_every_placeholder() {
        let files = render("my-shop", "../sdk");
        let names: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            names,
            ["Cargo.toml", "src/lib.rs", "README.md", ".gitignore"]
        );
        for (path, text) in &files {
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
        let cargo = &files[0].1;
        assert!(cargo.contains("name = \"my-shop\""));
        assert!(cargo.contains("crawlhost-sdk = { path = \"../sdk\" }"));
        assert!(cargo.contains("my_shop.wasm"));
        assert!(files[1].1.contains("name: \"my-shop\".into()"));
        assert!(files[1].1.contains("const TOPIC: &str = \"my-shop\";"));
    }

    #[test]
    fn relative_paths() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(rel("/r/plugins/x", "/r/plugins/sdk"), Some("../sdk".into()));
        assert_eq!(
            rel("/r/target/tmp/x", "/r/plugins/sdk"),
            Some("../../../plugins/sdk".into())
        );
        assert_eq!(rel("/r", "/r"), Some(".".into()));
        assert_eq!(rel("/a", "/b/sdk"), None);
        assert_eq!(rel("relative", "/b"), None);
    }

    #[test]
    fn generates_into_an_empty_directory_only() {
        let dir = std::env::temp_dir().join(format!("crawlhost-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let g = generate("demo", &dir.join("demo"), None, Lang::Rust).unwrap();
        assert!(g.dir.join("src/lib.rs").is_file());
        assert!(is_sdk(&g.sdk));
        assert!(g.lockfile);
        let cargo = std::fs::read_to_string(g.dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains(&format!("path = \"{}\"", g.sdk_path)));
        assert!(matches!(
            generate("demo", &g.dir, None, Lang::Rust),
            Err(TemplateError::NotEmpty(_))
        ));
        assert!(matches!(
            generate("demo", &dir.join("other"), Some(&dir), Lang::Rust),
            Err(TemplateError::NotSdk(_, Lang::Rust))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
