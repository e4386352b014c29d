//! The operations of the contract's `browser` interface on one page: every
//! navigation checked before it starts and after it lands, every read
//! preceded by a check of where the page is now (a script or a click may
//! have moved it), secrets typed by the host and redacted from what is read
//! back, and WebDriver failures mapped to crawl errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::error::CmdError;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};

use super::policy::{self, Landing};
use super::{Browser, BrowserError, Lease};
use crate::engine::bindings::CrawlError;
use crate::http::allow::AllowList;

/// Longest a `wait-for` may ask for.
const MAX_WAIT: Duration = Duration::from_secs(120);
/// How often `wait-for` looks again.
const POLL: Duration = Duration::from_millis(25);

/// One open page of one instance.
pub struct Page {
    lease: Lease,
    browser: Arc<Browser>,
    allow: Arc<AllowList>,
}

type Res<T> = Result<T, CrawlError>;

impl Page {
    /// Check out a session for `plugin` and open `url` in it.
    pub async fn open(
        browser: &Arc<Browser>,
        plugin: &str,
        allow: Arc<AllowList>,
        url: &str,
        deadline: Option<Duration>,
    ) -> Res<Self> {
        let deadline = deadline.unwrap_or(browser.settings().page_deadline);
        // Refuse before waiting for (or starting) a browser.
        policy::check_url(&allow, browser.addresses(), url).map_err(|e| e.to_crawl_error())?;
        let lease = browser
            .checkout(plugin, &allow, Instant::now() + deadline)
            .await
            .map_err(|e| e.to_crawl_error())?;
        let mut page = Self {
            lease,
            browser: browser.clone(),
            allow,
        };
        page.navigate_within(url, deadline).await?;
        Ok(page)
    }

    /// Navigate to `url` within the configured page deadline.
    pub async fn navigate(&mut self, url: &str) -> Res<()> {
        let deadline = self.browser.settings().page_deadline;
        self.navigate_within(url, deadline).await
    }

    async fn navigate_within(&mut self, url: &str, deadline: Duration) -> Res<()> {
        let checked = policy::check_url(&self.allow, self.browser.addresses(), url)
            .map_err(|e| e.to_crawl_error())?;
        self.check_resolution(&checked).await?;
        let client = self.lease.client().clone();
        if *self.lease.timeouts() != Some(deadline) {
            client
                .update_timeouts(TimeoutConfiguration::new(
                    Some(deadline),
                    Some(deadline),
                    Some(Duration::ZERO),
                ))
                .await
                .map_err(|e| self.command_error(e))?;
            *self.lease.timeouts() = Some(deadline);
        }
        let went = tokio::time::timeout(deadline + Duration::from_secs(2), client.goto(url)).await;
        match went {
            Err(_) => {
                self.lease.mark_broken();
                return Err(CrawlError::Retryable(format!(
                    "{url} did not load within {}s",
                    deadline.as_secs_f64()
                )));
            }
            Ok(Err(e)) if e.is_timeout() => {
                return Err(CrawlError::Retryable(format!(
                    "{url} did not load within {}s",
                    deadline.as_secs_f64()
                )));
            }
            Ok(Err(e)) => return Err(self.command_error(e)),
            Ok(Ok(())) => {}
        }
        let (landed, status) = self
            .guarded_script(
                "const e = performance.getEntriesByType('navigation')[0]; \
                 return e && e.responseStatus ? e.responseStatus : 0;",
                vec![],
            )
            .await?;
        let status = status.as_u64().unwrap_or(0).min(u16::MAX as u64) as u16;
        if let Some(e) = policy::status_error(&landed, status) {
            return Err(self.redact_error(e));
        }
        Ok(())
    }

    /// Resolve a host name and check every address like `fetch` does.
    async fn check_resolution(&self, url: &url::Url) -> Res<()> {
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<std::net::IpAddr> = match tokio::net::lookup_host((host, port)).await {
            Ok(a) => a.map(|a| a.ip()).collect(),
            Err(e) => {
                return Err(CrawlError::Retryable(format!("cannot resolve {host}: {e}")));
            }
        };
        policy::check_addresses(self.browser.addresses(), url, &addrs)
            .map_err(|e| e.to_crawl_error())
    }

    /// Where the page is now, checked against the allow-list; a page that
    /// wandered off is blanked and the call fails with `blocked`.
    async fn guard(&mut self) -> Res<String> {
        let client = self.lease.client().clone();
        let current = client
            .current_url()
            .await
            .map(|u| u.to_string())
            .map_err(|e| self.command_error(e))?;
        self.check_location(&current).await
    }

    /// [`Self::guard`] on a location the browser already reported.
    async fn check_location(&mut self, current: &str) -> Res<String> {
        let client = self.lease.client().clone();
        match policy::landing(current) {
            Landing::LoadFailed => Err(CrawlError::Retryable(
                "the page did not load (connection failed)".to_string(),
            )),
            Landing::Blank => Ok(current.to_string()),
            Landing::Page(url) => {
                if let Err(refusal) = policy::check_url(&self.allow, self.browser.addresses(), &url)
                {
                    let _ = client.goto("about:blank").await;
                    return Err(self.redact_error(refusal.to_crawl_error()));
                }
                Ok(url)
            }
        }
    }

    /// Run `body` (a function body reading `arguments`) and, in the same
    /// round trip, read where the page is; the result is handed back only
    /// once that location passed [`Self::check_location`].
    async fn guarded_script(&mut self, body: &str, args: Vec<Value>) -> Res<(String, Value)> {
        let js = format!(
            "const r = (function() {{ {body} }}).apply(null, arguments); \
             return [location.href, r];"
        );
        let client = self.lease.client().clone();
        let v = client
            .execute(&js, args)
            .await
            .map_err(|e| self.command_error(e))?;
        let (href, value) = match v {
            Value::Array(mut pair) if pair.len() == 2 => {
                let value = pair.pop().unwrap_or(Value::Null);
                (pair.pop().unwrap_or(Value::Null), value)
            }
            other => {
                return Err(CrawlError::Other(format!(
                    "unexpected browser answer: {other}"
                )));
            }
        };
        let href = href.as_str().unwrap_or("").to_string();
        let landed = self.check_location(&href).await?;
        Ok((landed, value))
    }

    async fn script(&mut self, body: &str, args: Vec<Value>) -> Res<Value> {
        Ok(self.guarded_script(body, args).await?.1)
    }

    /// The page's URL now (redacted).
    pub async fn current_url(&mut self) -> Res<String> {
        let url = self.guard().await?;
        Ok(self.redact(&url))
    }

    /// How many elements match `selector` once `min_count` do or the
    /// timeout passes.
    pub async fn wait_for(&mut self, selector: &str, min_count: u32, timeout_ms: u32) -> Res<u32> {
        let until = Instant::now() + Duration::from_millis(timeout_ms as u64).min(MAX_WAIT);
        loop {
            let n = self
                .script(
                    "return document.querySelectorAll(arguments[0]).length;",
                    vec![json!(selector)],
                )
                .await?
                .as_u64()
                .unwrap_or(0) as u32;
            if n >= min_count || Instant::now() >= until {
                return Ok(n);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Scroll by `dy` pixels; the new offset.
    pub async fn scroll(&mut self, dy: i32) -> Res<i32> {
        let v = self
            .script(
                "window.scrollBy(0, arguments[0]); return Math.round(window.scrollY);",
                vec![json!(dy)],
            )
            .await?;
        Ok(v.as_i64().unwrap_or(0) as i32)
    }

    async fn element(&mut self, selector: &str) -> Res<fantoccini::elements::Element> {
        self.guard().await?;
        let client = self.lease.client().clone();
        client
            .find(Locator::Css(selector))
            .await
            .map_err(|e| self.command_error_for(e, selector))
    }

    /// Click the first element matching `selector`, then check where the
    /// page went.
    pub async fn click(&mut self, selector: &str) -> Res<()> {
        let el = self.element(selector).await?;
        if let Err(e) = el.click().await {
            return Err(self.command_error_for(e, selector));
        }
        self.guard().await?;
        Ok(())
    }

    /// Type `text` into the first element matching `selector`.
    pub async fn type_text(&mut self, selector: &str, text: &str) -> Res<()> {
        let el = self.element(selector).await?;
        el.send_keys(text)
            .await
            .map_err(|e| self.command_error_for(e, selector))
    }

    /// Type the secret `name` into `selector`, if the page's host may get it.
    pub async fn type_secret(&mut self, selector: &str, name: &str) -> Res<()> {
        let current = self.guard().await?;
        let url = url::Url::parse(&current)
            .map_err(|_| CrawlError::Blocked(format!("secret `{name}`: no page is open")))?;
        let value = self
            .browser
            .settings()
            .secrets
            .for_page(name, &url)
            .map_err(|e| CrawlError::Blocked(e.to_string()))?
            .value()
            .to_string();
        let el = self.element(selector).await?;
        el.send_keys(&value)
            .await
            .map_err(|e| self.command_error_for(e, selector))
    }

    /// Outer HTML of the elements matching `selector`, or of the document.
    pub async fn outer_html(&mut self, selector: Option<&str>) -> Res<Vec<String>> {
        let v = match selector {
            None => {
                self.script("return [document.documentElement.outerHTML];", vec![])
                    .await?
            }
            Some(sel) => {
                self.script(
                    "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.outerHTML);",
                    vec![json!(sel)],
                )
                .await?
            }
        };
        let list: Vec<String> = serde_json::from_value(v)
            .map_err(|e| CrawlError::Other(format!("unexpected browser answer: {e}")))?;
        Ok(list.iter().map(|h| self.redact(h)).collect())
    }

    /// The attributes `names` of every element matching `selector`.
    pub async fn attributes(
        &mut self,
        selector: &str,
        names: &[String],
    ) -> Res<Vec<Vec<Option<String>>>> {
        let v = self
            .script(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => \
                 arguments[1].map(n => n === 'textContent' ? e.textContent : e.getAttribute(n)));",
                vec![json!(selector), json!(names)],
            )
            .await?;
        let rows: Vec<Vec<Option<String>>> = serde_json::from_value(v)
            .map_err(|e| CrawlError::Other(format!("unexpected browser answer: {e}")))?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(|a| a.map(|s| self.redact(&s))).collect())
            .collect())
    }

    fn redact(&self, text: &str) -> String {
        self.browser.settings().secrets.redact(text)
    }

    fn redact_error(&self, e: CrawlError) -> CrawlError {
        match e {
            CrawlError::Retryable(m) => CrawlError::Retryable(self.redact(&m)),
            CrawlError::Blocked(m) => CrawlError::Blocked(self.redact(&m)),
            CrawlError::Parse(m) => CrawlError::Parse(self.redact(&m)),
            CrawlError::Other(m) => CrawlError::Other(self.redact(&m)),
        }
    }

    fn command_error_for(&mut self, e: CmdError, selector: &str) -> CrawlError {
        if e.is_no_such_element() {
            return CrawlError::Parse(format!("no element matches `{selector}`"));
        }
        if e.is_invalid_selector() {
            return CrawlError::Parse(format!("`{selector}` is not a valid CSS selector"));
        }
        if e.is_element_not_interactable() || e.is_stale_element_reference() {
            return self.redact_error(CrawlError::Retryable(format!(
                "element `{selector}` cannot be used now: {e}"
            )));
        }
        self.command_error(e)
    }

    fn command_error(&mut self, e: CmdError) -> CrawlError {
        if e.is_javascript_error() || e.is_invalid_selector() {
            return self.redact_error(CrawlError::Parse(format!("browser script failed: {e}")));
        }
        if e.is_timeout() || e.is_script_timeout() {
            return self.redact_error(CrawlError::Retryable(format!("browser timed out: {e}")));
        }
        // Anything else may have left the session unusable: do not pool it.
        self.lease.mark_broken();
        self.redact_error(BrowserError::Command(e.to_string()).to_crawl_error())
    }
}
