//! The `quality` import (contract 0.3): a plugin reports items it skipped
//! for a missing identity field, counted per instance by (topic, field) and
//! bounded, so the counts can become metrics labels.

use std::collections::BTreeMap;

use wasmtime::component::{HasSelf, Linker};

use super::Instance;
use crate::contract::crawlhost::plugin::quality;

/// Distinct (topic, field) pairs one instance may report skipped items for;
/// later pairs are ignored (the counts end up in metrics labels).
const MAX_SKIPPED_PAIRS: usize = 64;
/// Longest topic or field name accepted in a skipped-item report.
const MAX_SKIPPED_NAME: usize = 128;

/// Items skipped for a missing identity field, by (topic, field), as one
/// instance reported them through the `quality` import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkippedTally(BTreeMap<(String, String), u64>);

impl SkippedTally {
    /// Add `count` for (`topic`, `field`); false when the report was
    /// refused (a name too long or empty, or too many distinct pairs).
    pub fn add(&mut self, topic: &str, field: &str, count: u32) -> bool {
        let ok_name = |n: &str| !n.is_empty() && n.len() <= MAX_SKIPPED_NAME;
        if !ok_name(topic) || !ok_name(field) {
            return false;
        }
        let key = (topic.to_string(), field.to_string());
        if !self.0.contains_key(&key) && self.0.len() >= MAX_SKIPPED_PAIRS {
            return false;
        }
        let n = self.0.entry(key).or_default();
        *n = n.saturating_add(count as u64);
        true
    }

    /// The counts, by (topic, field).
    pub fn into_counts(self) -> BTreeMap<(String, String), u64> {
        self.0
    }
}

/// Link `quality`; `get` finds the instance in the store data.
pub(super) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    quality::add_to_linker::<T, HasSelf<Instance>>(linker, get)
}

impl quality::Host for Instance {
    async fn skipped(&mut self, topic: String, field: String, count: u32) -> wasmtime::Result<()> {
        if !self.skipped.add(&topic, &field, count) {
            tracing::warn!(plugin = %self.plugin, task = %self.task, topic = %topic, field = %field, "Skipped-item report ignored: too many distinct topic/field pairs or names too long.");
        } else {
            tracing::debug!(plugin = %self.plugin, task = %self.task, topic = %topic, field = %field, count, "Items skipped for a missing identity field.");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_reports_add_up_within_bounds() {
        let mut t = SkippedTally::default();
        assert!(t.add("products", "goods_no", 2));
        assert!(t.add("products", "goods_no", 3));
        assert!(t.add("products", "name", u32::MAX));
        assert!(t.add("products", "name", u32::MAX));
        assert!(!t.add("", "name", 1));
        assert!(!t.add("products", &"x".repeat(MAX_SKIPPED_NAME + 1), 1));
        for i in 2..MAX_SKIPPED_PAIRS {
            assert!(t.add("other", &format!("f{i}"), 1));
        }
        assert!(!t.add("other", "one-too-many", 1));
        // A pair already counted still adds up at the limit.
        assert!(t.add("products", "goods_no", 1));
        let counts = t.into_counts();
        assert_eq!(counts.len(), MAX_SKIPPED_PAIRS);
        assert_eq!(counts[&("products".into(), "goods_no".into())], 6);
        assert_eq!(
            counts[&("products".into(), "name".into())],
            2 * u32::MAX as u64
        );
    }
}
