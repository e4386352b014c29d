//! robots.txt on the wire: the part of [`HttpClient`] that refuses a URL its
//! site's robots.txt disallows, fetching (and caching) that robots.txt through
//! the same checks, politeness and retries as any request. The rules
//! themselves are parsed and matched in [`super::robots`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use url::Url;

use super::politeness::host_key;
use super::robots::{self, Rules};
use super::{Event, FetchError, FetchScope, HttpClient};

impl HttpClient {
    /// Refuse `url` when its site's robots.txt disallows it for our agent.
    pub(super) async fn robots_check(
        &self,
        scope: &FetchScope,
        url: &Url,
    ) -> Result<(), FetchError> {
        if url.path() == "/robots.txt" {
            return Ok(());
        }
        let Some((origin, robots_url)) = robots::robots_url(url) else {
            return Ok(());
        };
        let slot = self.robots.slot(&origin);
        let rules = {
            let mut entry = slot.lock().await;
            let ttl = Duration::from_secs(self.settings.robots.cache_secs);
            match robots::fresh(&entry, ttl, Instant::now()) {
                Some(rules) => rules,
                None => {
                    let rules = Arc::new(self.fetch_robots(scope, robots_url).await?);
                    tracing::debug!(origin = %origin, rules = ?rules, "Fetched robots.txt.");
                    if rules.cacheable() {
                        *entry = Some((Instant::now(), rules.clone()));
                    }
                    rules
                }
            }
        };
        let max_delay = Duration::from_secs(self.settings.robots.max_crawl_delay_secs);
        if let Some(delay) = rules.crawl_delay().filter(|_| !max_delay.is_zero()) {
            self.politeness
                .slow_down(&self.politeness.gate(url), delay.min(max_delay));
        }
        if rules.allowed(url) {
            return Ok(());
        }
        scope.stats.count(&host_key(url), Event::RobotsDenied);
        Err(match &*rules {
            Rules::Unreachable(reason) => FetchError::RobotsUnreachable {
                url: url.to_string(),
                reason: reason.clone(),
            },
            _ => FetchError::RobotsDisallowed {
                url: url.to_string(),
            },
        })
    }

    /// Fetch and interpret a robots.txt, following up to five redirects
    /// within the allow-list.
    async fn fetch_robots(&self, scope: &FetchScope, mut url: Url) -> Result<Rules, FetchError> {
        for _ in 0..=5 {
            let (client, proxied) = self.client_for(scope);
            if self.check(scope, &url, proxied).await.is_err() {
                // A redirect off the allowed hosts: treat as unavailable.
                return Ok(Rules::AllowAll);
            }
            let sent = self
                .send(
                    scope,
                    client,
                    &url,
                    &reqwest::Method::GET,
                    HeaderMap::new(),
                    None,
                )
                .await;
            let (response, permit) = match sent {
                Ok(pair) => pair,
                // The address policy refused the site itself: that is the
                // answer for the request too.
                Err(e @ FetchError::Restricted { .. }) => return Err(e),
                Err(e) => return Ok(Rules::Unreachable(e.to_string())),
            };
            let status = response.status();
            if status.is_redirection()
                && let Some(next) = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                url = next;
                continue;
            }
            let read = self
                .read_response(
                    scope,
                    url.clone(),
                    response,
                    permit,
                    robots::MAX_ROBOTS_BYTES,
                    false,
                )
                .await;
            return Ok(match read {
                Ok(resp) => robots::rules_from_response(resp.status, &resp.body, &self.agent),
                Err(e) => Rules::Unreachable(e.to_string()),
            });
        }
        Ok(Rules::AllowAll)
    }
}
