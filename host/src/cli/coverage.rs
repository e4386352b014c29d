//! `crawlhost coverage show|reset PLUGIN`: the field coverage kept per
//! plugin under `data_dir` (the baseline runs are compared with, and the
//! last run), and forgetting the baseline.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use crate::config::Settings;
use crate::coverage::drift::{PluginCoverage, Snapshot};
use crate::coverage::store::CoverageStore;
use crate::time::format_time;

use super::lines;

#[derive(Debug, Subcommand)]
pub enum CoverageCommand {
    /// The plugin's baseline and last run: coverage per topic and field,
    /// skipped items, the last run's drift alarms.
    Show {
        /// Plugin name.
        plugin: String,
        /// Print the stored JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget the plugin's baseline: its next complete run becomes the new
    /// one (no alarm). Do this after accepting a change of the site (a
    /// field it no longer has), or to compare against a fixed plugin's
    /// first run.
    Reset {
        /// Plugin name.
        plugin: String,
    },
}

/// `crawlhost coverage ...`.
pub(super) fn coverage(settings: &Settings, command: CoverageCommand) -> anyhow::Result<ExitCode> {
    match command {
        CoverageCommand::Show { plugin, json } => show(settings, &plugin, json),
        CoverageCommand::Reset { plugin } => reset(settings, &plugin),
    }
}

/// `crawlhost coverage show PLUGIN`.
fn show(settings: &Settings, plugin: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = CoverageStore::new(&settings.data_dir);
    let Some(state) = store.load(plugin)? else {
        bail!(
            "no coverage kept for `{plugin}` under {} (no complete scheduled run yet)",
            settings.data_dir.display()
        );
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&state)?);
    } else {
        print!("{}", show_text(&state));
    }
    Ok(ExitCode::SUCCESS)
}

/// The baseline and the last run, each with its coverage lines, and the
/// last run's alarms.
fn show_text(state: &PluginCoverage) -> String {
    let mut out = Vec::new();
    let mut describe = |label: &str, snap: &Option<Snapshot>| match snap {
        None => out.push(format!("{label}: none")),
        Some(r) => {
            out.push(format!(
                "{label}: run {} of {} ({})",
                r.run_id,
                format_time(r.started_at_ms),
                r.plugin_version
            ));
            for line in r.coverage.report_lines() {
                out.push(format!("    {line}"));
            }
        }
    };
    describe(
        "baseline (runs are compared with it; `coverage reset` forgets it)",
        &state.baseline,
    );
    describe("last run", &state.last);
    if let Some(last) = &state.last {
        if last.alarms.is_empty() {
            out.push("last run: no drift alarm".into());
        }
        for a in &last.alarms {
            out.push(format!("DRIFT {}", a.message));
        }
    }
    lines(out)
}

/// `crawlhost coverage reset PLUGIN`.
fn reset(settings: &Settings, plugin: &str) -> anyhow::Result<ExitCode> {
    let store = CoverageStore::new(&settings.data_dir);
    let had_one = store.reset(plugin)?;
    println!("{}", reset_text(plugin, had_one));
    Ok(ExitCode::SUCCESS)
}

/// What `coverage reset` did (no newline).
fn reset_text(plugin: &str, had_one: bool) -> String {
    if had_one {
        format!("baseline of `{plugin}` forgotten; its next complete run sets a new one")
    } else {
        format!("`{plugin}` has no baseline; its next complete run sets one")
    }
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::super::report::tests::alarm;
    use super::super::tests::parse;
    use super::*;
    use crate::coverage::RunCoverage;

    #[test]
    fn coverage_commands_need_a_plugin() {
        for sub in ["show", "reset"] {
            let err = parse(&["coverage", sub]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        }
        let Command::Coverage {
            command: CoverageCommand::Show { plugin, json },
        } = parse(&["coverage", "show", "echo", "--json"])
            .unwrap()
            .command
        else {
            panic!("not coverage show");
        };
        assert_eq!(plugin, "echo");
        assert!(json);
    }

    fn snapshot(run_id: &str, alarms: Vec<crate::coverage::DriftAlarm>) -> Snapshot {
        Snapshot {
            run_id: run_id.into(),
            started_at_ms: 0,
            plugin_version: "0.1.0".into(),
            coverage: RunCoverage::default(),
            alarms,
        }
    }

    #[test]
    fn show_names_the_baseline_and_the_last_run() {
        let state = PluginCoverage {
            plugin: "echo".into(),
            baseline: None,
            last: Some(snapshot("echo-2", vec![])),
        };
        assert_eq!(
            show_text(&state),
            "baseline (runs are compared with it; `coverage reset` forgets it): none
last run: run echo-2 of 1970-01-01 00:00 UTC (0.1.0)
last run: no drift alarm
"
        );
        let state = PluginCoverage {
            plugin: "echo".into(),
            baseline: Some(snapshot("echo-1", vec![])),
            last: Some(snapshot("echo-2", vec![alarm("price fell")])),
        };
        let text = show_text(&state);
        assert!(
            text.starts_with(
                "baseline (runs are compared with it; `coverage reset` forgets it): run echo-1 of"
            ),
            "{text}"
        );
        assert!(text.ends_with("(0.1.0)\nDRIFT price fell\n"), "{text}");
    }

    #[test]
    fn reset_says_whether_there_was_a_baseline() {
        assert_eq!(
            reset_text("echo", true),
            "baseline of `echo` forgotten; its next complete run sets a new one"
        );
        assert_eq!(
            reset_text("echo", false),
            "`echo` has no baseline; its next complete run sets one"
        );
    }
}
