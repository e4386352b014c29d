//! The durable frontier: every run and task of scheduled runs, in SQLite
//! (`<data_dir>/frontier.db`), so a host killed mid-run resumes where it
//! stopped instead of starting over or losing queued work.
//!
//! A task moves `queued -> done | failed`. Completing a task and queueing its
//! follow-ups is one transaction, so after a crash the journal never holds a
//! done task whose follow-ups are missing. A task is marked done right after
//! the bus acknowledged its records. On restart the tasks still `queued`
//! (including the ones in flight at the crash) run again; `done` and `failed`
//! ones never do. A task whose records were acknowledged but whose journal
//! update was lost to the crash runs again, and its records are not written
//! twice: the run loop appends them with `Bus::produce_batch` named
//! `<run>/<task>`, which the embedded bus refuses to append a second time.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use crate::contract::Task;
use crate::run::{TaskFailure, TaskSpec};

/// A change of the journal, as handed to its [`Mirror`] once it is
/// committed locally: enough to rebuild a run's frontier elsewhere
/// (`--distributed` runs replicate it to Kafka so another host can take a
/// run over; see [`crate::distributed::failover`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalEvent {
    Start {
        run_id: String,
        plugin: String,
        plugin_hash: String,
        started_at_ms: i64,
        seeds: Vec<TaskSpec>,
    },
    Done {
        run_id: String,
        key: String,
        follow_ups: Vec<TaskSpec>,
    },
    Failed {
        run_id: String,
        failure: TaskFailure,
    },
    End {
        run_id: String,
        status: String,
    },
}

/// Where committed journal changes are handed on.
pub type Mirror = Arc<dyn Fn(JournalEvent) + Send + Sync>;

/// A task's state in a run being adopted ([`Journal::adopt`]).
#[derive(Debug, Clone, PartialEq)]
pub enum AdoptedTask {
    Queued(TaskSpec),
    Done(TaskSpec),
    Failed(TaskSpec, TaskFailure),
}

/// Errors of the journal's storage.
#[derive(Debug, thiserror::Error)]
#[error("frontier journal: {0}")]
pub struct JournalError(String);

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        JournalError(e.to_string())
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub plugin: String,
    pub plugin_hash: String,
    pub started_at_ms: i64,
    /// `running`, `finished`, `interrupted` or `abandoned`.
    pub status: String,
    /// The run summary as JSON, once finished.
    pub summary: Option<String>,
}

/// What an unfinished run left behind.
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub run: RunRow,
    /// Tasks to run again, in the order they were queued.
    pub queued: Vec<Task>,
    /// Keys of every task of the run (for dedup).
    pub seen: Vec<String>,
    pub done: u64,
    /// Tasks that failed for good before the run stopped, so the resumed
    /// run's summary still lists them.
    pub failed: Vec<TaskFailure>,
}

/// The journal.
pub struct Journal {
    conn: Mutex<Connection>,
    mirror: Mutex<Option<Mirror>>,
}

impl Journal {
    /// Open (or create) the journal file.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let options = crate::sqlite::Options {
            synchronous: "NORMAL",
            ..Default::default()
        };
        let conn = crate::sqlite::open(path, options, |c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS runs (
                     run_id TEXT PRIMARY KEY,
                     plugin TEXT NOT NULL,
                     plugin_hash TEXT NOT NULL,
                     started_at_ms INTEGER NOT NULL,
                     status TEXT NOT NULL,
                     summary TEXT
                 );
                 CREATE INDEX IF NOT EXISTS runs_by_plugin ON runs(plugin, status);
                 CREATE TABLE IF NOT EXISTS tasks (
                     run_id TEXT NOT NULL,
                     key TEXT NOT NULL,
                     seq INTEGER NOT NULL,
                     kind TEXT NOT NULL,
                     payload TEXT NOT NULL,
                     phase INTEGER NOT NULL,
                     status TEXT NOT NULL,
                     failure TEXT,
                     PRIMARY KEY (run_id, key)
                 );",
            )?;
            // Journals made before `failure` existed.
            let has_failure: bool = c.query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('tasks') WHERE name = 'failure'",
                [],
                |r| r.get(0),
            )?;
            if !has_failure {
                c.execute_batch("ALTER TABLE tasks ADD COLUMN failure TEXT;")?;
            }
            Ok::<(), rusqlite::Error>(())
        })
        .map_err(|e| JournalError(crate::error_text::chain(&e)))??;
        Ok(Self {
            conn: Mutex::new(conn),
            mirror: Mutex::new(None),
        })
    }

    /// Hand every committed change to `mirror` from now on (`None`: stop).
    pub fn set_mirror(&self, mirror: Option<Mirror>) {
        *self.mirror.lock().unwrap_or_else(|p| p.into_inner()) = mirror;
    }

    fn mirror(&self, event: impl FnOnce() -> JournalEvent) {
        let m = self
            .mirror
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(m) = m {
            m(event());
        }
    }

    /// Take over a run another host journaled: record it as `running` with
    /// its tasks in their order and states, so the next run of the plugin
    /// (same build) resumes it ([`Journal::unfinished`]).
    pub fn adopt(&self, run: &RunRow, tasks: &[AdoptedTask]) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO runs (run_id, plugin, plugin_hash, started_at_ms, status) VALUES (?1, ?2, ?3, ?4, 'running')",
            params![run.run_id, run.plugin, run.plugin_hash, run.started_at_ms],
        )?;
        tx.execute("DELETE FROM tasks WHERE run_id = ?1", params![run.run_id])?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO tasks (run_id, key, seq, kind, payload, phase, status, failure)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (i, t) in tasks.iter().enumerate() {
                let (spec, status, failure) = match t {
                    AdoptedTask::Queued(s) => (s, "queued", None),
                    AdoptedTask::Done(s) => (s, "done", None),
                    AdoptedTask::Failed(s, f) => (
                        s,
                        "failed",
                        Some(serde_json::to_string(f).map_err(|e| JournalError(e.to_string()))?),
                    ),
                };
                stmt.execute(params![
                    run.run_id,
                    spec.key,
                    i as i64 + 1,
                    spec.kind,
                    spec.payload,
                    spec.phase,
                    status,
                    failure
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction
        // (rusqlite rolls back on drop), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record a new run and its seed tasks.
    pub fn start_run(
        &self,
        run_id: &str,
        plugin: &str,
        plugin_hash: &str,
        started_at_ms: i64,
        seeds: &[Task],
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (run_id, plugin, plugin_hash, started_at_ms, status) VALUES (?1, ?2, ?3, ?4, 'running')",
            params![run_id, plugin, plugin_hash, started_at_ms],
        )?;
        insert_tasks(&tx, run_id, seeds)?;
        tx.commit()?;
        drop(conn);
        self.mirror(|| JournalEvent::Start {
            run_id: run_id.to_string(),
            plugin: plugin.to_string(),
            plugin_hash: plugin_hash.to_string(),
            started_at_ms,
            seeds: seeds.iter().cloned().map(TaskSpec::from).collect(),
        });
        Ok(())
    }

    /// Mark a task done and queue its follow-ups, atomically.
    pub fn complete_task(
        &self,
        run_id: &str,
        key: &str,
        follow_ups: &[Task],
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE tasks SET status = 'done' WHERE run_id = ?1 AND key = ?2",
            params![run_id, key],
        )?;
        insert_tasks(&tx, run_id, follow_ups)?;
        tx.commit()?;
        drop(conn);
        self.mirror(|| JournalEvent::Done {
            run_id: run_id.to_string(),
            key: key.to_string(),
            follow_ups: follow_ups.iter().cloned().map(TaskSpec::from).collect(),
        });
        Ok(())
    }

    /// Mark a task failed for good, with why (kept for a resumed run's
    /// summary).
    pub fn fail_task(&self, run_id: &str, failure: &TaskFailure) -> Result<(), JournalError> {
        let json = serde_json::to_string(failure).map_err(|e| JournalError(e.to_string()))?;
        self.conn().execute(
            "UPDATE tasks SET status = 'failed', failure = ?3 WHERE run_id = ?1 AND key = ?2",
            params![run_id, failure.key, json],
        )?;
        self.mirror(|| JournalEvent::Failed {
            run_id: run_id.to_string(),
            failure: failure.clone(),
        });
        Ok(())
    }

    /// Close a run with `status` (`finished`, `interrupted`, `abandoned`)
    /// and its summary; the tasks of a finished run are deleted.
    pub fn end_run(&self, run_id: &str, status: &str, summary: &str) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE runs SET status = ?2, summary = ?3 WHERE run_id = ?1",
            params![run_id, status, summary],
        )?;
        if status != "interrupted" {
            tx.execute("DELETE FROM tasks WHERE run_id = ?1", params![run_id])?;
        }
        tx.commit()?;
        drop(conn);
        self.mirror(|| JournalEvent::End {
            run_id: run_id.to_string(),
            status: status.to_string(),
        });
        Ok(())
    }

    /// The newest run of `plugin` that did not finish, with its tasks.
    pub fn unfinished(&self, plugin: &str) -> Result<Option<Unfinished>, JournalError> {
        let conn = self.conn();
        let run = conn
            .query_row(
                "SELECT run_id, plugin, plugin_hash, started_at_ms, status, summary FROM runs
                 WHERE plugin = ?1 AND status IN ('running', 'interrupted')
                 ORDER BY started_at_ms DESC LIMIT 1",
                params![plugin],
                row_to_run,
            )
            .optional()?;
        let Some(run) = run else { return Ok(None) };
        let mut queued = Vec::new();
        let mut seen = Vec::new();
        let mut done = 0;
        let mut failed = Vec::new();
        let mut stmt = conn.prepare(
            "SELECT key, kind, payload, phase, status, failure FROM tasks WHERE run_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![run.run_id], |r| {
            Ok((
                Task {
                    key: r.get(0)?,
                    kind: r.get(1)?,
                    payload: r.get(2)?,
                    phase: r.get(3)?,
                },
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        for row in rows {
            let (task, status, failure) = row?;
            seen.push(task.key.clone());
            match status.as_str() {
                "queued" => queued.push(task),
                "done" => done += 1,
                "failed" => failed.push(
                    failure
                        .and_then(|f| serde_json::from_str(&f).ok())
                        .unwrap_or_else(|| TaskFailure {
                            key: task.key.clone(),
                            kind: task.kind.clone(),
                            error_kind: "other".into(),
                            error: "failed before the run was resumed (no details recorded)".into(),
                            attempts: 0,
                        }),
                ),
                _ => {}
            }
        }
        Ok(Some(Unfinished {
            run,
            queued,
            seen,
            done,
            failed,
        }))
    }

    /// The latest runs, newest first (all plugins when `plugin` is none).
    pub fn recent_runs(
        &self,
        plugin: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRow>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT run_id, plugin, plugin_hash, started_at_ms, status, summary FROM runs
             WHERE (?1 IS NULL OR plugin = ?1) ORDER BY started_at_ms DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![plugin, limit as i64], row_to_run)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        run_id: r.get(0)?,
        plugin: r.get(1)?,
        plugin_hash: r.get(2)?,
        started_at_ms: r.get(3)?,
        status: r.get(4)?,
        summary: r.get(5)?,
    })
}

fn insert_tasks(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
    tasks: &[Task],
) -> rusqlite::Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let next: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks WHERE run_id = ?1",
        params![run_id],
        |r| r.get(0),
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO tasks (run_id, key, seq, kind, payload, phase, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued')",
    )?;
    for (i, t) in tasks.iter().enumerate() {
        stmt.execute(params![
            run_id,
            t.key,
            next + i as i64,
            t.kind,
            t.payload,
            t.phase
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str) -> Task {
        Task {
            key: key.into(),
            kind: "k".into(),
            payload: "{}".into(),
            phase: 0,
        }
    }

    /// Issue 15 (low): a task that failed for good before the crash is
    /// still a failure of the resumed run (was: forgotten, so the resumed
    /// run could look clean).
    #[test]
    fn a_resumed_run_remembers_its_failed_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frontier.db");
        let failure = TaskFailure {
            key: "b".into(),
            kind: "k".into(),
            error_kind: "parse".into(),
            error: "no price on the page".into(),
            attempts: 1,
        };
        {
            let j = Journal::open(&path).unwrap();
            j.start_run("r1", "p", "h", 5, &[task("a"), task("b")])
                .unwrap();
            j.fail_task("r1", &failure).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let u = j.unfinished("p").unwrap().unwrap();
        assert_eq!(u.failed, vec![failure]);
        let queued: Vec<&str> = u.queued.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(queued, vec!["a"]);
    }

    /// A journal written before failures were recorded gets the column.
    #[test]
    fn an_older_journal_gains_the_failure_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frontier.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE tasks (run_id TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
                 kind TEXT NOT NULL, payload TEXT NOT NULL, phase INTEGER NOT NULL,
                 status TEXT NOT NULL, PRIMARY KEY (run_id, key));
                 INSERT INTO tasks VALUES ('r1', 'old', 1, 'k', '{}', 0, 'failed');",
            )
            .unwrap();
        let j = Journal::open(&path).unwrap();
        j.start_run("r1", "p", "h", 5, &[task("a")]).unwrap();
        let u = j.unfinished("p").unwrap().unwrap();
        assert_eq!(u.failed.len(), 1);
        assert_eq!(u.failed[0].key, "old");
        assert!(u.failed[0].error.contains("no details"), "{:?}", u.failed);
    }

    #[test]
    fn a_killed_run_resumes_with_its_queued_tasks_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frontier.db");
        {
            let j = Journal::open(&path).unwrap();
            j.start_run("r1", "p", "h", 5, &[task("a"), task("b")])
                .unwrap();
            j.complete_task("r1", "a", &[task("c"), task("b")]).unwrap();
            j.fail_task(
                "r1",
                &TaskFailure {
                    key: "b".into(),
                    kind: "k".into(),
                    error_kind: "other".into(),
                    error: "e".into(),
                    attempts: 1,
                },
            )
            .unwrap();
            // Dropped without end_run: as if killed.
        }
        let j = Journal::open(&path).unwrap();
        let u = j.unfinished("p").unwrap().unwrap();
        assert_eq!(u.run.run_id, "r1");
        assert_eq!(u.run.started_at_ms, 5);
        let queued: Vec<&str> = u.queued.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(queued, vec!["c"]);
        assert_eq!(u.seen.len(), 3);
        assert_eq!(u.done, 1);
        assert!(j.unfinished("other").unwrap().is_none());
        j.end_run("r1", "finished", "{}").unwrap();
        assert!(j.unfinished("p").unwrap().is_none());
        assert_eq!(j.recent_runs(Some("p"), 10).unwrap()[0].status, "finished");
    }
}
