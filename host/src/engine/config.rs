//! `[sandbox]`: the section of `crawlhost.toml` the engine owns (per-call
//! limits and the allocator), as written ([`SandboxConfig`]) and checked
//! ([`SandboxSettings`]).

use std::time::Duration;

use serde::Deserialize;

/// A bad `[sandbox]` value: the field, by its full name (`sandbox.…`), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value `{field}`: {reason}")]
pub struct SandboxConfigError {
    /// The field, e.g. `sandbox.memory_limit_mb`.
    pub field: String,
    /// What is wrong with its value.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> SandboxConfigError {
    SandboxConfigError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `[sandbox]` as written. A field left out takes its value from
/// [`SandboxConfig::default`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Linear memory a plugin instance may grow to, in MiB. Default 256.
    pub memory_limit_mb: u64,
    /// Wall-clock limit for one `crawl` call, host calls (fetches) included,
    /// in seconds. Default 120.
    pub task_timeout_secs: u64,
    /// Wall-clock limit for `manifest` and `plan`, in seconds. Default 30.
    pub plan_timeout_secs: u64,
    /// Records one task may return. Default 100000.
    pub max_records_per_task: usize,
    /// Follow-up tasks one task may return. Default 100000.
    pub max_follow_ups_per_task: usize,
    /// Bytes a plugin may hand the host in one transfer: the whole result of
    /// a call (records and follow-up tasks, counted as the host would hold
    /// them) or the arguments of one host call (a request body, a state
    /// value). Enforced while the data is copied out of the instance, so a
    /// plugin cannot make the host allocate more, even by pointing many
    /// records at the same bytes. Default 64 MiB.
    pub max_output_bytes_per_task: u64,
    /// Bytes of state (keys + values) per plugin. Default 64 MiB.
    pub state_quota_mb: u64,
    /// Largest plugin file (`.wasm`) the host reads and compiles, in MiB;
    /// a bigger file is refused before compiling (compiling takes time and
    /// memory in proportion). Default 64, at most 1024.
    pub max_plugin_file_mb: u64,
    /// Use wasmtime's pooling allocator: `auto` (use it when the machine
    /// allows the address-space reservation, else fall back), `on`, `off`.
    pub pooling: Pooling,
    /// With the pooling allocator: how much of an instance's linear memory,
    /// in MiB, stays resident in its pool slot after the instance ends. The
    /// pages the instance wrote (up to this much) are copied back from the
    /// plugin's initial image instead of being handed back to the kernel, so
    /// the next instance of the same plugin in that slot does not fault them
    /// in again. This is what makes a large interpreter component (Python,
    /// JavaScript), which writes megabytes of its snapshot on every call,
    /// cheap per task; a small Rust plugin writes little either way. Costs
    /// up to this much resident memory per pool slot in use. Linux only
    /// (needs `PAGEMAP_SCAN`, kernel 6.7+, to find the written pages; older
    /// kernels copy the whole amount). `0` hands everything back. Default 16
    /// (at most 1024).
    pub keep_resident_mb: u64,
}

/// Whether to use the pooling instance allocator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Try pooling, fall back to on-demand allocation.
    #[default]
    Auto,
    /// Pooling or fail.
    On,
    /// On-demand allocation only.
    Off,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            memory_limit_mb: 256,
            task_timeout_secs: 120,
            plan_timeout_secs: 30,
            max_records_per_task: 100_000,
            max_follow_ups_per_task: 100_000,
            max_output_bytes_per_task: 64 * 1024 * 1024,
            state_quota_mb: 64,
            max_plugin_file_mb: 64,
            pooling: Pooling::Auto,
            keep_resident_mb: 16,
        }
    }
}

/// Checked sandbox limits.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// `sandbox.memory_limit_mb`, in bytes: all memories of one instance.
    pub memory_limit_bytes: usize,
    /// `sandbox.task_timeout_secs`: one `crawl` call.
    pub task_timeout: Duration,
    /// `sandbox.plan_timeout_secs`: one `manifest` or `plan` call.
    pub plan_timeout: Duration,
    /// `sandbox.max_records_per_task`.
    pub max_records_per_task: usize,
    /// `sandbox.max_follow_ups_per_task`.
    pub max_follow_ups_per_task: usize,
    /// `sandbox.max_output_bytes_per_task`.
    pub max_output_bytes: usize,
    /// `sandbox.state_quota_mb`, in bytes (the `state` store's quota).
    pub state_quota_bytes: u64,
    /// `sandbox.max_plugin_file_mb`, in bytes.
    pub max_plugin_file_bytes: u64,
    /// `sandbox.pooling`.
    pub pooling: Pooling,
    /// `sandbox.keep_resident_mb`, in bytes.
    pub keep_resident_bytes: usize,
}

impl SandboxConfig {
    /// Check every `[sandbox]` bound into [`SandboxSettings`].
    pub fn check(&self) -> Result<SandboxSettings, SandboxConfigError> {
        let s = self;
        let state_quota_bytes = s
            .state_quota_mb
            .checked_mul(1024 * 1024)
            .ok_or_else(|| invalid("sandbox.state_quota_mb", "is too large"))?;
        if !(1..=1024).contains(&s.max_plugin_file_mb) {
            return Err(invalid(
                "sandbox.max_plugin_file_mb",
                "must be between 1 and 1024",
            ));
        }
        if !(16..=4096).contains(&s.memory_limit_mb) {
            return Err(invalid(
                "sandbox.memory_limit_mb",
                "must be between 16 and 4096",
            ));
        }
        if s.task_timeout_secs == 0 || s.task_timeout_secs > 3600 {
            return Err(invalid(
                "sandbox.task_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if s.plan_timeout_secs == 0 || s.plan_timeout_secs > 3600 {
            return Err(invalid(
                "sandbox.plan_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if s.keep_resident_mb > 1024 {
            return Err(invalid(
                "sandbox.keep_resident_mb",
                "must be between 0 and 1024",
            ));
        }
        if s.max_records_per_task == 0 {
            return Err(invalid(
                "sandbox.max_records_per_task",
                "must be at least 1",
            ));
        }
        if !(64 * 1024..=4 << 30).contains(&s.max_output_bytes_per_task) {
            return Err(invalid(
                "sandbox.max_output_bytes_per_task",
                "must be between 65536 (64 KiB) and 4294967296 (4 GiB)",
            ));
        }
        Ok(SandboxSettings {
            memory_limit_bytes: (s.memory_limit_mb * 1024 * 1024) as usize,
            task_timeout: Duration::from_secs(s.task_timeout_secs),
            plan_timeout: Duration::from_secs(s.plan_timeout_secs),
            max_records_per_task: s.max_records_per_task,
            max_follow_ups_per_task: s.max_follow_ups_per_task,
            max_output_bytes: s.max_output_bytes_per_task as usize,
            state_quota_bytes,
            max_plugin_file_bytes: s.max_plugin_file_mb * 1024 * 1024,
            pooling: s.pooling,
            keep_resident_bytes: (s.keep_resident_mb * 1024 * 1024) as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: SandboxConfig = toml::from_str("").unwrap();
        assert_eq!(
            toml::to_string(&empty).unwrap(),
            toml::to_string(&SandboxConfig::default()).unwrap()
        );
        let s = empty.check().unwrap();
        assert_eq!(s.memory_limit_bytes, 256 << 20);
        assert_eq!(s.task_timeout, Duration::from_secs(120));
        assert_eq!(s.plan_timeout, Duration::from_secs(30));
        assert_eq!(
            (s.max_records_per_task, s.max_follow_ups_per_task),
            (100_000, 100_000)
        );
        assert_eq!(s.max_output_bytes, 64 << 20);
        assert_eq!(
            (s.state_quota_bytes, s.max_plugin_file_bytes),
            (64 << 20, 64 << 20)
        );
        assert_eq!(s.pooling, Pooling::Auto);
        assert_eq!(s.keep_resident_bytes, 16 << 20);
    }

    #[test]
    fn keep_resident_is_bounded() {
        let c: SandboxConfig = toml::from_str("keep_resident_mb = 0").unwrap();
        assert_eq!(c.check().unwrap().keep_resident_bytes, 0);
        let c: SandboxConfig = toml::from_str("keep_resident_mb = 1025").unwrap();
        assert_eq!(c.check().unwrap_err().field, "sandbox.keep_resident_mb");
    }
}
