//! The record of one post, with the original crawler's field names.

use serde::Serialize;

/// Destination topic.
pub const TOPIC: &str = "instagram";

/// One post. `like` is null when the author hides the count (the original
/// wrote "no data").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostRecord {
    /// The brand's Korean name, as in the trigger record.
    pub brand: String,
    pub post_url: String,
    /// The caption (the grid thumbnail's `alt`).
    pub full_text: String,
    pub username: String,
    pub like: Option<u64>,
    /// Absolute image URLs, carousel order.
    pub saved_imgs: Vec<String>,
    /// The post's `time[datetime]`, as the page gives it (ISO-8601, UTC).
    pub date: String,
}
