//! What a plugin reports on the side: log lines (the `log` import, every
//! contract version) and items skipped for a missing identity field (the
//! `quality` import, contract 0.3, in [`quality`]).
//!
//! One [`Instance`] per plugin instance holds the plugin and task the lines
//! are attributed to, the per-instance log budget and the skipped-item
//! tally; the engine takes the tally after a `crawl` call.

pub mod quality;

use wasmtime::component::{HasSelf, Linker};

use crate::contract::LogLevel;
use crate::contract::crawlhost::plugin::log;
use crate::contract::{v0_1, v0_2};
pub use quality::SkippedTally;

/// Longest log message a plugin can write; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 4096;
/// Log lines one instance (one task, `plan` or `manifest()` call) may write;
/// later lines are dropped and counted, and one line reports how many when
/// the instance ends. Without it a plugin could flood the host's logs.
const MAX_LOG_LINES: u32 = 200;

/// How many log lines an instance wrote and how many were dropped.
#[derive(Debug, Default)]
pub struct LogBudget {
    written: u32,
    suppressed: u64,
}

impl LogBudget {
    /// Whether one more line may be written; a refused line is counted.
    pub fn admit(&mut self) -> bool {
        if self.written < MAX_LOG_LINES {
            self.written += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Lines dropped so far.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

/// What one plugin instance has reported through `log` and `quality`.
pub struct Instance {
    plugin: String,
    /// Task key (or `plan`), for logs.
    task: String,
    /// Lines written through the `log` import.
    budget: LogBudget,
    /// What the plugin reported through the `quality` import.
    skipped: SkippedTally,
}

impl Instance {
    /// The report state of one instance of `plugin` running `task`.
    pub fn new(plugin: String, task: String) -> Self {
        Self {
            plugin,
            task,
            budget: LogBudget::default(),
            skipped: SkippedTally::default(),
        }
    }

    /// Take what the plugin reported through `quality` so far.
    pub fn take_skipped(&mut self) -> SkippedTally {
        std::mem::take(&mut self.skipped)
    }
}

impl Drop for Instance {
    /// The one line that reports the log lines dropped over the limit.
    fn drop(&mut self) {
        let suppressed = self.budget.suppressed();
        if suppressed > 0 {
            tracing::warn!(plugin = %self.plugin, task = %self.task, suppressed, "Plugin log lines suppressed: {suppressed} lines over the limit of {MAX_LOG_LINES} per task.");
        }
    }
}

/// Link `log` of every contract version and `quality` (0.3); `get` finds the
/// instance in the store data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Instance,
) -> wasmtime::Result<()> {
    log::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_2::crawlhost::plugin::log::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    v0_1::crawlhost::plugin::log::add_to_linker::<T, HasSelf<Instance>>(linker, get)?;
    quality::add_to_linker(linker, get)
}

impl log::Host for Instance {
    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        if !self.budget.admit() {
            return Ok(());
        }
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let (plugin, task) = (&self.plugin, &self.task);
        match level {
            LogLevel::Trace => tracing::trace!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Info => tracing::info!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin = %plugin, task = %task, "{message}"),
            LogLevel::Error => tracing::error!(plugin = %plugin, task = %task, "{message}"),
        }
        Ok(())
    }
}

// The frozen contracts' `log`: the same call.
macro_rules! forward_log {
    ($v:ident) => {
        impl $v::crawlhost::plugin::log::Host for Instance {
            async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
                <Self as log::Host>::log(self, level, message).await
            }
        }
    };
}

forward_log!(v0_1);
forward_log!(v0_2);

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15 (low): the `log` import is capped per instance; what is
    /// dropped is counted for the one report line.
    #[test]
    fn log_lines_are_capped_and_the_rest_counted() {
        let mut budget = LogBudget::default();
        for _ in 0..MAX_LOG_LINES {
            assert!(budget.admit());
        }
        assert_eq!(budget.suppressed(), 0);
        for _ in 0..1000 {
            assert!(!budget.admit());
        }
        assert_eq!(budget.suppressed(), 1000);
    }
}
