//! Cron ticks fired once across the group: every host that wants to fire a
//! tick appends a claim to the claims topic (one partition) and reads the
//! partition back; the claim with the lowest offset wins. See the
//! [module documentation](super) for the limits.

use crate::bus::{Bus, BusError, ProduceRecord};

use crate::time::now_ms;

/// How far back in the claims partition a claim looks for an earlier one.
pub const CLAIM_WINDOW: u64 = 10_000;

/// Who won a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This host's claim is the first: fire.
    Won,
    /// Another host claimed it first: skip.
    Lost { by: String },
}

/// Pure part of [`claim`]: the winner among the claims read back, in offset
/// order, as (key, host) pairs.
pub fn claim_winner<'a>(
    claims: impl IntoIterator<Item = (&'a str, &'a str)>,
    key: &str,
) -> Option<&'a str> {
    claims.into_iter().find(|(k, _)| *k == key).map(|(_, h)| h)
}

/// Claim `key` (e.g. `oliveyoung@1732492800000`, a plugin and its cron tick)
/// for `host` across every host sharing `bus`'s claims topic.
pub async fn claim(
    bus: &dyn Bus,
    claims_topic: &str,
    key: &str,
    host: &str,
) -> Result<Claim, BusError> {
    bus.ensure_topic(claims_topic, 1).await?;
    let mine = bus
        .produce(vec![ProduceRecord {
            topic: claims_topic.into(),
            key: Some(key.as_bytes().to_vec()),
            value: serde_json::json!({ "claim": key, "host": host })
                .to_string()
                .into_bytes(),
            headers: vec![("crawlhost-host".into(), host.as_bytes().to_vec())],
            timestamp_ms: now_ms(),
        }])
        .await?;
    let Some(mine) = mine
        .first()
        .copied()
        .filter(|p| p.partition != crate::bus::forward::FORWARDED_PARTITION)
    else {
        return Err(BusError::Unavailable(
            "the broker is unreachable; a claim must be acknowledged to count".into(),
        ));
    };
    let mut offset = mine.offset.saturating_sub(CLAIM_WINDOW);
    let mut claims: Vec<(String, String)> = Vec::new();
    while offset <= mine.offset {
        let batch = bus
            .fetch(claims_topic, mine.partition, offset, 1000)
            .await?;
        if batch.is_empty() {
            break;
        }
        for r in batch {
            offset = r.offset + 1;
            if r.offset > mine.offset {
                break;
            }
            let k = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            let h = r
                .headers
                .iter()
                .find(|(n, _)| n == "crawlhost-host")
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            claims.push((k, h));
        }
    }
    let winner = claim_winner(claims.iter().map(|(k, h)| (k.as_str(), h.as_str())), key)
        .unwrap_or(host)
        .to_string();
    Ok(if winner == host {
        Claim::Won
    } else {
        Claim::Lost { by: winner }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::embedded::EmbeddedBus;

    #[test]
    fn the_first_claim_wins() {
        let claims = [("a@1", "h1"), ("b@1", "h2"), ("a@1", "h2")];
        assert_eq!(claim_winner(claims, "a@1"), Some("h1"));
        assert_eq!(claim_winner(claims, "b@1"), Some("h2"));
        assert_eq!(claim_winner(claims, "c@1"), None);
    }

    #[tokio::test]
    async fn hosts_sharing_a_log_agree_on_one_claimant_per_tick() {
        let bus = EmbeddedBus::in_memory(1).unwrap();
        assert_eq!(
            claim(&bus, "claims", "p@100", "h1").await.unwrap(),
            Claim::Won
        );
        assert_eq!(
            claim(&bus, "claims", "p@100", "h2").await.unwrap(),
            Claim::Lost { by: "h1".into() }
        );
        assert_eq!(
            claim(&bus, "claims", "p@160", "h2").await.unwrap(),
            Claim::Won
        );
        // The loser asking again still loses.
        assert_eq!(
            claim(&bus, "claims", "p@100", "h2").await.unwrap(),
            Claim::Lost { by: "h1".into() }
        );
    }
}
