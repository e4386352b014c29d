//! Typed access to the plugin's private key-value state.

use crate::CrawlError;
use crate::bindings::crawlhost::plugin::state;

/// Read raw bytes.
pub fn get(key: &str) -> Option<Vec<u8>> {
    state::get(key)
}

/// Write raw bytes.
pub fn put(key: &str, value: &[u8]) -> Result<(), CrawlError> {
    state::put(key, value).map_err(|e| CrawlError::Other(format!("state put `{key}`: {e}")))
}

/// Remove a key.
pub fn delete(key: &str) {
    state::delete(key)
}

/// Read a JSON value; a stored value that no longer parses is an error.
pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Result<Option<T>, CrawlError> {
    match state::get(key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CrawlError::Other(format!("state `{key}` is not valid JSON: {e}"))),
    }
}

/// Write a JSON value.
pub fn put_json<T: serde::Serialize>(key: &str, value: &T) -> Result<(), CrawlError> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| CrawlError::Other(format!("state `{key}`: {e}")))?;
    put(key, &bytes)
}
