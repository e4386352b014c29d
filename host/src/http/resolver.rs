//! DNS resolution for the HTTP client: [`GuardedResolver`] drops the
//! addresses the address policy forbids after the lookup, so a public name
//! pointing at a loopback, private or metadata address gets nowhere.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::allow::AddressPolicy;

/// Resolver that removes forbidden addresses after DNS resolution.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: AddressPolicy,
}

impl GuardedResolver {
    /// A resolver that keeps only the addresses `policy` allows.
    pub(super) fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.check(a.ip()).is_ok())
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private, link-local or metadata addresses"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
