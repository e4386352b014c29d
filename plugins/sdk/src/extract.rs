//! Extraction that survives markup drift: identity fields and optional
//! fields, with a tally of what could not be read.
//!
//! A record kind names the few fields without which an item means nothing
//! (a product's goods number and name, a tweet's id and text): its
//! *identity*. Only those can drop an item, and a dropped item is skipped and
//! counted; its siblings, its page and its parent record are kept. Every other
//! field is *optional*: missing or unparsable becomes `None` (JSON `null`)
//! and is counted as a miss of that field. This is Scrapy's item-loader habit
//! (fill what you find) with Spidermon's field counts, so a site change shows
//! up as numbers instead of lost pages.
//!
//! ```
//! use crawlhost_sdk::extract::Tally;
//!
//! struct Product { goods_no: String, name: String, price: Option<u64> }
//!
//! let cards = [("A1", "Toner", Some("12,000")), ("", "Serum", None)];
//! let mut tally = Tally::new("oliveyoung-products");
//! let products: Vec<Product> = cards
//!     .iter()
//!     .enumerate()
//!     .filter_map(|(i, (no, name, price))| {
//!         tally.item(|| format!("card #{}", i + 1), |item| {
//!             Ok(Product {
//!                 goods_no: item.identity("goods_no", Some(no.to_string()))?,
//!                 name: item.identity("name", Some(name.to_string()))?,
//!                 price: item.optional("price", price.and_then(|p| p.replace(',', "").parse().ok())),
//!             })
//!         })
//!     })
//!     .collect();
//! assert_eq!(products.len(), 1);
//! assert_eq!(tally.skipped(), 1); // the card without a goods number
//! assert_eq!(tally.skipped_by("goods_no"), 1);
//! ```
//!
//! At the end of a task, [`Tally::report`] writes one log line per identity
//! field that dropped items (with the first place it happened) and tells the
//! host through the `quality` import, which counts skipped items per run and
//! topic beside the field coverage it measures from the records. Plugins that
//! keep their side effects behind their own trait use [`Tally::report_with`].

use std::collections::BTreeMap;

use crate::LogLevel;

/// An identity field was missing or unreadable: the item is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// The identity field.
    pub field: &'static str,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "identity field `{}` is missing", self.field)
    }
}

impl std::error::Error for Missing {}

/// Whether a value carries anything: empty or blank text is as good as
/// missing, for identity fields and optional ones alike.
pub trait Filled {
    /// True when the value holds something.
    fn is_filled(&self) -> bool;
}

impl Filled for String {
    fn is_filled(&self) -> bool {
        !self.trim().is_empty()
    }
}

impl Filled for &str {
    fn is_filled(&self) -> bool {
        !self.trim().is_empty()
    }
}

impl<T> Filled for Vec<T> {
    fn is_filled(&self) -> bool {
        !self.is_empty()
    }
}

macro_rules! always_filled {
    ($($t:ty),*) => { $(impl Filled for $t { fn is_filled(&self) -> bool { true } })* };
}
always_filled!(u8, u16, u32, u64, i32, i64, usize, bool);

impl Filled for f64 {
    fn is_filled(&self) -> bool {
        self.is_finite()
    }
}

impl Filled for serde_json::Value {
    fn is_filled(&self) -> bool {
        !self.is_null()
    }
}

/// The fields of one item being read (see [`Tally::item`]).
#[derive(Debug, Default)]
pub struct Item {
    misses: Vec<&'static str>,
}

impl Item {
    /// An identity field: a missing or empty value ends the item with
    /// [`Missing`] (use `?`), so it is skipped and counted.
    pub fn identity<T: Filled>(
        &mut self,
        field: &'static str,
        value: Option<T>,
    ) -> Result<T, Missing> {
        value.filter(Filled::is_filled).ok_or(Missing { field })
    }

    /// An optional field: a missing, empty or unparsable value becomes
    /// `None` and counts as a miss of `field`.
    pub fn optional<T: Filled>(&mut self, field: &'static str, value: Option<T>) -> Option<T> {
        let value = value.filter(Filled::is_filled);
        if value.is_none() {
            self.misses.push(field);
        }
        value
    }

    /// Record a miss of `field` by hand (a value the plugin chose to drop).
    pub fn miss(&mut self, field: &'static str) {
        self.misses.push(field);
    }
}

/// Identity misses of one field: how many items, and the first place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skips {
    /// Items skipped for this field.
    pub count: u32,
    /// Where the first one was (a URL, a position on a page).
    pub first_at: String,
}

/// What one task could and could not read of one topic's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    topic: String,
    kept: u64,
    skipped: BTreeMap<&'static str, Skips>,
    misses: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// An empty tally for the items of `topic`.
    pub fn new(topic: impl Into<String>) -> Self {
        Tally {
            topic: topic.into(),
            kept: 0,
            skipped: BTreeMap::new(),
            misses: BTreeMap::new(),
        }
    }

    /// The topic the items are meant for.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Read one item with `read`. When `read` fails on an identity field the
    /// item is skipped (`None`) and counted with the place `at` describes
    /// (called only then); otherwise its optional misses are counted and the
    /// item is returned.
    pub fn item<T>(
        &mut self,
        at: impl FnOnce() -> String,
        read: impl FnOnce(&mut Item) -> Result<T, Missing>,
    ) -> Option<T> {
        let mut item = Item::default();
        match read(&mut item) {
            Ok(value) => {
                self.kept += 1;
                for field in item.misses {
                    *self.misses.entry(field).or_default() += 1;
                }
                Some(value)
            }
            Err(Missing { field }) => {
                self.skip(field, at);
                None
            }
        }
    }

    /// Count one item skipped for its identity field `field` (for items the
    /// plugin rejects outside [`Tally::item`]).
    pub fn skip(&mut self, field: &'static str, at: impl FnOnce() -> String) {
        self.skipped
            .entry(field)
            .and_modify(|s| s.count = s.count.saturating_add(1))
            .or_insert_with(|| Skips {
                count: 1,
                first_at: at(),
            });
    }

    /// The same tally with `place` (a URL) added to where each first skip
    /// was, for tallies made by a parser that does not know its URL.
    pub fn located(mut self, place: &str) -> Self {
        for skips in self.skipped.values_mut() {
            skips.first_at = format!("{} on {place}", skips.first_at);
        }
        self
    }

    /// Add another tally of the same topic (e.g. one per page) to this one.
    pub fn merge(&mut self, other: Tally) {
        self.kept += other.kept;
        for (field, skips) in other.skipped {
            self.skipped
                .entry(field)
                .and_modify(|s| s.count = s.count.saturating_add(skips.count))
                .or_insert(skips);
        }
        for (field, n) in other.misses {
            *self.misses.entry(field).or_default() += n;
        }
    }

    /// Items read.
    pub fn kept(&self) -> u64 {
        self.kept
    }

    /// Items skipped, all identity fields together.
    pub fn skipped(&self) -> u64 {
        self.skipped.values().map(|s| u64::from(s.count)).sum()
    }

    /// Items skipped for the identity field `field`.
    pub fn skipped_by(&self, field: &str) -> u64 {
        self.skipped.get(field).map_or(0, |s| u64::from(s.count))
    }

    /// Skips by identity field.
    pub fn skips(&self) -> &BTreeMap<&'static str, Skips> {
        &self.skipped
    }

    /// Misses of the optional field `field` among the items read.
    pub fn misses_of(&self, field: &str) -> u64 {
        self.misses.get(field).copied().unwrap_or(0)
    }

    /// Misses by optional field.
    pub fn misses(&self) -> &BTreeMap<&'static str, u64> {
        &self.misses
    }

    /// The log lines [`Tally::report`] writes: one warning per identity
    /// field that dropped items, naming the first place; one debug line
    /// with the optional fields' misses. None when everything was read.
    pub fn log_lines(&self) -> Vec<(LogLevel, String)> {
        let mut lines = Vec::new();
        for (field, skips) in &self.skipped {
            lines.push((
                LogLevel::Warn,
                format!(
                    "skipped {} of {} `{}` items without `{field}` (first at {})",
                    skips.count,
                    self.kept + self.skipped(),
                    self.topic,
                    skips.first_at
                ),
            ));
        }
        if !self.misses.is_empty() {
            let list = self
                .misses
                .iter()
                .map(|(field, n)| format!("{field} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            lines.push((
                LogLevel::Debug,
                format!(
                    "{} `{}` items read; optional fields left null: {list}",
                    self.kept, self.topic
                ),
            ));
        }
        lines
    }

    /// Log the tally and report its skipped items to the host: call once at
    /// the end of a task.
    pub fn report(&self) {
        self.report_with(
            crate::bindings::crawlhost::plugin::log::log,
            crate::quality::skipped,
        );
    }

    /// [`Tally::report`] through the caller's own log and skip sinks.
    pub fn report_with(
        &self,
        mut log: impl FnMut(LogLevel, &str),
        mut skipped: impl FnMut(&str, &str, u32),
    ) {
        for (level, line) in self.log_lines() {
            log(level, &line);
        }
        for (field, skips) in &self.skipped {
            skipped(&self.topic, field, skips.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_fails_the_item_optional_does_not() {
        let mut tally = Tally::new("t");
        let kept = tally.item(
            || "a".into(),
            |i| {
                let id = i.identity("id", Some("x".to_string()))?;
                let price = i.optional::<u64>("price", None);
                let blank = i.optional("note", Some("  ".to_string()));
                Ok((id, price, blank))
            },
        );
        assert_eq!(kept, Some(("x".to_string(), None, None)));
        // A blank identity is missing; optional fields read before it do
        // not count as misses of a skipped item.
        let skipped = tally.item(
            || "page 2 card #3".into(),
            |i| {
                i.optional::<u64>("price", None);
                i.identity("id", Some(" ".to_string()))
            },
        );
        assert_eq!(skipped, None);
        tally.item(|| "second".into(), |i| i.identity::<String>("id", None));
        assert_eq!(tally.kept(), 1);
        assert_eq!(tally.skipped(), 2);
        assert_eq!(tally.skipped_by("id"), 2);
        assert_eq!(tally.skips()["id"].first_at, "page 2 card #3");
        assert_eq!(tally.misses_of("price"), 1);
        assert_eq!(tally.misses_of("note"), 1);
        assert!(!f64::NAN.is_filled() && 1.5f64.is_filled());
    }

    #[test]
    fn merge_and_report() {
        let mut a = Tally::new("t");
        a.skip("id", || "u1".into());
        a.item(|| "x".into(), |i| Ok(i.optional::<u64>("p", None)));
        let mut b = Tally::new("t");
        b.skip("id", || "u2".into());
        b.skip("name", || "u3".into());
        b.item(|| "x".into(), |i| Ok(i.optional("p", Some(1u64))));
        a.merge(b);
        assert_eq!((a.kept(), a.skipped()), (2, 3));
        assert_eq!(a.skips()["id"].first_at, "u1");
        let a = a.located("https://x/p?n=1");
        assert_eq!(a.skips()["name"].first_at, "u3 on https://x/p?n=1");
        let mut logged = Vec::new();
        let mut reported = Vec::new();
        a.report_with(
            |l, m| logged.push((l, m.to_string())),
            |t, f, n| reported.push((t.to_string(), f.to_string(), n)),
        );
        assert_eq!(
            reported,
            vec![("t".into(), "id".into(), 2), ("t".into(), "name".into(), 1)]
        );
        assert!(
            logged[0]
                .1
                .contains("skipped 2 of 5 `t` items without `id` (first at u1 on https://x/p?n=1)"),
            "{logged:?}"
        );
        assert!(logged.iter().any(|(_, m)| m.contains("p 1")));
        // Nothing to say about a clean tally.
        assert!(Tally::new("t").log_lines().is_empty());
    }
}
