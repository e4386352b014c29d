//! Judging what the runs did, pure: the checks from `plan` to
//! `deterministic` computed from the run summaries and the records, with the
//! helpers that read a refused host out of an error and mask the start time.

use std::collections::BTreeSet;

use super::{Check, RunResult, SeenRecord, Status};

/// The host's message for a fetch outside the allow-list, as the plugin
/// (and the task failure) sees it.
const NOT_ALLOWED: &str = " is not allowed: its host is not in the plugin's allow-list";

/// The host of the URL a "not allowed" message names.
fn refused_host(error: &str) -> Option<String> {
    let at = error.find(NOT_ALLOWED)?;
    let url = error[..at].rsplit(' ').next()?;
    Some(
        url::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| url.to_string()),
    )
}

/// Replace what depends on the run's start time (the one input that differs
/// between two runs) so two runs' records can be compared.
fn normalise(value: &str, started_at_ms: i64) -> String {
    value
        .replace(&started_at_ms.to_string(), "<started_at_ms>")
        .replace(&(started_at_ms / 1000).to_string(), "<started_at_s>")
}

/// Judge the runs (the first, and a second on the same traffic when the
/// first did not fail outright). Pure: every verdict comes from the summaries
/// and the records.
pub fn judge(topics: &[String], max_tasks: usize, runs: &[RunResult]) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some(first) = runs.first() else {
        return checks;
    };
    let s = &first.summary;
    let fatal = s.fatal.as_deref().unwrap_or("");

    // plan
    if fatal.starts_with("plan failed") || fatal.starts_with("plan returned") {
        checks.push(Check::new("plan", Status::Fail, fatal));
    } else {
        checks.push(Check::new(
            "plan",
            Status::Pass,
            "plan returned valid seed tasks",
        ));
    }

    // terminates
    if fatal.contains("task budget") {
        checks.push(Check::new(
            "terminates",
            Status::Fail,
            format!(
                "the crawl did not terminate: it kept creating new follow-up tasks past the budget of {max_tasks} distinct tasks ({} done)",
                s.tasks_done
            ),
        ));
    } else if s.fatal.is_some() {
        checks.push(Check::new(
            "terminates",
            Status::Fail,
            format!("the run failed: {fatal}"),
        ));
    } else {
        checks.push(Check::new(
            "terminates",
            Status::Pass,
            format!(
                "{} tasks done, {} failed, within {max_tasks}",
                s.tasks_done,
                s.tasks_failed.len()
            ),
        ));
    }

    // hosts
    let refused: BTreeSet<String> = runs
        .iter()
        .flat_map(|r| r.summary.tasks_failed.iter())
        .filter_map(|f| refused_host(&f.error))
        .collect();
    if refused.is_empty() {
        let hosts: Vec<&String> = s.fetch.by_host.keys().collect();
        checks.push(Check::new(
            "hosts",
            Status::Pass,
            format!(
                "only declared hosts contacted ({} requests to {})",
                s.fetch.requests,
                if hosts.is_empty() {
                    "no host".to_string()
                } else {
                    hosts
                        .iter()
                        .map(|h| h.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ));
    } else {
        checks.push(Check::new(
            "hosts",
            Status::Fail,
            format!(
                "contacted undeclared host(s): {} (declare them in the manifest's `hosts`)",
                refused.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }

    // limits
    let over: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| {
            matches!(
                f.error_kind.as_str(),
                "deadline" | "memory" | "trap" | "instantiate"
            ) || (f.error_kind == "output" && !f.error.contains("follow-up"))
        })
        .map(|f| format!("task `{}` ({}): {}", f.key, f.error_kind, f.error))
        .collect();
    if over.is_empty() {
        checks.push(Check::new(
            "limits",
            Status::Pass,
            "no deadline, memory, output or trap failure",
        ));
    } else {
        checks.push(Check::new("limits", Status::Fail, summarise(&over)));
    }

    // follow-ups
    let bad_follow: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| f.error_kind == "output" && f.error.contains("follow-up"))
        .map(|f| format!("task `{}`: {}", f.key, f.error))
        .collect();
    if bad_follow.is_empty() {
        checks.push(Check::new(
            "follow-ups",
            Status::Pass,
            format!("well-formed ({} duplicates merged)", s.duplicate_tasks),
        ));
    } else {
        checks.push(Check::new(
            "follow-ups",
            Status::Fail,
            summarise(&bad_follow),
        ));
    }

    // records
    let mut problems = Vec::new();
    let mut good = 0;
    for r in &first.records {
        if let Some(error) = &r.error {
            problems.push(format!(
                "a record for topic `{}` was rejected: {error}",
                original_topic(r)
            ));
        } else if !topics.contains(&r.topic) {
            problems.push(format!("record on undeclared topic `{}`", r.topic));
        } else if r.key.is_none() {
            problems.push(format!("a record on `{}` has no key", r.topic));
        } else if serde_json::from_str::<serde_json::Value>(&r.value).is_err() {
            problems.push(format!("a record on `{}` is not JSON", r.topic));
        } else {
            good += 1;
        }
    }
    if !problems.is_empty() {
        checks.push(Check::new("records", Status::Fail, summarise(&problems)));
    } else if good == 0 {
        checks.push(Check::new(
            "records",
            Status::Fail,
            "the run produced no records (point it at a fixture with --fixture or a recording with --replay)",
        ));
    } else {
        let by_topic: Vec<String> = s
            .records_by_topic
            .iter()
            .map(|(t, n)| format!("{t}: {n}"))
            .collect();
        checks.push(Check::new(
            "records",
            Status::Pass,
            format!("{good} keyed JSON records ({})", by_topic.join(", ")),
        ));
    }

    // task errors that are the site's, not the plugin's (a fixture's broken
    // page): everything not judged above, reported, not failed
    let site: Vec<String> = s
        .tasks_failed
        .iter()
        .filter(|f| {
            !matches!(
                f.error_kind.as_str(),
                "deadline" | "memory" | "trap" | "instantiate" | "output"
            ) && refused_host(&f.error).is_none()
        })
        .map(|f| format!("task `{}` ({}): {}", f.key, f.error_kind, f.error))
        .collect();
    if !site.is_empty() {
        checks.push(Check::new("task-errors", Status::Warn, summarise(&site)));
    }

    // deterministic
    match runs.get(1) {
        None => checks.push(Check::new(
            "deterministic",
            Status::Skipped,
            "the first run failed",
        )),
        Some(second) => {
            let a: BTreeSet<(String, Option<String>, String)> = first
                .records
                .iter()
                .map(|r| {
                    (
                        r.topic.clone(),
                        r.key.clone(),
                        normalise(&r.value, first.summary.started_at_ms),
                    )
                })
                .collect();
            let b: BTreeSet<(String, Option<String>, String)> = second
                .records
                .iter()
                .map(|r| {
                    (
                        r.topic.clone(),
                        r.key.clone(),
                        normalise(&r.value, second.summary.started_at_ms),
                    )
                })
                .collect();
            if a == b {
                checks.push(Check::new(
                    "deterministic",
                    Status::Pass,
                    format!("two runs produced the same {} records", a.len()),
                ));
            } else {
                let only_a = a.difference(&b).next();
                let only_b = b.difference(&a).next();
                let show = |r: Option<&(String, Option<String>, String)>| match r {
                    Some((t, k, _)) => format!("{t}/{}", k.as_deref().unwrap_or("<no key>")),
                    None => "-".into(),
                };
                checks.push(Check::new(
                    "deterministic",
                    Status::Fail,
                    format!(
                        "two runs on the same traffic differ: {} vs {} records; first difference: run 1 {} , run 2 {}",
                        a.len(),
                        b.len(),
                        show(only_a),
                        show(only_b)
                    ),
                ));
            }
        }
    }
    checks
}

fn original_topic(r: &SeenRecord) -> &str {
    r.original_topic.as_deref().unwrap_or(&r.topic)
}

/// The first three problems and a count of the rest.
fn summarise(items: &[String]) -> String {
    let mut s = items.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > 3 {
        s.push_str(&format!(" (and {} more)", items.len() - 3));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_refused_host() {
        let e = "http://evil.example:8080/x is not allowed: its host is not in the plugin's allow-list [a.com]";
        assert_eq!(refused_host(e).as_deref(), Some("evil.example:8080"));
        assert_eq!(refused_host("HTTP 500"), None);
    }

    #[test]
    fn normalise_masks_the_start_time() {
        assert_eq!(
            normalise(r#"{"t":1700000000123}"#, 1_700_000_000_123),
            r#"{"t":<started_at_ms>}"#
        );
        assert_eq!(
            normalise(r#"{"t":1700000000}"#, 1_700_000_000_123),
            r#"{"t":<started_at_s>}"#
        );
    }
}
