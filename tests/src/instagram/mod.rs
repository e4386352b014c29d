//! The Instagram fixture: a local imitation of the hashtag pages a logged-in
//! browser sees (SOURCES.md, "Instagram"), over posts written for the
//! Oliveyoung fixture's brands, with the ground truth a correct `instagram`
//! plugin run produces.
//!
//! Everything a crawler wants is rendered by JavaScript: the HTML of a tag or
//! post page is an empty shell whose script fetches JSON and builds the DOM,
//! so a plain HTTP client finds no posts; only a real browser does.
//!
//! Layout:
//! - `corpus`: [`Corpus`], the posts for a seed and a brand list (a tenth of
//!   the brands have posts; some need several scrolls; carousels of one to
//!   five images; hidden like counts; captions with emoji and line breaks).
//! - `pages`: the HTML shells and their scripts (login form `#loginForm`,
//!   tag grid with infinite scroll, post page with carousel), pure.
//! - `server`: [`Fixture`] over axum: login with a session cookie checked
//!   against the configured credentials, redirects to the login page, the
//!   JSON endpoints, the [`Mode`] switch (normal, suspicious-activity popup,
//!   HTTP 429), and counters.
//! - `truth`: [`GroundTruth`], the records a run must produce.

mod corpus;
mod pages;
mod server;
mod truth;

pub use corpus::{Corpus, PAGE_SIZE, Post, tag_of};
pub use server::{Counters, Fixture, Mode, SESSION_COOKIE, serve, spawn};
pub use truth::GroundTruth;

#[cfg(test)]
mod tests;

/// The Chromium and chromedriver binaries the browser tests use, found on
/// `PATH`. Panics with the command that installs them: `make test` runs
/// `scripts/install/chromium.sh`, so a missing browser is a broken setup,
/// not a reason to skip.
pub fn chromium_tools() -> (std::path::PathBuf, std::path::PathBuf) {
    let find = |bin: &str| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "`{bin}` is not on PATH: the browser tests need Debian's chromium and \
                     chromium-driver (run scripts/install/chromium.sh as root; make test does)"
                )
            })
    };
    (find("chromium"), find("chromedriver"))
}
