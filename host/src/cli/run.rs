//! `crawlhost run --once`: run plugins' crawls to completion in this
//! process, or with `--distributed` coordinate them here and share their
//! tasks with the workers group; a live progress line while each runs, its
//! summary after, and the exit code of the worst run.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Settings;
use crate::contract::PlanInput;
use crate::engine::LoadedPlugin;
use crate::run::{Progress, RunContext, RunSummary, run_plugin};
use crate::shutdown::Shutdown;

use super::report::summary_text;
use super::{
    combine_exit, flush_bus, is_disabled, open_host, run_exit_code, select_plugins, warn_refused,
};

/// Arguments of `crawlhost run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run once and exit. Required: the long-running scheduler is
    /// `crawlhost serve`.
    #[arg(long)]
    pub once: bool,
    /// Only this plugin (default: every enabled plugin without triggers).
    #[arg(long)]
    pub plugin: Option<String>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
    /// Share the run's tasks with every host running `crawlhost worker`
    /// (or another distributed run) through Kafka; needs `[kafka]`.
    #[arg(long)]
    pub distributed: bool,
    /// With --distributed: claim KEY across the group first and skip
    /// the run (exit 0) when another host claimed it, e.g.
    /// `--claim "oliveyoung@$(date +%Y%m%d%H)"` in every host's crontab
    /// fires one run per hour across the group.
    #[arg(long, requires = "distributed")]
    pub claim: Option<String>,
    /// Store every HTTP exchange of the run under DIR (request
    /// fingerprint -> response, secrets already redacted) for `--replay`.
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer every fetch from a recording made with `--record DIR`,
    /// with no network; a request that was not recorded fails naming it.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
}

/// `crawlhost run`.
pub(super) async fn run(settings: Settings, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut settings = settings;
    if let Some(dir) = args.record {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the recording directory {}", dir.display()))?;
        settings.http.mode = crate::http::record::Mode::Record(dir);
    }
    if let Some(dir) = args.replay {
        if !dir.is_dir() {
            bail!(
                "--replay {}: no such directory (make one with --record)",
                dir.display()
            );
        }
        settings.http.mode = crate::http::record::Mode::Replay(dir);
    }
    if !args.once {
        bail!("`crawlhost run` needs --once (the long-running scheduler is `crawlhost serve`)");
    }
    if args.distributed {
        return run_distributed(settings, args.plugin, args.json, args.quiet, args.claim).await;
    }
    run_once(settings, args.plugin, args.json, args.quiet).await
}

/// `run --once`: every selected plugin in turn, in this process.
async fn run_once(
    settings: Settings,
    only: Option<String>,
    json: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let host = open_host(settings)?;
    let scan = host.scan_plugins().await?;
    warn_refused(&scan);
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
            .filter(|p| p.manifest.triggers.is_empty() && !is_disabled(&host, p))
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

/// A coordinator another host took the run over from stops at once: its
/// copy of the run is abandoned (not replicated), so the two never
/// dispatch the run side by side for longer than a heartbeat.
fn spawn_fence_watch(
    fenced: crate::distributed::failover::Fenced,
    journal: Arc<crate::run::journal::Journal>,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let why = fenced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(why) = why {
                journal.set_mirror(None);
                eprintln!("error: {why}; this host stops coordinating it");
                tracing::error!(reason = %why, "Fenced: another host took the run over.");
                std::process::exit(1);
            }
        }
    });
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
    use crate::distributed::failover::{self, Replicator, Standby};
    use crate::distributed::{self, Claim, Dispatcher};
    let host = open_host(settings)?;
    let base = host.run_context();
    let kafka = distributed::kafka_settings(&base)?;
    let host_id = distributed::new_host_id();
    let journal = host.journal.clone();
    // Plugins whose run under the claim already ended (a takeover skips them).
    let mut done_elsewhere: Vec<String> = Vec::new();
    let mut replicator = None;
    let fenced: failover::Fenced = Default::default();
    if let Some(key) = &claim_key {
        host.bus.ensure_topic(&kafka.journal_topic, 1).await?;
        let from = host.bus.end_offset(&kafka.journal_topic, 0).await?;
        let (claimed, winner_from) = distributed::claims::claim_noting(
            host.bus.as_ref(),
            &kafka.claims_topic,
            key,
            &host_id,
            Some(from),
        )
        .await?;
        let mut takeover = None;
        match claimed {
            Claim::Won => eprintln!("claimed `{key}` for this host ({host_id})"),
            Claim::Lost { by } => {
                eprintln!(
                    "`{key}` was already claimed by {by}; standing by to take the run over if it stops"
                );
                let standby = failover::stand_by(
                    host.bus.as_ref(),
                    &kafka.journal_topic,
                    &kafka.claims_topic,
                    key,
                    &host_id,
                    winner_from.unwrap_or(0),
                    failover::takeover_after(kafka.session_timeout),
                )
                .await?;
                match standby {
                    Standby::Finished => {
                        eprintln!("the run of `{key}` finished on {by}; nothing to do here");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Standby::TakeOver(state) => {
                        for run in state.unfinished() {
                            let row = run.run.clone().expect("unfinished runs started");
                            let (done, failed, queued) = run.counts();
                            eprintln!(
                                "taking run {} of `{}` over: {done} tasks done, {failed} failed, {queued} to run (again)",
                                row.run_id, row.plugin
                            );
                            journal
                                .adopt(&row, &run.adopted())
                                .map_err(|e| anyhow::anyhow!("cannot adopt the run: {e}"))?;
                            takeover = Some((row.run_id.clone(), state.takeovers));
                        }
                        done_elsewhere = state.ended_plugins();
                    }
                }
            }
        }
        let from = host.bus.end_offset(&kafka.journal_topic, 0).await?;
        let r = Replicator::start(
            host.bus.clone(),
            kafka.journal_topic.clone(),
            key.clone(),
            host_id.clone(),
            failover::heartbeat_interval(kafka.session_timeout),
            from,
            fenced.clone(),
        );
        if let Some((run_id, generation)) = takeover {
            r.takeover(run_id, generation);
        }
        journal.set_mirror(Some(r.mirror()));
        replicator = Some(r);
        spawn_fence_watch(fenced.clone(), journal.clone());
    }
    let scan = host.scan_plugins().await?;
    warn_refused(&scan);
    let selected = select_plugins(&host, &scan, only.as_deref(), |p| {
        p.manifest.triggers.is_empty() && !done_elsewhere.contains(&p.manifest.name)
    })?;
    if selected.is_empty() && done_elsewhere.is_empty() {
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
    let ctx = RunContext {
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
    if let Some(r) = replicator {
        journal.set_mirror(None);
        r.complete();
        r.finish().await;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summaries)?);
    }
    flush_bus(&host).await?;
    Ok(ExitCode::from(worst))
}

/// Run each plugin once in turn with a progress line and a printed summary
/// (unless `json`); returns the combined exit code and the summaries.
async fn run_each(
    ctx: RunContext,
    selected: Vec<Arc<LoadedPlugin>>,
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
            print!("{}", summary_text(&summary, true));
        }
        summaries.push(summary);
    }
    (worst, summaries)
}

/// How often the progress line is repeated when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

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
        let text = progress_text(&self.name, p);
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.drawn = true;
        } else if plain_line_due(self.last_plain, p.elapsed) {
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

/// The progress line of plugin `name`.
fn progress_text(name: &str, p: &Progress) -> String {
    let secs = p.elapsed.as_secs();
    format!(
        "[{name}] {} done, {} failed, {} queued, {} running, {} records, {} retries, {:02}:{:02}",
        p.done,
        p.failed,
        p.queued,
        p.running,
        p.records,
        p.retries,
        secs / 60,
        secs % 60
    )
}

/// Whether a plain (not redrawn) progress line is due at `elapsed`, the
/// last one having been written at `last`.
fn plain_line_due(last: Option<Duration>, elapsed: Duration) -> bool {
    last.is_none_or(|t| elapsed.saturating_sub(t) >= PLAIN_EVERY)
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    fn run_args(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        match parse(&all)?.command {
            Command::Run(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn run_flags_default_to_off() {
        let a = run_args(&[]).unwrap();
        assert!(!a.once && !a.json && !a.quiet && !a.distributed);
        assert!(a.plugin.is_none() && a.claim.is_none() && a.record.is_none());
        assert!(a.replay.is_none());
        let a = run_args(&["--once", "--plugin", "echo", "--json", "--quiet"]).unwrap();
        assert!(a.once && a.json && a.quiet);
        assert_eq!(a.plugin.as_deref(), Some("echo"));
    }

    #[test]
    fn a_claim_needs_distributed() {
        let err = run_args(&["--once", "--claim", "k"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let a = run_args(&["--once", "--distributed", "--claim", "echo@1"]).unwrap();
        assert_eq!(a.claim.as_deref(), Some("echo@1"));
    }

    #[test]
    fn record_and_replay_exclude_each_other() {
        let err = run_args(&["--once", "--record", "a", "--replay", "b"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
        let a = run_args(&["--once", "--record", "dir"]).unwrap();
        assert_eq!(a.record, Some(PathBuf::from("dir")));
    }

    fn progress(secs: u64) -> Progress {
        Progress {
            done: 12,
            failed: 1,
            queued: 30,
            running: 4,
            records: 240,
            retries: 2,
            elapsed: Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_progress_line_counts_and_shows_minutes_and_seconds() {
        assert_eq!(
            progress_text("echo", &progress(754)),
            "[echo] 12 done, 1 failed, 30 queued, 4 running, 240 records, 2 retries, 12:34"
        );
        assert!(progress_text("echo", &progress(5)).ends_with(", 00:05"));
    }

    #[test]
    fn a_plain_progress_line_is_written_at_most_every_ten_seconds() {
        let s = Duration::from_secs;
        assert!(plain_line_due(None, s(0)));
        assert!(!plain_line_due(Some(s(3)), s(12)));
        assert!(plain_line_due(Some(s(3)), s(13)));
    }
}
