//! Which contract world a component was linked as. The host links every
//! supported contract version into one linker; a component is pre-instantiated
//! as the world of the version it was built against, and calls into its
//! `crawler` export go through [`WorldInstance`] whatever the version (the
//! versions share one set of host types, see [`crate::contract`]).

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::contract::ContractError;
use super::sandbox::HostState;
use crate::contract::{
    self as bindings, CrawlError, CrawlOutput, PlanInput, PluginManifest, RunInfo, Task,
};

/// A component pre-linked as the world of its contract version.
pub(crate) enum WorldPre {
    V0_3(bindings::PluginPre<HostState>),
    V0_2(bindings::v0_2::PluginPre<HostState>),
    V0_1(bindings::v0_1::PluginPre<HostState>),
}

/// One instance of a plugin, of either world.
pub(crate) enum WorldInstance {
    V0_3(bindings::Plugin),
    V0_2(bindings::v0_2::Plugin),
    V0_1(bindings::v0_1::Plugin),
}

impl WorldPre {
    /// Wrap `pre` as the world of `contract` (already checked compatible).
    pub(crate) fn new(
        pre: InstancePre<HostState>,
        contract: &semver::Version,
    ) -> Result<Self, WorldError> {
        match (contract.major, contract.minor) {
            (0, 1) => Ok(Self::V0_1(
                bindings::v0_1::PluginPre::new(pre).map_err(WorldError::link)?,
            )),
            (0, 2) => Ok(Self::V0_2(
                bindings::v0_2::PluginPre::new(pre).map_err(WorldError::link)?,
            )),
            (0, 3) => Ok(Self::V0_3(
                bindings::PluginPre::new(pre).map_err(WorldError::link)?,
            )),
            _ => Err(WorldError::Contract(ContractError::IncompatibleContract {
                found: contract.to_string(),
            })),
        }
    }

    pub(crate) async fn instantiate_async(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<WorldInstance> {
        Ok(match self {
            Self::V0_3(pre) => WorldInstance::V0_3(pre.instantiate_async(store).await?),
            Self::V0_2(pre) => WorldInstance::V0_2(pre.instantiate_async(store).await?),
            Self::V0_1(pre) => WorldInstance::V0_1(pre.instantiate_async(store).await?),
        })
    }
}

/// Why a component cannot be wrapped as a world.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorldError {
    #[error("{0}")]
    Contract(ContractError),
    #[error("{0}")]
    Link(String),
}

impl WorldError {
    fn link(e: wasmtime::Error) -> Self {
        Self::Link(format!("{e:#}"))
    }
}

impl WorldInstance {
    pub(crate) async fn call_manifest(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<PluginManifest> {
        match self {
            Self::V0_3(p) => p.crawlhost_plugin_crawler().call_manifest(store).await,
            Self::V0_2(p) => p.crawlhost_plugin_crawler().call_manifest(store).await,
            Self::V0_1(p) => p.crawlhost_plugin_crawler().call_manifest(store).await,
        }
    }

    pub(crate) async fn call_plan(
        &self,
        store: &mut Store<HostState>,
        run: &RunInfo,
        input: &PlanInput,
    ) -> wasmtime::Result<Result<Vec<Task>, CrawlError>> {
        match self {
            Self::V0_3(p) => {
                p.crawlhost_plugin_crawler()
                    .call_plan(store, run, input)
                    .await
            }
            Self::V0_2(p) => {
                p.crawlhost_plugin_crawler()
                    .call_plan(store, run, input)
                    .await
            }
            Self::V0_1(p) => {
                p.crawlhost_plugin_crawler()
                    .call_plan(store, run, input)
                    .await
            }
        }
    }

    pub(crate) async fn call_crawl(
        &self,
        store: &mut Store<HostState>,
        run: &RunInfo,
        task: &Task,
    ) -> wasmtime::Result<Result<CrawlOutput, CrawlError>> {
        match self {
            Self::V0_3(p) => {
                p.crawlhost_plugin_crawler()
                    .call_crawl(store, run, task)
                    .await
            }
            Self::V0_2(p) => {
                p.crawlhost_plugin_crawler()
                    .call_crawl(store, run, task)
                    .await
            }
            Self::V0_1(p) => {
                p.crawlhost_plugin_crawler()
                    .call_crawl(store, run, task)
                    .await
            }
        }
    }
}
