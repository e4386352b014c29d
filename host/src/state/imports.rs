//! The `state` import (every contract version): the per-instance state a
//! plugin's state calls run with, the `Host` implementation over the shared
//! [`StateStore`], and the linker glue the engine calls.
//!
//! State is keyed by the plugin's validated manifest name, which is unknown
//! while `manifest()` runs (the instance then has only a file name, which any
//! file can borrow): during `manifest()` the plugin has no state, reads find
//! nothing and writes fail.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{StateError, StateStore};
use crate::contract::crawlhost::plugin::state;
use crate::contract::{v0_1, v0_2};

/// What one plugin instance reads and writes state as.
pub struct Instance {
    store: Arc<StateStore>,
    /// The plugin whose entries this instance sees.
    plugin: String,
    /// State is refused during `manifest()`.
    allowed: bool,
}

impl Instance {
    /// The `state` view of one instance of `plugin`.
    pub fn new(store: Arc<StateStore>, plugin: String, allowed: bool) -> Self {
        Self {
            store,
            plugin,
            allowed,
        }
    }
}

/// Link `state` of every contract version; `get` finds the instance in the
/// store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    state::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_2::crawlhost::plugin::state::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_1::crawlhost::plugin::state::add_to_linker::<T, HasSelf<Instance>>(linker, get)
}

impl state::Host for Instance {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        if !self.allowed {
            return Ok(None);
        }
        self.store
            .get(&self.plugin, &key)
            .map_err(|e| wasmtime::format_err!("state get `{key}` failed: {e}"))
    }

    async fn put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        if !self.allowed {
            return Ok(Err("state is not available in manifest()".to_string()));
        }
        match self.store.put(&self.plugin, &key, &value) {
            Ok(()) => Ok(Ok(())),
            Err(StateError::Storage(e)) => {
                Err(wasmtime::format_err!("state put `{key}` failed: {e}"))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        if !self.allowed {
            return Ok(());
        }
        self.store
            .delete(&self.plugin, &key)
            .map_err(|e| wasmtime::format_err!("state delete `{key}` failed: {e}"))
    }
}

// The frozen contracts' `state`: the same calls.
macro_rules! forward_state {
    ($v:ident) => {
        impl $v::crawlhost::plugin::state::Host for Instance {
            async fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
                <Self as state::Host>::get(self, key).await
            }
            async fn put(
                &mut self,
                key: String,
                value: Vec<u8>,
            ) -> wasmtime::Result<Result<(), String>> {
                <Self as state::Host>::put(self, key, value).await
            }
            async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
                <Self as state::Host>::delete(self, key).await
            }
        }
    };
}

forward_state!(v0_1);
forward_state!(v0_2);
