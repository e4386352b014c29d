//! What each long-running role without an admin API exports on
//! `--metrics-listen` ([`super::listen`]): its share of its consumer groups,
//! the lag of the partitions it holds, and the `process_*` series.
//!
//! - [`SinkRole`] (`crawlhost sink`): the sink series `serve` exports for its
//!   own sink, and the sink group's assigned partitions and rebalances.
//! - [`TriggersRole`] (`crawlhost triggers`): per plugin, the trigger
//!   partitions held, their lag behind the end of the log (end offset minus
//!   the trigger group's committed offset) and the group's rebalances, plus
//!   the run counters of the triggered runs ([`super::Metrics`]).
//! - [`WorkerRole`] (`crawlhost worker`): the tasks-topic partitions held,
//!   rebalances, the politeness share they give, attempts done and failed.
//!
//! Every role also shows the forward log's backlog (zero without one): all
//! three produce (dead letters, records, task results).
//!
//! Lag is computed for the partitions *this process* holds, so summing a
//! series over the fleet counts each partition once (during a rebalance two
//! processes may briefly both show one). The bus is asked at scrape time,
//! each question bounded by [`ASK_TIMEOUT`] and asked concurrently, so a
//! broker that does not answer costs a scrape about that long and leaves
//! out the lag samples it could not compute rather than failing the scrape.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use super::Metrics;
use super::listen::Exposition;
use super::member::{MemberStatus, WorkerStatus};
use super::series::{
    GroupShare, TriggerShare, WorkerView, render_backlog, render_groups, render_sink,
    render_triggers, render_worker,
};
use crate::bus::Bus;
use crate::bus::reader::PartitionReader;
use crate::http::politeness::FleetShare;
use crate::sink::status::{Status, lag};

/// How long one question to the bus may take during a scrape.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The `process_*` series (nothing where `/proc` cannot be read).
fn render_process(out: &mut String) {
    if let Some(sample) = super::process::read() {
        super::process::render(out, &sample);
    }
}

/// `fut`'s answer, or `None` when it failed or took over [`ASK_TIMEOUT`].
async fn ask<T, E>(fut: impl Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(ASK_TIMEOUT, fut).await.ok()?.ok()
}

/// The end offset of each partition, in order (`None` where the bus could
/// not say in time).
pub async fn partition_ends<'a>(
    bus: &dyn Bus,
    partitions: impl IntoIterator<Item = (&'a str, u32)>,
) -> Vec<Option<u64>> {
    join_all(
        partitions
            .into_iter()
            .map(|(topic, p)| ask(bus.end_offset(topic, p))),
    )
    .await
}

/// `crawlhost sink`.
pub struct SinkRole {
    pub group: String,
    pub status: Arc<Status>,
    /// The sink's reader: its group membership, if any, gives the
    /// rebalances.
    pub reader: Arc<dyn PartitionReader>,
    pub bus: Arc<dyn Bus>,
}

#[async_trait]
impl Exposition for SinkRole {
    fn role(&self) -> &'static str {
        "sink"
    }

    async fn render(&self) -> String {
        let status = self.status.view();
        let ends = partition_ends(
            self.bus.as_ref(),
            status.partitions.iter().map(|(t, p, _)| (t.as_str(), *p)),
        )
        .await;
        let mut out = String::new();
        render_sink(&mut out, &status, &ends);
        render_groups(
            &mut out,
            &[GroupShare {
                group: self.group.clone(),
                assigned: status.partitions.len(),
                rebalances: self.reader.group().map_or(0, |m| m.rebalances()),
            }],
        );
        render_backlog(&mut out, self.bus.backlog());
        render_process(&mut out);
        out
    }
}

/// One plugin's trigger consumer, as [`TriggersRole`] reads it.
pub struct TriggerConsumer {
    pub plugin: String,
    /// The plugin's trigger group.
    pub group: String,
    /// Updated by the consumer ([`crate::trigger::consume_observed`]).
    pub member: Arc<MemberStatus>,
}

/// `crawlhost triggers`.
pub struct TriggersRole {
    pub consumers: Vec<TriggerConsumer>,
    /// The triggered runs' counters.
    pub metrics: Arc<Metrics>,
    pub bus: Arc<dyn Bus>,
}

impl TriggersRole {
    /// The lag of each partition `c` holds: end of the log minus the
    /// group's committed offset (the whole log when the group has none).
    async fn share(&self, c: &TriggerConsumer) -> TriggerShare {
        let held = c.member.assigned();
        let lags = join_all(held.iter().map(|(topic, p)| async move {
            let (end, committed) = tokio::join!(
                ask(self.bus.end_offset(topic, *p)),
                ask(self.bus.committed(&c.group, topic, *p)),
            );
            Some(lag(committed?.unwrap_or(0), end?))
        }))
        .await;
        TriggerShare {
            plugin: c.plugin.clone(),
            partitions: held
                .into_iter()
                .zip(lags)
                .map(|((t, p), lag)| (t, p, lag))
                .collect(),
        }
    }
}

#[async_trait]
impl Exposition for TriggersRole {
    fn role(&self) -> &'static str {
        "triggers"
    }

    async fn render(&self) -> String {
        let shares = join_all(self.consumers.iter().map(|c| self.share(c))).await;
        let groups: Vec<GroupShare> = self
            .consumers
            .iter()
            .zip(&shares)
            .map(|(c, s)| GroupShare {
                group: c.group.clone(),
                assigned: s.partitions.len(),
                rebalances: c.member.rebalances(),
            })
            .collect();
        // The run counters, and the process series after them.
        let mut out = self.metrics.render(&[]);
        render_triggers(&mut out, &shares);
        render_groups(&mut out, &groups);
        render_backlog(&mut out, self.bus.backlog());
        out
    }
}

/// `crawlhost worker`.
pub struct WorkerRole {
    /// The workers group.
    pub group: String,
    /// Updated by the worker ([`crate::distributed::run_worker_observed`]).
    pub status: Arc<WorkerStatus>,
    /// The process's politeness share, which the worker sets.
    pub fleet: FleetShare,
    pub bus: Arc<dyn Bus>,
}

#[async_trait]
impl Exposition for WorkerRole {
    fn role(&self) -> &'static str {
        "worker"
    }

    async fn render(&self) -> String {
        let assigned = self.status.member.assigned().len();
        let mut out = String::new();
        render_worker(
            &mut out,
            &WorkerView {
                assigned,
                politeness_share: self.fleet.get().fraction(),
                tasks: self.status.tasks(),
            },
        );
        render_groups(
            &mut out,
            &[GroupShare {
                group: self.group.clone(),
                assigned,
                rebalances: self.status.member.rebalances(),
            }],
        );
        render_backlog(&mut out, self.bus.backlog());
        render_process(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::ProduceRecord;
    use crate::bus::embedded::EmbeddedBus;
    use crate::bus::reader::FetchReader;

    async fn bus() -> (tempfile::TempDir, Arc<dyn Bus>) {
        let dir = tempfile::tempdir().unwrap();
        let bus = EmbeddedBus::open(&dir.path().join("bus.db"), 1).unwrap();
        bus.ensure_topic("brands", 1).await.unwrap();
        let records = (0..5)
            .map(|n| ProduceRecord {
                topic: "brands".into(),
                key: None,
                value: format!("{{\"n\":{n}}}").into_bytes(),
                headers: vec![],
                timestamp_ms: 0,
            })
            .collect();
        bus.produce(records).await.unwrap();
        (dir, Arc::new(bus))
    }

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[tokio::test]
    async fn the_sink_role_shows_lag_from_the_bus_and_its_group() {
        let (_dir, bus) = bus().await;
        let status = Arc::new(Status::default());
        status.set_partitions([(
            ("brands".to_string(), 0),
            crate::sink::status::PartitionStatus {
                committed: 2,
                position: 4,
                open_records: 2,
            },
        )]);
        let role = SinkRole {
            group: "g".into(),
            status,
            reader: Arc::new(FetchReader::new(bus.clone())),
            bus,
        };
        let text = role.render().await;
        assert_eq!(
            value(
                &text,
                "crawlhost_sink_lag_records{topic=\"brands\",partition=\"0\"}"
            ),
            Some(3.0)
        );
        assert_eq!(
            value(&text, "crawlhost_group_assigned_partitions{group=\"g\"}"),
            Some(1.0)
        );
        assert_eq!(
            value(&text, "crawlhost_group_rebalances_total{group=\"g\"}"),
            Some(0.0)
        );
        assert_eq!(value(&text, "crawlhost_forward_backlog_bytes"), Some(0.0));
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("valid Prometheus text");
    }

    #[tokio::test]
    async fn the_triggers_role_shows_lag_past_the_groups_commit() {
        let (_dir, bus) = bus().await;
        bus.commit("crawlhost.trigger.echo", "brands", 0, 4)
            .await
            .unwrap();
        let member = Arc::new(MemberStatus::default());
        member.set_assigned([("brands".to_string(), 0)]);
        let metrics = Arc::new(Metrics::default());
        metrics.plugin("echo");
        let role = TriggersRole {
            consumers: vec![
                TriggerConsumer {
                    plugin: "echo".into(),
                    group: "crawlhost.trigger.echo".into(),
                    member,
                },
                TriggerConsumer {
                    plugin: "fresh".into(),
                    group: "crawlhost.trigger.fresh".into(),
                    member: Arc::new(MemberStatus::default()),
                },
            ],
            metrics,
            bus,
        };
        let text = role.render().await;
        let lag = "crawlhost_trigger_lag_records{plugin=\"echo\",topic=\"brands\",partition=\"0\"}";
        assert_eq!(value(&text, lag), Some(1.0), "{text}");
        assert_eq!(
            value(
                &text,
                "crawlhost_trigger_assigned_partitions{plugin=\"fresh\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&text, "crawlhost_runs_finished_total{plugin=\"echo\"}"),
            Some(0.0)
        );
        assert_eq!(
            text.matches("# TYPE process_cpu_seconds_total").count(),
            usize::from(cfg!(target_os = "linux")),
            "the process series once"
        );
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("valid Prometheus text");
    }

    #[tokio::test]
    async fn the_worker_role_shows_its_share() {
        let (_dir, bus) = bus().await;
        let status = Arc::new(WorkerStatus::default());
        status
            .member
            .set_assigned((0..4).map(|p| ("tasks".to_string(), p)));
        status.member.add_rebalance();
        status.task_finished("echo", true);
        let fleet = FleetShare::default();
        fleet.set(crate::http::politeness::Share::of_partitions(4, 12));
        let role = WorkerRole {
            group: "crawlhost.workers".into(),
            status,
            fleet,
            bus,
        };
        let text = role.render().await;
        assert_eq!(
            value(&text, "crawlhost_worker_assigned_partitions"),
            Some(4.0)
        );
        assert_eq!(
            value(
                &text,
                "crawlhost_group_rebalances_total{group=\"crawlhost.workers\"}"
            ),
            Some(1.0)
        );
        let share = value(&text, "crawlhost_politeness_share").unwrap();
        assert!((share - 1.0 / 3.0).abs() < 1e-9, "{share}");
        assert_eq!(
            value(&text, "crawlhost_worker_tasks_done_total{plugin=\"echo\"}"),
            Some(1.0)
        );
    }
}
