//! The cron side of the service: each plugin's schedule (operator config over
//! manifest, `off` to disable) and the scheduler task that starts due runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Service;
use crate::schedule::CronSchedule;

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
                        due.push(name.clone());
                        slot.next_tick = schedule.next_fire(Some(tick), now);
                    }
                    if let Some(t) = slot.next_tick {
                        next = Some(next.map_or(t, |n| n.min(t)));
                    }
                }
            }
            for name in due {
                match self.start_run(&name).await {
                    Ok(run) => tracing::info!(plugin = %name, run = %run, "Scheduled run started."),
                    Err(e) => {
                        tracing::warn!(plugin = %name, reason = %e, "Scheduled tick skipped.")
                    }
                }
            }
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
}
