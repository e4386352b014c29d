//! Logging into the host's structured log.

use crate::LogLevel;
use crate::bindings::crawlhost::plugin::log;

/// Log at debug level.
pub fn debug(message: &str) {
    log::log(LogLevel::Debug, message)
}

/// Log at info level.
pub fn info(message: &str) {
    log::log(LogLevel::Info, message)
}

/// Log at warn level.
pub fn warn(message: &str) {
    log::log(LogLevel::Warn, message)
}

/// Log at error level.
pub fn error(message: &str) {
    log::log(LogLevel::Error, message)
}
