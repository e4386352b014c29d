//! The command line: argument definitions and the commands behind them.
//! `main.rs` only parses and calls [`execute`]; errors here are `anyhow` with
//! context, the one place the crate uses it.
//!
//! # Layout
//! Here: the top-level [`Cli`], the dispatch ([`execute`]), the exit codes
//! runs ask for, and the helpers several commands share. Then one file per
//! command group, each holding its arguments, the command, and its output as
//! functions returning `String` (tested in the same file):
//! - `run`: `run --once`, here or `--distributed`, with its progress line;
//! - `worker`: `worker`, the distributed workers group;
//! - `triggers`: `triggers`, runs fed by trigger topics;
//! - `serve`: `serve`, the long-running host;
//! - `plugin`: `plugins list`, `plugin new`, `plugin inspect`, `plugin test`;
//! - `tail`: `tail`, a topic as NDJSON;
//! - `sink`: `sink`, topics out to S3 or a directory;
//! - `config`: `config check`;
//! - `coverage`: `coverage show`, `coverage reset`;
//! - `report`: run summaries and coverage lines (`run` and `triggers`).

mod config;
mod coverage;
mod plugin;
mod report;
mod run;
mod serve;
mod sink;
mod tail;
mod triggers;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::engine::LoadedPlugin;
use crate::host::Host;
use crate::registry::Scan;
use crate::run::RunSummary;

pub use config::ConfigCommand;
pub use coverage::CoverageCommand;
pub use plugin::{PluginCommand, PluginsCommand};
pub use run::RunArgs;
pub use serve::ServeArgs;
pub use sink::SinkArgs;
pub use tail::TailArgs;
pub use triggers::TriggersArgs;
pub use worker::WorkerArgs;

/// Exit code: a run could not complete.
pub const EXIT_FATAL: u8 = 1;
/// Exit code: a run completed but some tasks failed for good.
pub const EXIT_TASK_FAILURES: u8 = 2;
/// Exit code: a run raised drift alarms (its records landed).
pub const EXIT_DRIFT: u8 = 3;

/// crawlhost runs sandboxed WebAssembly crawlers and ships their records to a
/// bus (an embedded SQLite log by default, Kafka when configured).
///
/// Plugins are `.wasm` components in the plugins directory (default
/// `./plugins`). The host does all network access for them, with an
/// allow-list, limits and retries.
#[derive(Debug, Parser)]
#[command(name = "crawlhost", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file. Default: `crawlhost.toml` when it exists, else
    /// built-in defaults (embedded bus, ./plugins, ./.crawlhost).
    #[arg(long, short, global = true, env = "CRAWLHOST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info`, `crawlhost=debug` (RUST_LOG syntax).
    #[arg(long, global = true, env = "CRAWLHOST_LOG", default_value = "warn")]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run plugins' crawls to completion and exit (the cron form).
    ///
    /// Exit codes: 0 every task done; 1 a run could not complete (bad
    /// config, broken plugin, plan failure, bus failure); 2 the run
    /// completed but some tasks failed for good (listed in the summary); 3
    /// drift: a field's coverage, a flag or a topic's record count fell
    /// against the plugin's baseline run, the site probably changed (the
    /// records landed; see `crawlhost coverage show`). With several runs or
    /// causes the first of 1, 3, 2 wins.
    Run(RunArgs),
    /// Join the distributed workers group and run tasks of any host's
    /// distributed run until SIGTERM/SIGINT (then finish the tasks in
    /// flight and leave the group). Needs `[kafka]`.
    Worker(WorkerArgs),
    /// Run plugins on records of their trigger topics: one `plan` per
    /// record, committed to the plugin's consumer group once its run's
    /// tasks are done.
    ///
    /// Exit codes as for `run`; with --once the pass's field coverage (all
    /// its runs together) is compared with the plugin's baseline, and a
    /// drift alarm exits 3.
    Triggers(TriggersArgs),
    /// Run as a service: load every plugin, hot-swap changed `.wasm` files,
    /// fire cron schedules, serve the admin API; stop gracefully on
    /// SIGTERM/SIGINT (tasks in flight finish, interrupted runs resume on the
    /// next start; exit 0).
    Serve(ServeArgs),
    /// List the plugins in the plugins directory, and refused files with the
    /// reason.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Work with one plugin file.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Print a topic's records as NDJSON (one JSON object per line).
    Tail(TailArgs),
    /// Write topics out as objects (Kafka Connect S3 sink semantics, exactly
    /// once) to S3 or a local directory, until Ctrl-C/SIGTERM.
    ///
    /// Configured by `[sink]` in crawlhost.toml, or by a Kafka Connect S3
    /// sink connector config with `--connect-config`. Stopping at any moment
    /// loses nothing: open batches are re-read on the next start.
    Sink(SinkArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Field coverage kept per plugin under `data_dir` (the baseline runs
    /// are compared with, and the last run), and resetting the baseline.
    Coverage {
        #[command(subcommand)]
        command: CoverageCommand,
    },
}

impl Command {
    /// Whether the command may fetch pages, and so needs the secrets a fetch
    /// attaches (`[[http.secrets]]`, `[[browser.secrets]]`, each read from
    /// its environment variable). The others read the bus, the sink or local
    /// files, and do not demand variables they never use: `crawlhost tail
    /// twitter` works without `X_BEARER_TOKEN`. `config check` checks
    /// everything, secrets included.
    pub fn fetches(&self) -> bool {
        match self {
            Command::Run(_)
            | Command::Worker(_)
            | Command::Triggers(_)
            | Command::Serve(_)
            | Command::Config { .. } => true,
            Command::Plugin { command } => matches!(command, PluginCommand::Test { .. }),
            Command::Plugins { .. }
            | Command::Tail(_)
            | Command::Sink(_)
            | Command::Coverage { .. } => false,
        }
    }
}

/// Read the configuration named on the command line (or the default file),
/// unchecked.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None if Path::new("crawlhost.toml").exists() => Config::load(Path::new("crawlhost.toml"))?,
        None => Config::default(),
    })
}

/// Run the parsed command line.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli.config.as_deref())?;
    let checked = if cli.command.fetches() {
        config.clone()
    } else {
        config.clone().without_fetch_secrets()
    };
    let settings = checked.validate()?;
    match cli.command {
        Command::Run(args) => run::run(settings, args).await,
        Command::Worker(args) => worker::worker(settings, args).await,
        Command::Triggers(args) => triggers::triggers(settings, args).await,
        Command::Serve(args) => serve::serve(settings, args).await,
        Command::Plugins { command } => plugin::plugins(settings, command).await,
        Command::Plugin { command } => plugin::plugin(settings, command).await,
        Command::Tail(args) => tail::tail(settings, args).await,
        Command::Sink(args) => sink::sink(settings, args).await,
        Command::Config { command } => config::config(&config, command),
        Command::Coverage { command } => coverage::coverage(&settings, command),
    }
}

/// The exit code one run asks for: 1 when it could not complete, 3 when it
/// raised drift alarms, 2 when some tasks failed for good, 0 when every task
/// was done.
pub fn run_exit_code(summary: &RunSummary) -> u8 {
    if summary.fatal.is_some() {
        EXIT_FATAL
    } else if !summary.drift.is_empty() {
        EXIT_DRIFT
    } else if summary.tasks_failed.is_empty() {
        0
    } else {
        EXIT_TASK_FAILURES
    }
}

/// Combine exit codes of several runs: fatal (1) outranks drift (3), which
/// outranks task failures (2).
pub fn combine_exit(worst: u8, code: u8) -> u8 {
    let rank = |c: u8| match c {
        EXIT_FATAL => 3,
        EXIT_DRIFT => 2,
        EXIT_TASK_FAILURES => 1,
        _ => 0,
    };
    if rank(code) > rank(worst) {
        code
    } else {
        worst
    }
}

/// Open the host, with the context every command gives that error.
fn open_host(settings: crate::config::Settings) -> anyhow::Result<Host> {
    Host::open(settings).context("cannot start the host")
}

/// Say on stderr which plugin files were refused, and why.
fn warn_refused(scan: &Scan) {
    for refused in &scan.refused {
        eprintln!("refused {}: {}", refused.path.display(), refused.reason);
    }
}

/// Before a one-shot command exits: wait until every record reached its
/// bus (with Kafka, until the store-and-forward log has drained).
async fn flush_bus(host: &Host) -> anyhow::Result<()> {
    host.bus
        .flush()
        .await
        .context("records are safe in the local forward log but could not be delivered")
}

/// The plugins `run --distributed` or `triggers` should use: the named one,
/// or every enabled one matching `want`.
fn select_plugins(
    host: &Host,
    scan: &Scan,
    only: Option<&str>,
    want: impl Fn(&LoadedPlugin) -> bool,
) -> anyhow::Result<Vec<Arc<LoadedPlugin>>> {
    if let Some(name) = only {
        return match scan.plugins.get(name) {
            Some(p) => Ok(vec![p.clone()]),
            None => bail!(
                "no plugin named `{name}` in {} (found: {})",
                host.settings.plugins_dir.display(),
                scan.plugins.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
    }
    Ok(scan
        .plugins
        .values()
        .filter(|p| want(p) && !is_disabled(host, p))
        .cloned()
        .collect())
}

/// `[plugins.<name>] disabled = true`.
fn is_disabled(host: &Host, plugin: &LoadedPlugin) -> bool {
    host.settings
        .plugins
        .get(&plugin.manifest.name)
        .is_some_and(|c| c.disabled)
}

/// Lines as text, each ending in a newline.
fn lines(lines: Vec<String>) -> String {
    lines.into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Parse a command line (program name added).
    pub(super) fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("crawlhost").chain(args.iter().copied()))
    }

    #[test]
    fn only_commands_that_fetch_demand_fetch_secrets() {
        let fetches = |args: &[&str]| parse(args).unwrap().command.fetches();
        for args in [
            &["run", "--once"][..],
            &["worker"],
            &["serve"],
            &["config", "check"],
            &["plugin", "test", "x.wasm"],
        ] {
            assert!(fetches(args), "{args:?}");
        }
        for args in [
            &["tail", "twitter"][..],
            &["plugins", "list"],
            &["plugin", "inspect", "x.wasm"],
            &["coverage", "show", "twitter"],
        ] {
            assert!(!fetches(args), "{args:?}");
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let cli = parse(&["--config", "a.toml", "config", "check"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(Path::new("a.toml")));
        let cli = parse(&["plugins", "list", "-c", "b.toml", "--log-format", "json"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(Path::new("b.toml")));
        assert_eq!(cli.log_format, LogFormat::Json);
        let cli = parse(&["worker", "--log", "crawlhost=debug"]).unwrap();
        assert_eq!(cli.log, "crawlhost=debug");
        assert!(matches!(cli.command, Command::Worker(_)));
    }

    #[test]
    fn the_log_format_is_text_unless_asked() {
        assert_eq!(parse(&["worker"]).unwrap().log_format, LogFormat::Text);
        let err = parse(&["--log-format", "yaml", "worker"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn a_command_is_required_and_unknown_ones_are_refused() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        let err = parse(&["crawl"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
        let err = parse(&["plugins"]).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }

    fn summary(fatal: bool, drift: bool, failed: bool) -> RunSummary {
        let mut s = report::tests::summary();
        s.fatal = fatal.then(|| "boom".to_string());
        if drift {
            s.drift.push(report::tests::alarm("price fell"));
        }
        if !failed {
            s.tasks_failed.clear();
        }
        s
    }

    #[test]
    fn a_run_asks_for_the_exit_code_of_its_worst_outcome() {
        assert_eq!(run_exit_code(&summary(false, false, false)), 0);
        assert_eq!(
            run_exit_code(&summary(false, false, true)),
            EXIT_TASK_FAILURES
        );
        assert_eq!(run_exit_code(&summary(false, true, true)), EXIT_DRIFT);
        assert_eq!(run_exit_code(&summary(true, true, true)), EXIT_FATAL);
    }

    #[test]
    fn fatal_outranks_drift_which_outranks_task_failures() {
        let all = [0, EXIT_TASK_FAILURES, EXIT_DRIFT, EXIT_FATAL];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                let want = all[i.max(j)];
                assert_eq!(combine_exit(*a, *b), want, "combine_exit({a}, {b})");
            }
        }
    }

    #[test]
    fn lines_end_in_newlines() {
        assert_eq!(lines(vec![]), "");
        assert_eq!(lines(vec!["a".into(), "b".into()]), "a\nb\n");
    }
}
