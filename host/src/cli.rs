//! The command line: argument definitions and the commands behind them.
//! `main.rs` only parses and calls [`execute`]; errors here are `anyhow` with
//! context, the one place the crate uses it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::bus::Bus;
use crate::bus::ndjson::to_ndjson;
use crate::config::{Config, Settings};
use crate::engine::bindings::PlanInput;
use crate::host::Host;
use crate::run::{Progress, RunSummary, run_plugin};
use crate::shutdown::Shutdown;

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
#[derive(Debug, Clone, Copy, ValueEnum)]
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
    Run {
        /// Run once and exit. Required: the long-running scheduler is
        /// `crawlhost serve`.
        #[arg(long)]
        once: bool,
        /// Only this plugin (default: every enabled plugin without triggers).
        #[arg(long)]
        plugin: Option<String>,
        /// Print the run summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// No live progress line.
        #[arg(long)]
        quiet: bool,
        /// Share the run's tasks with every host running `crawlhost worker`
        /// (or another distributed run) through Kafka; needs `[kafka]`.
        #[arg(long)]
        distributed: bool,
        /// With --distributed: claim KEY across the group first and skip
        /// the run (exit 0) when another host claimed it, e.g.
        /// `--claim "oliveyoung@$(date +%Y%m%d%H)"` in every host's crontab
        /// fires one run per hour across the group.
        #[arg(long, requires = "distributed")]
        claim: Option<String>,
        /// Store every HTTP exchange of the run under DIR (request
        /// fingerprint -> response, secrets already redacted) for `--replay`.
        #[arg(long, value_name = "DIR", conflicts_with = "replay")]
        record: Option<PathBuf>,
        /// Answer every fetch from a recording made with `--record DIR`,
        /// with no network; a request that was not recorded fails naming it.
        #[arg(long, value_name = "DIR")]
        replay: Option<PathBuf>,
    },
    /// Join the distributed workers group and run tasks of any host's
    /// distributed run until SIGTERM/SIGINT (then finish the tasks in
    /// flight and leave the group). Needs `[kafka]`.
    Worker,
    /// Run plugins on records of their trigger topics: one `plan` per
    /// record, committed to the plugin's consumer group once its run's
    /// tasks are done.
    ///
    /// Exit codes as for `run`; with --once the pass's field coverage (all
    /// its runs together) is compared with the plugin's baseline, and a
    /// drift alarm exits 3.
    Triggers {
        /// Only this plugin (default: every enabled plugin with triggers).
        #[arg(long)]
        plugin: Option<String>,
        /// Handle the records present now, then exit (default: keep
        /// waiting for new ones).
        #[arg(long)]
        once: bool,
        /// Triggered runs at once per plugin.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Print the reports as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run as a service: load every plugin, hot-swap changed `.wasm` files,
    /// fire cron schedules, serve the admin API; stop gracefully on
    /// SIGTERM/SIGINT (tasks in flight finish, interrupted runs resume on the
    /// next start; exit 0).
    Serve {
        /// Admin API address (overrides `admin.listen`).
        #[arg(long)]
        admin_listen: Option<String>,
        /// No admin API.
        #[arg(long)]
        no_admin: bool,
    },
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
    Tail {
        /// Topic to read.
        topic: String,
        /// Only the last N records of each partition.
        #[arg(long)]
        last: Option<u64>,
        /// Keep waiting for new records.
        #[arg(long, short)]
        follow: bool,
    },
    /// Write topics out as objects (Kafka Connect S3 sink semantics, exactly
    /// once) to S3 or a local directory, until Ctrl-C/SIGTERM.
    ///
    /// Configured by `[sink]` in crawlhost.toml, or by a Kafka Connect S3
    /// sink connector config with `--connect-config`. Stopping at any moment
    /// loses nothing: open batches are re-read on the next start.
    Sink {
        /// A Kafka Connect S3 sink connector config (JSON), used unchanged
        /// instead of `[sink]`; unknown properties are listed as ignored.
        #[arg(long, value_name = "FILE.json")]
        connect_config: Option<PathBuf>,
        /// Write the records present at start, flush every open file, exit.
        #[arg(long, conflicts_with = "until_idle")]
        once: bool,
        /// Run until a poll finds no new record, flush every open file, exit.
        #[arg(long)]
        until_idle: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
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

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Name, version, contract, hash and file of every plugin.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Generate a plugin crate (Cargo.toml, src/lib.rs using the SDK,
    /// README) that builds for wasm32-wasip2 and passes `plugin test`.
    New {
        /// Plugin name: lower case letters, digits and `-`.
        name: String,
        /// Directory to create (missing or empty); default `./NAME`.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The guest SDK (`plugins/sdk` of a crawlhost checkout), used by
        /// path; default: found above the directory or the current
        /// directory, else the checkout this binary was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Check a `.wasm` file and print its manifest, or why it is refused
    /// (not a component, another world, an incompatible contract version).
    Inspect {
        /// The `.wasm` file.
        file: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Conformance kit: load the `.wasm`, run it twice on recorded or
    /// fixture traffic, print a pass/fail table; exit status 1 on failure.
    /// The configuration's `[[http.secrets]]` apply, as in a normal run.
    Test {
        /// The `.wasm` file.
        file: PathBuf,
        /// Answer every fetch from a recording (`crawlhost run --once --record DIR`).
        #[arg(long, conflicts_with = "fixture")]
        replay: Option<PathBuf>,
        /// Fetch from a local fixture site at this URL (loopback allowed;
        /// sets the plugin's `base_url` config key when it has one).
        #[arg(long)]
        fixture: Option<String>,
        /// A plugin config value, `KEY=VALUE` (repeatable). Named `--set`
        /// because `--config` is the host's configuration file.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        values: Vec<String>,
        /// Distinct tasks a run may create before it counts as endless.
        #[arg(long, default_value_t = crate::kit::DEFAULT_MAX_TASKS)]
        max_tasks: usize,
        /// For trigger-driven plugins: the JSON value of a trigger record to
        /// plan from.
        #[arg(long)]
        trigger: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and check the configuration; print the effective
    /// configuration as TOML, every secret shown as "***".
    Check,
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

/// Load the configuration named on the command line (or the default file).
pub fn load_settings(path: Option<&Path>) -> anyhow::Result<Settings> {
    Ok(load_config(path)?.validate()?)
}

/// Run the parsed command line.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli.config.as_deref())?;
    let settings = config.clone().validate()?;
    match cli.command {
        Command::Run {
            once,
            plugin,
            json,
            quiet,
            distributed,
            claim,
            record,
            replay,
        } => {
            let mut settings = settings;
            if let Some(dir) = record {
                std::fs::create_dir_all(&dir).with_context(|| {
                    format!("cannot create the recording directory {}", dir.display())
                })?;
                settings.http.mode = crate::http::record::Mode::Record(dir);
            }
            if let Some(dir) = replay {
                if !dir.is_dir() {
                    bail!(
                        "--replay {}: no such directory (make one with --record)",
                        dir.display()
                    );
                }
                settings.http.mode = crate::http::record::Mode::Replay(dir);
            }
            if !once {
                bail!(
                    "`crawlhost run` needs --once (the long-running scheduler is `crawlhost serve`)"
                );
            }
            if distributed {
                return run_distributed(settings, plugin, json, quiet, claim).await;
            }
            run_once(settings, plugin, json, quiet).await
        }
        Command::Worker => worker(settings).await,
        Command::Triggers {
            plugin,
            once,
            concurrency,
            json,
        } => triggers(settings, plugin, once, concurrency, json).await,
        Command::Serve {
            admin_listen,
            no_admin,
        } => serve(settings, admin_listen, no_admin).await,
        Command::Plugins {
            command: PluginsCommand::List,
        } => plugins_list(settings).await,
        Command::Plugin {
            command: PluginCommand::Inspect { file, json },
        } => plugin_inspect(settings, &file, json).await,
        Command::Plugin {
            command: PluginCommand::New { name, dir, sdk },
        } => plugin_new(&name, dir, sdk.as_deref()),
        Command::Plugin {
            command:
                PluginCommand::Test {
                    file,
                    replay,
                    fixture,
                    values,
                    max_tasks,
                    trigger,
                },
        } => plugin_test(file, replay, fixture, values, max_tasks, trigger, &settings).await,
        Command::Tail {
            topic,
            last,
            follow,
        } => tail(settings, &topic, last, follow).await,
        Command::Sink {
            connect_config,
            once,
            until_idle,
            json,
        } => sink(settings, connect_config.as_deref(), once, until_idle, json).await,
        Command::Coverage {
            command: CoverageCommand::Show { plugin, json },
        } => coverage_show(&settings, &plugin, json),
        Command::Coverage {
            command: CoverageCommand::Reset { plugin },
        } => coverage_reset(&settings, &plugin),
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            println!("# configuration OK");
            print!("{}", config.summary(&|name| std::env::var(name).ok()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run_once(
    settings: Settings,
    only: Option<String>,
    json: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let host = Host::open(settings).context("cannot start the host")?;
    let scan = host.scan_plugins().await?;
    for refused in &scan.refused {
        eprintln!("refused {}: {}", refused.path.display(), refused.reason);
    }
    let selected: Vec<_> = match &only {
        Some(name) => match scan.plugins.get(name) {
            Some(p) => vec![p.clone()],
            None => {
                let refused = scan
                    .refused
                    .iter()
                    .find(|r| r.path.file_stem().is_some_and(|s| s == name.as_str()));
                match refused {
                    Some(r) => bail!("plugin `{name}` was refused: {}", r.reason),
                    None => bail!(
                        "no plugin named `{name}` in {} (found: {})",
                        host.settings.plugins_dir.display(),
                        scan.plugins.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                }
            }
        },
        None => scan
            .plugins
            .values()
            .filter(|p| {
                p.manifest.triggers.is_empty()
                    && !host
                        .settings
                        .plugins
                        .get(&p.manifest.name)
                        .is_some_and(|c| c.disabled)
            })
            .cloned()
            .collect(),
    };
    if selected.is_empty() {
        bail!(
            "no plugins to run in {} (build them with `make plugins`)",
            host.settings.plugins_dir.display()
        );
    }
    let (worst, summaries) = run_each(host.run_context(), selected, json, quiet).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    flush_bus(&host).await?;
    Ok(ExitCode::from(worst))
}

/// Before a one-shot command exits: wait until every record reached its
/// bus (with Kafka, until the store-and-forward log has drained).
async fn flush_bus(host: &Host) -> anyhow::Result<()> {
    host.bus
        .flush()
        .await
        .context("records are safe in the local forward log but could not be delivered")
}

/// The plugins `run` or `triggers` should use: the named one, or every
/// enabled one matching `want`.
fn select_plugins(
    host: &Host,
    scan: &crate::registry::Scan,
    only: Option<&str>,
    want: impl Fn(&crate::engine::LoadedPlugin) -> bool,
) -> anyhow::Result<Vec<Arc<crate::engine::LoadedPlugin>>> {
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
        .filter(|p| {
            want(p)
                && !host
                    .settings
                    .plugins
                    .get(&p.manifest.name)
                    .is_some_and(|c| c.disabled)
        })
        .cloned()
        .collect())
}

/// `run --once --distributed`: coordinate the runs here, share the tasks
/// with the workers group (this process works too while its runs last).
async fn run_distributed(
    settings: Settings,
    only: Option<String>,
    json: bool,
    quiet: bool,
    claim_key: Option<String>,
) -> anyhow::Result<ExitCode> {
    use crate::distributed::{self, Claim, Dispatcher};
    let host = Host::open(settings).context("cannot start the host")?;
    let base = host.run_context();
    let kafka = distributed::kafka_settings(&base)?;
    let host_id = distributed::new_host_id();
    if let Some(key) = &claim_key {
        match distributed::claim(host.bus.as_ref(), &kafka.claims_topic, key, &host_id).await? {
            Claim::Won => eprintln!("claimed `{key}` for this host ({host_id})"),
            Claim::Lost { by } => {
                eprintln!("`{key}` was already claimed by {by}; nothing to do here");
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let scan = host.scan_plugins().await?;
    for refused in &scan.refused {
        eprintln!("refused {}: {}", refused.path.display(), refused.reason);
    }
    let selected = select_plugins(&host, &scan, only.as_deref(), |p| {
        p.manifest.triggers.is_empty()
    })?;
    if selected.is_empty() {
        bail!(
            "no plugins to run in {}",
            host.settings.plugins_dir.display()
        );
    }
    let dispatcher = Dispatcher::start(
        host.bus.clone(),
        kafka.clone(),
        host_id.clone(),
        host.settings.sandbox.task_timeout,
    )
    .await?;
    // This host works on the group's tasks while it coordinates.
    let stop_worker = Shutdown::new();
    let worker = tokio::spawn(distributed::run_worker(
        base.clone(),
        scan.plugins.clone(),
        host_id.clone(),
        stop_worker.subscribe(),
    ));
    // The run loop's concurrency bounds attempts in flight across the group.
    let mut wide = (*host.settings).clone();
    let window = (kafka.tasks_partitions as usize * wide.run.concurrency).clamp(1, 10_000);
    for p in &selected {
        wide.plugins
            .entry(p.manifest.name.clone())
            .or_default()
            .concurrency = Some(window);
    }
    let ctx = crate::run::RunContext {
        settings: Arc::new(wide),
        remote: Some(dispatcher.clone()),
        ..base
    };
    let (worst, summaries) = run_each(ctx.clone(), selected, json, quiet).await;
    stop_worker.cancel();
    match worker.await {
        Ok(Ok(n)) => tracing::info!(tasks = n, "This host's worker ran its share."),
        Ok(Err(e)) => eprintln!("warning: this host's worker stopped: {e}"),
        Err(e) => eprintln!("warning: this host's worker crashed: {e}"),
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    flush_bus(&host).await?;
    Ok(ExitCode::from(worst))
}

/// `crawlhost worker`: run the group's tasks until SIGTERM/SIGINT.
async fn worker(settings: Settings) -> anyhow::Result<ExitCode> {
    let host = Host::open(settings).context("cannot start the host")?;
    crate::distributed::kafka_settings(&host.run_context())?;
    let scan = host.scan_plugins().await?;
    for refused in &scan.refused {
        eprintln!("refused {}: {}", refused.path.display(), refused.reason);
    }
    let host_id = crate::distributed::new_host_id();
    let shutdown = Shutdown::on_signals();
    eprintln!(
        "worker {host_id}: {} plugin(s) loaded; waiting for tasks",
        scan.plugins.len()
    );
    let done = crate::distributed::run_worker(
        host.run_context(),
        scan.plugins.clone(),
        host_id,
        shutdown.subscribe(),
    )
    .await?;
    eprintln!("worker stopped after {done} task(s)");
    flush_bus(&host).await?;
    Ok(ExitCode::SUCCESS)
}

/// `crawlhost triggers`: consume the trigger topics of triggered plugins.
async fn triggers(
    settings: Settings,
    only: Option<String>,
    once: bool,
    concurrency: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use crate::trigger::{Until, consume};
    let host = Host::open(settings).context("cannot start the host")?;
    let scan = host.scan_plugins().await?;
    for refused in &scan.refused {
        eprintln!("refused {}: {}", refused.path.display(), refused.reason);
    }
    let selected = select_plugins(&host, &scan, only.as_deref(), |p| {
        !p.manifest.triggers.is_empty()
    })?;
    if selected.is_empty() {
        bail!(
            "no plugins with triggers in {}",
            host.settings.plugins_dir.display()
        );
    }
    let until = if once {
        Until::CaughtUp
    } else {
        Until::Forever
    };
    let mut consumers = tokio::task::JoinSet::new();
    for plugin in selected {
        let ctx = host.run_context();
        consumers.spawn(consume(ctx, plugin, concurrency, until));
    }
    let mut reports = Vec::new();
    let mut worst = 0u8;
    while let Some(joined) = consumers.join_next().await {
        let report = joined.context("a trigger consumer crashed")??;
        for s in &report.summaries {
            if !json {
                // One run per trigger record: the pass's coverage is
                // printed once below, not per record.
                print_summary(s, false);
            }
            worst = combine_exit(worst, run_exit_code(s));
        }
        if !report.drift.is_empty() {
            worst = combine_exit(worst, EXIT_DRIFT);
        }
        if !json {
            println!(
                "triggers of {} (group {}): {} record(s), {} run(s), {} dead-lettered",
                report.plugin, report.group, report.records, report.runs, report.dead_letters
            );
            print_coverage(
                &report.plugin,
                &report.coverage,
                &report.drift_check,
                &report.drift,
            );
        }
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    flush_bus(&host).await?;
    Ok(ExitCode::from(worst))
}

/// Run each plugin once in turn with a progress line and a printed summary
/// (unless `json`); returns the combined exit code and the summaries.
async fn run_each(
    ctx: crate::run::RunContext,
    selected: Vec<Arc<crate::engine::LoadedPlugin>>,
    json: bool,
    quiet: bool,
) -> (u8, Vec<RunSummary>) {
    let mut worst = 0u8;
    let mut summaries = Vec::new();
    for plugin in selected {
        let name = plugin.manifest.name.clone();
        let mut line = ProgressLine::new(&name, !quiet && !json);
        let summary = run_plugin(
            ctx.clone(),
            plugin,
            PlanInput::Scheduled,
            &mut |p: &Progress| line.update(p),
        )
        .await;
        line.finish();
        worst = combine_exit(worst, run_exit_code(&summary));
        if !json {
            print_summary(&summary, true);
        }
        summaries.push(summary);
    }
    (worst, summaries)
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

/// The live progress line: redrawn in place on a terminal, a plain line every
/// 10 seconds otherwise (logs, CI).
struct ProgressLine {
    name: String,
    enabled: bool,
    tty: bool,
    last_plain: Option<Duration>,
    drawn: bool,
}

impl ProgressLine {
    fn new(name: &str, enabled: bool) -> Self {
        Self {
            name: name.to_string(),
            enabled,
            tty: std::io::stderr().is_terminal(),
            last_plain: None,
            drawn: false,
        }
    }

    fn update(&mut self, p: &Progress) {
        if !self.enabled {
            return;
        }
        let secs = p.elapsed.as_secs();
        let text = format!(
            "[{}] {} done, {} failed, {} queued, {} running, {} records, {} retries, {:02}:{:02}",
            self.name,
            p.done,
            p.failed,
            p.queued,
            p.running,
            p.records,
            p.retries,
            secs / 60,
            secs % 60
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.drawn = true;
        } else if self
            .last_plain
            .is_none_or(|t| p.elapsed.saturating_sub(t) >= Duration::from_secs(10))
        {
            let _ = writeln!(err, "{text}");
            self.last_plain = Some(p.elapsed);
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

fn print_summary(s: &RunSummary, with_coverage: bool) {
    println!(
        "run {} of {} {}: {} tasks done, {} failed, {} retries, {} records in {:.1}s",
        s.run_id,
        s.plugin,
        s.plugin_version,
        s.tasks_done,
        s.tasks_failed.len(),
        s.retries,
        s.records,
        s.duration_ms as f64 / 1000.0
    );
    for (topic, n) in &s.records_by_topic {
        println!("  {topic}: {n} records");
    }
    if s.dead_letters > 0 {
        println!("  ({} of them dead letters)", s.dead_letters);
    }
    println!(
        "  fetches: {} requests, {} bytes, {} errors (2xx {}, 3xx {}, 4xx {}, 5xx {})",
        s.fetch.requests,
        s.fetch.bytes,
        s.fetch.errors,
        s.fetch.status_2xx,
        s.fetch.status_3xx,
        s.fetch.status_4xx,
        s.fetch.status_5xx
    );
    let f = &s.fetch;
    if f.retries + f.throttled_ms + f.circuit_rejections + f.robots_denied + f.replayed > 0 {
        println!(
            "  http: {} retries, {:.1}s waiting for politeness, {} refused by open circuits, {} by robots.txt, {} replayed",
            f.retries,
            f.throttled_ms as f64 / 1000.0,
            f.circuit_rejections,
            f.robots_denied,
            f.replayed
        );
    }
    if !s.tasks_failed.is_empty() {
        println!("  failed tasks:");
        for f in &s.tasks_failed {
            println!(
                "    {} [{}] after {} attempt(s): {}: {}",
                f.key, f.kind, f.attempts, f.error_kind, f.error
            );
        }
    }
    if with_coverage {
        print_coverage(&s.plugin, &s.coverage, &s.drift_check, &s.drift);
    }
    if let Some(fatal) = &s.fatal {
        println!("  RUN FAILED: {fatal}");
    }
}

/// The coverage lines, the drift check and the alarms of a run (or of a
/// `triggers --once` pass).
fn print_coverage(
    plugin: &str,
    coverage: &crate::coverage::RunCoverage,
    check: &crate::coverage::DriftCheck,
    drift: &[crate::coverage::DriftAlarm],
) {
    let lines = coverage.report_lines();
    if !lines.is_empty() {
        println!("  coverage (records with the field present and not null):");
        for line in lines {
            println!("    {line}");
        }
    }
    match check {
        crate::coverage::DriftCheck::BaselineSet => {
            println!("  coverage baseline: this run (the next runs are compared with it)");
        }
        crate::coverage::DriftCheck::Compared {
            baseline_run,
            baseline_started_at_ms,
            replaced,
        } => println!(
            "  coverage compared with baseline run {baseline_run} ({}){}",
            crate::coverage::drift::format_time(*baseline_started_at_ms),
            if *replaced {
                "; this run is the new baseline"
            } else {
                "; baseline kept"
            }
        ),
        crate::coverage::DriftCheck::Skipped { .. } => {}
    }
    for a in drift {
        println!("DRIFT {}", a.message);
    }
    if !drift.is_empty() {
        println!(
            "  the site probably changed: see `crawlhost coverage show {plugin}`; after fixing \
             the plugin, or to accept the change, `crawlhost coverage reset {plugin}`"
        );
    }
}

/// `crawlhost coverage show PLUGIN`.
fn coverage_show(settings: &Settings, plugin: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = crate::coverage::store::CoverageStore::new(&settings.data_dir);
    let Some(state) = store.load(plugin)? else {
        bail!(
            "no coverage kept for `{plugin}` under {} (no complete scheduled run yet)",
            settings.data_dir.display()
        );
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&state)?);
        return Ok(ExitCode::SUCCESS);
    }
    let describe = |label: &str, snap: &Option<crate::coverage::drift::Snapshot>| match snap {
        None => println!("{label}: none"),
        Some(r) => {
            println!(
                "{label}: run {} of {} ({})",
                r.run_id,
                crate::coverage::drift::format_time(r.started_at_ms),
                r.plugin_version
            );
            for line in r.coverage.report_lines() {
                println!("    {line}");
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
            println!("last run: no drift alarm");
        }
        for a in &last.alarms {
            println!("DRIFT {}", a.message);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `crawlhost coverage reset PLUGIN`.
fn coverage_reset(settings: &Settings, plugin: &str) -> anyhow::Result<ExitCode> {
    let store = crate::coverage::store::CoverageStore::new(&settings.data_dir);
    if store.reset(plugin)? {
        println!("baseline of `{plugin}` forgotten; its next complete run sets a new one");
    } else {
        println!("`{plugin}` has no baseline; its next complete run sets one");
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    settings: Settings,
    admin_listen: Option<String>,
    no_admin: bool,
) -> anyhow::Result<ExitCode> {
    let mut settings = settings;
    let mut admin_cfg = settings.admin.clone().unwrap_or_default();
    if let Some(listen) = admin_listen {
        admin_cfg.listen = listen;
    }
    // The router checks requests against the address actually listened on.
    settings.admin = Some(admin_cfg.clone());
    let host = Host::open(settings).context("cannot start the host")?;
    let service = crate::serve::Service::new(host);
    let listener = if no_admin || !admin_cfg.enabled {
        None
    } else {
        let addr = admin_cfg.addr().map_err(anyhow::Error::msg)?;
        if !addr.ip().is_loopback() && admin_cfg.token().is_none() {
            bail!(
                "refusing to serve the admin API on {addr} without a token: set ${} or bind 127.0.0.1",
                admin_cfg.token_env
            );
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the admin API to {addr}"))?;
        eprintln!("admin API on http://{}", listener.local_addr()?);
        Some(listener)
    };
    // Listen for signals from the first poll of this future, once the
    // service is up: a signal during start-up stops the process at once.
    let shutdown = async { Shutdown::on_signals().cancelled().await };
    crate::serve::serve(service, listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn plugins_list(settings: Settings) -> anyhow::Result<ExitCode> {
    let host = Host::open(settings).context("cannot start the host")?;
    let scan = host.scan_plugins().await?;
    println!(
        "{:<16} {:<10} {:<9} {:<14} FILE",
        "NAME", "VERSION", "CONTRACT", "HASH"
    );
    for p in scan.plugins.values() {
        println!(
            "{:<16} {:<10} {:<9} {:<14} {}",
            p.manifest.name,
            p.manifest.version,
            p.contract.to_string(),
            &p.hash[..12],
            p.path.display()
        );
    }
    for r in &scan.refused {
        println!("REFUSED {}: {}", r.path.display(), r.reason);
    }
    if scan.plugins.is_empty() && scan.refused.is_empty() {
        println!(
            "(no .wasm files in {})",
            host.settings.plugins_dir.display()
        );
    }
    Ok(if scan.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plugin_new(name: &str, dir: Option<PathBuf>, sdk: Option<&Path>) -> anyhow::Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let made = crate::template::generate(name, &dir, sdk)?;
    println!("created plugin `{name}` in {}", made.dir.display());
    for f in &made.files {
        println!("  {f}");
    }
    println!("SDK: {} (path = \"{}\")", made.sdk.display(), made.sdk_path);
    let wasm = crate::template::wasm_file_name(name);
    println!(
        "next:\n  cd {}\n  cargo build --release --target wasm32-wasip2\n  crawlhost plugin test target/wasm32-wasip2/release/{wasm} --fixture http://127.0.0.1:8080/",
        made.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn plugin_test(
    file: PathBuf,
    replay: Option<PathBuf>,
    fixture: Option<String>,
    values: Vec<String>,
    max_tasks: usize,
    trigger: Option<String>,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    use crate::kit::{KitOptions, Traffic};
    let traffic = match (replay, fixture) {
        (Some(dir), _) => Traffic::Replay(dir),
        (None, Some(url)) => Traffic::Fixture(url),
        (None, None) => Traffic::Live,
    };
    let mut opts = KitOptions::new(file, traffic);
    for kv in values {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--set {kv}: expected KEY=VALUE");
        };
        opts.config.insert(k.to_string(), v.to_string());
    }
    opts.max_tasks = max_tasks;
    opts.trigger = trigger;
    opts.secrets = settings.http.secrets.clone();
    opts.browser = settings.browser.clone();
    let report = crate::kit::test_plugin(&opts).await?;
    print!("{}", report.table());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn plugin_inspect(settings: Settings, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let engine = Host::inspect_engine(&settings).context("cannot start the engine")?;
    let plugin = match engine.load(file).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("refused: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let m = &plugin.manifest;
    if json {
        let value = serde_json::json!({
            "name": m.name,
            "version": m.version,
            "description": m.description,
            "schedule": m.schedule,
            "topics": m.topics,
            "hosts": m.hosts,
            "triggers": m.triggers,
            "config": m.config.iter().map(|k| serde_json::json!({
                "name": k.name,
                "description": k.description,
                "default": k.default_value,
                "required": k.required,
            })).collect::<Vec<_>>(),
            "contract": plugin.contract.to_string(),
            "host_contract": crate::engine::contract::CONTRACT_VERSION.to_string(),
            "sha256": plugin.hash,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} {} — {}", m.name, m.version, m.description);
    println!(
        "  contract:  {}",
        crate::engine::contract::describe(&plugin.contract)
    );
    println!("  sha256:    {}", plugin.hash);
    println!("  schedule:  {}", m.schedule.as_deref().unwrap_or("(none)"));
    println!("  topics:    {}", m.topics.join(", "));
    println!("  hosts:     {}", m.hosts.join(", "));
    if !m.triggers.is_empty() {
        println!("  triggers:  {}", m.triggers.join(", "));
    }
    if !m.config.is_empty() {
        println!("  config:");
        for k in &m.config {
            println!(
                "    {}{} (default: {}) — {}",
                k.name,
                if k.required { " [required]" } else { "" },
                k.default_value.as_deref().unwrap_or("none"),
                k.description
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn sink(
    settings: Settings,
    connect_config: Option<&Path>,
    once: bool,
    until_idle: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use crate::sink::connect_config::ConnectConfig;
    use crate::sink::{RunMode, Sink, SystemClock};

    let sink_settings = match connect_config {
        Some(path) => {
            let connect = ConnectConfig::load(path)?;
            if !connect.ignored.is_empty() {
                eprintln!(
                    "ignored connector properties (not used by crawlhost): {}",
                    connect.ignored.join(", ")
                );
            }
            connect.validate(&settings.data_dir)?
        }
        None => match &settings.sink {
            Some(config) => config.validate(&settings.data_dir)?,
            None => {
                bail!("no [sink] section in the configuration and no --connect-config FILE.json")
            }
        },
    };
    for note in &sink_settings.notes {
        eprintln!("note: {note}");
    }
    let topics = sink_settings.topics.join(", ");
    let group = sink_settings.group.clone();
    let host = Host::open(settings).context("cannot start the host")?;
    let mut sink = Sink::new(sink_settings, host.bus.clone(), Arc::new(SystemClock))
        .await
        .context("cannot start the sink")?;
    eprintln!(
        "sink: {topics} -> {} (group {group})",
        sink.store().describe()
    );
    let mode = if once {
        RunMode::Once
    } else if until_idle {
        RunMode::UntilIdle
    } else {
        RunMode::Forever
    };
    let report = sink.run(mode, Shutdown::on_signals().cancelled()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "sink: {} records in {} objects ({} batches committed, {} recovered after a restart), {} dead letters, {} null values skipped, {} partitions{}",
            report.records_written,
            report.objects_written,
            report.batches_committed,
            report.batches_recovered,
            report.dead_letters,
            report.nulls_skipped,
            report.partitions,
            if report.interrupted { "; stopped" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn tail(
    settings: Settings,
    topic: &str,
    last: Option<u64>,
    follow: bool,
) -> anyhow::Result<ExitCode> {
    let path = settings.data_dir.join("bus.db");
    if !path.exists() {
        bail!(
            "no embedded bus at {} (nothing has been crawled with this data_dir yet)",
            path.display()
        );
    }
    let bus: Arc<dyn Bus> = Arc::new(crate::bus::embedded::EmbeddedBus::open(
        &path,
        settings.bus.partitions,
    )?);
    let topics = bus.topics().await?;
    let Some((_, partitions)) = topics.iter().find(|(t, _)| t == topic) else {
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        bail!("unknown topic `{topic}` (topics: {})", names.join(", "));
    };
    let mut positions = Vec::new();
    for p in 0..*partitions {
        let end = bus.end_offset(topic, p).await?;
        positions.push(last.map_or(0, |n| end.saturating_sub(n)));
    }
    let mut out = std::io::stdout().lock();
    loop {
        let mut any = false;
        for (p, pos) in positions.iter_mut().enumerate() {
            loop {
                let batch = bus.fetch(topic, p as u32, *pos, 1000).await?;
                if batch.is_empty() {
                    break;
                }
                any = true;
                for r in &batch {
                    writeln!(out, "{}", to_ndjson(r))?;
                    *pos = r.offset + 1;
                }
            }
        }
        out.flush()?;
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        if !any {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
