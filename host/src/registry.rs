//! The plugins directory: every `*.wasm` in it, loaded and checked.
//!
//! Loading never stops at the first bad file: good plugins are returned,
//! refused files are returned with their reason, so `plugins list` and `run`
//! can say exactly which file is broken and why while the others work. Two
//! files declaring the same plugin name are a conflict; the first in file-name
//! order wins and the other is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{LoadError, LoadedPlugin, PluginEngine};

/// A file that could not be loaded.
#[derive(Debug)]
pub struct Refused {
    pub path: PathBuf,
    pub reason: String,
}

/// The result of scanning the directory.
#[derive(Default)]
pub struct Scan {
    /// By plugin name.
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    pub refused: Vec<Refused>,
}

/// Errors reading the directory itself.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read plugins directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The `*.wasm` files in `dir`, sorted by name.
pub fn wasm_files(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let read_err = |source| RegistryError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Load every plugin in `dir`.
pub async fn scan(engine: &PluginEngine, dir: &Path) -> Result<Scan, RegistryError> {
    let mut scan = Scan::default();
    for path in wasm_files(dir)? {
        match engine.load(&path).await {
            Ok(plugin) => {
                let name = plugin.manifest.name.clone();
                if let Some(existing) = scan.plugins.get(&name) {
                    scan.refused.push(Refused {
                        reason: format!(
                            "declares plugin name `{name}`, already provided by {}",
                            existing.path.display()
                        ),
                        path,
                    });
                } else {
                    tracing::info!(plugin = %name, version = %plugin.manifest.version, path = %path.display(), cached = plugin.from_cache, "Plugin loaded.");
                    scan.plugins.insert(name, Arc::new(plugin));
                }
            }
            Err(e) => {
                let reason = match &e {
                    LoadError::Contract { source, .. } => source.to_string(),
                    other => crate::error_text::chain(other),
                };
                tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused.");
                scan.refused.push(Refused { path, reason });
            }
        }
    }
    Ok(scan)
}
