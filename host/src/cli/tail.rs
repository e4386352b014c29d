//! `crawlhost tail TOPIC`: a topic of the embedded bus as NDJSON on stdout,
//! from the start or the last N records of each partition, once or
//! following new records.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use crate::bus::Bus;
use crate::bus::embedded::EmbeddedBus;
use crate::bus::ndjson::to_ndjson;
use crate::config::Settings;

/// How long `--follow` waits after a pass that found nothing new.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// Arguments of `crawlhost tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Topic to read.
    pub topic: String,
    /// Only the last N records of each partition.
    #[arg(long)]
    pub last: Option<u64>,
    /// Keep waiting for new records.
    #[arg(long, short)]
    pub follow: bool,
}

/// `crawlhost tail`.
pub(super) async fn tail(settings: Settings, args: TailArgs) -> anyhow::Result<ExitCode> {
    let TailArgs {
        topic,
        last,
        follow,
    } = args;
    let topic = topic.as_str();
    let path = settings.data_dir.join("bus.db");
    if !path.exists() {
        bail!(
            "no embedded bus at {} (nothing has been crawled with this data_dir yet)",
            path.display()
        );
    }
    let bus = EmbeddedBus::open(&path, settings.bus.partitions)?;
    copy_topic(&bus, topic, last, follow, &mut std::io::stdout().lock()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Write `topic`'s records to `out` as NDJSON, partition by partition, from
/// the start or the `last` N records of each partition; with `follow`, keep
/// polling for new records and never return.
async fn copy_topic(
    bus: &dyn Bus,
    topic: &str,
    last: Option<u64>,
    follow: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let topics = bus.topics().await?;
    let Some((_, partitions)) = topics.iter().find(|(t, _)| t == topic) else {
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        bail!("unknown topic `{topic}` (topics: {})", names.join(", "));
    };
    let mut positions = Vec::new();
    for p in 0..*partitions {
        let end = bus.end_offset(topic, p).await?;
        positions.push(start_offset(end, last));
    }
    loop {
        let mut any = false;
        for (p, pos) in positions.iter_mut().enumerate() {
            loop {
                let batch = bus.fetch(topic, p as u32, *pos, 1000).await?;
                if batch.is_empty() {
                    break;
                }
                any = true;
                for r in &batch {
                    writeln!(out, "{}", to_ndjson(r))?;
                    *pos = r.offset + 1;
                }
            }
        }
        out.flush()?;
        if !follow {
            return Ok(());
        }
        if !any {
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
}

/// Where to start reading a partition that ends at `end`: the start, or
/// `last` records before the end.
fn start_offset(end: u64, last: Option<u64>) -> u64 {
    last.map_or(0, |n| end.saturating_sub(n))
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn tail_needs_a_topic_and_reads_everything_once_by_default() {
        let err = parse(&["tail"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let Command::Tail(a) = parse(&["tail", "products"]).unwrap().command else {
            panic!("not tail");
        };
        assert_eq!(a.topic, "products");
        assert!(a.last.is_none() && !a.follow);
        let Command::Tail(a) = parse(&["tail", "products", "-f", "--last", "5"])
            .unwrap()
            .command
        else {
            panic!("not tail");
        };
        assert!(a.follow);
        assert_eq!(a.last, Some(5));
    }

    #[tokio::test]
    async fn tail_prints_the_last_records_of_each_partition_as_ndjson() {
        use crate::bus::ProduceRecord;
        let bus = EmbeddedBus::in_memory(1).unwrap();
        bus.ensure_topic("products", 1).await.unwrap();
        let record = |n: u32| ProduceRecord {
            topic: "products".into(),
            key: None,
            value: format!("{{\"n\":{n}}}").into_bytes(),
            headers: vec![],
            timestamp_ms: 7,
        };
        bus.produce((0..3).map(record).collect()).await.unwrap();
        let mut out = Vec::new();
        copy_topic(&bus, "products", Some(2), false, &mut out)
            .await
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let values: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(values.len(), 2, "{text}");
        assert_eq!(values[0]["offset"], 1);
        assert_eq!(values[1]["value"], serde_json::json!({"n": 2}));
        let err = copy_topic(&bus, "brands", None, false, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "unknown topic `brands` (topics: products)");
    }

    #[test]
    fn last_n_starts_n_records_before_the_end_or_at_zero() {
        assert_eq!(start_offset(100, None), 0);
        assert_eq!(start_offset(100, Some(5)), 95);
        assert_eq!(start_offset(3, Some(5)), 0);
    }
}
