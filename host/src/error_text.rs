//! Error text for messages that end at a person: an error followed by each
//! of its sources once (`cannot open bus.db: unable to open database file`).
//!
//! The crate's rule that makes "once" hold: a `thiserror` variant with a
//! `#[source]` / `#[from]` does not repeat the source in its own message
//! (or it is `#[error(transparent)]`); whoever prints it walks the chain,
//! with [`chain`] or anyhow's `{:#}`.

/// `e` and its sources, joined with `": "`.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sources_follow_once_each() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open x.db")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("disk gone"));
        assert_eq!(super::chain(&e), "cannot open x.db: disk gone");
    }

    /// Issue 19: `cannot read plugins directory plugins: No such file or
    /// directory (os error 2): No such file or directory (os error 2)`.
    #[test]
    fn a_missing_plugins_directory_names_the_os_reason_once() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("plugins");
        let e = crate::registry::wasm_files(&missing).unwrap_err();
        let os = std::fs::read_dir(&missing).unwrap_err().to_string();
        let text = super::chain(&e);
        assert_eq!(
            text,
            format!("cannot read plugins directory {}: {os}", missing.display())
        );
        assert_eq!(text.matches(&os).count(), 1, "{text}");
        // anyhow's alternate form, what the CLI prints, agrees.
        assert_eq!(format!("{:#}", anyhow::Error::new(e)), text);
    }

    /// Issue 19: `database is locked: ... database is locked`. The SQLite
    /// opener says it once (rusqlite adds SQLite's own wording of the code,
    /// `Error code 5: The database file is locked`).
    #[test]
    fn a_locked_database_says_so_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let e = crate::sqlite::open(
            &path,
            crate::sqlite::Options {
                busy_timeout: std::time::Duration::ZERO,
                ..Default::default()
            },
            |c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)"),
        )
        .map(|r| r.map(drop).map_err(|e| crate::error_text::chain(&e)))
        .map_err(|e| super::chain(&e));
        let text = match e {
            Err(text) | Ok(Err(text)) => text,
            Ok(Ok(())) => panic!("opened a database another connection holds exclusively"),
        };
        assert_eq!(text.matches("database is locked").count(), 1, "{text}");
    }
}
