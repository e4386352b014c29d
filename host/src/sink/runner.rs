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
use crate::bus::reader::{PartitionReader, open_reader};

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
    /// Where records come from (one stream over every partition on Kafka).
    reader: Box<dyn PartitionReader>,
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
        let spool = settings.spool_dir.clone();
        if spool.exists() {
            std::fs::remove_dir_all(&spool)
                .map_err(|e| SinkError::Spool(format!("cannot empty {}: {e}", spool.display())))?;
        }
        std::fs::create_dir_all(&spool)
            .map_err(|e| SinkError::Spool(format!("cannot create {}: {e}", spool.display())))?;
        if let Some(dlq) = &settings.dead_letter_topic {
            bus_retry("creating the dead-letter topic", || {
                bus.ensure_topic(dlq, 1)
            })
            .await?;
        }
        for note in &settings.notes {
            tracing::warn!("sink configuration: {note}");
        }
        let reader = open_reader(bus.clone()).map_err(SinkError::Bus)?;
        Ok(Self {
            core: Arc::new(Core::new(settings, store, bus, clock)),
            writers: Vec::new(),
            known: HashSet::new(),
            index: HashMap::new(),
            targets: HashMap::new(),
            last_refresh: None,
            reader,
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
        let topics = bus_retry("listing topics", || core.bus.topics()).await?;
        for (topic, partitions) in topics {
            if !core.settings.topics.contains(&topic) {
                continue;
            }
            for partition in 0..partitions {
                if !self.known.insert((topic.clone(), partition)) {
                    continue;
                }
                let writer = PartitionWriter::open(&core, &topic, partition).await?;
                let reader = &self.reader;
                let (low, high) = bus_retry("reading the partition's watermarks", || {
                    reader.watermarks(&topic, partition)
                })
                .await?;
                check_committed(&topic, partition, writer.stored_commit(), low, high)?;
                if mode == RunMode::Once {
                    let end = bus_retry("reading the end offset", || {
                        core.bus.end_offset(&topic, partition)
                    })
                    .await?;
                    self.targets.insert((topic.clone(), partition), end);
                }
                tracing::info!(topic = %topic, partition, committed = writer.committed(), "sink partition assigned");
                let position = writer.position();
                bus_retry("starting to read a partition", || {
                    self.reader.seek(&topic, partition, position)
                })
                .await?;
                self.index
                    .insert((topic.clone(), partition), self.writers.len());
                self.writers.push(writer);
            }
        }
        self.last_refresh = Some(Instant::now());
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
                && !(mode == RunMode::Once && self.last_refresh.is_some())
            {
                self.refresh(mode).await?;
            }
            let wait = self.wait(&core);
            let reader = &self.reader;
            let batch = bus_retry("fetching records", || reader.poll(max, wait)).await?;
            let full = batch.len() >= max;
            let mut fed = vec![false; self.writers.len()];
            let mut rewound = vec![false; self.writers.len()];
            for record in batch {
                let Some(&i) = self.index.get(&(record.topic.clone(), record.partition)) else {
                    continue;
                };
                if rewound[i] {
                    continue;
                }
                let w = &mut self.writers[i];
                w.process(&core, record).await?;
                fed[i] = true;
                if w.take_rewound() {
                    // Its later records in this batch are re-read from the
                    // writer's new position.
                    rewound[i] = true;
                    let (topic, partition, position) =
                        (w.topic().to_string(), w.partition(), w.position());
                    bus_retry("moving the reader", || {
                        self.reader.seek(&topic, partition, position)
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
                        w.on_idle(&core).await?;
                    }
                }
                last_sweep = Instant::now();
            }
            self.publish_status();
            let done = match mode {
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
            if done {
                for w in &mut self.writers {
                    w.rotate(&core, Reason::Drain).await?;
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
        let reached = self.reader.reached(w.topic(), w.partition());
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
