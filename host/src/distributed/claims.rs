//! Cron ticks fired once across the group: every host that wants to fire a
//! tick appends a claim to the claims topic (one partition) and reads the
//! partition back; the claim with the lowest offset wins. See the
//! [module documentation](super) for the limits.
//!
//! **Spreading the ticks.** Who wins is who appends first, so hosts that
//! fire at the same instant would leave it to network noise, and a host that
//! is always a little faster would run every tick. `serve` therefore waits
//! [`claim_delay`] before claiming: a stable pseudo-random share of a short
//! spread, hashed from the host id and the tick's key. For each tick every
//! host draws its own delay and the smallest one claims first: rendezvous
//! hashing, with the claims log instead of a membership list as the judge,
//! so the winners spread evenly over however many hosts are alive (each wins
//! about 1/N of the ticks) and nobody has to know the others. Clock skew
//! between hosts and the broker's latency only blur the draw; they cannot
//! make a tick run twice, which the log alone decides.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::bus::{Bus, BusError, ProduceRecord};

use crate::time::now_ms;

/// How far back in the claims partition a claim looks for an earlier one.
pub const CLAIM_WINDOW: u64 = 10_000;

/// The longest a host waits before claiming a tick ([`claim_delay`]).
pub const CLAIM_SPREAD: Duration = Duration::from_secs(1);

/// The claim key of a cron tick: `<plugin>@<tick as RFC 3339 UTC>`, e.g.
/// `oliveyoung@2026-01-01T03:00:00Z`. Every host computes the same tick
/// times from the same schedule, so their keys for one tick agree.
pub fn tick_key(plugin: &str, tick: DateTime<Utc>) -> String {
    format!(
        "{plugin}@{}",
        tick.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}

/// The spread of claim delays for a schedule whose ticks are `interval`
/// apart: [`CLAIM_SPREAD`], but at most a quarter of the interval, so a
/// per-second schedule still starts its runs well before the next tick.
pub fn claim_spread(interval: Duration) -> Duration {
    CLAIM_SPREAD.min(interval / 4)
}

/// How long `host` waits after a tick before claiming `key`: a share of
/// `spread` drawn from a hash of both, the same on every call (see the
/// module documentation: the host with the smallest delay claims first).
pub fn claim_delay(host: &str, key: &str, spread: Duration) -> Duration {
    let digest = Sha256::new()
        .chain_update(host.as_bytes())
        .chain_update([0u8])
        .chain_update(key.as_bytes())
        .finalize();
    let draw = u64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 has 32 bytes"));
    let micros = spread.as_micros() as u64;
    if micros == 0 {
        return Duration::ZERO;
    }
    Duration::from_micros(draw % micros)
}

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
    Ok(claim_noting(bus, claims_topic, key, host, None).await?.0)
}

/// The header a claim may carry a position in with [`claim_noting`].
const NOTE_HEADER: &str = "crawlhost-note";

/// [`claim`], with `note` (a log position, e.g. where the claimant's run
/// journal will start) carried on the claim record; returns the winning
/// claim's note too, so a host that lost learns where the winner's records
/// begin.
pub async fn claim_noting(
    bus: &dyn Bus,
    claims_topic: &str,
    key: &str,
    host: &str,
    note: Option<u64>,
) -> Result<(Claim, Option<u64>), BusError> {
    bus.ensure_topic(claims_topic, 1).await?;
    let mut headers = vec![("crawlhost-host".to_string(), host.as_bytes().to_vec())];
    if let Some(n) = note {
        headers.push((NOTE_HEADER.to_string(), n.to_string().into_bytes()));
    }
    let mine = bus
        .produce(vec![ProduceRecord {
            topic: claims_topic.into(),
            key: Some(key.as_bytes().to_vec()),
            value: serde_json::json!({ "claim": key, "host": host })
                .to_string()
                .into_bytes(),
            headers,
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
    // (key, host, note) of every claim up to this host's, in offset order.
    let mut claims: Vec<(String, String, Option<u64>)> = Vec::new();
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
            let header = |name: &str| {
                r.headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            };
            let h = header("crawlhost-host").unwrap_or_default();
            let note = header(NOTE_HEADER).and_then(|n| n.parse().ok());
            claims.push((k, h, note));
        }
    }
    let winner = claim_winner(claims.iter().map(|(k, h, _)| (k.as_str(), h.as_str())), key)
        .unwrap_or(host)
        .to_string();
    let winner_note = claims
        .iter()
        .find(|(k, _, _)| k == key)
        .and_then(|(_, _, n)| *n)
        .or(note.filter(|_| winner == host));
    Ok(if winner == host {
        (Claim::Won, winner_note)
    } else {
        (Claim::Lost { by: winner }, winner_note)
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

    #[test]
    fn tick_keys_name_the_tick_in_utc() {
        use chrono::TimeZone;
        let tick = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 2).unwrap();
        assert_eq!(tick_key("ticker", tick), "ticker@2026-01-01T03:00:02Z");
        let odd = tick + chrono::Duration::milliseconds(250);
        assert_eq!(tick_key("ticker", odd), "ticker@2026-01-01T03:00:02.250Z");
    }

    #[test]
    fn the_spread_is_a_quarter_of_a_short_interval() {
        assert_eq!(claim_spread(Duration::from_secs(3600)), CLAIM_SPREAD);
        assert_eq!(
            claim_spread(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(claim_spread(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn claim_delays_are_stable_and_spread_the_ticks_over_the_hosts() {
        let spread = Duration::from_millis(500);
        assert_eq!(
            claim_delay("h1", "p@1", spread),
            claim_delay("h1", "p@1", spread)
        );
        assert_eq!(claim_delay("h1", "p@1", Duration::ZERO), Duration::ZERO);
        // Three hosts, 3000 ticks: each claims first about a third of them.
        let hosts = [
            "web-1-17-0a1b2c3d",
            "web-2-17-99aa0011",
            "web-3-4242-deadbeef",
        ];
        let mut wins = [0usize; 3];
        for t in 0..3000 {
            let key = format!("p@{t}");
            let delays: Vec<_> = hosts.iter().map(|h| claim_delay(h, &key, spread)).collect();
            assert!(delays.iter().all(|d| *d < spread));
            let first = (0..3).min_by_key(|&i| delays[i]).unwrap();
            wins[first] += 1;
        }
        for w in wins {
            assert!((900..=1100).contains(&w), "{wins:?}");
        }
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
