//! The cron side of the service: each plugin's schedule (operator config over
//! manifest, `off` to disable) and the scheduler task that starts due runs.
//!
//! **Several hosts.** With `[kafka]`, every `serve` sharing the claims topic
//! (`kafka.claims_topic`) may carry the same plugins and schedules: each due
//! tick is claimed first ([`crate::distributed::claims`], key
//! `<plugin>@<tick as RFC 3339 UTC>`, which every host computes alike from
//! the same schedule), and only the host whose claim the log orders first
//! runs it; the others log who claimed it and skip the tick. Before claiming,
//! a host waits its [`claim_delay`] for that tick (at most [`CLAIM_SPREAD`],
//! a quarter of the schedule's interval for short ones), so the ticks spread
//! over the hosts instead of going to the fastest. A host that could not
//! start the run anyway (plugin paused or still running here) does not claim,
//! so the tick goes to a host that can: pausing a plugin pauses it on this
//! host only. A claim the broker does not acknowledge skips the tick
//! (warning): running it unclaimed could run it twice. Manual runs (admin
//! API, status page) are never claimed. Hosts that must each run their own
//! schedule of a same-named plugin use different claims topics.
//!
//! With the embedded bus (no `[kafka]`) nothing is shared between hosts:
//! schedules fire on this host alone, unclaimed, so run one `serve` with
//! schedules per embedded bus.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::{Service, StartError};
use crate::distributed::claims::{CLAIM_SPREAD, Claim, claim, claim_delay, claim_spread, tick_key};
use crate::schedule::CronSchedule;

/// Who this host is when it claims ticks, and where.
struct TickClaims {
    topic: String,
    host: String,
}

/// One due tick of one plugin.
struct Due {
    plugin: String,
    tick: DateTime<Utc>,
    /// The spread of claim delays for this plugin's schedule.
    spread: Duration,
}

impl Service {
    pub(super) fn schedule_for(
        &self,
        manifest_schedule: Option<&str>,
        name: &str,
    ) -> Option<CronSchedule> {
        let cfg = self.host.settings.plugins.get(name);
        let expr = cfg
            .and_then(|c| c.schedule.as_deref())
            .or(manifest_schedule)?;
        if expr.trim().eq_ignore_ascii_case("off") {
            return None;
        }
        let tz = cfg.and_then(|c| c.timezone.as_deref()).unwrap_or("UTC");
        match CronSchedule::parse(expr, tz) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(plugin = %name, error = %e, "Schedule ignored.");
                None
            }
        }
    }

    /// Fire due schedules until shutdown.
    pub(super) async fn scheduler(self: Arc<Self>) {
        let mut shutdown = self.stop.subscribe();
        let claims = self.host.settings.kafka.as_ref().map(|k| {
            Arc::new(TickClaims {
                topic: k.claims_topic.clone(),
                host: crate::distributed::new_host_id(),
            })
        });
        match &claims {
            Some(c) => tracing::info!(
                host = %c.host,
                topic = %c.topic,
                data_dir = %self.host.settings.data_dir.display(),
                "Scheduled ticks are claimed: each runs on one of the hosts sharing the claims topic."
            ),
            None => {
                tracing::info!("Embedded bus: scheduled ticks run on this host alone (no claims).")
            }
        }
        // Claims waiting for their delay or the broker; dropped (aborted)
        // with the scheduler.
        let mut claiming = JoinSet::new();
        loop {
            if self.stopping() {
                return;
            }
            let now = Utc::now();
            let mut due = Vec::new();
            let mut next: Option<DateTime<Utc>> = None;
            {
                let mut table = self.table();
                for (name, slot) in table.slots.iter_mut() {
                    let (Some(schedule), Some(tick)) = (&slot.schedule, slot.next_tick) else {
                        continue;
                    };
                    if tick <= now {
                        slot.next_tick = schedule.next_fire(Some(tick), now);
                        let interval = slot
                            .next_tick
                            .and_then(|n| (n - tick).to_std().ok())
                            .unwrap_or(CLAIM_SPREAD * 4);
                        due.push(Due {
                            plugin: name.clone(),
                            tick,
                            spread: claim_spread(interval),
                        });
                    }
                    if let Some(t) = slot.next_tick {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                }
            }
            for d in due {
                match &claims {
                    None => self.fire(&d.plugin, None).await,
                    Some(c) => {
                        claiming.spawn(self.clone().claim_and_fire(c.clone(), d));
                    }
                }
            }
            while claiming.try_join_next().is_some() {}
            let sleep = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.changed.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Wait this host's delay for the tick, claim it, and start the run if
    /// the claim won.
    async fn claim_and_fire(self: Arc<Self>, claims: Arc<TickClaims>, due: Due) {
        let key = tick_key(&due.plugin, due.tick);
        // Not claimed when this host could not run it: another host may.
        if let Err(e) = self.can_start(&due.plugin) {
            tracing::warn!(plugin = %due.plugin, tick = %key, reason = %e, "Scheduled tick not claimed here.");
            return;
        }
        let delay = claim_delay(&claims.host, &key, due.spread);
        let at = due.tick + chrono::Duration::from_std(delay).unwrap_or_default();
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        let mut shutdown = self.stop.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        match claim(self.host.bus.as_ref(), &claims.topic, &key, &claims.host).await {
            Ok(Claim::Won) => self.fire(&due.plugin, Some((&key, &claims.host))).await,
            Ok(Claim::Lost { by }) => tracing::info!(
                plugin = %due.plugin,
                tick = %key,
                host = %claims.host,
                claimed_by = %by,
                "Scheduled tick claimed by another host; skipped here."
            ),
            // The broker is away: run the tick unclaimed rather than lose
            // it. The host crawls on through an outage (its records wait
            // in the forward log); the cost is that every host whose claim
            // failed runs this tick (at least once, never zero times).
            Err(e) => {
                tracing::warn!(
                    plugin = %due.plugin,
                    tick = %key,
                    error = %crate::error_text::chain(&e),
                    "Tick claim not acknowledged (broker unreachable); running the tick unclaimed: other hosts may run it too."
                );
                self.fire(&due.plugin, None).await;
            }
        }
    }

    /// Start the run of a due tick (`claimed`: the claim key it won and this
    /// host's id).
    async fn fire(self: &Arc<Self>, name: &str, claimed: Option<(&str, &str)>) {
        match self.start_run(name).await {
            Ok(run) => match claimed {
                Some((key, host)) => {
                    tracing::info!(plugin = %name, run = %run, tick = %key, host = %host, "Scheduled run started: this host claimed the tick.")
                }
                None => tracing::info!(plugin = %name, run = %run, "Scheduled run started."),
            },
            Err(e) => {
                tracing::warn!(plugin = %name, reason = %e, "Scheduled tick skipped.")
            }
        }
    }

    /// Whether a run of `name` could start now (what [`Service::start_run`]
    /// checks first), without starting one.
    fn can_start(&self, name: &str) -> Result<(), StartError> {
        if self.stopping() {
            return Err(StartError::ShuttingDown);
        }
        let table = self.table();
        let slot = table
            .slots
            .get(name)
            .ok_or_else(|| StartError::Unknown(name.to_string()))?;
        super::runs::startable(slot, name)
    }
}
