//! The operations of the contract's `browser` interface on one page: every
//! navigation checked before it starts and after it lands, every read
//! preceded by a check of where the page is now (a script or a click may
//! have moved it), secrets typed by the host and redacted from what is read
//! back, and WebDriver failures mapped to crawl errors.
//!
//! Every operation that reads the page or takes a selector runs as one
//! script ([`Page::guarded_script`]) that first checks, in the page, the
//! fields the host typed a secret into (kept in a registry on `document`,
//! so a new document has none): a field changed by anything but the host
//! blanks the page (`blocked`), and while a field still holds its secret,
//! a selector that could probe it is refused ([`super::probe`] has the rules
//! and why). Check and answer share one script, so the page cannot change
//! in between. Elements are found by that script too (`querySelector`, the
//! first match, as WebDriver's CSS locator).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ElementRef};
use fantoccini::error::CmdError;
use fantoccini::wd::TimeoutConfiguration;
use serde_json::{Value, json};

use super::policy::{self, Landing};
use super::probe;
use super::{Browser, BrowserError, Lease};
use crate::contract::CrawlError;
use crate::http::allow::AllowList;

/// Longest a `wait-for` may ask for.
const MAX_WAIT: Duration = Duration::from_secs(120);
/// How often `wait-for` looks again.
const POLL: Duration = Duration::from_millis(25);

/// The key of a WebDriver element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The non-enumerable property of `document` holding the fields the host
/// typed a secret into: `[{el, v, s}]`, the element, its whole value right
/// after typing, the secret. Random per process, so a page cannot count on
/// its name.
fn registry_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        format!("__crawlhost_typed_{:016x}", h.finish())
    })
}

/// A field's value as `type-secret` sees it (`textContent` for an element
/// that is not a form control, such as a `contenteditable`).
const VALUE_OF: &str =
    "const valueOf = e => typeof e.value === 'string' ? e.value : (e.textContent || '');";

/// One open page of one instance.
pub struct Page {
    lease: Lease,
    browser: Arc<Browser>,
    allow: Arc<AllowList>,
    /// Whether the last script found that a secret was typed into this
    /// document (the page's registry decides; this only says whether an
    /// operation that changes the page must check the fields right after).
    held: bool,
}

/// An element `querySelector` found, with what the host needs to know.
struct Found {
    element: Element,
    /// It is, or is inside or around, a field holding a typed secret.
    holds_secret: bool,
    /// Its value (see [`VALUE_OF`]), if asked for.
    value: String,
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
            held: false,
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
                None,
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
    /// once that location passed [`Self::check_location`]. Before `body`
    /// runs, the same script checks the fields the host typed secrets into:
    /// one that holds neither what the host typed nor nothing was changed by
    /// something else, and blanks the page (`blocked`). Once a secret was
    /// typed into the document (even if its field was emptied since: a copy
    /// may remain elsewhere), `selector` (what `body` will query, if
    /// anything) must not touch a hot attribute ([`probe`]). `body` sees
    /// `reg` (the registry) and `valueOf`.
    async fn guarded_script(
        &mut self,
        body: &str,
        selector: Option<&str>,
        args: Vec<Value>,
    ) -> Res<(String, Value)> {
        let key = registry_key();
        let js = format!(
            "const reg = document['{key}'] || []; {VALUE_OF} \
             for (const m of reg) {{ const v = valueOf(m.el); \
               if (v !== m.v && v !== '') return [location.href, 'changed', null]; }} \
             const held = reg.length > 0; \
             const sel = arguments[0]; \
             if (held && sel) {{ \
               if (sel.refusal) return [location.href, 'probe', sel.refusal]; \
               const needles = []; \
               for (const m of reg) needles.push(m.s, encodeURIComponent(m.s)); \
               const hot = new Set(['value']); \
               for (const e of document.querySelectorAll('*')) for (const a of e.attributes) \
                 if (needles.some(n => a.value.includes(n))) hot.add(a.localName.toLowerCase()); \
               const bad = sel.attributes.find(a => hot.has(a)); \
               if (bad !== undefined) return [location.href, 'probe', \
                 'it tests the attribute `' + bad + '`, which holds (or is) the typed value']; }} \
             let r; \
             try {{ r = (function() {{ {body} }}).apply(null, Array.prototype.slice.call(arguments, 1)); }} \
             catch (e) {{ if (e && e.name === 'SyntaxError') return [location.href, 'invalid', null]; throw e; }} \
             return [location.href, held ? 'held' : 'none', r];"
        );
        let guard = match selector {
            None => Value::Null,
            Some(sel) => {
                let used = probe::analyse(sel);
                json!({"attributes": used.attributes, "refusal": used.refusal})
            }
        };
        let mut all = vec![guard];
        all.extend(args);
        let client = self.lease.client().clone();
        let v = client
            .execute(&js, all)
            .await
            .map_err(|e| self.command_error(e))?;
        let (href, state, value) = match v {
            Value::Array(mut triple) if triple.len() == 3 => {
                let value = triple.pop().unwrap_or(Value::Null);
                let state = triple.pop().unwrap_or(Value::Null);
                (triple.pop().unwrap_or(Value::Null), state, value)
            }
            other => {
                return Err(CrawlError::Other(format!(
                    "unexpected browser answer: {other}"
                )));
            }
        };
        let href = href.as_str().unwrap_or("").to_string();
        let landed = self.check_location(&href).await?;
        let selector = selector.unwrap_or("");
        match state.as_str().unwrap_or("") {
            "changed" => Err(self
                .blank_for("a field holding a secret the host typed was changed on the page")
                .await),
            "probe" => Err(self.redact_error(CrawlError::Blocked(format!(
                "`{selector}` is refused while the page holds a secret the host typed \
                 (until it navigates): {}",
                value.as_str().unwrap_or("it could probe the secret")
            )))),
            "invalid" => Err(self.redact_error(CrawlError::Parse(format!(
                "`{selector}` is not a valid CSS selector"
            )))),
            state => {
                self.held = state == "held";
                Ok((landed, value))
            }
        }
    }

    async fn script(&mut self, body: &str, args: Vec<Value>) -> Res<Value> {
        Ok(self.guarded_script(body, None, args).await?.1)
    }

    /// [`Self::script`] with the plugin's `selector` as `arguments[0]`.
    async fn select(&mut self, body: &str, selector: &str, args: Vec<Value>) -> Res<Value> {
        let mut all = vec![json!(selector)];
        all.extend(args);
        Ok(self.guarded_script(body, Some(selector), all).await?.1)
    }

    /// After an operation that may change the page: the fields holding
    /// typed secrets are checked (blanking the page if one changed) and
    /// where the page went.
    async fn recheck(&mut self, was_held: bool) -> Res<()> {
        if was_held {
            self.script("return null;", vec![]).await?;
        } else {
            self.guard().await?;
        }
        Ok(())
    }

    /// Blank the page (so nothing derived from a changed secret field can be
    /// read) and say why, as `blocked`.
    async fn blank_for(&mut self, why: &str) -> CrawlError {
        self.held = false;
        let client = self.lease.client().clone();
        if client.goto("about:blank").await.is_err() {
            // A page that cannot be blanked must not be handed to anyone.
            self.lease.mark_broken();
        }
        CrawlError::Blocked(format!(
            "{why}; the page was blanked so that no part of the secret can be read"
        ))
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
                .select(
                    "return document.querySelectorAll(arguments[0]).length;",
                    selector,
                    vec![],
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

    /// The first element matching `selector` (with its value if
    /// `with_value`).
    async fn find(&mut self, selector: &str, with_value: bool) -> Res<Found> {
        let v = self
            .select(
                "const e = document.querySelector(arguments[0]); if (!e) return null; \
                 const holds = reg.some(m => m.el === e || m.el.contains(e) || e.contains(m.el)); \
                 return [e, holds, arguments[1] ? valueOf(e) : ''];",
                selector,
                vec![json!(with_value)],
            )
            .await?;
        let id = v[0][ELEMENT_KEY].as_str();
        let Some(id) = id else {
            return Err(CrawlError::Parse(format!(
                "no element matches `{selector}`"
            )));
        };
        Ok(Found {
            element: Element::from_element_id(
                self.lease.client().clone(),
                ElementRef::from(id.to_string()),
            ),
            holds_secret: v[1].as_bool().unwrap_or(true),
            value: v[2].as_str().unwrap_or("").to_string(),
        })
    }

    /// Click the first element matching `selector`, then check where the
    /// page went (and, on a page holding a typed secret, that the click did
    /// not change the field).
    pub async fn click(&mut self, selector: &str) -> Res<()> {
        let found = self.find(selector, false).await?;
        let was_held = self.held;
        if let Err(e) = found.element.click().await {
            return Err(self.command_error_for(e, selector));
        }
        self.recheck(was_held).await
    }

    /// Type `text` into the first element matching `selector`. On a page
    /// holding a typed secret, not into its field, and only printable
    /// characters and Enter ([`probe::key_refusal`]).
    pub async fn type_text(&mut self, selector: &str, text: &str) -> Res<()> {
        let found = self.find(selector, false).await?;
        let was_held = self.held;
        if was_held {
            if found.holds_secret {
                return Err(self.redact_error(CrawlError::Blocked(format!(
                    "`{selector}` holds a secret the host typed: the plugin may not type into it"
                ))));
            }
            if let Some(key) = probe::key_refusal(text) {
                return Err(CrawlError::Blocked(format!(
                    "key U+{:04X} may not be typed while the page holds a secret the host \
                     typed (only printable characters and Enter, until the page navigates)",
                    key as u32
                )));
            }
        }
        found
            .element
            .send_keys(text)
            .await
            .map_err(|e| self.command_error_for(e, selector))?;
        self.recheck(was_held).await
    }

    /// Type the secret `name` into `selector`, if the page's host may get it
    /// (and the page is https, unless the secret has `allow_http`), and register the field: from now on the page holds a secret. A field
    /// that does not end up holding what it held plus the secret (a
    /// `maxlength`, an input mask) would show a part of it: the page is
    /// blanked instead.
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
        let found = self.find(selector, true).await?;
        if let Err(e) = found.element.send_keys(&value).await {
            let e = self.command_error_for(e, selector);
            // Part of it may be in the field.
            let _ = self.blank_for("typing the secret failed").await;
            return Err(e);
        }
        let key = registry_key();
        let js = format!(
            "{VALUE_OF} const [e, before, secret] = arguments; const v = valueOf(e); \
             let reg = document['{key}']; \
             if (!reg) {{ reg = []; Object.defineProperty(document, '{key}', {{value: reg}}); }} \
             const i = reg.findIndex(m => m.el === e); if (i >= 0) reg.splice(i, 1); \
             reg.push({{el: e, v, s: secret}}); \
             return [location.href, v === before + secret];"
        );
        let element = json!({ ELEMENT_KEY: found.element.element_id().to_string() });
        let client = self.lease.client().clone();
        let answer = client
            .execute(&js, vec![element, json!(found.value), json!(value)])
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let e = self.command_error(e);
                let _ = self
                    .blank_for("the typed secret could not be checked")
                    .await;
                return Err(e);
            }
        };
        self.check_location(answer[0].as_str().unwrap_or(""))
            .await?;
        self.held = true;
        if answer[1] != Value::Bool(true) {
            return Err(self
                .blank_for(&format!(
                    "`{selector}` did not take the secret as typed (a maxlength, an input mask \
                     or a script changed it)"
                ))
                .await);
        }
        Ok(())
    }

    /// Outer HTML of the elements matching `selector`, or of the document.
    pub async fn outer_html(&mut self, selector: Option<&str>) -> Res<Vec<String>> {
        let v = match selector {
            None => {
                self.script("return [document.documentElement.outerHTML];", vec![])
                    .await?
            }
            Some(sel) => {
                self.select(
                    "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.outerHTML);",
                    sel,
                    vec![],
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
            .select(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => \
                 arguments[1].map(n => n === 'textContent' ? e.textContent : e.getAttribute(n)));",
                selector,
                vec![json!(names)],
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
        self.browser.redactor().redact_str(text.to_string())
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
