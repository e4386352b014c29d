//! Per-plugin key-value state: the storage behind the `state` import
//! ([`imports`] has the import itself).
//!
//! Plugins keep small things here between runs (cursors, `since_id`, the
//! last page seen) so crawls can be incremental. This module owns that
//! storage and its two rules:
//!
//! - **Isolation.** Every entry belongs to one plugin; the plugin name is part
//!   of every query's key, and the host passes the *calling* plugin's name, so
//!   a plugin can neither read nor list nor overwrite another's entries.
//! - **Quota.** A plugin may hold at most `quota_bytes` of state, counted as
//!   the bytes of its keys plus values. The running total lives in its own
//!   table and is updated in the same `BEGIN IMMEDIATE` transaction as the
//!   entry, so the check is exact even with several processes on one file and
//!   costs one row lookup instead of a scan. A write that shrinks a plugin's
//!   usage is always accepted, so a plugin over a lowered quota can clean up.
//!
//! The state lives in its own SQLite file (WAL, busy timeout) apart from the
//! bus log, so it can be inspected, backed up or wiped on its own. Calls are
//! synchronous: host functions call them directly and each is a short query.

pub mod imports;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Longest key accepted, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Layout version stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    plugin TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BLOB NOT NULL,
    PRIMARY KEY (plugin, key)
);
-- Bytes of keys plus values per plugin, kept in step with `entries`.
CREATE TABLE IF NOT EXISTS usage (
    plugin TEXT PRIMARY KEY NOT NULL,
    bytes  INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The SQLite file could not be read or written.
    #[error("plugin state storage failed: {0}")]
    Storage(String),
    /// The write would take the plugin past its quota; nothing was written.
    #[error("plugin `{plugin}` would use {used} bytes of state, over its quota of {limit} bytes")]
    QuotaExceeded {
        /// The plugin whose write was refused.
        plugin: String,
        /// Bytes (keys plus values) the plugin would hold had the write been accepted.
        used: u64,
        /// The quota, in bytes.
        limit: u64,
    },
    /// The request itself is invalid: empty plugin name, empty key, or a key
    /// longer than [`MAX_KEY_BYTES`].
    #[error("invalid state request: {0}")]
    Invalid(String),
}

/// Per-plugin key-value store in one SQLite file, with a per-plugin quota.
///
/// Share it behind an `Arc`; calls serialize on one connection, and other
/// processes may open the same file.
pub struct StateStore {
    conn: Mutex<Connection>,
    quota_bytes: u64,
}

impl StateStore {
    /// Open (or create) the store at `path`, creating parent directories.
    /// Every plugin may hold up to `quota_bytes` bytes of keys plus values.
    pub fn open(path: &Path, quota_bytes: u64) -> Result<Self, StateError> {
        let conn = crate::sqlite::open(path, crate::sqlite::Options::default(), init_schema)
            .map_err(|e| {
                StateError::Storage(format!("state store: {}", crate::error_text::chain(&e)))
            })??;
        Ok(Self::from_connection(conn, quota_bytes))
    }

    /// A store that lives in memory and vanishes on drop; for tests.
    pub fn in_memory(quota_bytes: u64) -> Result<Self, StateError> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        Self::with_connection(conn, quota_bytes)
    }

    fn with_connection(mut conn: Connection, quota_bytes: u64) -> Result<Self, StateError> {
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        init_schema(&mut conn)?;
        Ok(Self::from_connection(conn, quota_bytes))
    }

    fn from_connection(conn: Connection, quota_bytes: u64) -> Self {
        Self {
            conn: Mutex::new(conn),
            quota_bytes,
        }
    }

    /// The per-plugin quota in bytes (keys plus values).
    pub fn quota_bytes(&self) -> u64 {
        self.quota_bytes
    }

    /// The value `plugin` stored under `key`, if any.
    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        check_plugin(plugin)?;
        check_key(key)?;
        let conn = self.lock();
        conn.prepare_cached("SELECT value FROM entries WHERE plugin = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([plugin, key], |row| row.get(0)).optional())
            .map_err(db_err)
    }

    /// Store `value` under `key` for `plugin`, replacing any previous value.
    ///
    /// Fails with [`StateError::QuotaExceeded`] (and writes nothing) when the
    /// plugin's keys plus values would exceed the quota, unless the write
    /// shrinks the plugin's usage.
    pub fn put(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StateError> {
        check_plugin(plugin)?;
        check_key(key)?;
        let new_size = entry_size(key, value.len());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let old_size = stored_value_len(&tx, plugin, key)?.map_or(0, |len| entry_size(key, len));
        let used = usage_of(&tx, plugin)?;
        let after = used.saturating_sub(old_size).saturating_add(new_size);
        if after > self.quota_bytes && after > used {
            return Err(StateError::QuotaExceeded {
                plugin: plugin.to_owned(),
                used: after,
                limit: self.quota_bytes,
            });
        }
        tx.execute(
            "INSERT INTO entries (plugin, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
            rusqlite::params![plugin, key, value],
        )
        .map_err(db_err)?;
        set_usage(&tx, plugin, after)?;
        tx.commit().map_err(db_err)
    }

    /// Remove `key` from `plugin`'s state; removing a missing key is not an
    /// error.
    pub fn delete(&self, plugin: &str, key: &str) -> Result<(), StateError> {
        check_plugin(plugin)?;
        check_key(key)?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let Some(len) = stored_value_len(&tx, plugin, key)? else {
            return Ok(());
        };
        tx.execute(
            "DELETE FROM entries WHERE plugin = ?1 AND key = ?2",
            [plugin, key],
        )
        .map_err(db_err)?;
        let after = usage_of(&tx, plugin)?.saturating_sub(entry_size(key, len));
        set_usage(&tx, plugin, after)?;
        tx.commit().map_err(db_err)
    }

    /// `plugin`'s keys that start with `prefix` (all keys for `""`), sorted
    /// by byte order.
    pub fn keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        check_plugin(plugin)?;
        let conn = self.lock();
        // Keys sharing a prefix are contiguous in byte order (SQLite's BINARY
        // collation on UTF-8), so walk the index from `prefix` and stop at the
        // first key that no longer matches.
        let mut stmt = conn
            .prepare_cached("SELECT key FROM entries WHERE plugin = ?1 AND key >= ?2 ORDER BY key")
            .map_err(db_err)?;
        let mut rows = stmt.query([plugin, prefix]).map_err(db_err)?;
        let mut keys = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            let key: String = row.get(0).map_err(db_err)?;
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key);
        }
        Ok(keys)
    }

    /// Bytes (keys plus values) `plugin` currently holds.
    pub fn usage(&self, plugin: &str) -> Result<u64, StateError> {
        check_plugin(plugin)?;
        let conn = self.lock();
        usage_of(&conn, plugin)
    }

    /// The connection. A panic while it was held cannot have left a partial
    /// write (writes are transactions rolled back on drop), so a poisoned
    /// lock is reused rather than failing every later call.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_plugin(plugin: &str) -> Result<(), StateError> {
    if plugin.is_empty() {
        return Err(StateError::Invalid(
            "plugin name must not be empty".to_owned(),
        ));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), StateError> {
    if key.is_empty() {
        return Err(StateError::Invalid(
            "state key must not be empty".to_owned(),
        ));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StateError::Invalid(format!(
            "state key is {} bytes, longer than {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

/// What an entry counts against the quota.
fn entry_size(key: &str, value_len: usize) -> u64 {
    (key.len() as u64).saturating_add(value_len as u64)
}

/// Create or check the layout (idempotent; under the init lock when the
/// store is a file).
fn init_schema(conn: &mut Connection) -> Result<(), StateError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    if let crate::sqlite::Layout::Other(other) =
        crate::sqlite::layout(&tx, SCHEMA, SCHEMA_VERSION).map_err(db_err)?
    {
        return Err(StateError::Storage(format!(
            "state store has layout version {other}; this build reads version {SCHEMA_VERSION}"
        )));
    }
    tx.commit().map_err(db_err)
}

fn db_err(e: rusqlite::Error) -> StateError {
    StateError::Storage(e.to_string())
}

/// Length of the stored value, if the entry exists.
fn stored_value_len(
    conn: &Connection,
    plugin: &str,
    key: &str,
) -> Result<Option<usize>, StateError> {
    let len: Option<i64> = conn
        .prepare_cached("SELECT length(value) FROM entries WHERE plugin = ?1 AND key = ?2")
        .and_then(|mut stmt| stmt.query_row([plugin, key], |row| row.get(0)).optional())
        .map_err(db_err)?;
    len.map(|n| {
        usize::try_from(n)
            .map_err(|_| StateError::Storage(format!("corrupt state: value length {n}")))
    })
    .transpose()
}

fn usage_of(conn: &Connection, plugin: &str) -> Result<u64, StateError> {
    let bytes: Option<i64> = conn
        .prepare_cached("SELECT bytes FROM usage WHERE plugin = ?1")
        .and_then(|mut stmt| stmt.query_row([plugin], |row| row.get(0)).optional())
        .map_err(db_err)?;
    bytes.map_or(Ok(0), |n| {
        u64::try_from(n).map_err(|_| StateError::Storage(format!("corrupt state: usage {n}")))
    })
}

fn set_usage(conn: &Connection, plugin: &str, bytes: u64) -> Result<(), StateError> {
    if bytes == 0 {
        conn.execute("DELETE FROM usage WHERE plugin = ?1", [plugin])
            .map_err(db_err)?;
        return Ok(());
    }
    let bytes = i64::try_from(bytes)
        .map_err(|_| StateError::Storage(format!("usage of `{plugin}` overflows")))?;
    conn.execute(
        "INSERT INTO usage (plugin, bytes) VALUES (?1, ?2)
         ON CONFLICT (plugin) DO UPDATE SET bytes = excluded.bytes",
        rusqlite::params![plugin, bytes],
    )
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_overwrite() {
        let store = StateStore::in_memory(1024).unwrap();
        assert_eq!(store.get("p", "cursor").unwrap(), None);
        store.put("p", "cursor", b"page-1").unwrap();
        assert_eq!(
            store.get("p", "cursor").unwrap().as_deref(),
            Some(&b"page-1"[..])
        );
        store.put("p", "cursor", b"page-22").unwrap();
        assert_eq!(
            store.get("p", "cursor").unwrap().as_deref(),
            Some(&b"page-22"[..])
        );
        store.put("p", "empty", b"").unwrap();
        assert_eq!(store.get("p", "empty").unwrap(), Some(Vec::new()));
        assert_eq!(store.usage("p").unwrap(), (6 + 7) + 5);
    }

    #[test]
    fn plugins_are_isolated() {
        let store = StateStore::in_memory(1024).unwrap();
        store.put("twitter", "since_id", b"100").unwrap();
        store.put("instagram", "since_id", b"abc").unwrap();
        store.put("instagram", "only-mine", b"x").unwrap();
        assert_eq!(
            store.get("twitter", "since_id").unwrap().as_deref(),
            Some(&b"100"[..])
        );
        assert_eq!(
            store.get("instagram", "since_id").unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(store.get("twitter", "only-mine").unwrap(), None);
        assert_eq!(store.keys("twitter", "").unwrap(), ["since_id"]);
        assert_eq!(
            store.keys("instagram", "").unwrap(),
            ["only-mine", "since_id"]
        );
        // Deleting in one plugin leaves the other's entry and usage alone.
        store.delete("twitter", "since_id").unwrap();
        assert_eq!(
            store.get("instagram", "since_id").unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(store.usage("twitter").unwrap(), 0);
        assert_eq!(store.usage("instagram").unwrap(), (8 + 3) + (9 + 1));
        // A plugin whose name is another's prefix sees nothing of it.
        assert!(store.keys("insta", "").unwrap().is_empty());
    }

    #[test]
    fn quota_is_enforced_per_plugin() {
        // "k" + 9 bytes = 10 = the quota exactly.
        let store = StateStore::in_memory(10).unwrap();
        store.put("a", "k", b"123456789").unwrap();
        assert_eq!(store.usage("a").unwrap(), 10);
        let err = store.put("a", "k2", b"").unwrap_err();
        match err {
            StateError::QuotaExceeded {
                plugin,
                used,
                limit,
            } => {
                assert_eq!((plugin.as_str(), used, limit), ("a", 12, 10));
            }
            other => panic!("expected QuotaExceeded, got {other:?}"),
        }
        // The refused write left nothing behind.
        assert_eq!(store.get("a", "k2").unwrap(), None);
        assert_eq!(store.usage("a").unwrap(), 10);
        // Overwriting counts the replacement, not the sum.
        store.put("a", "k", b"987654321").unwrap();
        assert!(matches!(
            store.put("a", "k", b"1234567890"),
            Err(StateError::QuotaExceeded { used: 11, .. })
        ));
        // Another plugin has its own budget.
        store.put("b", "k", b"123456789").unwrap();
        // Freeing space makes room again.
        store.delete("a", "k").unwrap();
        assert_eq!(store.usage("a").unwrap(), 0);
        store.put("a", "k2", b"12345678").unwrap();
    }

    #[test]
    fn shrinking_is_allowed_over_a_lowered_quota() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        StateStore::open(&path, 100)
            .unwrap()
            .put("p", "big", &[7; 50])
            .unwrap();
        let store = StateStore::open(&path, 10).unwrap();
        assert!(matches!(
            store.put("p", "more", b"x"),
            Err(StateError::QuotaExceeded {
                used: 58,
                limit: 10,
                ..
            })
        ));
        store.put("p", "big", &[7; 20]).unwrap();
        assert_eq!(store.usage("p").unwrap(), 23);
    }

    #[test]
    fn delete_removes_and_is_idempotent() {
        let store = StateStore::in_memory(1024).unwrap();
        store.put("p", "a", b"1").unwrap();
        store.put("p", "b", b"22").unwrap();
        store.delete("p", "a").unwrap();
        store.delete("p", "a").unwrap();
        store.delete("p", "never").unwrap();
        assert_eq!(store.get("p", "a").unwrap(), None);
        assert_eq!(store.keys("p", "").unwrap(), ["b"]);
        assert_eq!(store.usage("p").unwrap(), 3);
    }

    #[test]
    fn keys_by_prefix_are_sorted() {
        let store = StateStore::in_memory(4096).unwrap();
        for key in [
            "brand/3",
            "brand/10",
            "brand/1",
            "brand",
            "brandx",
            "cursor",
            "b",
            "brand/한",
        ] {
            store.put("p", key, b"v").unwrap();
        }
        store.put("other", "brand/9", b"v").unwrap();
        assert_eq!(
            store.keys("p", "brand/").unwrap(),
            ["brand/1", "brand/10", "brand/3", "brand/한"]
        );
        assert_eq!(
            store.keys("p", "brand").unwrap(),
            [
                "brand",
                "brand/1",
                "brand/10",
                "brand/3",
                "brand/한",
                "brandx"
            ]
        );
        assert_eq!(
            store.keys("p", "").unwrap(),
            [
                "b",
                "brand",
                "brand/1",
                "brand/10",
                "brand/3",
                "brand/한",
                "brandx",
                "cursor"
            ]
        );
        assert!(store.keys("p", "zzz").unwrap().is_empty());
        assert!(store.keys("p", "brand/%").unwrap().is_empty());
    }

    #[test]
    fn invalid_requests_are_rejected() {
        let store = StateStore::in_memory(1 << 20).unwrap();
        assert!(matches!(
            store.put("p", "", b"v"),
            Err(StateError::Invalid(_))
        ));
        assert!(matches!(store.get("p", ""), Err(StateError::Invalid(_))));
        assert!(matches!(
            store.put("", "k", b"v"),
            Err(StateError::Invalid(_))
        ));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            store.put("p", &long, b"v"),
            Err(StateError::Invalid(_))
        ));
        assert!(matches!(
            store.delete("p", &long),
            Err(StateError::Invalid(_))
        ));
        // The limit counts bytes: 342 three-byte characters are 1026 bytes.
        let wide = "한".repeat(342);
        assert!(matches!(
            store.put("p", &wide, b"v"),
            Err(StateError::Invalid(_))
        ));
        let max = "k".repeat(MAX_KEY_BYTES);
        store.put("p", &max, b"v").unwrap();
        assert_eq!(store.keys("p", "").unwrap(), [max]);
    }

    #[test]
    fn reopen_keeps_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/state/plugins.sqlite");
        {
            let store = StateStore::open(&path, 1024).unwrap();
            store.put("twitter", "since_id", b"1799").unwrap();
            store.put("oliveyoung", "page", b"7").unwrap();
            store.put("oliveyoung", "gone", b"x").unwrap();
            store.delete("oliveyoung", "gone").unwrap();
        }
        let store = StateStore::open(&path, 1024).unwrap();
        assert_eq!(
            store.get("twitter", "since_id").unwrap().as_deref(),
            Some(&b"1799"[..])
        );
        assert_eq!(store.keys("oliveyoung", "").unwrap(), ["page"]);
        assert_eq!(store.usage("oliveyoung").unwrap(), 5);
        assert_eq!(store.usage("twitter").unwrap(), 12);
    }

    #[test]
    fn two_stores_on_one_file_share_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let a = StateStore::open(&path, 10).unwrap();
        let b = StateStore::open(&path, 10).unwrap();
        a.put("p", "k", b"12345").unwrap();
        assert_eq!(b.get("p", "k").unwrap().as_deref(), Some(&b"12345"[..]));
        assert!(matches!(
            b.put("p", "j", b"12345"),
            Err(StateError::QuotaExceeded { used: 12, .. })
        ));
        b.put("p", "j", b"123").unwrap();
        assert_eq!(a.usage("p").unwrap(), 10);
    }
}
