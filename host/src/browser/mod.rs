//! The browser capability: a pool of headless Chromium sessions driven over
//! WebDriver (fantoccini against chromedriver) on behalf of plugins, for
//! sites that render their content with JavaScript.
//!
//! The host owns everything dangerous: the same allow-list and address
//! policy as `fetch` on every navigation, before it starts and on the URL the
//! page ends up on ([`policy`]), and on every request the browser makes
//! (subresources, XHR, redirects) through a per-session proxy
//! ([`egress`]), which is also the only way out for WebRTC
//! ([`config::ENFORCED_ARGS`]); a cap on concurrent browsers, each session
//! bound to one plugin for its life and reused only across that plugin's
//! tasks ([`pool`]); credentials typed by the host (only into https pages of
//! their hosts unless allowed over plain HTTP), redacted from everything
//! read back ([`secrets`]), and kept from being probed piece by piece
//! ([`probe`], [`page`]). [`driver`] starts
//! chromedriver and opens sessions; [`page`] runs the page operations of the
//! contract's `browser` interface; [`config`] is `[browser]`.
//!
//! Nothing starts until a plugin opens its first page.

pub mod config;
pub mod driver;
pub mod egress;
pub mod imports;
pub mod page;
pub mod policy;
pub mod pool;
pub mod probe;
pub mod secrets;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::contract::CrawlError;
use crate::http::allow::{AddressPolicy, AllowList};
pub use config::{BrowserConfig, BrowserConfigError, BrowserSettings};
use driver::{Driver, Session};
pub use page::Page;
use pool::{Checkout, PoolState};

/// Why a browser operation failed (before mapping to a crawl error).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrowserError {
    /// No WebDriver to talk to (chromedriver missing or not starting).
    #[error("browser unavailable: {0}")]
    Unavailable(String),
    /// A session could not be created.
    #[error("cannot open a browser session: {0}")]
    Session(String),
    /// Every session stayed busy until the deadline.
    #[error("no browser session free within {}s (browser.max_sessions)", .0.as_secs_f64())]
    Busy(Duration),
    /// A WebDriver command failed.
    #[error("browser command failed: {0}")]
    Command(String),
}

impl BrowserError {
    /// The plugin-facing error: a missing browser is the operator's to fix
    /// (`other`); the rest is transient (`retryable`).
    pub fn to_crawl_error(&self) -> CrawlError {
        match self {
            BrowserError::Unavailable(_) => CrawlError::Other(self.to_string()),
            _ => CrawlError::Retryable(self.to_string()),
        }
    }
}

/// The host's browser service, shared by every instance.
pub struct Browser {
    settings: BrowserSettings,
    /// The secrets' matcher, built once from `settings.secrets`.
    redactor: crate::secret::Redactor,
    addresses: AddressPolicy,
    /// Started at the first page; replaced when the chromedriver the host
    /// started has exited (its idle sessions are dropped with it).
    driver: tokio::sync::Mutex<Option<Arc<Driver>>>,
    pool: Mutex<PoolState<Session>>,
    freed: tokio::sync::Notify,
}

impl Browser {
    /// The service for `settings`; `addresses` is the HTTP address policy
    /// (`http.allow_private_addresses`, `http.allowed_private_ranges`).
    pub fn new(settings: BrowserSettings, addresses: AddressPolicy) -> Arc<Self> {
        let pool = Mutex::new(PoolState::new(settings.max_sessions));
        Arc::new(Self {
            redactor: settings.secrets.redactor(),
            settings,
            addresses,
            driver: tokio::sync::Mutex::new(None),
            pool,
            freed: tokio::sync::Notify::new(),
        })
    }

    pub fn settings(&self) -> &BrowserSettings {
        &self.settings
    }

    /// The matcher that takes the browser secrets out of what pages return.
    pub fn redactor(&self) -> &crate::secret::Redactor {
        &self.redactor
    }

    pub(crate) fn addresses(&self) -> &AddressPolicy {
        &self.addresses
    }

    /// `(busy, idle)` sessions.
    pub fn pool_counts(&self) -> (usize, usize) {
        let p = self.pool.lock().unwrap();
        (p.busy(), p.idle())
    }

    async fn driver(&self) -> Result<Arc<Driver>, BrowserError> {
        let mut slot = self.driver.lock().await;
        if let Some(d) = slot.as_ref() {
            if d.is_alive() {
                return Ok(d.clone());
            }
            tracing::warn!("chromedriver exited; starting a new one");
            // Idle sessions belonged to the dead driver; busy ones fail on
            // their next command and are not pooled again.
            let stale = self.pool.lock().unwrap().drain_idle();
            drop(stale);
        }
        let d = Arc::new(Driver::start(&self.settings).await?);
        *slot = Some(d.clone());
        Ok(d)
    }

    /// Process id of the chromedriver the host started, if any (tests).
    pub async fn webdriver_pid(&self) -> Option<u32> {
        self.driver.lock().await.as_ref().and_then(|d| d.pid())
    }

    /// A new session: a new Chromium with an empty profile. With a
    /// chromedriver the host started, behind its own egress proxy and with a
    /// profile directory the host makes and removes; an external WebDriver
    /// makes a temporary profile per session itself.
    async fn open_session(&self, driver: &Driver) -> Result<Session, BrowserError> {
        if !driver.is_local() {
            return driver.new_session(&[], None).await;
        }
        let egress = egress::Egress::start(self.addresses.clone())
            .await
            .map_err(|e| BrowserError::Session(format!("cannot start the egress proxy: {e}")))?;
        let profile = driver::Profile::create()
            .map_err(|e| BrowserError::Session(format!("cannot make a profile directory: {e}")))?;
        let mut session = driver
            .new_session(&egress.chromium_args(), Some(profile))
            .await?;
        session.egress = Some(egress);
        Ok(session)
    }

    /// A session of `plugin`, waiting for a free one until `deadline`. Its
    /// requests are held to `allow` until the lease ends. Only a session
    /// opened for `plugin` is reused ([`pool`]): at the cap, another plugin's
    /// idle session is closed and a new one opened instead.
    pub async fn checkout(
        self: &Arc<Self>,
        plugin: &str,
        allow: &Arc<AllowList>,
        deadline: Instant,
    ) -> Result<Lease, BrowserError> {
        let driver = self.driver().await?;
        let asked = Instant::now();
        loop {
            let freed = self.freed.notified();
            let decision = self.pool.lock().unwrap().checkout(plugin);
            let lease = |session: Session| {
                if let Some(egress) = &session.egress {
                    egress.set_allow(Some(allow.clone()));
                }
                Lease {
                    browser: self.clone(),
                    driver: driver.clone(),
                    plugin: plugin.to_string(),
                    session: Some(session),
                    broken: false,
                }
            };
            let open = match decision {
                Checkout::Reuse(session) => return Ok(lease(session)),
                Checkout::Replace(stale) => {
                    tracing::debug!(
                        plugin,
                        "Closing another plugin's idle browser session for a new one."
                    );
                    driver.close_session(stale).await;
                    true
                }
                Checkout::Open => true,
                Checkout::Wait => false,
            };
            if open {
                return match self.open_session(&driver).await {
                    Ok(session) => Ok(lease(session)),
                    Err(e) => {
                        self.pool.lock().unwrap().open_failed();
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, freed).await.is_err() {
                return Err(BrowserError::Busy(asked.elapsed()));
            }
        }
    }

    fn checkin(&self, plugin: &str, session: Option<Session>) {
        self.pool.lock().unwrap().checkin(plugin, session);
        self.freed.notify_one();
    }
}

/// A session checked out of the pool; back in the pool on drop (or closed,
/// when an error left it unusable).
pub struct Lease {
    browser: Arc<Browser>,
    driver: Arc<Driver>,
    plugin: String,
    session: Option<Session>,
    broken: bool,
}

impl Lease {
    pub(crate) fn client(&self) -> &fantoccini::Client {
        &self
            .session
            .as_ref()
            .expect("session present until drop")
            .client
    }

    /// The timeouts last set on the session (set them only when they change).
    pub(crate) fn timeouts(&mut self) -> &mut Option<Duration> {
        &mut self
            .session
            .as_mut()
            .expect("session present until drop")
            .timeouts
    }

    /// Do not reuse this session (the browser crashed or the connection
    /// broke).
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let session = self.session.take();
        if let Some(egress) = session.as_ref().and_then(|s| s.egress.as_ref()) {
            egress.set_allow(None);
        }
        if self.broken {
            self.browser.checkin(&self.plugin, None);
            if let (Some(s), Ok(rt)) = (session, tokio::runtime::Handle::try_current()) {
                let driver = self.driver.clone();
                rt.spawn(async move { driver.close_session(s).await });
            }
        } else {
            self.browser.checkin(&self.plugin, session);
        }
    }
}
