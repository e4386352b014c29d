//! Opening the host's SQLite files (embedded bus, plugin state, forward log,
//! run journal) the same way everywhere, safe when several processes start
//! at once on a fresh `data_dir`.
//!
//! Why a lock: switching a new database file to WAL and creating its schema
//! take locks that SQLite does not always queue behind `busy_timeout` (a
//! connection that must upgrade its lock while another holds a pending one is
//! told `database is locked` at once, to avoid a deadlock). Once the file is
//! in WAL mode with its schema, concurrent opens are fine. So [`open`] holds
//! an exclusive advisory lock on a sidecar file (`<db>.init-lock`, an OS
//! file lock released when the process dies) from opening the connection
//! until the schema is in place; every other open of the same file waits
//! for it. The lock is not held afterwards: readers and writers then rely
//! on WAL and the busy timeout as before.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// How long a statement waits for another connection's write lock before
/// it reports the file as locked. Long enough to ride out another process's
/// batch append, short enough that a stuck writer surfaces as an error.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How the file is opened.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `PRAGMA synchronous`: `FULL` where a write must survive a power cut
    /// when the call returns, `NORMAL` where WAL's guarantees suffice.
    pub synchronous: &'static str,
    /// Busy timeout of the connection.
    pub busy_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            synchronous: "FULL",
            busy_timeout: BUSY_TIMEOUT,
        }
    }
}

/// Why a file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create directory {}", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take the init lock {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{} cannot use WAL journaling (got `{mode}`)", path.display())]
    NotWal { path: PathBuf, mode: String },
    #[error("cannot set up {}", path.display())]
    Init {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Open (or create) the database at `path` in WAL mode and run `init` (the
/// schema: idempotent, it runs at every open) while holding the file's
/// init lock. Parent directories are created.
pub fn open<E>(
    path: &Path,
    options: Options,
    init: impl FnOnce(&mut Connection) -> Result<(), E>,
) -> Result<Result<Connection, E>, OpenError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| OpenError::Dir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let _lock = InitLock::take(path)?;
    let mut conn = Connection::open(path).map_err(|source| OpenError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let init_err = |source| OpenError::Init {
        path: path.to_path_buf(),
        source,
    };
    // Before anything that takes a lock, including the switch to WAL.
    conn.busy_timeout(options.busy_timeout).map_err(init_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(init_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NotWal {
            path: path.to_path_buf(),
            mode,
        });
    }
    conn.pragma_update(None, "synchronous", options.synchronous)
        .map_err(init_err)?;
    Ok(init(&mut conn).map(|()| conn))
}

/// What [`layout`] found in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A new file: the schema was created and the version stored.
    Created,
    /// The file already has the version this build reads.
    Current,
    /// Another version (newer, or foreign): the caller refuses it.
    Other(i64),
}

/// Inside `tx` (an immediate transaction), read the layout version kept in
/// `PRAGMA user_version`; a new file (0) gets `schema` and `version`.
pub fn layout(
    tx: &rusqlite::Transaction<'_>,
    schema: &str,
    version: i64,
) -> rusqlite::Result<Layout> {
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(match found {
        0 => {
            tx.execute_batch(schema)?;
            tx.pragma_update(None, "user_version", version)?;
            Layout::Created
        }
        v if v == version => Layout::Current,
        other => Layout::Other(other),
    })
}

/// The exclusive advisory lock on `<db>.init-lock`, released on drop (and
/// by the OS when the process dies).
struct InitLock(File);

impl InitLock {
    fn take(db: &Path) -> Result<Self, OpenError> {
        let mut name = db.as_os_str().to_owned();
        name.push(".init-lock");
        let path = PathBuf::from(name);
        let lock_err = |source| OpenError::Lock {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(lock_err)?;
        file.lock().map_err(lock_err)?;
        Ok(InitLock(file))
    }
}

impl Drop for InitLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn opens_in_wal_with_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/x.db");
        let conn = open(&path, Options::default(), |c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        })
        .unwrap()
        .unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        // An init error comes back as the caller's error.
        let err = open(&path, Options::default(), |_| Err::<(), _>("no"))
            .unwrap()
            .unwrap_err();
        assert_eq!(err, "no");
    }

    /// Many openers at the same moment on fresh files: every one succeeds.
    #[test]
    fn simultaneous_first_opens_all_succeed() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = Arc::new(dir.path().join(format!("race-{round}.db")));
            let barrier = Arc::new(Barrier::new(12));
            let threads: Vec<_> = (0..12)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        open(&path, Options::default(), |c| {
                            let tx = c.transaction_with_behavior(
                                rusqlite::TransactionBehavior::Immediate,
                            )?;
                            tx.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")?;
                            tx.commit()
                        })
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map(drop).map_err(|e| e.to_string()))
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
        }
    }

    /// The finding of issue 15 item 14: a bus log, a state store and a run
    /// journal opened by many processes at once on a fresh `data_dir`
    /// (threads here: SQLite's locks are per connection all the same).
    #[test]
    fn the_host_files_survive_simultaneous_first_opens() {
        for round in 0..10 {
            let dir = Arc::new(tempfile::tempdir().unwrap());
            let barrier = Arc::new(Barrier::new(12));
            let threads: Vec<_> = (0..12)
                .map(|i| {
                    let (dir, barrier) = (dir.clone(), barrier.clone());
                    std::thread::spawn(move || -> Result<(), String> {
                        barrier.wait();
                        let d = dir.path();
                        match i % 3 {
                            0 => crate::bus::embedded::EmbeddedBus::open(&d.join("bus.db"), 1)
                                .map(drop)
                                .map_err(|e| e.to_string()),
                            1 => crate::state::StateStore::open(&d.join("state.db"), 1 << 20)
                                .map(drop)
                                .map_err(|e| e.to_string()),
                            _ => crate::run::journal::Journal::open(&d.join("journal.db"))
                                .map(drop)
                                .map_err(|e| e.to_string()),
                        }
                    })
                })
                .collect();
            for (i, t) in threads.into_iter().enumerate() {
                if let Err(e) = t.join().unwrap() {
                    panic!("round {round}, opener {i}: {e}");
                }
            }
        }
    }
}
