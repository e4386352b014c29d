//! robots.txt: what the answer to `/robots.txt` means (RFC 9309, parsed by
//! the maintained `texting_robots` crate), and a per-origin cache so each
//! site's file is fetched once per `http.robots.cache_secs`.
//!
//! Decisions, pure: a 2xx body is parsed for our user-agent token; a 4xx
//! (404 included) means no rules, everything allowed; a 5xx or no answer
//! means "unreachable", everything disallowed for now (the RFC's rule), and
//! is not cached, so a later task tries again. The fetching itself is done
//! by the client ([`super::HttpClient`]), through the same allow-list,
//! address guard and politeness as any request.
//!
//! The cache holds at most `http.robots.max_origins` origins
//! ([`super::evict`]): an expired file goes first, a fresh one only when
//! every entry is fresh (least recently used first; losing it costs one more
//! fetch of the file, never a request it forbids), one being fetched or read
//! never.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use texting_robots::Robot;
use url::Url;

use super::evict::{HostTable, Keep, Relevance};

/// Largest robots.txt read (the RFC asks parsers to handle at least 500 KiB).
pub const MAX_ROBOTS_BYTES: u64 = 512 * 1024;

/// `[http.robots]`. A field left out takes its value from
/// [`RobotsConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RobotsConfig {
    /// Fetch, cache and obey robots.txt. Default true. Turn it off for one
    /// plugin with `[http.plugins.<name>] obey_robots = false`.
    pub obey: bool,
    /// How long a fetched robots.txt is trusted, in seconds. Default 3600.
    pub cache_secs: u64,
    /// A `Crawl-delay` up to this many seconds slows the host's rate limit
    /// down to it; 0 ignores `Crawl-delay`. Default 30.
    pub max_crawl_delay_secs: u64,
    /// Origins whose robots.txt is cached at most; when full, expired files
    /// are dropped first, then the least recently used (it is fetched again
    /// when next needed). Default 10000.
    pub max_origins: usize,
}

impl Default for RobotsConfig {
    fn default() -> Self {
        Self {
            obey: true,
            cache_secs: 3600,
            max_crawl_delay_secs: 30,
            max_origins: 10_000,
        }
    }
}

/// The rules of one origin.
pub enum Rules {
    /// No usable robots.txt (4xx, unparseable): everything allowed.
    AllowAll,
    /// robots.txt could not be fetched (5xx, network): nothing allowed for now.
    Unreachable(String),
    /// A parsed file.
    Parsed(Box<Robot>),
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rules::AllowAll => write!(f, "AllowAll"),
            Rules::Unreachable(why) => write!(f, "Unreachable({why})"),
            Rules::Parsed(r) => write!(f, "Parsed(delay: {:?})", r.delay),
        }
    }
}

/// What a robots.txt response means for `agent`.
pub fn rules_from_response(status: u16, body: &[u8], agent: &str) -> Rules {
    match status {
        200..=299 => match Robot::new(agent, body) {
            Ok(robot) => Rules::Parsed(Box::new(robot)),
            // An unparseable file is treated as no rules (RFC 9309 2.2.2).
            Err(_) => Rules::AllowAll,
        },
        400..=499 => Rules::AllowAll,
        // Redirects that could not be followed count as unavailable.
        300..=399 => Rules::AllowAll,
        _ => Rules::Unreachable(format!("robots.txt answered HTTP {status}")),
    }
}

impl Rules {
    /// Whether `url` may be fetched. robots.txt itself always may.
    pub fn allowed(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::Unreachable(_) => url.path() == "/robots.txt",
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The `Crawl-delay` for our agent, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(Duration::from_secs_f32),
            _ => None,
        }
    }

    /// Whether to keep these rules in the cache.
    pub fn cacheable(&self) -> bool {
        !matches!(self, Rules::Unreachable(_))
    }
}

/// The product token robots.txt groups are matched against: the
/// `User-Agent` up to the first `/` or space (`crawlhost/0.1.0` ->
/// `crawlhost`).
pub fn agent_token(user_agent: &str) -> String {
    let token: String = user_agent
        .trim()
        .chars()
        .take_while(|c| !matches!(c, '/' | ' ' | '('))
        .collect();
    if token.is_empty() {
        "crawlhost".to_string()
    } else {
        token
    }
}

/// The origin key (`scheme://host:port`) and robots.txt URL of `url`.
pub fn robots_url(url: &Url) -> Option<(String, Url)> {
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    let origin = format!("{}://{}:{}", url.scheme(), host.to_ascii_lowercase(), port);
    let robots = Url::parse(&format!("{origin}/robots.txt")).ok()?;
    Some((origin, robots))
}

/// A cache slot: the lock makes concurrent first requests to one origin wait
/// for a single robots.txt fetch.
pub type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Rules>)>>>;

/// A slot in the cache, with the TTL that says how long its rules matter.
pub struct Cached {
    slot: Slot,
    ttl: Duration,
}

impl Relevance for Cached {
    /// Pinned while a check holds the slot (fetching or reading it), cached
    /// while its rules are fresh, idle when empty or expired.
    fn keep(&self, now: Instant) -> Keep {
        if Arc::strong_count(&self.slot) > 1 {
            return Keep::Pinned;
        }
        match self.slot.try_lock() {
            Err(_) => Keep::Pinned,
            Ok(entry) if fresh(&entry, self.ttl, now).is_some() => Keep::Cached,
            Ok(_) => Keep::Idle,
        }
    }
}

/// Rules per origin, at most `max_origins` of them.
pub struct RobotsCache {
    slots: Mutex<HostTable<Cached>>,
    ttl: Duration,
}

impl RobotsCache {
    pub fn new(cfg: &RobotsConfig) -> Self {
        Self {
            slots: Mutex::new(HostTable::new("robots.txt", cfg.max_origins)),
            ttl: Duration::from_secs(cfg.cache_secs),
        }
    }

    /// The slot of `origin`; lock it, check freshness with [`fresh`], fetch
    /// when stale.
    pub fn slot(&self, origin: &str) -> Slot {
        self.slot_at(origin, Instant::now())
    }

    /// [`Self::slot`] at a given time (stale slots of other origins may be
    /// dropped then).
    pub fn slot_at(&self, origin: &str, now: Instant) -> Slot {
        let ttl = self.ttl;
        self.lock()
            .get_or_insert_with(origin, now, || Cached {
                slot: Slot::default(),
                ttl,
            })
            .slot
            .clone()
    }

    /// Origins cached now.
    pub fn origins(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HostTable<Cached>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The cached rules when still fresh.
pub fn fresh(
    entry: &Option<(Instant, Arc<Rules>)>,
    ttl: Duration,
    now: Instant,
) -> Option<Arc<Rules>> {
    entry
        .as_ref()
        .filter(|(at, _)| now.duration_since(*at) < ttl)
        .map(|(_, r)| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_table_is_the_default() {
        let empty: RobotsConfig = toml::from_str("").unwrap();
        assert_eq!(empty, RobotsConfig::default());
        assert!(empty.obey);
        assert_eq!(
            (
                empty.cache_secs,
                empty.max_crawl_delay_secs,
                empty.max_origins
            ),
            (3600, 30, 10_000)
        );
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const TXT: &[u8] = b"User-agent: *\nDisallow: /private\nAllow: /private/ok\n\n\
User-agent: crawlhost\nDisallow: /no-bots\nDisallow: /private\nAllow: /private/ok\nCrawl-delay: 2\n";

    #[test]
    fn parsed_rules_for_our_agent() {
        let r = rules_from_response(200, TXT, "crawlhost");
        assert!(r.allowed(&url("http://a.com/")));
        assert!(!r.allowed(&url("http://a.com/no-bots")));
        assert!(!r.allowed(&url("http://a.com/private/x?y=1")));
        assert!(r.allowed(&url("http://a.com/private/ok")));
        assert!(r.allowed(&url("http://a.com/robots.txt")));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
        // Another agent falls into the `*` group.
        let other = rules_from_response(200, TXT, "otherbot");
        assert!(other.allowed(&url("http://a.com/no-bots")));
        assert!(!other.allowed(&url("http://a.com/private")));
        assert_eq!(other.crawl_delay(), None);
    }

    #[test]
    fn status_rules() {
        assert!(rules_from_response(404, b"", "a").allowed(&url("http://a.com/x")));
        assert!(rules_from_response(403, b"", "a").allowed(&url("http://a.com/x")));
        let down = rules_from_response(503, b"", "a");
        assert!(!down.allowed(&url("http://a.com/x")));
        assert!(down.allowed(&url("http://a.com/robots.txt")));
        assert!(!down.cacheable());
        assert!(rules_from_response(200, b"", "a").allowed(&url("http://a.com/x")));
    }

    #[test]
    fn agent_tokens() {
        assert_eq!(agent_token("crawlhost/0.1.0"), "crawlhost");
        assert_eq!(agent_token("MyBot (+https://x)"), "MyBot");
        assert_eq!(agent_token("  "), "crawlhost");
    }

    #[test]
    fn origins() {
        let (origin, robots) = robots_url(&url("https://WWW.a.com/x/y?z")).unwrap();
        assert_eq!(origin, "https://www.a.com:443");
        assert_eq!(robots.as_str(), "https://www.a.com/robots.txt");
        let (_, robots) = robots_url(&url("http://127.0.0.1:8080/x")).unwrap();
        assert_eq!(robots.as_str(), "http://127.0.0.1:8080/robots.txt");
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_fresh_and_busy_rules() {
        let cfg = RobotsConfig {
            max_origins: 50,
            cache_secs: 60,
            ..RobotsConfig::default()
        };
        let cache = RobotsCache::new(&cfg);
        let t0 = Instant::now();
        let fill = |slot: &Slot, at: Instant| {
            *slot.try_lock().unwrap() = Some((at, Arc::new(Rules::AllowAll)));
        };
        // A rule in use through the whole run, and one being fetched (its
        // slot held by the check that fetches it).
        let used = "https://used.example:443";
        fill(&cache.slot_at(used, t0), t0);
        let fetching = cache.slot_at("https://fetching.example:443", t0);
        let mut now = t0;
        for i in 0..10_000 {
            now += Duration::from_millis(100);
            fill(
                &cache.slot_at(&format!("https://h{i}.example:443"), now),
                now,
            );
            assert!(
                cache.origins() <= 50,
                "{} origins after {i}",
                cache.origins()
            );
            if i % 10 == 0 {
                // Read again every second, and refreshed, so always within
                // its TTL: it must still be there.
                let slot = cache.slot_at(used, now);
                let mut entry = slot.try_lock().unwrap();
                assert!(
                    fresh(&entry, cache.ttl, now).is_some(),
                    "{used} dropped after {i}"
                );
                *entry = Some((now, Arc::new(Rules::AllowAll)));
            }
        }
        let slots = cache.lock();
        assert!(
            slots.contains(used),
            "a rule within its TTL in use was dropped"
        );
        assert!(slots.contains("https://fetching.example:443"));
        drop(slots);
        drop(fetching);
        // Within their TTL and with room to spare, nothing fresh goes at a sweep;
        // expired ones do.
        let cache = RobotsCache::new(&cfg);
        fill(&cache.slot_at("https://old.example:443", t0), t0);
        fill(
            &cache.slot_at("https://new.example:443", t0 + Duration::from_secs(30)),
            t0 + Duration::from_secs(30),
        );
        cache.lock().sweep(t0 + Duration::from_secs(61));
        let slots = cache.lock();
        assert!(
            slots.contains("https://new.example:443") && !slots.contains("https://old.example:443")
        );
    }

    #[test]
    fn freshness() {
        let now = Instant::now();
        let entry = Some((now, Arc::new(Rules::AllowAll)));
        assert!(
            fresh(
                &entry,
                Duration::from_secs(10),
                now + Duration::from_secs(9)
            )
            .is_some()
        );
        assert!(
            fresh(
                &entry,
                Duration::from_secs(10),
                now + Duration::from_secs(10)
            )
            .is_none()
        );
        assert!(fresh(&None, Duration::from_secs(10), now).is_none());
    }
}
