//! `plugin new NAME --lang python|js`: a self-contained project for
//! componentize-py (Python) or componentize-js (JavaScript).
//!
//! A Rust plugin uses its SDK by path; a Python or JavaScript project carries
//! copies instead: the language's SDK package as `crawlhost/` (copied from
//! the checkout's `plugins/sdk-python` or `plugins/sdk-js`, found as the
//! Rust SDK is) and the contract as `wit/plugin.wit` (the host's own,
//! compiled into this binary), so it builds anywhere with only the
//! language's component tool installed, and keeps building after the
//! checkout moves on. This module owns the two layouts (template files,
//! which SDK files are copied, what is executable) and writing them.

use std::path::{Path, PathBuf};

use super::{TemplateError, io};

/// The contract the generated projects build against: the host's own.
const CONTRACT_WIT: &str = include_str!("../../../wit/plugin.wit");

/// One language's project layout.
pub struct Layout {
    /// Where the SDK sits in a crawlhost checkout.
    pub sdk_in_checkout: &'static str,
    /// The SDK package, relative to the SDK directory (empty: the directory
    /// itself); copied as `crawlhost/` into the project.
    package: &'static str,
    /// A file whose presence marks the SDK directory (relative to it).
    marker: &'static str,
    /// File name endings of the package that are copied (sources, types).
    copied: &'static [&'static str],
    /// Template files: (path in the project, contents).
    files: &'static [(&'static str, &'static str)],
    /// Template files made executable.
    executable: &'static [&'static str],
    /// The component file the project's build writes, for plugin `name`
    /// (`{{module_name}}` is `name` with `-` as `_`).
    pub wasm: &'static str,
    /// The build command(s) for the next-steps text.
    pub build: &'static str,
}

/// `--lang python`.
pub const PYTHON: Layout = Layout {
    sdk_in_checkout: "plugins/sdk-python",
    package: "crawlhost",
    marker: "crawlhost/plugin.py",
    copied: &[".py", "py.typed"],
    files: &[
        ("app.py", include_str!("../../templates/python/app.py.tmpl")),
        (
            "build.sh",
            include_str!("../../templates/python/build.sh.tmpl"),
        ),
        (
            "README.md",
            include_str!("../../templates/python/README.md.tmpl"),
        ),
        (
            ".gitignore",
            include_str!("../../templates/python/gitignore.tmpl"),
        ),
    ],
    executable: &["build.sh"],
    wasm: "{{module_name}}.wasm",
    build: "pip install componentize-py==0.25.1   # once\n  ./build.sh",
};

/// `--lang js`.
pub const JS: Layout = Layout {
    sdk_in_checkout: "plugins/sdk-js",
    package: "",
    marker: "index.d.ts",
    copied: &[".js", ".d.ts", ".mjs"],
    files: &[
        (
            "plugin.js",
            include_str!("../../templates/js/plugin.js.tmpl"),
        ),
        (
            "package.json",
            include_str!("../../templates/js/package.json.tmpl"),
        ),
        (
            "README.md",
            include_str!("../../templates/js/README.md.tmpl"),
        ),
        (
            ".gitignore",
            include_str!("../../templates/js/gitignore.tmpl"),
        ),
        // The checkout's pinned toolchain, so `npm ci` installs exactly it,
        // offline from the npm cache that scripts/install/jco.sh filled.
        (
            "package-lock.json",
            include_str!("../../../tools/js/package-lock.json"),
        ),
    ],
    executable: &[],
    wasm: "{{module_name}}.wasm",
    build: "npm ci          # once: the pinned jco and componentize-js (add --offline after a checkout's scripts/install/jco.sh)\n  npm run build",
};

impl Layout {
    /// Whether `dir` holds this language's SDK.
    pub fn is_sdk(&self, dir: &Path) -> bool {
        dir.join(self.marker).is_file()
    }

    /// The template files for plugin `name`. Pure.
    pub fn render(&self, name: &str) -> Vec<(&'static str, String)> {
        let module_name = name.replace('-', "_");
        self.files
            .iter()
            .map(|(path, text)| {
                let text = text
                    .replace("{{name}}", name)
                    .replace("{{module_name}}", &module_name);
                (*path, text)
            })
            .collect()
    }

    /// The component file for plugin `name`.
    pub fn wasm_file(&self, name: &str) -> String {
        self.wasm
            .replace("{{module_name}}", &name.replace('-', "_"))
    }

    /// Write the project for `name` into `dir` (exists, empty) with the SDK
    /// from `sdk`; the files written, relative to `dir`.
    pub fn write(&self, name: &str, dir: &Path, sdk: &Path) -> Result<Vec<String>, TemplateError> {
        let mut files = Vec::new();
        for (path, text) in self.render(name) {
            let target = dir.join(path);
            write_file(&target, text.as_bytes())?;
            if self.executable.contains(&path) {
                make_executable(&target)?;
            }
            files.push(path.to_string());
        }
        write_file(&dir.join("wit/plugin.wit"), CONTRACT_WIT.as_bytes())?;
        files.push("wit/plugin.wit".to_string());
        for source in self.sdk_files(&sdk.join(self.package))? {
            let rel = source
                .strip_prefix(sdk.join(self.package))
                .expect("listed under the package");
            let target = dir.join("crawlhost").join(rel);
            let bytes = std::fs::read(&source).map_err(io(&source))?;
            write_file(&target, &bytes)?;
            files.push(format!("crawlhost/{}", rel.display()));
        }
        Ok(files)
    }

    /// The package's copied files, sorted, recursively (caches and tests
    /// left out).
    fn sdk_files(&self, package: &Path) -> Result<Vec<PathBuf>, TemplateError> {
        let mut out = Vec::new();
        let mut dirs = vec![package.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).map_err(io(&d))? {
                let path = entry.map_err(io(&d))?.path();
                let file_name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if path.is_dir() {
                    if !matches!(
                        file_name.as_str(),
                        "__pycache__" | "node_modules" | "tests" | "test"
                    ) {
                        dirs.push(path);
                    }
                } else if self.copied.iter().any(|end| file_name.ends_with(end)) {
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn write_file(target: &Path, bytes: &[u8]) -> Result<(), TemplateError> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(target, bytes).map_err(io(target))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), TemplateError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io(path))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), TemplateError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_template_is_rendered_for_the_name() {
        let files = PYTHON.render("my-shop");
        let names: Vec<_> = files.iter().map(|(p, _)| *p).collect();
        assert_eq!(names, ["app.py", "build.sh", "README.md", ".gitignore"]);
        for (path, text) in &files {
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
        let build = &files[1].1;
        assert!(build.contains("my_shop.wasm"), "{build}");
        assert_eq!(PYTHON.wasm_file("my-shop"), "my_shop.wasm");
    }

    #[test]
    fn a_python_project_carries_the_sdk_and_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk-python");
        assert!(PYTHON.is_sdk(&sdk));
        let files = PYTHON.write("demo", dir.path(), &sdk).unwrap();
        assert!(files.contains(&"wit/plugin.wit".to_string()));
        assert!(files.contains(&"crawlhost/__init__.py".to_string()));
        assert!(!files.iter().any(|f| f.contains("__pycache__")));
        let wit = std::fs::read_to_string(dir.path().join("wit/plugin.wit")).unwrap();
        assert!(wit.contains("package crawlhost:plugin@"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("build.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "build.sh is not executable");
        }
        assert!(
            !PYTHON.is_sdk(
                dir.path()
                    .join("crawlhost")
                    .parent()
                    .unwrap()
                    .parent()
                    .unwrap()
            )
        );
    }

    #[test]
    fn a_js_project_carries_the_sdk_without_its_tests() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk-js");
        assert!(JS.is_sdk(&sdk));
        assert!(!JS.is_sdk(&sdk.join("..")));
        let files = JS.write("my-shop", dir.path(), &sdk).unwrap();
        for f in [
            "plugin.js",
            "package.json",
            "crawlhost/index.js",
            "crawlhost/index.d.ts",
        ] {
            assert!(files.contains(&f.to_string()), "{f} not in {files:?}");
        }
        assert!(!files.iter().any(|f| f.contains("test")), "{files:?}");
        let package = std::fs::read_to_string(dir.path().join("package.json")).unwrap();
        assert!(package.contains("my_shop.wasm"), "{package}");
    }

    #[test]
    fn the_js_template_pins_the_checkouts_toolchain() {
        let devdeps = |text: &str| {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v["devDependencies"].clone()
        };
        let files = JS.render("my-shop");
        let template = &files.iter().find(|(p, _)| *p == "package.json").unwrap().1;
        let tools = include_str!("../../../tools/js/package.json");
        assert_eq!(devdeps(template), devdeps(tools));
        assert!(!devdeps(tools).is_null());
    }
}
