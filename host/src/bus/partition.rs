//! Partitioning policy: which partition of a topic a record goes to.
//!
//! This module owns the decision and nothing else (no I/O, no storage), so
//! both bus backends share it and it is tested on its own.
//!
//! - Keyed records use Kafka's default partitioner exactly:
//!   `toPositive(murmur2(key)) % partitions`. The embedded bus and a Kafka
//!   cluster therefore put the same key on the same partition, and a
//!   deployment can move from one to the other without reshuffling keys
//!   (per-key order survives the move).
//! - Unkeyed records are spread by [`UnkeyedPartitioner`]: one partition per
//!   produce call and topic ("sticky", like Kafka's sticky partitioner since
//!   2.4), rotating round-robin from one call to the next. A task's unkeyed
//!   records thus stay together and in order, while successive tasks still
//!   spread over all partitions.

use std::collections::HashMap;

/// The seed Kafka's `Utils.murmur2` uses.
const SEED: u32 = 0x9747_b28c;
/// Murmur2's multiplication constant.
const M: u32 = 0x5bd1_e995;
/// Murmur2's shift.
const R: u32 = 24;

/// Kafka's `org.apache.kafka.common.utils.Utils.murmur2`, bit for bit.
///
/// Java returns a signed `int`; this returns the same 32 bits as `u32`
/// (`murmur2(b) as i32` is the Java value). All arithmetic wraps, as Java's
/// `int` does.
pub fn murmur2(data: &[u8]) -> u32 {
    // Java arrays hold at most 2^31 - 1 bytes, so Kafka's `int` length is the
    // low 32 bits of ours; truncation is the faithful conversion.
    let length = data.len() as u32;
    let mut h = SEED ^ length;

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // The Java `switch` falls through from case 3 to case 1.
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition of a keyed record: `(murmur2(key) & 0x7fffffff) % partitions`,
/// Kafka's default partitioner (`Utils.toPositive` then modulo).
///
/// A topic always has at least one partition; `partitions == 0` is treated as
/// one (the answer is 0) rather than dividing by zero. Callers validate
/// partition counts where topics are created.
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

/// Chooses partitions for unkeyed records: sticky within one produce call,
/// round-robin across calls, per topic.
///
/// The caller asks once per (produce call, topic) with [`next`](Self::next)
/// and sends every unkeyed record of that call and topic to the answer. The
/// rotation lives in memory with the producer (as Kafka's does), starting at
/// partition 0; several producers sharing a log each rotate on their own.
#[derive(Debug, Default)]
pub struct UnkeyedPartitioner {
    /// Next partition to hand out, per topic.
    next: HashMap<String, u32>,
}

impl UnkeyedPartitioner {
    /// A partitioner whose every topic starts at partition 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition for the unkeyed records of one produce call to `topic`,
    /// which has `partitions` partitions (0 is treated as 1); advances the
    /// topic's rotation.
    pub fn next(&mut self, topic: &str, partitions: u32) -> u32 {
        let partitions = partitions.max(1);
        let slot = match self.next.get_mut(topic) {
            Some(slot) => slot,
            None => self.next.entry(topic.to_owned()).or_insert(0),
        };
        // The count may have changed since the last call; fold it back in range.
        let chosen = *slot % partitions;
        *slot = (chosen + 1) % partitions;
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors from Kafka's `UtilsTest.testMurmur2` (Java `int` values).
    const KAFKA_VECTORS: &[(&str, i32)] = &[
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ];

    /// Test vectors from librdkafka's `rdmurmur2.c` (which is tested to agree
    /// with the Java client); they cover every tail length and the empty key.
    const LIBRDKAFKA_VECTORS: &[(&str, u32)] = &[
        ("kafka", 0xd067_cf64),
        ("giberish123456789", 0x8f55_2b0c),
        ("1234", 0x9fc9_7b14),
        ("234", 0xe7c0_09ca),
        ("34", 0x8739_30da),
        ("4", 0x5a4b_5ca1),
        ("PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
        ("reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377),
        ("eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
        ("AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f),
        ("", 0x106e_08d9),
    ];

    #[test]
    fn murmur2_matches_kafka_java() {
        for &(input, expected) in KAFKA_VECTORS {
            assert_eq!(
                murmur2(input.as_bytes()) as i32,
                expected,
                "murmur2({input:?})"
            );
        }
    }

    #[test]
    fn murmur2_matches_librdkafka() {
        for &(input, expected) in LIBRDKAFKA_VECTORS {
            assert_eq!(murmur2(input.as_bytes()), expected, "murmur2({input:?})");
        }
    }

    #[test]
    fn murmur2_uses_unsigned_bytes() {
        // Bytes >= 0x80 are masked with 0xff in Java, never sign-extended.
        let high = murmur2(&[0xff, 0xfe, 0x80]);
        let low = murmur2(&[0x7f, 0x7e, 0x00]);
        assert_ne!(high, low);
        assert_eq!(murmur2(&[0xff, 0xfe, 0x80]), high, "deterministic");
    }

    #[test]
    fn partition_for_is_positive_modulo() {
        // "21" hashes negative in Java; toPositive masks the sign bit.
        let hash = murmur2(b"21");
        assert!(hash & 0x8000_0000 != 0);
        assert_eq!(partition_for(b"21", 7), (hash & 0x7fff_ffff) % 7);
        for &(input, _) in KAFKA_VECTORS {
            for partitions in 1..=16 {
                assert!(partition_for(input.as_bytes(), partitions) < partitions);
            }
        }
        assert_eq!(partition_for(b"anything", 1), 0);
    }

    #[test]
    fn partition_for_known_values() {
        // (-973932308 & 0x7fffffff) = 1173551340; 1173551340 % 3 = 0, % 10 = 0.
        assert_eq!(partition_for(b"21", 3), 1_173_551_340 % 3);
        assert_eq!(partition_for(b"21", 10), 1_173_551_340 % 10);
        // "abc" is positive already: 479470107 % 4 = 3.
        assert_eq!(partition_for(b"abc", 4), 3);
    }

    #[test]
    fn partition_for_zero_partitions_does_not_panic() {
        assert_eq!(partition_for(b"key", 0), 0);
    }

    #[test]
    fn unkeyed_rotates_per_topic() {
        let mut p = UnkeyedPartitioner::new();
        let a: Vec<u32> = (0..5).map(|_| p.next("a", 3)).collect();
        assert_eq!(a, [0, 1, 2, 0, 1]);
        // Another topic has its own rotation.
        assert_eq!(p.next("b", 3), 0);
        assert_eq!(p.next("a", 3), 2);
    }

    #[test]
    fn unkeyed_folds_changed_partition_counts() {
        let mut p = UnkeyedPartitioner::new();
        for _ in 0..5 {
            p.next("t", 8);
        }
        // Next would be 5, out of range for 2 partitions.
        assert_eq!(p.next("t", 2), 1);
        assert_eq!(p.next("t", 2), 0);
        assert_eq!(p.next("t", 0), 0);
    }
}
