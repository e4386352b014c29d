//! On-disk cache of compiled components, keyed by the SHA-256 of the `.wasm`
//! bytes and the engine's compatibility hash (wasmtime version, target and
//! compilation settings), so each plugin is compiled once per machine and
//! configuration and loads in milliseconds afterwards.
//!
//! Entries are written to a temporary file and renamed into place, so a crash
//! or a concurrent writer never leaves a torn file; an entry that fails to
//! load (stale or damaged) is recompiled and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// SHA-256 of the plugin file, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The cache directory and the engine fingerprint.
pub struct ComponentCache {
    dir: PathBuf,
    engine_tag: String,
}

impl ComponentCache {
    /// A cache in `dir` for components compiled by `engine`.
    pub fn new(dir: &Path, engine: &Engine) -> Self {
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Self {
            dir: dir.to_path_buf(),
            engine_tag: format!("{:016x}", h.finish()),
        }
    }

    fn path_for(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{}.cwasm", self.engine_tag))
    }

    /// Load the compiled form of `bytes` (hash `hash`), compiling and storing it
    /// on a miss. Returns the component and whether it came from the cache.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> wasmtime::Result<(Component, bool)> {
        let path = self.path_for(hash);
        if path.exists() {
            // SAFETY: the file was produced by `Component::serialize` for an
            // engine with the same compatibility hash, written atomically into
            // the host's own data directory.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, true)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "Cached component is unusable; recompiling.");
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "Could not write the component cache; continuing without it.");
        }
        Ok((component, false))
    }

    fn store(&self, path: &Path, component: &Component) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}
