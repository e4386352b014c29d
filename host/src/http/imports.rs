//! The `fetch` import (every contract version): the per-instance state a
//! plugin's fetches run with, the `Host` implementation that hands them to
//! the shared [`HttpClient`], and the linker glue the engine calls.
//!
//! The run's cookie jar persists through plugin state under a host-private
//! name (`http.cookies.persist`), so an instance also holds the state store.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::{FetchScope, HttpClient};
use crate::contract::crawlhost::plugin::fetch;
use crate::contract::{CrawlError, HttpRequest, HttpResponse, v0_1, v0_2};
use crate::state::StateStore;

/// What one plugin instance fetches with.
pub struct Instance {
    client: Arc<HttpClient>,
    state: Arc<StateStore>,
    scope: FetchScope,
    /// Task key (or `plan`), for logs.
    task: String,
    /// `fetch` is refused during `manifest()`.
    allowed: bool,
}

impl Instance {
    /// The `fetch` state of one instance for the plugin of `scope`.
    pub fn new(
        client: Arc<HttpClient>,
        state: Arc<StateStore>,
        scope: FetchScope,
        task: String,
        allowed: bool,
    ) -> Self {
        Self {
            client,
            state,
            scope,
            task,
            allowed,
        }
    }

    /// The scope (plugin, allow-list, session) fetches run in.
    pub fn scope(&self) -> &FetchScope {
        &self.scope
    }
}

/// Link `fetch` of every contract version; `get` finds the instance in the
/// store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    fetch::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_2::crawlhost::plugin::fetch::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_1::crawlhost::plugin::fetch::add_to_linker::<T, HasSelf<Instance>>(linker, get)
}

impl fetch::Host for Instance {
    async fn fetch(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, CrawlError>> {
        if !self.allowed {
            return Ok(Err(CrawlError::Other(
                "fetch is not available in manifest()".to_string(),
            )));
        }
        let url = request.url.clone();
        let http = &self.client;
        // The run's cookie jar persists through state under a host-private
        // name (`http.cookies.persist`).
        let persist = http.settings().cookies.enabled && http.settings().cookies.persist;
        let namespace = super::cookies::state_namespace(&self.scope.plugin);
        if persist {
            let state = &self.state;
            let loaded = self.scope.session.load_once(|| {
                state
                    .get(&namespace, super::cookies::STATE_KEY)
                    .ok()
                    .flatten()
            });
            if let Err(e) = loaded {
                tracing::warn!(plugin = %self.scope.plugin, error = %e, "Saved cookies are unreadable; starting with an empty jar.");
            }
        }
        let result = http.fetch(&self.scope, request).await;
        if persist
            && let Some(json) = self.scope.session.save_if_changed()
            && let Err(e) = self.state.put(&namespace, super::cookies::STATE_KEY, &json)
        {
            tracing::warn!(plugin = %self.scope.plugin, error = %e, "Cannot save cookies.");
        }
        match result {
            Ok(resp) => {
                tracing::debug!(plugin = %self.scope.plugin, task = %self.task, url = %url, status = resp.status, bytes = resp.body.len(), "Fetched.");
                Ok(Ok(resp))
            }
            Err(e) => {
                let error = http.crawl_error(&e);
                tracing::debug!(plugin = %self.scope.plugin, task = %self.task, url = %url, error = ?error, "Fetch failed.");
                Ok(Err(error))
            }
        }
    }
}

// The frozen contracts' `fetch`: the same call (the types are shared, see
// `crate::contract`).
macro_rules! forward_fetch {
    ($v:ident) => {
        impl $v::crawlhost::plugin::fetch::Host for Instance {
            async fn fetch(
                &mut self,
                request: HttpRequest,
            ) -> wasmtime::Result<Result<HttpResponse, CrawlError>> {
                <Self as fetch::Host>::fetch(self, request).await
            }
        }
    };
}

forward_fetch!(v0_1);
forward_fetch!(v0_2);
