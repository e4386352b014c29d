//! Series that more than one exposition writes: the sink's (partitions,
//! lag, open batches), the forward log's backlog, a consumer group member's
//! share (assigned partitions, rebalances), the trigger consumers' and the
//! distributed worker's. `serve`'s `/metrics` and the `--metrics-listen`
//! endpoint of `crawlhost sink`, `triggers` and `worker` ([`super::roles`])
//! call the same functions, so a series means the same wherever it appears.
//!
//! Pure: each function appends to a `String` what its arguments say; the
//! reading (status tables, end offsets asked of the bus) is the caller's.

use std::fmt::Write;

use super::escape;
use crate::bus::Backlog;
use crate::sink::status::{StatusView, lag};

/// `# HELP` and `# TYPE` of a family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value in the exposition format.
pub fn label(value: &str) -> String {
    escape(value)
}

/// The sink's series from its status and, per partition of
/// `status.partitions` in the same order, the end of the log (`None` when
/// the bus could not say: that partition has no lag sample).
pub fn render_sink(out: &mut String, status: &StatusView, ends: &[Option<u64>]) {
    let v = status;
    family(
        out,
        "crawlhost_sink_partitions",
        "gauge",
        "Partitions the sink in this process serves.",
    );
    let _ = writeln!(out, "crawlhost_sink_partitions {}", v.partitions.len());
    for (name, help, value) in [
        (
            "crawlhost_sink_records_written_total",
            "Records the sink wrote into durable objects.",
            v.records_written,
        ),
        (
            "crawlhost_sink_objects_written_total",
            "Objects the sink made visible.",
            v.objects_written,
        ),
        (
            "crawlhost_sink_dead_letters_total",
            "Records the sink sent to its dead-letter topic.",
            v.dead_letters,
        ),
    ] {
        family(out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        out,
        "crawlhost_sink_lag_records",
        "gauge",
        "Records in the partition's log past the sink's committed offset (not yet durable in the store).",
    );
    for ((topic, partition, p), end) in v.partitions.iter().zip(ends) {
        if let Some(end) = end {
            let _ = writeln!(
                out,
                "crawlhost_sink_lag_records{{topic=\"{}\",partition=\"{partition}\"}} {}",
                label(topic),
                lag(p.committed, *end)
            );
        }
    }
    family(
        out,
        "crawlhost_sink_open_records",
        "gauge",
        "Records read into the partition's open batch, not yet uploaded.",
    );
    for (topic, partition, p) in &v.partitions {
        let _ = writeln!(
            out,
            "crawlhost_sink_open_records{{topic=\"{}\",partition=\"{partition}\"}} {}",
            label(topic),
            p.open_records
        );
    }
}

/// The forward log's series; zero on a bus without one, so a dashboard
/// panel reads 0 rather than "no data".
pub fn render_backlog(out: &mut String, backlog: Option<Backlog>) {
    let b = backlog.unwrap_or(Backlog {
        forwarding: false,
        pending_bytes: 0,
        forwarded: 0,
    });
    family(
        out,
        "crawlhost_forward_backlog_bytes",
        "gauge",
        "Bytes of records waiting in the local forward log for the broker (0 without a forward log).",
    );
    let _ = writeln!(out, "crawlhost_forward_backlog_bytes {}", b.pending_bytes);
    family(
        out,
        "crawlhost_forward_active",
        "gauge",
        "1 while records go to the local forward log instead of the broker.",
    );
    let _ = writeln!(out, "crawlhost_forward_active {}", u8::from(b.forwarding));
    family(
        out,
        "crawlhost_forward_forwarded_records_total",
        "counter",
        "Records delivered to the broker through the forward log since start.",
    );
    let _ = writeln!(
        out,
        "crawlhost_forward_forwarded_records_total {}",
        b.forwarded
    );
}

/// This process's share of its consumer groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShare {
    pub group: String,
    /// Partitions the group assigns this process now (on the embedded bus,
    /// where there is no group protocol: every partition it reads).
    pub assigned: usize,
    /// Rebalances that assigned this process partitions since it joined (0
    /// on the embedded bus).
    pub rebalances: u64,
}

/// `crawlhost_group_assigned_partitions{group}` and
/// `crawlhost_group_rebalances_total{group}`, one sample per group.
pub fn render_groups(out: &mut String, groups: &[GroupShare]) {
    family(
        out,
        "crawlhost_group_assigned_partitions",
        "gauge",
        "Partitions the consumer group assigns this process now.",
    );
    for g in groups {
        let _ = writeln!(
            out,
            "crawlhost_group_assigned_partitions{{group=\"{}\"}} {}",
            label(&g.group),
            g.assigned
        );
    }
    family(
        out,
        "crawlhost_group_rebalances_total",
        "counter",
        "Rebalances of the consumer group that assigned this process partitions, since it joined.",
    );
    for g in groups {
        let _ = writeln!(
            out,
            "crawlhost_group_rebalances_total{{group=\"{}\"}} {}",
            label(&g.group),
            g.rebalances
        );
    }
}

/// One plugin's trigger consumer in this process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerShare {
    pub plugin: String,
    /// The trigger partitions it holds: `(topic, partition, lag)`, the lag
    /// being the end of the log minus the group's committed offset (`None`
    /// when the bus could not say).
    pub partitions: Vec<(String, u32, Option<u64>)>,
}

/// `crawlhost_trigger_assigned_partitions{plugin}` and
/// `crawlhost_trigger_lag_records{plugin,topic,partition}`.
pub fn render_triggers(out: &mut String, triggers: &[TriggerShare]) {
    family(
        out,
        "crawlhost_trigger_assigned_partitions",
        "gauge",
        "Trigger partitions the plugin's trigger consumer in this process holds.",
    );
    for t in triggers {
        let _ = writeln!(
            out,
            "crawlhost_trigger_assigned_partitions{{plugin=\"{}\"}} {}",
            label(&t.plugin),
            t.partitions.len()
        );
    }
    family(
        out,
        "crawlhost_trigger_lag_records",
        "gauge",
        "Trigger records in the partition's log past the plugin's committed offset (not yet planned and done).",
    );
    for t in triggers {
        let plugin = label(&t.plugin);
        for (topic, partition, lag) in &t.partitions {
            if let Some(lag) = lag {
                let _ = writeln!(
                    out,
                    "crawlhost_trigger_lag_records{{plugin=\"{plugin}\",topic=\"{}\",partition=\"{partition}\"}} {lag}",
                    label(topic)
                );
            }
        }
    }
}

/// A distributed worker: its partitions of the tasks topic, its politeness
/// share, and the attempts it ran per plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerView {
    pub assigned: usize,
    /// The fraction of every host's politeness limits this process enforces.
    pub politeness_share: f64,
    /// `(plugin, done, failed)`, sorted by plugin.
    pub tasks: Vec<(String, u64, u64)>,
}

/// The worker's series.
pub fn render_worker(out: &mut String, w: &WorkerView) {
    family(
        out,
        "crawlhost_worker_assigned_partitions",
        "gauge",
        "Partitions of the tasks topic the workers group assigns this process now.",
    );
    let _ = writeln!(out, "crawlhost_worker_assigned_partitions {}", w.assigned);
    family(
        out,
        "crawlhost_politeness_share",
        "gauge",
        "Fraction of every host's politeness limits this process enforces (its share of the tasks topic; 1 outside a workers group).",
    );
    let _ = writeln!(out, "crawlhost_politeness_share {}", w.politeness_share);
    for (name, help, done) in [
        (
            "crawlhost_worker_tasks_done_total",
            "Task attempts this worker ran to the end and reported done.",
            true,
        ),
        (
            "crawlhost_worker_tasks_failed_total",
            "Task attempts this worker reported failed (the coordinator decides whether to retry).",
            false,
        ),
    ] {
        family(out, name, "counter", help);
        for (plugin, d, f) in &w.tasks {
            let _ = writeln!(
                out,
                "{name}{{plugin=\"{}\"}} {}",
                label(plugin),
                if done { d } else { f }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::status::PartitionStatus;

    #[test]
    fn sink_series_per_partition_and_lag_only_where_known() {
        let status = StatusView {
            records_written: 40,
            partitions: vec![
                (
                    "items".into(),
                    0,
                    PartitionStatus {
                        committed: 40,
                        position: 45,
                        open_records: 5,
                    },
                ),
                ("items".into(), 1, PartitionStatus::default()),
            ],
            ..StatusView::default()
        };
        let mut out = String::new();
        render_sink(&mut out, &status, &[Some(50), None]);
        assert!(out.contains("crawlhost_sink_lag_records{topic=\"items\",partition=\"0\"} 10\n"));
        assert!(!out.contains("crawlhost_sink_lag_records{topic=\"items\",partition=\"1\"}"));
        assert!(out.contains("crawlhost_sink_open_records{topic=\"items\",partition=\"1\"} 0\n"));
        assert!(out.contains("crawlhost_sink_partitions 2\n"));
        assert!(out.contains("crawlhost_sink_records_written_total 40\n"));
        assert!(out.contains("# TYPE crawlhost_sink_records_written_total counter"));
    }

    #[test]
    fn the_forward_log_reads_zero_without_one() {
        let mut out = String::new();
        render_backlog(&mut out, None);
        assert!(out.contains("crawlhost_forward_backlog_bytes 0\n"));
        let mut out = String::new();
        render_backlog(
            &mut out,
            Some(Backlog {
                forwarding: true,
                pending_bytes: 900,
                forwarded: 3,
            }),
        );
        assert!(out.contains("crawlhost_forward_backlog_bytes 900\n"));
        assert!(out.contains("crawlhost_forward_active 1\n"));
        assert!(out.contains("crawlhost_forward_forwarded_records_total 3\n"));
        assert_eq!(label("a\"b"), "a\\\"b");
    }

    #[test]
    fn groups_one_sample_each_under_one_header() {
        let mut out = String::new();
        render_groups(
            &mut out,
            &[
                GroupShare {
                    group: "crawlhost.trigger.a".into(),
                    assigned: 3,
                    rebalances: 2,
                },
                GroupShare {
                    group: "crawlhost.trigger.\"b\"".into(),
                    assigned: 0,
                    rebalances: 0,
                },
            ],
        );
        assert_eq!(
            out.matches("# TYPE crawlhost_group_rebalances_total counter\n")
                .count(),
            1
        );
        assert!(
            out.contains("crawlhost_group_assigned_partitions{group=\"crawlhost.trigger.a\"} 3\n")
        );
        assert!(
            out.contains("crawlhost_group_rebalances_total{group=\"crawlhost.trigger.a\"} 2\n")
        );
        assert!(out.contains(
            "crawlhost_group_assigned_partitions{group=\"crawlhost.trigger.\\\"b\\\"\"} 0\n"
        ));
    }

    #[test]
    fn triggers_count_their_partitions_and_lag_only_where_known() {
        let mut out = String::new();
        render_triggers(
            &mut out,
            &[
                TriggerShare {
                    plugin: "echo".into(),
                    partitions: vec![("brands".into(), 0, Some(7)), ("brands".into(), 3, None)],
                },
                TriggerShare {
                    plugin: "idle".into(),
                    partitions: vec![],
                },
            ],
        );
        assert!(out.contains("crawlhost_trigger_assigned_partitions{plugin=\"echo\"} 2\n"));
        assert!(out.contains("crawlhost_trigger_assigned_partitions{plugin=\"idle\"} 0\n"));
        assert!(out.contains(
            "crawlhost_trigger_lag_records{plugin=\"echo\",topic=\"brands\",partition=\"0\"} 7\n"
        ));
        assert!(!out.contains("partition=\"3\""), "{out}");
    }

    #[test]
    fn the_worker_shows_its_share_and_attempts_per_plugin() {
        let mut out = String::new();
        render_worker(
            &mut out,
            &WorkerView {
                assigned: 4,
                politeness_share: 1.0 / 3.0,
                tasks: vec![("echo".into(), 9, 1)],
            },
        );
        assert!(out.contains("crawlhost_worker_assigned_partitions 4\n"));
        assert!(out.contains("crawlhost_politeness_share 0.3333333333333333\n"));
        assert!(out.contains("crawlhost_worker_tasks_done_total{plugin=\"echo\"} 9\n"));
        assert!(out.contains("crawlhost_worker_tasks_failed_total{plugin=\"echo\"} 1\n"));
    }
}
