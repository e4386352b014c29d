//! Field coverage: how well a plugin's records are filled, measured by the
//! host for every plugin from the records themselves.
//!
//! This module owns the fold. Every record a task publishes (dead letters
//! excluded) is scanned once, in the same pass that checks its value is JSON
//! ([`scan`]); per topic the host counts records, and per top-level field of
//! JSON-object records the records in which the field is present and not
//! null, and those in which it is `true` (a flag such as `sold_out` stays
//! filled when the site renames its marker: only its `true` count shows the
//! change). Beside that, the items a plugin skipped because an identity field
//! was missing, as it reported them through the contract's `quality` import.
//! Task counts merge into the run's ([`RunCoverage::merge`]), also across
//! hosts in distributed mode (a worker sends its task's coverage with the
//! outcome).
//!
//! Pure data and arithmetic, no I/O. What the counts mean against an earlier
//! run is [`drift`]'s business; keeping them per plugin under `data_dir` is
//! [`store`]'s.

pub mod drift;
pub mod store;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

pub use drift::{DriftAlarm, DriftCheck, DriftConfig, DriftKind, DriftPolicy};

/// Distinct fields tracked per topic; fields beyond it are not counted and
/// the topic is marked [`TopicCoverage::fields_truncated`]. Records whose
/// keys are data (one key per brand) would otherwise grow the counts, the
/// metrics and the stored baseline without bound.
pub const MAX_FIELDS_PER_TOPIC: usize = 256;
/// Longest field name tracked, in bytes; longer names count as truncation.
pub const MAX_FIELD_NAME: usize = 128;
/// Fields per topic the summary lists before it keeps only the common ones.
pub const MAX_REPORTED_FIELDS: usize = 40;

/// The coverage of one run (or one task), by topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCoverage {
    pub topics: BTreeMap<String, TopicCoverage>,
}

/// The coverage of one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicCoverage {
    /// Records published to the topic.
    pub records: u64,
    /// Records that were valid JSON but not an object: they count in
    /// `records` and fill no field.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub non_objects: u64,
    /// By top-level field name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldCoverage>,
    /// Items the plugin skipped because this identity field was missing, by
    /// field (from the `quality` import).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, u64>,
    /// More than [`MAX_FIELDS_PER_TOPIC`] distinct fields (or a name longer
    /// than [`MAX_FIELD_NAME`]) appeared; those were not counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fields_truncated: bool,
}

/// The counts of one field of one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCoverage {
    /// Records in which the field is present and not null.
    pub filled: u64,
    /// Records in which the field is the boolean `true`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub true_count: u64,
    /// Of the filled ones, records in which the field is an empty string,
    /// list or object: present, yet nothing read (a category list that
    /// comes back `[]` for every brand is drift too).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub empty: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `part / whole`, 0 for an empty whole.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl TopicCoverage {
    /// Share of the topic's records in which `field` is present and not
    /// null (0 when the field never appeared).
    pub fn filled_share(&self, field: &str) -> f64 {
        share(self.fields.get(field).map_or(0, |f| f.filled), self.records)
    }

    /// Share of the topic's records in which `field` is filled and not
    /// empty (`""`, `[]`, `{}`).
    pub fn content_share(&self, field: &str) -> f64 {
        share(
            self.fields
                .get(field)
                .map_or(0, |f| f.filled.saturating_sub(f.empty)),
            self.records,
        )
    }

    /// Share of the topic's records in which `field` is `true`.
    pub fn true_share(&self, field: &str) -> f64 {
        share(
            self.fields.get(field).map_or(0, |f| f.true_count),
            self.records,
        )
    }

    /// Count one scanned record.
    pub fn add(&mut self, shape: &Shape) {
        self.records += 1;
        match shape {
            Shape::NotObject => self.non_objects += 1,
            Shape::Object(fields) => {
                for (name, presence) in fields {
                    let Some(f) = self.field_mut(name) else {
                        continue;
                    };
                    match presence {
                        Presence::Null => {}
                        Presence::Filled => f.filled += 1,
                        Presence::Empty => {
                            f.filled += 1;
                            f.empty += 1;
                        }
                        Presence::True => {
                            f.filled += 1;
                            f.true_count += 1;
                        }
                    }
                }
            }
        }
    }

    /// The counts of `name`, created on first sight within the limits.
    fn field_mut(&mut self, name: &str) -> Option<&mut FieldCoverage> {
        if !self.fields.contains_key(name) {
            if self.fields.len() >= MAX_FIELDS_PER_TOPIC || name.len() > MAX_FIELD_NAME {
                self.fields_truncated = true;
                return None;
            }
            self.fields
                .insert(name.to_string(), FieldCoverage::default());
        }
        // Looked up by `&str`: no allocation for a field already known.
        self.fields.get_mut(name)
    }

    /// Add another part of the same topic's counts.
    pub fn merge(&mut self, other: &TopicCoverage) {
        self.records += other.records;
        self.non_objects += other.non_objects;
        self.fields_truncated |= other.fields_truncated;
        for (name, f) in &other.fields {
            if let Some(mine) = self.field_mut(name) {
                mine.filled += f.filled;
                mine.true_count += f.true_count;
                mine.empty += f.empty;
            }
        }
        for (field, n) in &other.skipped {
            *self.skipped.entry(field.clone()).or_default() += n;
        }
    }
}

impl RunCoverage {
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// Count one record of `topic`.
    pub fn add_record(&mut self, topic: &str, shape: &Shape) {
        self.topic_mut(topic).add(shape);
    }

    /// Count `count` items of `topic` skipped for a missing `field`.
    pub fn add_skipped(&mut self, topic: &str, field: &str, count: u64) {
        *self
            .topic_mut(topic)
            .skipped
            .entry(field.to_string())
            .or_default() += count;
    }

    fn topic_mut(&mut self, topic: &str) -> &mut TopicCoverage {
        if !self.topics.contains_key(topic) {
            self.topics
                .insert(topic.to_string(), TopicCoverage::default());
        }
        self.topics.get_mut(topic).expect("inserted above")
    }

    /// Add another part (a task's counts) of the same run.
    pub fn merge(&mut self, other: &RunCoverage) {
        for (topic, t) in &other.topics {
            self.topic_mut(topic).merge(t);
        }
    }

    /// Items skipped for missing identity fields, all topics together.
    pub fn skipped_total(&self) -> u64 {
        self.topics.values().flat_map(|t| t.skipped.values()).sum()
    }

    /// The summary's coverage table: one line per topic and field, aligned,
    /// e.g. `oliveyoung-products  price_current  4,812/5,000   96.2%`, with
    /// the `true` share of flag fields, then one line per skipped identity
    /// field. A topic with more than [`MAX_REPORTED_FIELDS`] fields (keys
    /// that are data, such as one key per brand) lists only the fields
    /// filled in at least 1% of its records, up to that many, and counts the
    /// rest in one line.
    pub fn report_lines(&self) -> Vec<String> {
        // Per topic: the fields listed, and how many are not.
        type Listed<'a> = (Vec<(&'a String, &'a FieldCoverage)>, usize);
        let shown: BTreeMap<&String, Listed<'_>> = self
            .topics
            .iter()
            .map(|(topic, t)| {
                let mut fields: Vec<_> = t.fields.iter().collect();
                if fields.len() > MAX_REPORTED_FIELDS {
                    fields.retain(|(_, f)| share(f.filled, t.records) >= 0.01);
                    fields.truncate(MAX_REPORTED_FIELDS);
                }
                let hidden = t.fields.len() - fields.len();
                (topic, (fields, hidden))
            })
            .collect();
        let topic_w = self.topics.keys().map(|t| t.len()).max().unwrap_or(0);
        let field_w = shown
            .iter()
            .flat_map(|(topic, (fields, _))| {
                fields
                    .iter()
                    .map(|(f, _)| f.len())
                    .chain(self.topics[*topic].skipped.keys().map(|f| f.len()))
            })
            .max()
            .unwrap_or(0);
        let count_w = shown
            .iter()
            .flat_map(|(topic, (fields, _))| {
                let records = self.topics[*topic].records;
                fields
                    .iter()
                    .map(move |(_, f)| thousands(f.filled).len() + 1 + thousands(records).len())
            })
            .max()
            .unwrap_or(0);
        let mut lines = Vec::new();
        for (topic, (fields, hidden)) in &shown {
            let t = &self.topics[*topic];
            if t.fields.is_empty() && t.skipped.is_empty() {
                lines.push(format!(
                    "{topic:<topic_w$}  ({} records, no JSON-object fields)",
                    thousands(t.records)
                ));
            }
            for (field, f) in fields {
                let counts = format!("{}/{}", thousands(f.filled), thousands(t.records));
                let mut line = format!(
                    "{topic:<topic_w$}  {field:<field_w$}  {counts:>count_w$}  {:>5.1}%",
                    100.0 * share(f.filled, t.records)
                );
                if f.true_count > 0 {
                    line.push_str(&format!(
                        "  true in {} ({:.1}%)",
                        thousands(f.true_count),
                        100.0 * share(f.true_count, t.records)
                    ));
                }
                if f.empty > 0 {
                    line.push_str(&format!(
                        "  empty in {} ({:.1}%)",
                        thousands(f.empty),
                        100.0 * share(f.empty, t.records)
                    ));
                }
                lines.push(line);
            }
            if *hidden > 0 {
                lines.push(format!(
                    "{topic:<topic_w$}  ({} more field(s) not listed: {} distinct top-level \
                     keys, most of them rare; `coverage show --json` has them all)",
                    thousands(*hidden as u64),
                    thousands(t.fields.len() as u64)
                ));
            }
            for (field, n) in &t.skipped {
                lines.push(format!(
                    "{topic:<topic_w$}  {field:<field_w$}  {} item(s) skipped without it",
                    thousands(*n)
                ));
            }
            if t.fields_truncated {
                lines.push(format!(
                    "{topic:<topic_w$}  (more than {MAX_FIELDS_PER_TOPIC} distinct fields or \
                     names over {MAX_FIELD_NAME} bytes: the rest were not counted)"
                ));
            }
        }
        lines
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What coverage needs to know about one record's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A JSON object: its top-level fields, each once (the last of
    /// duplicate keys wins, as for most JSON readers).
    Object(Vec<(String, Presence)>),
    /// Valid JSON, not an object.
    NotObject,
}

/// A top-level field's value as coverage sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Null,
    True,
    /// `""`, `[]` or `{}`: present, not null, nothing in it.
    Empty,
    /// Anything else that is not null (`false` included).
    Filled,
}

/// Check that `value` is one JSON value and read its top-level shape, in
/// one pass (nested values are checked and skipped, not built).
pub fn scan(value: &str) -> Result<Shape, serde_json::Error> {
    let mut shape: Shape = serde_json::from_str(value)?;
    if let Shape::Object(fields) = &mut shape {
        // Keep the last of duplicate keys: a stable sort keeps their order.
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(String, Presence)> = Vec::with_capacity(fields.len());
        for (k, p) in fields.drain(..) {
            match deduped.last_mut() {
                Some(last) if last.0 == k => last.1 = p,
                _ => deduped.push((k, p)),
            }
        }
        *fields = deduped;
    }
    Ok(shape)
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut fields = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Presence>()? {
            fields.push((k, v));
        }
        Ok(Shape::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::NotObject)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::NotObject)
    }
}

impl<'de> Deserialize<'de> for Presence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PresenceVisitor)
    }
}

struct PresenceVisitor;

impl<'de> Visitor<'de> for PresenceVisitor {
    type Value = Presence;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Presence, E> {
        Ok(Presence::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Presence, E> {
        Ok(if v { Presence::True } else { Presence::Filled })
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Presence, E> {
        Ok(Presence::Filled)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Presence, E> {
        Ok(Presence::Filled)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Presence, E> {
        Ok(Presence::Filled)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Presence, E> {
        Ok(if v.is_empty() {
            Presence::Empty
        } else {
            Presence::Filled
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Presence, A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_none() {
            return Ok(Presence::Empty);
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Presence::Filled)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Presence, A::Error> {
        if map.next_entry::<IgnoredAny, IgnoredAny>()?.is_none() {
            return Ok(Presence::Empty);
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Presence::Filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(topic: &str, values: &[&str]) -> RunCoverage {
        let mut c = RunCoverage::default();
        for v in values {
            c.add_record(topic, &scan(v).unwrap());
        }
        c
    }

    #[test]
    fn scan_reads_top_level_presence_and_validates() {
        let shape = scan(r#"{"a":1,"b":null,"c":true,"d":false,"e":{"x":[1,null]},"f":"","g":[]}"#)
            .unwrap();
        assert_eq!(
            shape,
            Shape::Object(vec![
                ("a".into(), Presence::Filled),
                ("b".into(), Presence::Null),
                ("c".into(), Presence::True),
                ("d".into(), Presence::Filled),
                ("e".into(), Presence::Filled),
                ("f".into(), Presence::Empty),
                ("g".into(), Presence::Empty),
            ])
        );
        assert_eq!(scan("[1,2]").unwrap(), Shape::NotObject);
        assert_eq!(scan("\"text\"").unwrap(), Shape::NotObject);
        assert_eq!(scan("null").unwrap(), Shape::NotObject);
        assert_eq!(scan("3.5").unwrap(), Shape::NotObject);
        // Invalid JSON anywhere, nested or trailing, is an error.
        assert!(scan(r#"{"a":{"b":[1,}]}}"#).is_err());
        assert!(scan(r#"{"a":1} x"#).is_err());
        assert!(scan("").is_err());
        // Escaped keys are read as text; the last duplicate wins.
        assert_eq!(
            scan(r#"{"k\u00e9y":1,"dup":1,"dup":null}"#).unwrap(),
            Shape::Object(vec![
                ("dup".into(), Presence::Null),
                ("kéy".into(), Presence::Filled),
            ])
        );
    }

    #[test]
    fn counts_filled_and_true_per_field() {
        let c = fold(
            "products",
            &[
                r#"{"id":1,"price":100,"sold_out":false}"#,
                r#"{"id":2,"price":null,"sold_out":true}"#,
                r#"{"id":3,"sold_out":false}"#,
                r#"[1]"#,
            ],
        );
        let t = &c.topics["products"];
        assert_eq!(t.records, 4);
        assert_eq!(t.non_objects, 1);
        assert_eq!(
            t.fields["id"],
            FieldCoverage {
                filled: 3,
                true_count: 0,
                empty: 0
            }
        );
        assert_eq!(t.fields["price"].filled, 1);
        assert_eq!(
            t.fields["sold_out"],
            FieldCoverage {
                filled: 3,
                true_count: 1,
                empty: 0
            }
        );
        assert_eq!(t.filled_share("price"), 0.25);
        assert_eq!(t.true_share("sold_out"), 0.25);
        assert_eq!(t.filled_share("absent"), 0.0);
    }

    #[test]
    fn merging_tasks_adds_counts_and_skipped_items() {
        let mut run = fold("p", &[r#"{"a":1}"#]);
        run.add_skipped("p", "goods_no", 2);
        let mut task = fold("p", &[r#"{"a":null,"b":true}"#, r#"{"a":2}"#]);
        task.add_skipped("p", "goods_no", 3);
        task.add_skipped("brands", "brand_code", 1);
        task.merge(&fold("brands", &[r#"{"name":"x"}"#]));
        run.merge(&task);
        let p = &run.topics["p"];
        assert_eq!(p.records, 3);
        assert_eq!(p.fields["a"].filled, 2);
        assert_eq!(p.fields["b"].true_count, 1);
        assert_eq!(p.skipped["goods_no"], 5);
        assert_eq!(run.topics["brands"].skipped["brand_code"], 1);
        assert_eq!(run.topics["brands"].records, 1);
        assert_eq!(run.skipped_total(), 6);
    }

    #[test]
    fn field_count_and_name_length_are_bounded() {
        let mut c = RunCoverage::default();
        for i in 0..MAX_FIELDS_PER_TOPIC + 10 {
            c.add_record("t", &scan(&format!(r#"{{"brand{i}":1}}"#)).unwrap());
        }
        let long = "x".repeat(MAX_FIELD_NAME + 1);
        c.add_record("u", &scan(&format!(r#"{{"{long}":1,"ok":1}}"#)).unwrap());
        assert_eq!(c.topics["t"].fields.len(), MAX_FIELDS_PER_TOPIC);
        assert!(c.topics["t"].fields_truncated);
        assert_eq!(c.topics["t"].records, (MAX_FIELDS_PER_TOPIC + 10) as u64);
        assert_eq!(c.topics["u"].fields.len(), 1);
        assert!(c.topics["u"].fields_truncated);
        // A merge respects the bound too.
        let mut other = RunCoverage::default();
        other.add_record("t", &scan(r#"{"late":1,"brand0":1}"#).unwrap());
        let mut fresh = fold("t", &[r#"{"brand0":1}"#]);
        fresh.merge(&c);
        fresh.merge(&other);
        assert_eq!(fresh.topics["t"].fields.len(), MAX_FIELDS_PER_TOPIC);
        assert_eq!(fresh.topics["t"].fields["brand0"].filled, 3);
    }

    #[test]
    fn report_lines_are_aligned_with_percentages() {
        let mut c = RunCoverage::default();
        for i in 0..5000u32 {
            let price = if i < 4812 { "1" } else { "null" };
            let flag = if i % 10 == 0 { "true" } else { "false" };
            c.add_record(
                "oliveyoung-products",
                &scan(&format!(
                    r#"{{"goods_no":"{i}","price_current":{price},"sold_out":{flag}}}"#
                ))
                .unwrap(),
            );
        }
        c.add_skipped("oliveyoung-products", "goods_no", 12);
        let lines = c.report_lines();
        assert_eq!(
            lines,
            vec![
                "oliveyoung-products  goods_no       5,000/5,000  100.0%",
                "oliveyoung-products  price_current  4,812/5,000   96.2%",
                "oliveyoung-products  sold_out       5,000/5,000  100.0%  true in 500 (10.0%)",
                "oliveyoung-products  goods_no       12 item(s) skipped without it",
            ]
        );
    }

    #[test]
    fn report_lines_summarise_keys_that_are_data() {
        // The legacy layout: one record per brand, keyed by the brand name.
        let mut c = RunCoverage::default();
        for i in 0..300 {
            c.add_record(
                "oliveyoung",
                &scan(&format!(
                    r#"{{"brand{i:03}":{{"items":[]}},"crawled_at":1}}"#
                ))
                .unwrap(),
            );
        }
        let lines = c.report_lines();
        assert_eq!(
            lines,
            vec![
                "oliveyoung  crawled_at  300/300  100.0%".to_string(),
                "oliveyoung  (255 more field(s) not listed: 256 distinct top-level keys, most \
                 of them rare; `coverage show --json` has them all)"
                    .to_string(),
                format!(
                    "oliveyoung  (more than {MAX_FIELDS_PER_TOPIC} distinct fields or names over \
                     {MAX_FIELD_NAME} bytes: the rest were not counted)"
                ),
            ]
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn round_trips_through_json() {
        let mut c = fold("p", &[r#"{"a":true}"#, "1"]);
        c.add_skipped("p", "id", 4);
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<RunCoverage>(&text).unwrap(), c);
        // Empty parts are left out of the JSON.
        let plain = fold("q", &[r#"{"a":1}"#]);
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"topics":{"q":{"records":1,"fields":{"a":{"filled":1}}}}}"#
        );
    }
}
