//! The tweets and users the X fixture serves, generated from a seed and the
//! Oliveyoung fixture's brands, plus the newer tweets a test adds between
//! runs.
//!
//! Every brand tweet names exactly one brand (checked against every brand's
//! keywords at generation; a text that would also match another brand is
//! redrawn), so the set of tweets a brand query finds is known without
//! running the query. About an eighth of the tweets are older than the
//! seven days recent search covers, and some tweets name no brand at all.
//!
//! What real answers hold, reproduced here: texts with `&`, `<` and `>`
//! (X escapes them, see `api`), brand names with `&` (`X & Co.`), a few
//! accounts that no longer exist (their tweets stay searchable; X leaves
//! them out of `includes.users` and names them in `errors`), tweets without
//! `lang`, and edited tweets with two ids in `edit_history_tweet_ids`.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::oliveyoung::Site;
use crate::rng::SplitMix64;

use super::words;

/// The fixture's clock when generated: 2024-08-20T03:00:00Z.
pub const START_MS: i64 = 1_724_122_800_000;
/// What recent search covers: the last seven days.
pub const WINDOW_MS: i64 = 7 * 86_400_000;
/// X's snowflake epoch (2010-11-04T01:42:54.657Z).
pub const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
/// How far [`Corpus::add_newer_tweets`] moves the clock.
pub const ADVANCE_MS: i64 = 3_600_000;

/// A brand as a social crawler searches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandSeed {
    /// Oliveyoung brand code (`onlBrndCd`).
    pub code: String,
    /// Korean name.
    pub name_ko: String,
    /// English name.
    pub name_en: String,
}

impl BrandSeed {
    /// The keywords searched for: Korean name, then English name.
    pub fn keywords(&self) -> [&str; 2] {
        [&self.name_ko, &self.name_en]
    }

    /// Every brand of an Oliveyoung fixture site, in site order.
    pub fn from_site(site: &Site) -> Vec<BrandSeed> {
        site.brands()
            .iter()
            .map(|b| BrandSeed {
                code: b.code.clone(),
                name_ko: b.name_ko.clone(),
                name_en: b.name_en.clone(),
            })
            .collect()
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Numeric id, as a string (X's form).
    pub id: String,
    /// Handle without `@`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// The account no longer exists: its tweets are still found, but X
    /// leaves it out of `includes.users` and reports it in `errors`
    /// (`resource-not-found`).
    pub deleted: bool,
}

/// `public_metrics` of a tweet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    pub retweet_count: u64,
    pub reply_count: u64,
    pub like_count: u64,
    pub quote_count: u64,
    pub bookmark_count: u64,
    pub impression_count: u64,
}

/// One tweet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tweet {
    /// Snowflake id: grows with time.
    pub id: u64,
    pub text: String,
    /// `text`, lower-cased once for matching.
    pub text_lower: String,
    /// Creation time in ms (whole seconds; the id carries the milliseconds).
    pub created_at_ms: i64,
    /// Index into [`Corpus::users`].
    pub author: usize,
    /// `lang`; none for the tweets X sends without one.
    pub lang: Option<&'static str>,
    pub metrics: Metrics,
    /// The brand the tweet names (index into [`Corpus::brands`]), none for
    /// tweets that name no brand.
    pub brand: Option<usize>,
    /// `edit_history_tweet_ids`: the tweet's own id, after the id of the
    /// version it replaced for an edited tweet.
    pub edit_history: Vec<u64>,
}

/// One tweet in this many comes without `lang`.
const NO_LANG_ONE_IN: u64 = 25;
/// One tweet in this many was edited.
const EDITED_ONE_IN: u64 = 20;
/// One account in this many no longer exists (not among the busiest).
const DELETED_PER_MILLE: u64 = 40;
/// The busiest accounts, which never are deleted (so a deletion costs a
/// handful of author names, not a tenth of the corpus's).
const KEPT_BUSIEST: usize = 20;

/// The parts of a tweet that follow from its id's random bits, so that
/// drawing them costs no extra random numbers: whether it lacks `lang`,
/// and its edit history.
fn quirks(id: u64) -> (bool, Vec<u64>) {
    let no_lang = (id >> 12).is_multiple_of(NO_LANG_ONE_IN);
    let history = if (id & 0xfff).is_multiple_of(EDITED_ONE_IN) {
        // The first version, a minute older.
        vec![id - (60_000 << 22), id]
    } else {
        vec![id]
    };
    (no_lang, history)
}

/// Which brands' keywords occur in a text (at word boundaries, as
/// [`super::search::term_matches`]), fast enough to check every generated
/// tweet against every brand.
struct Matcher {
    /// Lower-cased keyword -> brands, grouped by the keyword's first char.
    by_first: HashMap<char, Vec<(String, usize)>>,
}

impl Matcher {
    fn new(brands: &[BrandSeed]) -> Self {
        let mut by_first: HashMap<char, Vec<(String, usize)>> = HashMap::new();
        for (i, b) in brands.iter().enumerate() {
            for k in b.keywords() {
                let k = k.to_lowercase();
                if let Some(c) = k.chars().next() {
                    by_first.entry(c).or_default().push((k, i));
                }
            }
        }
        Self { by_first }
    }

    fn brands_in(&self, text_lower: &str) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        let mut prev: Option<char> = None;
        for (at, c) in text_lower.char_indices() {
            if prev.is_none_or(|p| !p.is_alphanumeric())
                && let Some(candidates) = self.by_first.get(&c)
            {
                for (k, brand) in candidates {
                    let rest = &text_lower[at..];
                    if rest.starts_with(k.as_str())
                        && rest[k.len()..]
                            .chars()
                            .next()
                            .is_none_or(|n| !n.is_alphanumeric())
                    {
                        found.insert(*brand);
                    }
                }
            }
            prev = Some(c);
        }
        found
    }
}

/// The X fixture's data.
pub struct Corpus {
    seed: u64,
    brands: Vec<BrandSeed>,
    users: Vec<User>,
    /// Newest first (descending id).
    tweets: Vec<Tweet>,
    now_ms: i64,
    rounds: u64,
    matcher: Matcher,
    ids: HashSet<u64>,
}

impl std::fmt::Debug for Corpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Corpus")
            .field("seed", &self.seed)
            .field("brands", &self.brands.len())
            .field("users", &self.users.len())
            .field("tweets", &self.tweets.len())
            .field("now_ms", &self.now_ms)
            .finish()
    }
}

/// Users in the corpus.
const USER_COUNT: usize = 400;

impl Corpus {
    /// The corpus for the brands of the Oliveyoung fixture generated with
    /// the same seed.
    pub fn from_site(site: &Site) -> Corpus {
        Corpus::generate(site.seed(), BrandSeed::from_site(site))
    }

    /// Generate a corpus: the same seed and brands always give the same
    /// tweets.
    pub fn generate(seed: u64, brands: Vec<BrandSeed>) -> Corpus {
        let mut users = generate_users(&mut SplitMix64::derive(seed, 0x7711));
        let mut gone = SplitMix64::derive(seed, 0x7713);
        for u in users.iter_mut().skip(KEPT_BUSIEST) {
            u.deleted = gone.chance(DELETED_PER_MILLE);
        }
        let matcher = Matcher::new(&brands);
        let mut corpus = Corpus {
            seed,
            brands,
            users,
            tweets: Vec::new(),
            now_ms: START_MS,
            rounds: 0,
            matcher,
            ids: HashSet::new(),
        };
        let mut rng = SplitMix64::derive(seed, 0x7712);
        let oldest = START_MS - WINDOW_MS - WINDOW_MS / 7;
        for b in 0..corpus.brands.len() {
            let count = match rng.below(100) {
                0..25 => 0,
                25..75 => rng.range(1, 15),
                75..95 => rng.range(16, 60),
                _ => rng.range(100, 260),
            };
            for _ in 0..count {
                let at = rng.range(oldest as u64, START_MS as u64 - 1) as i64;
                corpus.push_brand_tweet(&mut rng, b, at);
            }
        }
        for _ in 0..corpus.brands.len() / 2 {
            let at = rng.range(oldest as u64, START_MS as u64 - 1) as i64;
            corpus.push_noise(&mut rng, at);
        }
        corpus.sort();
        corpus
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Brands, in the order given.
    pub fn brands(&self) -> &[BrandSeed] {
        &self.brands
    }

    /// Index of the brand with this code.
    pub fn brand_index(&self, code: &str) -> Option<usize> {
        self.brands.iter().position(|b| b.code == code)
    }

    /// Accounts.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Every tweet, newest first (also those outside the search window).
    pub fn tweets(&self) -> &[Tweet] {
        &self.tweets
    }

    /// The fixture's clock: recent search covers `now - 7 days .. now`.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Whether recent search can still find `tweet`.
    pub fn in_window(&self, tweet: &Tweet) -> bool {
        tweet.created_at_ms >= self.now_ms - WINDOW_MS
    }

    /// Move the clock on by `ms` without posting anything (tweets age out
    /// of the search window; stored cursors get too old for `since_id`).
    pub fn advance_clock(&mut self, ms: i64) {
        self.now_ms += ms.max(0);
    }

    /// When tweet `id` was created, from its snowflake bits.
    pub fn id_time_ms(id: u64) -> i64 {
        (id >> 22) as i64 + SNOWFLAKE_EPOCH_MS
    }

    /// Move the clock one hour on and post `n` new tweets for each
    /// `(brand code, n)`, created in that hour (so newer than every tweet
    /// so far). Returns the new ids. Deterministic for the seed and the
    /// number of earlier calls. Unknown codes are skipped.
    pub fn add_newer_tweets(&mut self, plan: &[(&str, usize)]) -> Vec<u64> {
        self.rounds += 1;
        let mut rng = SplitMix64::derive(self.seed, 0x7800 + self.rounds);
        let from = self.now_ms;
        self.now_ms += ADVANCE_MS;
        let before: HashSet<u64> = self.ids.clone();
        for (code, n) in plan {
            let Some(b) = self.brand_index(code) else {
                continue;
            };
            for _ in 0..*n {
                let at = rng.range(from as u64 + 1000, self.now_ms as u64 - 1) as i64;
                // Redraw until the text names only this brand (a brand whose
                // every text also names another brand cannot get tweets).
                let mut placed = false;
                for _ in 0..20 {
                    if self.push_brand_tweet(&mut rng, b, at) {
                        placed = true;
                        break;
                    }
                }
                assert!(placed, "cannot write a tweet naming only brand {code}");
            }
        }
        self.sort();
        let mut added: Vec<u64> = self.ids.difference(&before).copied().collect();
        added.sort_unstable_by_key(|&id| std::cmp::Reverse(id));
        added
    }

    fn sort(&mut self) {
        self.tweets
            .sort_unstable_by_key(|t| std::cmp::Reverse(t.id));
    }

    /// A snowflake id for `ms`, unique in the corpus.
    fn snowflake(&mut self, rng: &mut SplitMix64, ms: i64) -> u64 {
        let base = ((ms - SNOWFLAKE_EPOCH_MS) as u64) << 22;
        loop {
            let id = base | (rng.below(1024) << 12) | rng.below(4096);
            if self.ids.insert(id) {
                return id;
            }
        }
    }

    fn author(&self, rng: &mut SplitMix64) -> usize {
        // Skewed: a few accounts post a lot.
        let spread = rng.below(self.users.len() as u64) + 1;
        rng.below(spread) as usize
    }

    fn metrics(rng: &mut SplitMix64) -> Metrics {
        let spread = rng.below(800) + 1;
        let like_count = rng.below(spread);
        Metrics {
            retweet_count: like_count / rng.range(3, 12),
            reply_count: rng.below(like_count / 5 + 2),
            like_count,
            quote_count: rng.below(like_count / 20 + 1),
            bookmark_count: rng.below(like_count / 4 + 1),
            impression_count: like_count * rng.range(20, 90) + rng.below(300),
        }
    }

    /// Write a tweet naming brand `b` at `at_ms` (whole seconds); false when
    /// the drawn text would also match another brand (nothing is added).
    fn push_brand_tweet(&mut self, rng: &mut SplitMix64, b: usize, at_ms: i64) -> bool {
        let template = rng.pick(words::BRAND_TEMPLATES);
        let item = match template.lang {
            "ko" => *rng.pick(words::ITEMS_KO),
            "ja" => *rng.pick(words::ITEMS_JA),
            _ => *rng.pick(words::ITEMS_EN),
        };
        let brand = &self.brands[b];
        let text = template
            .text
            .replace("{ko}", &brand.name_ko)
            .replace("{en}", &brand.name_en)
            .replace("{item}", item);
        let text_lower = text.to_lowercase();
        let named = self.matcher.brands_in(&text_lower);
        let author = self.author(rng);
        let metrics = Self::metrics(rng);
        if named.len() != 1 || !named.contains(&b) {
            return false;
        }
        let created = at_ms - at_ms.rem_euclid(1000);
        let id = self.snowflake(rng, at_ms);
        let (no_lang, edit_history) = quirks(id);
        self.tweets.push(Tweet {
            id,
            text,
            text_lower,
            created_at_ms: created,
            author,
            lang: (!no_lang).then_some(template.lang),
            metrics,
            brand: Some(b),
            edit_history,
        });
        true
    }

    fn push_noise(&mut self, rng: &mut SplitMix64, at_ms: i64) {
        let (lang, text) = *rng.pick(words::NOISE);
        let author = self.author(rng);
        let metrics = Self::metrics(rng);
        let id = self.snowflake(rng, at_ms);
        let (no_lang, edit_history) = quirks(id);
        self.tweets.push(Tweet {
            id,
            text: text.to_string(),
            text_lower: text.to_lowercase(),
            created_at_ms: at_ms - at_ms.rem_euclid(1000),
            author,
            lang: (!no_lang).then_some(lang),
            metrics,
            brand: None,
            edit_history,
        });
    }
}

fn generate_users(rng: &mut SplitMix64) -> Vec<User> {
    let mut users = Vec::with_capacity(USER_COUNT);
    let mut ids = HashSet::new();
    let mut handles = HashSet::new();
    while users.len() < USER_COUNT {
        let id = match rng.below(3) {
            0 => rng.range(100_000_000, 4_000_000_000),
            _ => rng.range(1_000_000_000_000_000_000, 1_820_000_000_000_000_000),
        };
        let head = rng.pick(words::HANDLE_HEADS);
        let tail = rng.pick(words::HANDLE_TAILS);
        let username = match rng.below(3) {
            0 => format!("{head}_{tail}"),
            1 => format!("{head}{tail}{}", rng.range(1, 99)),
            _ => format!("{head}_{tail}_{}", rng.range(1990, 2006)),
        };
        if !ids.insert(id) || !handles.insert(username.to_lowercase()) {
            continue;
        }
        let given = if rng.below(2) == 0 {
            rng.pick(words::NAMES_KO)
        } else {
            rng.pick(words::NAMES_EN)
        };
        let name = format!("{given}{}", rng.pick(words::NAME_DECOR));
        users.push(User {
            id: id.to_string(),
            username,
            name,
            deleted: false,
        });
    }
    users
}

#[cfg(test)]
mod tests {
    use super::super::search::term_matches;
    use super::*;

    fn seeds() -> Vec<BrandSeed> {
        BrandSeed::from_site(&Site::generate(7))
    }

    #[test]
    fn deterministic_and_each_tweet_names_one_brand() {
        let a = Corpus::generate(7, seeds());
        let b = Corpus::generate(7, seeds());
        assert_eq!(a.tweets(), b.tweets());
        assert!(a.tweets().len() > 3000, "{}", a.tweets().len());
        for t in a.tweets() {
            let named: Vec<usize> = a
                .brands()
                .iter()
                .enumerate()
                .filter(|(_, br)| br.keywords().iter().any(|k| term_matches(&t.text, k)))
                .map(|(i, _)| i)
                .collect();
            match t.brand {
                Some(b) => assert_eq!(named, vec![b], "{}", t.text),
                None => assert!(named.is_empty(), "{}", t.text),
            }
        }
        // Some outside the window, ids unique and ordered newest first.
        assert!(a.tweets().iter().any(|t| !a.in_window(t)));
        assert!(a.tweets().windows(2).all(|w| w[0].id > w[1].id));
        // Snowflake ids grow with time.
        for t in a.tweets() {
            let ms = (t.id >> 22) as i64 + SNOWFLAKE_EPOCH_MS;
            assert_eq!(ms - ms.rem_euclid(1000), t.created_at_ms);
        }
    }

    #[test]
    fn newer_tweets_are_newer_and_deterministic() {
        let mut a = Corpus::generate(7, seeds());
        let mut b = Corpus::generate(7, seeds());
        let code = a.brands()[3].code.clone();
        let newest = a.tweets()[0].id;
        let added = a.add_newer_tweets(&[(&code, 5)]);
        assert_eq!(added.len(), 5);
        assert!(added.iter().all(|&id| id > newest));
        assert_eq!(added, b.add_newer_tweets(&[(&code, 5)]));
        assert_eq!(a.now_ms(), START_MS + ADVANCE_MS);
        assert!(a.tweets().windows(2).all(|w| w[0].id > w[1].id));
    }
}
