//! Hot swap: loading a new or changed `.wasm` into the plugin table (or
//! refusing it, the previous version keeping serving), unloading a removed
//! one, starting a triggered plugin's topic consumers, and the
//! plugins-directory watcher that drives all this.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use super::{Refusal, ServeError, Service, Slot};
use crate::engine::LoadError;
use crate::run::CurrentPlugin;
use crate::time::now_ms;

/// How long the watcher waits for a burst of file events to settle.
const DEBOUNCE: Duration = Duration::from_millis(150);

impl Service {
    /// Load (or reload) one file and swap it in; refusals are recorded and
    /// the previous version keeps serving.
    pub async fn apply_file(&self, path: &Path) {
        let loaded = self.host.engine.load(path).await;
        match loaded {
            Ok(plugin) => {
                let plugin = Arc::new(plugin);
                let name = plugin.manifest.name.clone();
                let disabled = self
                    .host
                    .settings
                    .plugins
                    .get(&name)
                    .is_some_and(|c| c.disabled);
                let schedule = self.schedule_for(plugin.manifest.schedule.as_deref(), &name);
                let mut table = self.table();
                // Another plugin's file now declares a new name: unload the old one.
                let previous_owner = table
                    .slots
                    .iter()
                    .find(|(n, s)| s.path == path && **n != name)
                    .map(|(n, _)| n.clone());
                if let Some(old) = previous_owner {
                    tracing::info!(plugin = %old, path = %path.display(), "Plugin unloaded: its file now declares `{name}`.");
                    table.slots.remove(&old);
                }
                if let Some(other) = table.slots.get(&name).filter(|s| s.path != path) {
                    let reason = format!(
                        "declares plugin name `{name}`, already provided by {}",
                        other.path.display()
                    );
                    tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused.");
                    self.metrics
                        .plugins_refused
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    table.refused.insert(
                        path.to_path_buf(),
                        Refusal {
                            path: path.to_path_buf(),
                            reason,
                            at_ms: now_ms(),
                        },
                    );
                    return;
                }
                table.refused.remove(path);
                match table.slots.get_mut(&name) {
                    Some(slot) => {
                        let old = slot.current.get();
                        if old.hash == plugin.hash {
                            return;
                        }
                        let direction = match (
                            semver::Version::parse(&old.manifest.version),
                            semver::Version::parse(&plugin.manifest.version),
                        ) {
                            (Ok(a), Ok(b)) if b > a => "upgraded",
                            (Ok(a), Ok(b)) if b < a => "downgraded",
                            _ => "rebuilt",
                        };
                        tracing::info!(plugin = %name, from = %old.manifest.version, to = %plugin.manifest.version, sha256 = %plugin.hash, "Plugin {direction}; new tasks use the new version.");
                        slot.current.set(plugin.clone());
                        if let Some(t) = slot.triggers.take() {
                            t.abort();
                        }
                        slot.triggers = self.spawn_triggers(&plugin);
                        slot.next_tick = schedule.as_ref().and_then(|s| s.next_after(Utc::now()));
                        slot.schedule = schedule;
                        slot.loaded_at_ms = now_ms();
                        self.metrics
                            .plugin_swaps
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    None => {
                        tracing::info!(plugin = %name, version = %plugin.manifest.version, path = %path.display(), "Plugin loaded.");
                        let triggers = if disabled {
                            None
                        } else {
                            self.spawn_triggers(&plugin)
                        };
                        let health = self.initial_health(&name);
                        table.slots.insert(
                            name,
                            Slot {
                                current: CurrentPlugin::new(plugin),
                                path: path.to_path_buf(),
                                paused: disabled,
                                next_tick: schedule.as_ref().and_then(|s| s.next_after(Utc::now())),
                                schedule,
                                active_run: None,
                                last_runs: VecDeque::new(),
                                health,
                                loaded_at_ms: now_ms(),
                                triggers,
                            },
                        );
                    }
                }
                drop(table);
                self.changed.notify_one();
            }
            Err(LoadError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.remove_file(path);
            }
            Err(e) => {
                let reason = match &e {
                    LoadError::Contract { source, .. } => source.to_string(),
                    other => crate::error_text::chain(other),
                };
                tracing::warn!(path = %path.display(), reason = %reason, "Plugin refused; the previous version (if any) keeps serving.");
                self.metrics
                    .plugins_refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.table().refused.insert(
                    path.to_path_buf(),
                    Refusal {
                        path: path.to_path_buf(),
                        reason,
                        at_ms: now_ms(),
                    },
                );
            }
        }
    }

    /// A newly loaded plugin's health: degraded when its last run on disk
    /// raised drift alarms (a restart does not forget them), else healthy.
    fn initial_health(&self, name: &str) -> crate::health::PluginHealth {
        let mut health = crate::health::PluginHealth::new(Default::default());
        let store = crate::coverage::store::CoverageStore::new(&self.host.settings.data_dir);
        match store.load(name) {
            Ok(Some(state)) => {
                if let Some(last) = state.last.filter(|l| !l.alarms.is_empty()) {
                    health.set_degraded(Some(format!(
                        "run {}: {} drift alarm(s); first: {}",
                        last.run_id,
                        last.alarms.len(),
                        last.alarms[0].message
                    )));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(plugin = %name, error = %crate::error_text::chain(&e), "Cannot read the plugin's coverage file.")
            }
        }
        health
    }

    /// Start consuming the trigger topics of a triggered plugin. Trigger
    /// offsets are committed only after the planned tasks are done, so a
    /// consumer aborted by a swap or shutdown re-plans those records later.
    pub(super) fn spawn_triggers(
        &self,
        plugin: &Arc<crate::engine::LoadedPlugin>,
    ) -> Option<tokio::task::AbortHandle> {
        if plugin.manifest.triggers.is_empty() {
            return None;
        }
        let ctx = self.host.run_context();
        let plugin = plugin.clone();
        let concurrency = self.host.settings.concurrency_for(&plugin.manifest.name);
        let handle = tokio::spawn(async move {
            let name = plugin.manifest.name.clone();
            match crate::trigger::consume(ctx, plugin, concurrency, crate::trigger::Until::Forever)
                .await
            {
                Ok(report) => {
                    tracing::info!(plugin = %name, records = report.records, "Trigger consumer stopped.")
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %crate::error_text::chain(&e), "Trigger consumer failed.")
                }
            }
        });
        Some(handle.abort_handle())
    }

    /// A file disappeared: unload the plugin it provided.
    pub fn remove_file(&self, path: &Path) {
        let mut table = self.table();
        table.refused.remove(path);
        let name = table
            .slots
            .iter()
            .find(|(_, s)| s.path == path)
            .map(|(n, _)| n.clone());
        if let Some(name) = name {
            tracing::info!(plugin = %name, path = %path.display(), "Plugin file removed; plugin unloaded.");
            table.slots.remove(&name);
        }
        drop(table);
        self.changed.notify_one();
    }

    /// Watch the plugins directory and apply changes until shutdown.
    pub(super) async fn watcher(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<PathBuf>) {
        let mut shutdown = self.stop.subscribe();
        loop {
            let first = tokio::select! {
                p = events.recv() => match p { Some(p) => p, None => return },
                _ = shutdown.changed() => return,
            };
            // Collect the burst (a copy is several writes), then act once per file.
            let mut batch: HashMap<PathBuf, ()> = HashMap::new();
            batch.insert(first, ());
            while let Ok(Some(p)) = tokio::time::timeout(DEBOUNCE, events.recv()).await {
                batch.insert(p, ());
            }
            let mut paths: Vec<PathBuf> = batch.into_keys().collect();
            paths.sort();
            for path in paths {
                if path.exists() {
                    self.apply_file(&path).await;
                } else {
                    self.remove_file(&path);
                }
            }
        }
    }
}

/// Start the watcher on `dir`; events for `*.wasm` files arrive on the channel.
pub(super) fn watch_dir(
    dir: &Path,
) -> Result<(notify::RecommendedWatcher, mpsc::UnboundedReceiver<PathBuf>), ServeError> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (tx, rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if path.extension().is_some_and(|e| e == "wasm") {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|e| ServeError::Watch {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| ServeError::Watch {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok((watcher, rx))
}
