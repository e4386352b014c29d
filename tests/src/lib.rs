//! Test support for crawlhost: local fixture sites that mimic the real
//! sources (see `SOURCES.md`), so plugins and the host are tested end to end
//! without the internet.
//!
//! Layout:
//! - [`oliveyoung`]: the Oliveyoung brand/product site: generator, pages,
//!   server and ground truth.
//! - [`rng`]: SplitMix64, the seeded generator every fixture draws from.
//! - [`html`]: escaping and number formatting for hand-written HTML.
//! - [`twitter`]: the X API v2 recent search over tweets about the
//!   Oliveyoung fixture's brands: corpus, API, server and ground truth.
//! - [`instagram`]: hashtag and post pages rendered by JavaScript only,
//!   behind a login: corpus, pages, server with blocking switches, truth.
//!
//! The `fixture-site` binary serves a site for `make demo`.

pub mod html;
pub mod instagram;
pub mod oliveyoung;
pub mod rng;
pub mod twitter;
