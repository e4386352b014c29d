//! On-disk cache of compiled components, keyed by the SHA-256 of the `.wasm`
//! bytes and the engine's compatibility hash (wasmtime version, target and
//! compilation settings), so each plugin is compiled once per machine and
//! configuration and loads in milliseconds afterwards.
//!
//! Entries are written to a temporary file and renamed into place, so a crash
//! or a concurrent writer never leaves a torn file; an entry that fails to
//! load (stale or damaged) is recompiled and replaced.
//!
//! Deserializing an entry runs its machine code, so every entry starts with
//! the SHA-256 of the compiled bytes after it, checked before
//! `deserialize`: an entry changed on disk (damaged, or edited by hand) is
//! recompiled instead of loaded. This is an integrity check, not a MAC:
//! whoever can write the cache directory can also write a matching hash, so
//! the directory must stay writable by the host's user only.

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
        if let Ok(stored) = std::fs::read(&path) {
            match verified(&stored) {
                // SAFETY: the bytes were produced by `Component::serialize`
                // for an engine with the same compatibility hash, written
                // atomically into the host's own data directory, and are
                // unchanged since (their recorded SHA-256 matches).
                Some(compiled) => match unsafe { Component::deserialize(engine, compiled) } {
                    Ok(c) => return Ok((c, true)),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "Cached component is unusable; recompiling.");
                    }
                },
                None => {
                    tracing::warn!(path = %path.display(), "Cached component does not match its recorded hash; recompiling.");
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
        let compiled = component.serialize().map_err(std::io::Error::other)?;
        let mut entry = Sha256::digest(&compiled).to_vec();
        entry.extend_from_slice(&compiled);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, entry)?;
        std::fs::rename(&tmp, path)
    }
}

/// The compiled bytes of a cache entry whose recorded SHA-256 matches them.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    let (recorded, compiled) = entry.split_at_checked(32)?;
    (Sha256::digest(compiled).as_slice() == recorded).then_some(compiled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15 (low): a compiled entry changed on disk is not deserialized
    /// (deserializing runs its machine code); it is recompiled and replaced.
    #[test]
    fn a_tampered_entry_is_recompiled_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ComponentCache::new(dir.path(), &engine);
        let bytes = wasm_encoder::Component::new().finish();
        let hash = content_hash(&bytes);
        assert!(!cache.load_or_compile(&engine, &bytes, &hash).unwrap().1);
        assert!(cache.load_or_compile(&engine, &bytes, &hash).unwrap().1);
        let path = cache.path_for(&hash);
        let mut stored = std::fs::read(&path).unwrap();
        let middle = stored.len() / 2;
        stored[middle] ^= 0x55;
        std::fs::write(&path, &stored).unwrap();
        let (_, from_cache) = cache.load_or_compile(&engine, &bytes, &hash).unwrap();
        assert!(!from_cache, "a changed entry was loaded");
        // Replaced by a good entry.
        assert!(cache.load_or_compile(&engine, &bytes, &hash).unwrap().1);
    }
}
