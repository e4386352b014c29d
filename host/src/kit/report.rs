//! The kit's verdict: one [`Check`] per property with its [`Status`], the
//! [`Report`] that holds them in order, and its rendering as the pass/fail
//! table `crawlhost plugin test` prints.

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Worth reading, not a failure (a fixture's deliberately broken page).
    Warn,
    Fail,
    /// Not run because an earlier check failed.
    Skipped,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub(super) fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
        }
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub plugin: String,
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    /// The check called `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The pass/fail table as text.
    pub fn table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!("plugin test: {}\n", self.plugin);
        out.push_str(&format!("{:<width$}  {:<4}  detail\n", "check", "ok"));
        for c in &self.checks {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Skipped => "SKIP",
            };
            out.push_str(&format!("{:<width$}  {status}  {}\n", c.name, c.detail));
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        if failed == 0 {
            out.push_str("result: PASS\n");
        } else {
            out.push_str(&format!("result: FAIL ({failed} check(s) failed)\n"));
        }
        out
    }
}
