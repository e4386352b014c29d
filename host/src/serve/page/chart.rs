//! The field-coverage chart of one plugin's topic over its last runs, as
//! inline SVG: a bar per run for the topic's record count, under it a row
//! per field with a cell per run coloured by the share of records that had
//! the field filled (red 0% to green 100%). Cells and bars of a run's drift
//! alarms are outlined (class `alarm`). Every cell has a `<title>` with the
//! numbers, so hovering reads them.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::escape;
use crate::serve::overview::RunView;

/// Fields drawn per chart; the rest are counted under it.
pub const MAX_FIELDS: usize = 40;

const CELL_W: usize = 14;
const CELL_H: usize = 12;
const GAP: usize = 1;
const BARS_H: usize = 28;
const LABEL_MAX: usize = 190;

/// The topics `runs` published to, sorted.
pub fn topics(runs: &[RunView]) -> BTreeSet<String> {
    runs.iter()
        .filter_map(|r| r.summary.as_ref())
        .flat_map(|s| s.coverage.topics.keys().cloned())
        .collect()
}

/// The chart of `topic` over `runs` (newest first, as the journal lists
/// them; drawn oldest to newest, left to right). `None` when no run has
/// coverage for the topic.
pub fn coverage_chart(plugin: &str, topic: &str, runs: &[RunView]) -> Option<String> {
    // Oldest first; only runs that published to the topic.
    let columns: Vec<&RunView> = runs
        .iter()
        .rev()
        .filter(|r| {
            r.summary
                .as_ref()
                .is_some_and(|s| s.coverage.topics.contains_key(topic))
        })
        .collect();
    if columns.is_empty() {
        return None;
    }
    let fields: BTreeSet<&str> = columns
        .iter()
        .filter_map(|r| r.summary.as_ref()?.coverage.topics.get(topic))
        .flat_map(|t| t.fields.keys().map(String::as_str))
        .collect();
    let hidden = fields.len().saturating_sub(MAX_FIELDS);
    let fields: Vec<&str> = fields.into_iter().take(MAX_FIELDS).collect();
    let label_w =
        (fields.iter().map(|f| f.chars().count()).max().unwrap_or(4) * 7 + 8).clamp(60, LABEL_MAX);
    let width = label_w + columns.len() * (CELL_W + GAP) + 4;
    let height = BARS_H + 4 + fields.len() * (CELL_H + GAP) + 2;
    let max_records = columns
        .iter()
        .filter_map(|r| Some(r.summary.as_ref()?.coverage.topics.get(topic)?.records))
        .max()
        .unwrap_or(0)
        .max(1);

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"field coverage of {} in {} over {} runs\">",
        escape(topic),
        escape(plugin),
        columns.len()
    );
    let _ = write!(
        svg,
        "<text class=\"axis\" x=\"0\" y=\"{}\">records</text>",
        BARS_H - 2
    );
    for (i, run) in columns.iter().enumerate() {
        let Some(summary) = &run.summary else {
            continue;
        };
        let x = label_w + i * (CELL_W + GAP);
        let t = &summary.coverage.topics[topic];
        let h = ((t.records as f64 / max_records as f64) * (BARS_H - 2) as f64).round() as usize;
        let h = h.max(1);
        let volume_alarm = summary
            .drift
            .iter()
            .any(|a| a.topic == topic && a.field.is_none());
        let _ = write!(
            svg,
            "<rect class=\"bar{}\" x=\"{x}\" y=\"{}\" width=\"{CELL_W}\" height=\"{h}\"><title>{}: {} records</title></rect>",
            if volume_alarm { " alarm" } else { "" },
            BARS_H - h,
            escape(&run.run_id),
            t.records
        );
        for (row, field) in fields.iter().enumerate() {
            let y = BARS_H + 4 + row * (CELL_H + GAP);
            let alarm = summary
                .drift
                .iter()
                .any(|a| a.topic == topic && a.field.as_deref() == Some(*field));
            let (fill, title) = match t.fields.get(*field) {
                Some(f) if t.records > 0 => {
                    let share = f.filled as f64 / t.records as f64;
                    (
                        colour(share),
                        format!(
                            "{field} in {}: {:.1}% ({} of {} records)",
                            run.run_id,
                            share * 100.0,
                            f.filled,
                            t.records
                        ),
                    )
                }
                _ => (
                    "#d0d0d0".to_string(),
                    format!("{field} in {}: not seen", run.run_id),
                ),
            };
            let _ = write!(
                svg,
                "<rect class=\"cell{}\" x=\"{x}\" y=\"{y}\" width=\"{CELL_W}\" height=\"{CELL_H}\" fill=\"{fill}\"><title>{}{}</title></rect>",
                if alarm { " alarm" } else { "" },
                escape(&title),
                if alarm { " (drift alarm)" } else { "" }
            );
        }
    }
    for (row, field) in fields.iter().enumerate() {
        let y = BARS_H + 4 + row * (CELL_H + GAP) + CELL_H - 2;
        let label: String = if field.chars().count() * 7 + 8 > label_w {
            let keep = (label_w - 8) / 7 - 1;
            format!("{}…", field.chars().take(keep).collect::<String>())
        } else {
            field.to_string()
        };
        let _ = write!(
            svg,
            "<text class=\"field\" x=\"0\" y=\"{y}\">{}<title>{}</title></text>",
            escape(&label),
            escape(field)
        );
    }
    svg.push_str("</svg>");
    if hidden > 0 {
        let _ = write!(
            svg,
            "<p class=\"note\">{hidden} more fields not drawn (see <code>GET /plugins/{}/coverage</code>)</p>",
            escape(plugin)
        );
    }
    Some(svg)
}

/// Red (0) through yellow to green (1).
fn colour(share: f64) -> String {
    let hue = (share.clamp(0.0, 1.0) * 120.0).round();
    format!("hsl({hue},62%,45%)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::drift::{DriftAlarm, DriftKind};
    use crate::coverage::{FieldCoverage, RunCoverage, TopicCoverage};
    use crate::serve::overview::SummaryView;

    fn run(id: &str, records: u64, fields: &[(&str, u64)], drift: Vec<DriftAlarm>) -> RunView {
        let mut topic = TopicCoverage {
            records,
            ..TopicCoverage::default()
        };
        for (f, filled) in fields {
            topic.fields.insert(
                f.to_string(),
                FieldCoverage {
                    filled: *filled,
                    ..FieldCoverage::default()
                },
            );
        }
        let mut coverage = RunCoverage::default();
        coverage.topics.insert("items".into(), topic);
        RunView {
            run_id: id.into(),
            status: "finished".into(),
            summary: Some(SummaryView {
                records,
                coverage,
                drift,
                ..SummaryView::default()
            }),
            ..RunView::default()
        }
    }

    fn alarm(field: Option<&str>) -> DriftAlarm {
        DriftAlarm {
            kind: if field.is_some() {
                DriftKind::Coverage
            } else {
                DriftKind::Volume
            },
            topic: "items".into(),
            field: field.map(str::to_string),
            before: 1.0,
            now: 0.1,
            records_before: 10,
            records_now: 10,
            baseline_run: "r1".into(),
            baseline_started_at_ms: 0,
            message: "m".into(),
        }
    }

    #[test]
    fn a_cell_per_run_and_field_with_alarms_outlined() {
        // Newest first, as the journal lists them.
        let runs = vec![
            run(
                "r3",
                10,
                &[("price", 1), ("name", 10)],
                vec![alarm(Some("price"))],
            ),
            run("r2", 10, &[("price", 10), ("name", 10)], vec![]),
            run("r1", 5, &[("price", 5)], vec![alarm(None)]),
        ];
        let svg = coverage_chart("shop", "items", &runs).unwrap();
        // 3 runs x 2 fields.
        assert_eq!(svg.matches("<rect class=\"cell").count(), 6);
        assert_eq!(svg.matches("<rect class=\"bar").count(), 3);
        // One field alarm cell, one volume alarm bar.
        assert_eq!(svg.matches("class=\"cell alarm\"").count(), 1);
        assert_eq!(svg.matches("class=\"bar alarm\"").count(), 1);
        assert!(svg.contains("price in r3: 10.0% (1 of 10 records) (drift alarm)"));
        // A field a run did not have is grey, not 0%.
        assert!(svg.contains("name in r1: not seen"));
        // Oldest on the left: r1's bar comes first.
        assert!(svg.find("r1: 5 records").unwrap() < svg.find("r3: 10 records").unwrap());
        assert!(svg.contains(&colour(0.1)) && svg.contains(&colour(1.0)));
    }

    #[test]
    fn names_are_escaped_and_long_field_lists_are_cut() {
        let fields: Vec<(String, u64)> = (0..MAX_FIELDS + 3)
            .map(|i| (format!("f{i:02}<x>"), 1))
            .collect();
        let fields: Vec<(&str, u64)> = fields.iter().map(|(f, n)| (f.as_str(), *n)).collect();
        let svg = coverage_chart("p\"", "items", &[run("r1", 1, &fields, vec![])]).unwrap();
        assert!(!svg.contains("<x>"));
        assert!(svg.contains("f00&lt;x&gt;"));
        assert_eq!(svg.matches("<rect class=\"cell").count(), MAX_FIELDS);
        assert!(svg.contains("3 more fields not drawn"));
        assert!(coverage_chart("p", "other", &[run("r1", 1, &fields, vec![])]).is_none());
    }

    #[test]
    fn colours_run_from_red_to_green() {
        assert_eq!(colour(0.0), "hsl(0,62%,45%)");
        assert_eq!(colour(1.0), "hsl(120,62%,45%)");
        assert_eq!(colour(2.0), "hsl(120,62%,45%)");
    }
}
