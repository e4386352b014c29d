//! The sink's main loop: find the partitions of the configured topics, keep
//! one [`PartitionWriter`] per partition, poll one [`PartitionReader`] for
//! all of them and feed each record to its writer, wake up for idle flushes
//! and schedules, and stop on request.
//!
//! Stopping (Ctrl-C, SIGTERM, a test dropping the future) needs no cleanup:
//! open batches are not committed, so the next start re-reads them from the
//! bus, and a batch that was half made visible is finished from its marker.
//! A stop is therefore the same as a crash, on purpose: there is one recovery
//! path and it is always exercised.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SinkError;
use super::config::SinkSettings;
use super::log_check::check_committed;
use super::rotation::Reason;
use super::status::{PartitionStatus, Status};
use super::store::Store;
use super::writer::{Clock, Core, PartitionWriter, bus_retry};
use crate::bus::Bus;
use crate::bus::reader::{GroupChange, PartitionReader, open_reader};

/// How long the sink runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Until stopped.
    Forever,
    /// Until the records present at start are written; then flush and exit.
    Once,
    /// Until a full poll finds no new record; then flush and exit.
    UntilIdle,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SinkReport {
    pub records_written: u64,
    pub objects_written: u64,
    pub batches_committed: u64,
    pub batches_recovered: u64,
    pub dead_letters: u64,
    pub nulls_skipped: u64,
    pub partitions: usize,
    /// Stopped by a signal rather than by finishing its mode.
    pub interrupted: bool,
}

/// How often the topic list is re-read for new topics and partitions.
const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// A configured sink over a bus and a store.
pub struct Sink {
    core: Arc<Core>,
    writers: Vec<PartitionWriter>,
    known: HashSet<(String, u32)>,
    /// `writers` by topic and partition.
    index: HashMap<(String, u32), usize>,
    /// `--once`: the end offsets to reach, per partition.
    targets: HashMap<(String, u32), u64>,
    last_refresh: Option<Instant>,
    /// Group mode: when each partition this member does not own last showed
    /// a new committed offset, to notice one nobody serves.
    orphans: HashMap<(String, u32), (Option<u64>, Instant)>,
    /// Group mode, `--once`: the end offsets of every partition of the
    /// topics at start, which the whole group must commit before this
    /// member exits.
    group_targets: HashMap<(String, u32), u64>,
    /// Group mode: when the group's offsets were last compared with the
    /// targets.
    last_group_check: Option<Instant>,
}

impl Sink {
    /// Build the sink: open the store, prepare the spool directory
    /// (`<spool_dir>/<group>`, emptied: its files are scratch), and make sure
    /// the dead-letter topic exists.
    pub async fn new(
        mut settings: SinkSettings,
        bus: Arc<dyn Bus>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SinkError> {
        let store = Store::open(&settings.store, settings.limits).map_err(SinkError::Store)?;
        settings.spool_dir = settings.spool_dir.join(&settings.group);
        prepare_spool(&mut settings.spool_dir)?;
        if let Some(dlq) = &settings.dead_letter_topic {
            bus_retry("creating the dead-letter topic", || {
                bus.ensure_topic(dlq, 1)
            })
            .await?;
        }
        for note in &settings.notes {
            tracing::warn!("sink configuration: {note}");
        }
        // On Kafka every sink of the group is a member of one consumer
        // group, which splits the partitions between them; elsewhere one
        // reader follows every partition.
        let reader: Arc<dyn PartitionReader> = match bus
            .group_reader(&settings.group, &settings.topics)
            .map_err(SinkError::Bus)?
        {
            Some(member) => Arc::from(member),
            None => Arc::from(open_reader(bus.clone()).map_err(SinkError::Bus)?),
        };
        Ok(Self {
            core: Arc::new(Core::new(settings, store, bus, reader, clock)),
            writers: Vec::new(),
            known: HashSet::new(),
            index: HashMap::new(),
            targets: HashMap::new(),
            last_refresh: None,
            orphans: HashMap::new(),
            group_targets: HashMap::new(),
            last_group_check: None,
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &SinkSettings {
        &self.core.settings
    }

    /// The store objects go to.
    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// What the operator sees of this sink while it runs (shared: it stays
    /// current after the sink moves into its task).
    pub fn status(&self) -> Arc<Status> {
        self.core.stats.clone()
    }

    /// The reader it consumes through (shared, like [`Sink::status`]); its
    /// [`PartitionReader::group`] is the sink's group membership, if any
    /// (`crawlhost sink --metrics-listen` shows its rebalances).
    pub fn reader(&self) -> Arc<dyn PartitionReader> {
        self.core.reader.clone()
    }

    /// Publish each partition's offsets and open batch to [`Sink::status`].
    fn publish_status(&self) {
        self.core.stats.set_partitions(self.writers.iter().map(|w| {
            (
                (w.topic().to_string(), w.partition()),
                PartitionStatus {
                    committed: w.committed(),
                    position: w.position(),
                    open_records: w.open_records(),
                },
            )
        }));
    }

    /// Counters so far.
    pub fn report(&self) -> SinkReport {
        let s = &self.core.stats;
        SinkReport {
            records_written: s.records_written.load(Ordering::Relaxed),
            objects_written: s.objects_written.load(Ordering::Relaxed),
            batches_committed: s.batches_committed.load(Ordering::Relaxed),
            batches_recovered: s.batches_recovered.load(Ordering::Relaxed),
            dead_letters: s.dead_letters.load(Ordering::Relaxed),
            nulls_skipped: s.nulls_skipped.load(Ordering::Relaxed),
            partitions: self.writers.len(),
            interrupted: false,
        }
    }

    /// Run in `mode` until it finishes or `shutdown` resolves.
    pub async fn run(
        &mut self,
        mode: RunMode,
        shutdown: impl Future<Output = ()>,
    ) -> Result<SinkReport, SinkError> {
        let interrupted = tokio::select! {
            biased;
            () = shutdown => true,
            r = self.run_inner(mode) => { r?; false }
        };
        if interrupted {
            tracing::info!("sink stopping; open batches are re-read on the next start");
        }
        Ok(SinkReport {
            interrupted,
            ..self.report()
        })
    }

    async fn refresh(&mut self, mode: RunMode) -> Result<(), SinkError> {
        let core = self.core.clone();
        if core.reader.group().is_some() {
            // The group assigns partitions ([`Sink::apply_changes`]).
            if mode == RunMode::Once && self.last_refresh.is_none() {
                for (topic, p) in self.topic_partitions().await? {
                    let end =
                        bus_retry("reading the end offset", || core.bus.end_offset(&topic, p))
                            .await?;
                    self.group_targets.insert((topic, p), end);
                }
            }
            self.watch_orphans().await?;
            self.last_refresh = Some(Instant::now());
            return Ok(());
        }
        let topics = bus_retry("listing topics", || core.bus.topics()).await?;
        for (topic, partitions) in topics {
            if !core.settings.topics.contains(&topic) {
                continue;
            }
            for partition in 0..partitions {
                if !self.known.contains(&(topic.clone(), partition)) {
                    self.open_partition(&topic, partition, mode).await?;
                }
            }
        }
        self.last_refresh = Some(Instant::now());
        Ok(())
    }

    /// Start writing `topic`/`partition`: its writer from the committed
    /// offset (finishing a pending batch), checked against the log, and the
    /// reader positioned there.
    async fn open_partition(
        &mut self,
        topic: &str,
        partition: u32,
        mode: RunMode,
    ) -> Result<(), SinkError> {
        let core = self.core.clone();
        let writer = PartitionWriter::open(&core, topic, partition).await?;
        let reader = &core.reader;
        let (low, high) = bus_retry("reading the partition's watermarks", || {
            reader.watermarks(topic, partition)
        })
        .await?;
        check_committed(topic, partition, writer.stored_commit(), low, high)?;
        if mode == RunMode::Once {
            let end = bus_retry("reading the end offset", || {
                core.bus.end_offset(topic, partition)
            })
            .await?;
            self.targets.insert((topic.to_string(), partition), end);
        }
        tracing::info!(topic = %topic, partition, committed = writer.committed(), "sink partition assigned");
        let position = writer.position();
        bus_retry("starting to read a partition", || {
            reader.seek(topic, partition, position)
        })
        .await?;
        let key = (topic.to_string(), partition);
        self.known.insert(key.clone());
        self.index.insert(key, self.writers.len());
        self.writers.push(writer);
        Ok(())
    }

    /// Stop writing a partition without committing (the group took it, or
    /// a commit found it gone): its open batch is dropped; the next owner
    /// re-reads it from the committed offset.
    fn drop_partition(&mut self, topic: &str, partition: u32, why: &str) {
        let key = (topic.to_string(), partition);
        self.known.remove(&key);
        self.targets.remove(&key);
        let Some(i) = self.index.remove(&key) else {
            return;
        };
        let writer = self.writers.remove(i);
        tracing::info!(
            topic = %topic,
            partition,
            committed = writer.committed(),
            dropped_records = writer.open_records(),
            "sink partition given up: {why}"
        );
        writer.abandon();
        self.index = self
            .writers
            .iter()
            .enumerate()
            .map(|(i, w)| ((w.topic().to_string(), w.partition()), i))
            .collect();
    }

    /// Group mode: take the group's assignment changes, in order.
    async fn apply_changes(&mut self, mode: RunMode) -> Result<(), SinkError> {
        let core = self.core.clone();
        let Some(member) = core.reader.group() else {
            return Ok(());
        };
        for change in member.take_changes() {
            match change {
                GroupChange::Revoked(partitions) => {
                    for (topic, partition) in partitions {
                        self.drop_partition(&topic, partition, "revoked by the group");
                    }
                }
                GroupChange::Assigned(partitions) => {
                    for (topic, partition) in partitions {
                        if !core.settings.topics.contains(&topic)
                            || self.known.contains(&(topic.clone(), partition))
                        {
                            continue;
                        }
                        match self.open_partition(&topic, partition, mode).await {
                            Ok(()) => {}
                            // Revoked again while it was being opened.
                            Err(_) if !member.owns(&topic, partition) => {
                                self.drop_partition(&topic, partition, "revoked while opening");
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Every partition of the sink's topics, as the bus has them now.
    async fn topic_partitions(&self) -> Result<Vec<(String, u32)>, SinkError> {
        let core = self.core.clone();
        let topics = bus_retry("listing topics", || core.bus.topics()).await?;
        Ok(topics
            .into_iter()
            .filter(|(t, _)| core.settings.topics.contains(t))
            .flat_map(|(t, n)| (0..n).map(move |p| (t.clone(), p)))
            .collect())
    }

    /// Group mode, `--once` / `--until-idle`, once this member's own
    /// partitions are done: make them durable, then whether every partition
    /// of the topics has its committed offset at the target (`--once`: the
    /// end at start; `--until-idle`: the end now), whoever serves it.
    /// Asked at most twice a second.
    async fn group_done(&mut self, mode: RunMode) -> Result<bool, SinkError> {
        if self
            .last_group_check
            .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return Ok(false);
        }
        self.last_group_check = Some(Instant::now());
        let core = self.core.clone();
        let Some(member) = core.reader.group() else {
            return Ok(true);
        };
        let mut lost = Vec::new();
        for w in &mut self.writers {
            if w.open_records() == 0 {
                continue;
            }
            match w.rotate(&core, Reason::Drain).await {
                Ok(()) => {}
                Err(SinkError::PartitionLost {
                    topic,
                    partition,
                    reason,
                }) => lost.push((topic, partition, reason)),
                Err(e) => return Err(e),
            }
        }
        for (topic, partition, reason) in lost {
            self.drop_partition(&topic, partition, &reason);
        }
        for (topic, partition) in self.topic_partitions().await? {
            let target = match mode {
                RunMode::Once => match self.group_targets.get(&(topic.clone(), partition)) {
                    Some(&t) => t,
                    // A partition added since start: nothing of it was there.
                    None => continue,
                },
                _ => {
                    bus_retry("reading the end offset", || {
                        core.bus.end_offset(&topic, partition)
                    })
                    .await?
                }
            };
            let committed = bus_retry("reading a committed offset", || {
                member.committed(&topic, partition)
            })
            .await?;
            let committed = committed.unwrap_or(0);
            if committed < target {
                // Entries that are not records (transaction markers) take
                // offsets too: behind only if a record is left below it.
                let left = bus_retry("reading the partition", || {
                    core.bus.fetch(&topic, partition, committed, 1)
                })
                .await?;
                if left.first().is_some_and(|r| r.offset < target) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Group mode: a partition of the sink's topics that no member serves
    /// (its committed offset stands still while records wait) makes this
    /// member leave and join again, so the group assigns every partition
    /// anew. Apache Kafka reassigns a dead member's partitions by itself,
    /// so there this only fires for a partition whose owner is stuck;
    /// tansu 0.6 keeps a dead member's partitions assigned to nobody until
    /// a member joins or leaves (docs/operations.md, "Scaling out").
    async fn watch_orphans(&mut self) -> Result<(), SinkError> {
        let core = self.core.clone();
        let Some(member) = core.reader.group() else {
            return Ok(());
        };
        let limit = orphan_limit(member.session_timeout());
        let topics = bus_retry("listing topics", || core.bus.topics()).await?;
        let now = Instant::now();
        let mut orphaned = None;
        for (topic, partitions) in topics {
            if !core.settings.topics.contains(&topic) {
                continue;
            }
            for partition in 0..partitions {
                let key = (topic.clone(), partition);
                if member.owns(&topic, partition) {
                    self.orphans.remove(&key);
                    continue;
                }
                let committed = bus_retry("reading a committed offset", || {
                    member.committed(&topic, partition)
                })
                .await?;
                let end = bus_retry("reading the end offset", || {
                    core.bus.end_offset(&topic, partition)
                })
                .await?;
                let seen = self.orphans.entry(key.clone()).or_insert((committed, now));
                if seen.0 != committed || end <= committed.unwrap_or(0) {
                    *seen = (committed, now);
                } else if now.duration_since(seen.1) >= limit {
                    orphaned = Some((key, committed, end));
                }
            }
        }
        if let Some(((topic, partition), committed, end)) = orphaned {
            tracing::warn!(
                topic = %topic,
                partition,
                committed = ?committed,
                end,
                stalled_secs = limit.as_secs(),
                "No sink of the group has moved this partition; rejoining the group so it assigns every partition again."
            );
            self.orphans.clear();
            bus_retry("rejoining the group", || member.rejoin()).await?;
        }
        Ok(())
    }

    async fn run_inner(&mut self, mode: RunMode) -> Result<(), SinkError> {
        let core = self.core.clone();
        let max = core.settings.fetch_max_records;
        let mut last_sweep = Instant::now();
        loop {
            if self
                .last_refresh
                .is_none_or(|t| t.elapsed() >= REFRESH_EVERY)
                && !(mode == RunMode::Once
                    && self.last_refresh.is_some()
                    && core.reader.group().is_none())
            {
                self.refresh(mode).await?;
            }
            let wait = self.wait(&core);
            let reader = &core.reader;
            let batch = bus_retry("fetching records", || reader.poll(max, wait)).await?;
            // Revocations came inside that poll: drop those partitions
            // before their records (already filtered by the reader) matter.
            self.apply_changes(mode).await?;
            let full = batch.len() >= max;
            let mut fed = vec![false; self.writers.len()];
            let mut rewound = vec![false; self.writers.len()];
            let mut lost: Vec<(String, u32, String)> = Vec::new();
            for record in batch {
                let Some(&i) = self.index.get(&(record.topic.clone(), record.partition)) else {
                    continue;
                };
                if rewound[i] {
                    continue;
                }
                let w = &mut self.writers[i];
                match w.process(&core, record).await {
                    Ok(()) => {}
                    Err(SinkError::PartitionLost {
                        topic,
                        partition,
                        reason,
                    }) => {
                        // Its later records in this batch are not ours.
                        rewound[i] = true;
                        lost.push((topic, partition, reason));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                fed[i] = true;
                if w.take_rewound() {
                    // Its later records in this batch are re-read from the
                    // writer's new position.
                    rewound[i] = true;
                    let (topic, partition, position) =
                        (w.topic().to_string(), w.partition(), w.position());
                    bus_retry("moving the reader", || {
                        reader.seek(&topic, partition, position)
                    })
                    .await?;
                }
            }
            // Idle flushes and schedules for the partitions that got nothing:
            // whenever the reader had no more ready, and at least every poll
            // interval while other partitions keep it busy.
            if !full || last_sweep.elapsed() >= core.settings.poll_interval {
                for (w, fed) in self.writers.iter_mut().zip(&fed) {
                    if !fed {
                        match w.on_idle(&core).await {
                            Ok(()) => {}
                            Err(SinkError::PartitionLost {
                                topic,
                                partition,
                                reason,
                            }) => lost.push((topic, partition, reason)),
                            Err(e) => return Err(e),
                        }
                    }
                }
                last_sweep = Instant::now();
            }
            for (topic, partition, reason) in lost {
                self.drop_partition(&topic, partition, &reason);
            }
            self.publish_status();
            // A group member has nothing to finish before the group has
            // assigned it its partitions (possibly none).
            let assigned = core.reader.group().is_none_or(|m| m.rebalances() > 0);
            let own_done = assigned
                && match mode {
                    RunMode::Forever => false,
                    RunMode::UntilIdle => !fed.contains(&true) && self.caught_up().await?,
                    RunMode::Once => self.writers.iter().all(|w| {
                        !w.replaying()
                            && self.read_to(w)
                                >= self
                                    .targets
                                    .get(&(w.topic().to_string(), w.partition()))
                                    .copied()
                                    .unwrap_or(0)
                    }),
                };
            // A group member exits once the whole group has committed what
            // it must (its own partitions made durable first).
            let done = own_done && (core.reader.group().is_none() || self.group_done(mode).await?);
            if done {
                let mut lost = Vec::new();
                for w in &mut self.writers {
                    match w.rotate(&core, Reason::Drain).await {
                        Ok(()) => {}
                        Err(SinkError::PartitionLost {
                            topic,
                            partition,
                            reason,
                        }) => lost.push((topic, partition, reason)),
                        Err(e) => return Err(e),
                    }
                }
                for (topic, partition, reason) in lost {
                    self.drop_partition(&topic, partition, &reason);
                }
                self.publish_status();
                return Ok(());
            }
        }
    }

    /// How long a poll may wait for records: the poll interval, or less
    /// when an idle flush or a schedule is due sooner.
    fn wait(&self, core: &Core) -> Duration {
        let now = core.clock.now_ms();
        let wake = self
            .writers
            .iter()
            .filter_map(|w| w.next_wakeup(core))
            .min();
        let mut wait = core.settings.poll_interval;
        if let Some(at) = wake {
            let until = Duration::from_millis(at.saturating_sub(now).max(1) as u64);
            wait = wait.min(until);
        }
        wait
    }

    /// How far `w`'s partition is read: its writer's position, or further
    /// where the log holds entries that are never handed out (transaction
    /// markers), so a log ending in one still counts as read to its end.
    fn read_to(&self, w: &PartitionWriter) -> u64 {
        let reached = self.core.reader.reached(w.topic(), w.partition());
        w.position().max(reached.unwrap_or(0))
    }

    /// Whether every partition's writer has reached the end of its log.
    async fn caught_up(&self) -> Result<bool, SinkError> {
        for w in &self.writers {
            if w.replaying() {
                return Ok(false);
            }
            let end = bus_retry("reading the end offset", || {
                self.core.bus.end_offset(w.topic(), w.partition())
            })
            .await?;
            if self.read_to(w) < end {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// How long a partition nobody moves may stand still before a member
/// rejoins the group: three session timeouts (a dead member's session
/// expires within one), at least 10 s.
fn orphan_limit(session_timeout: Duration) -> Duration {
    (session_timeout * 3).max(Duration::from_secs(10))
}

/// Make this process's spool directory `<spool_dir>/<group>/<host>.p<pid>`
/// (emptied: its files are scratch) and remove the ones of this host's
/// processes that are gone, so sinks of one group sharing a disk keep out
/// of each other's files (containers all run as pid 1, hence the host
/// name). Updates `spool_dir` to it.
fn prepare_spool(spool_dir: &mut std::path::PathBuf) -> Result<(), SinkError> {
    prepare_spool_for(spool_dir, &host_name(), std::process::id())
}

fn prepare_spool_for(
    spool_dir: &mut std::path::PathBuf,
    host: &str,
    pid: u32,
) -> Result<(), SinkError> {
    let base = spool_dir.clone();
    let err = |what: &str, p: &std::path::Path, e: std::io::Error| {
        SinkError::Spool(format!("cannot {what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(&base).map_err(|e| err("create", &base, e))?;
    let mine = format!("{host}.p{pid}");
    for entry in std::fs::read_dir(&base).map_err(|e| err("read", &base, e))? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let stale = match name.rsplit_once(".p") {
            // Another machine's (or container's) directory: not ours to judge.
            Some((h, _)) if h != host => false,
            Some((_, p)) => match p.parse::<u32>() {
                Ok(p) => p == pid || !process_alive(p),
                Err(_) => true,
            },
            // The layouts before per-process directories: scratch too.
            None => true,
        };
        if stale {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| err("empty", &path, e))?;
        }
    }
    let own = base.join(mine);
    std::fs::create_dir_all(&own).map_err(|e| err("create", &own, e))?;
    *spool_dir = own;
    Ok(())
}

/// This machine's name (`$HOSTNAME`, else `/etc/hostname`), made safe for
/// a directory name.
fn host_name() -> String {
    let raw = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_else(|| "host".into());
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "host".into()
    } else {
        clean
    }
}

/// Whether a process with this id runs (Linux: `/proc/<pid>`; elsewhere
/// every other process counts as alive, so nothing of it is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod group_tests {
    use super::*;

    #[test]
    fn a_partition_is_orphaned_after_three_session_timeouts() {
        assert_eq!(
            orphan_limit(Duration::from_secs(10)),
            Duration::from_secs(30)
        );
        assert_eq!(
            orphan_limit(Duration::from_secs(1)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn spool_directories_are_per_process_and_the_dead_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("g");
        let me = std::process::id();
        std::fs::create_dir_all(base.join("h1.p1")).unwrap(); // pid 1 lives
        std::fs::create_dir_all(base.join("h1.p4000000")).unwrap(); // beyond pid_max
        std::fs::create_dir_all(base.join("other.p4000000")).unwrap(); // another machine's
        std::fs::create_dir_all(base.join("p4000000")).unwrap(); // the first layout
        std::fs::write(base.join("old-layout.spool"), b"x").unwrap();
        let mut spool = base.clone();
        prepare_spool_for(&mut spool, "h1", me).unwrap();
        assert_eq!(spool, base.join(format!("h1.p{me}")));
        assert!(spool.is_dir());
        assert!(
            base.join("h1.p1").exists(),
            "a live process keeps its files"
        );
        assert!(
            base.join("other.p4000000").exists(),
            "another host's are not judged"
        );
        assert!(!base.join("h1.p4000000").exists());
        assert!(!base.join("p4000000").exists());
        assert!(!base.join("old-layout.spool").exists());
        // Containers: the same pid on two hosts sharing a disk.
        let mut other = base.clone();
        prepare_spool_for(&mut other, "h2", me).unwrap();
        assert!(spool.is_dir() && other.is_dir() && spool != other);
        assert!(!host_name().is_empty());
    }
}
