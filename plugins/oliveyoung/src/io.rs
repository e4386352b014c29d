//! The plugin's side effects (fetch, state, log, quality reports) behind one
//! small trait.
//! In the component, [`HostIo`] forwards to the host imports through the
//! SDK; native tests plug in the fixture site and an in-memory store, so the
//! whole crawl flow runs without a host.

use crawlhost_sdk::extract::Tally;
use crawlhost_sdk::http::Request;
use crawlhost_sdk::{CrawlError, LogLevel};

/// What a crawl step may do besides computing.
pub trait Io {
    /// Send `request`, require a 2xx status (other statuses map to the
    /// host's retry policy, see `crawlhost_sdk::http::status_error`) and
    /// return the body as text.
    fn fetch_text(&mut self, request: Request) -> Result<String, CrawlError>;
    /// Read a state value.
    fn state_get(&mut self, key: &str) -> Option<Vec<u8>>;
    /// Write a state value.
    fn state_put(&mut self, key: &str, value: &[u8]) -> Result<(), CrawlError>;
    /// Remove a state value (missing keys are fine).
    fn state_delete(&mut self, key: &str);
    /// Write a log line.
    fn log(&mut self, level: LogLevel, message: &str);
    /// Report items of `topic` skipped for a missing identity `field`.
    fn skipped(&mut self, topic: &str, field: &str, count: u32);
}

/// Log `tally` and report its skipped items through `io`.
pub fn report(io: &mut impl Io, tally: &Tally) {
    let mut lines = Vec::new();
    let mut skips = Vec::new();
    tally.report_with(
        |level, line| lines.push((level, line.to_string())),
        |topic, field, n| skips.push((topic.to_string(), field.to_string(), n)),
    );
    for (level, line) in lines {
        io.log(level, &line);
    }
    for (topic, field, n) in skips {
        io.skipped(&topic, &field, n);
    }
}

/// Read a JSON state value; a value that no longer parses is an error.
pub fn get_json<T: serde::de::DeserializeOwned>(
    io: &mut impl Io,
    key: &str,
) -> Result<Option<T>, CrawlError> {
    match io.state_get(key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CrawlError::Other(format!("state `{key}` is not the expected JSON: {e}"))),
    }
}

/// Write a JSON state value.
pub fn put_json<T: serde::Serialize>(
    io: &mut impl Io,
    key: &str,
    value: &T,
) -> Result<(), CrawlError> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| CrawlError::Other(format!("state `{key}`: {e}")))?;
    io.state_put(key, &bytes)
}

/// The real thing: the host's imports, through the SDK.
pub struct HostIo;

impl Io for HostIo {
    fn fetch_text(&mut self, request: Request) -> Result<String, CrawlError> {
        Ok(request.send_ok()?.text())
    }

    fn state_get(&mut self, key: &str) -> Option<Vec<u8>> {
        crawlhost_sdk::state::get(key)
    }

    fn state_put(&mut self, key: &str, value: &[u8]) -> Result<(), CrawlError> {
        crawlhost_sdk::state::put(key, value)
    }

    fn state_delete(&mut self, key: &str) {
        crawlhost_sdk::state::delete(key)
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        crawlhost_sdk::bindings::crawlhost::plugin::log::log(level, message)
    }

    fn skipped(&mut self, topic: &str, field: &str, count: u32) {
        crawlhost_sdk::quality::skipped(topic, field, count)
    }
}
