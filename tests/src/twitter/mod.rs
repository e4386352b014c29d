//! The X (Twitter) API v2 fixture: a deterministic, seeded imitation of
//! `GET https://api.x.com/2/tweets/search/recent` (SOURCES.md) over tweets
//! written for the Oliveyoung fixture's brands, with the ground truth a
//! correct `twitter` plugin run produces.
//!
//! Layout:
//! - `words`: the vocabulary (tweet templates in Korean, English and
//!   Japanese, product words, user name parts).
//! - `corpus`: [`Corpus`], the users and tweets for a seed and a brand list
//!   (each brand tweet names exactly one brand; some are older than the
//!   seven-day window; some name no brand), and
//!   [`Corpus::add_newer_tweets`] for incremental runs.
//! - `search`: the query language (quoted phrases joined by `OR`), keyword
//!   matching, the opaque `next_token`, X's timestamp format; pure.
//! - `api`: [`Api`], the endpoint as a synchronous function: bearer token
//!   (401), rate limit per window (429 + `x-rate-limit-reset`), parameter
//!   validation (400), `tweet.fields` / `expansions` / `user.fields`,
//!   `since_id`, `max_results`, `next_token`; text escaped as X escapes
//!   it, deleted authors reported in `errors`; and the request log.
//! - `server`: the axum wrapper, [`serve`] and [`spawn`].
//! - `truth`: [`GroundTruth`], the records and requests a run must produce.

mod api;
mod corpus;
mod search;
mod server;
mod truth;
mod words;

pub use api::{
    Api, ApiConfig, LoggedRequest, RateLimit, Reply, SEARCH_PATH, TWEET_FIELDS, USER_FIELDS,
    brand_query, x_escape,
};
pub use corpus::{
    ADVANCE_MS, BrandSeed, Corpus, Metrics, SNOWFLAKE_EPOCH_MS, START_MS, Tweet, User, WINDOW_MS,
};
pub use search::{iso_utc, parse_query, term_matches};
pub use server::{router, serve, spawn};
pub use truth::{ExpectedTweet, GroundTruth};

#[cfg(test)]
mod tests;
