//! Reporting extraction quality to the host (contract 0.3 `quality`). Most
//! plugins call it through [`crate::extract::Tally::report`].

use crate::bindings::crawlhost::plugin::quality;

/// Tell the host that `count` items meant for `topic` were skipped because
/// their identity field `field` was missing. Counts add up over a run.
pub fn skipped(topic: &str, field: &str, count: u32) {
    if count > 0 {
        quality::skipped(topic, field, count)
    }
}
