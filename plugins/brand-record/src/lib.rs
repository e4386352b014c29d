//! The oliveyoung brand record: a contract between plugins.
//!
//! The `oliveyoung` plugin writes one record per brand to topic [`TOPIC`];
//! the `twitter` and `instagram` plugins are triggered by those records and
//! search for the brand they name. Records outlive the plugin that wrote
//! them (they stay on the bus and in the sink's bronze layer), so the shape
//! is a contract between separately versioned components. It lives here, in
//! one crate that the writer and every reader depend on, instead of as a
//! struct in one plugin and field names spelled again in the others.
//!
//! Two layouts ([`Layout`]), chosen by the oliveyoung plugin's
//! `record_layout` setting:
//! - [`Layout::Current`]: a [`BrandRecord`], key = brand code.
//! - [`Layout::Legacy`]: a [`LegacyBrandRecord`], exactly the original
//!   pipeline's message `{"<brand>": {query_keyword, brand_shop_detail_url,
//!   items, category, released_date}}`, key = brand name.
//!
//! Readers use [`read`], which accepts both layouts and is tolerant: unknown
//! fields are ignored, every field but the brand's name is optional, a field
//! of the wrong type counts as missing. What a reader gets is a
//! [`BrandSeed`]: the names, the identity and the keywords.
//!
//! # Changing the contract
//! - **Compatible:** adding a field to [`BrandRecord`] (readers ignore it
//!   until they learn it; make it optional for them), or teaching [`read`] a
//!   new fallback. Both plugins keep working with records already written.
//! - **Breaking:** renaming or removing a field, changing its type or
//!   meaning, changing a record's key, or the topic. Do not edit a layout
//!   in place: add a new [`Layout`] variant beside the old ones (as
//!   `legacy` was kept when the current record was introduced), teach
//!   [`read`] to recognise it, release the readers, and only then let the
//!   writer default to it. Records on the bus and in storage are never
//!   rewritten, so [`read`] keeps reading every layout ever written.
//! - The serialised bytes (field order included) are pinned by this crate's
//!   tests: downstream consumers of the bronze layer see a change of order
//!   as a change of data, so a refactor must not alter them unnoticed.
//!
//! Layout of the crate:
//! - [`record`]: the two layouts, as the writer builds them.
//! - [`reader`]: the one tolerant reader, record -> [`BrandSeed`].

pub mod reader;
pub mod record;

pub use reader::{BrandSeed, ReadError, brand_code_of_url, read};
pub use record::{BrandRecord, LegacyBrandFields, LegacyBrandRecord};

/// The topic brand records are written to (and the trigger topic of the
/// plugins they seed).
pub const TOPIC: &str = "oliveyoung";

/// The shape of a brand record on [`TOPIC`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [`BrandRecord`]: the original message's fields at the top level plus
    /// codes, goods numbers and completeness; key = brand code.
    Current,
    /// [`LegacyBrandRecord`]: exactly the original pipeline's message,
    /// `{"<brand>": {...}}`, key = brand name, for readers of the old
    /// bronze layout.
    Legacy,
}
