//! On an open page: log in when the site asked for it, and refuse to go on
//! when Instagram challenges the account. The credentials are typed by the
//! host from `[[browser.secrets]]`; the plugin only names them.

use crawlhost_sdk::CrawlError;
use crawlhost_sdk::browser::Page;
use crawlhost_sdk::log;

use crate::selectors as sel;
use crate::settings::Settings;

/// Whether the page is Instagram's login page.
pub fn on_login_page(page: &Page) -> Result<bool, CrawlError> {
    let url = page.url()?;
    Ok(url::Url::parse(&url)
        .map(|u| u.path().starts_with(sel::LOGIN_PATH))
        .unwrap_or(false))
}

/// Log in if the site sent the browser to its login page; the site then
/// goes on to the page first asked for. `ready` is a selector of that page.
pub fn ensure_logged_in(page: &Page, settings: &Settings, ready: &str) -> Result<(), CrawlError> {
    if !on_login_page(page)? {
        return Ok(());
    }
    log::info("Instagram asks for a login; the host types the credentials");
    if page.wait_for(sel::LOGIN_USERNAME, 1, settings.wait_ms)? == 0 {
        return Err(CrawlError::Parse(
            "the login page shows no login form (#loginForm)".into(),
        ));
    }
    page.type_secret(sel::LOGIN_USERNAME, &settings.username_secret)?;
    page.type_secret(sel::LOGIN_PASSWORD, &settings.password_secret)?;
    page.click(sel::LOGIN_SUBMIT)?;
    let either = format!("{ready}, {}, {}", sel::LOGIN_ERROR, sel::CHALLENGE);
    page.wait_for(&either, 1, settings.wait_ms)?;
    if page.count(sel::LOGIN_ERROR)? > 0 {
        let text = page
            .attributes(sel::LOGIN_ERROR, &["textContent"])?
            .into_iter()
            .next()
            .and_then(|mut v| v.pop().flatten())
            .unwrap_or_default();
        return Err(CrawlError::Other(format!(
            "Instagram refused the login: {}",
            text.trim()
        )));
    }
    check_challenge(page)?;
    if on_login_page(page)? {
        return Err(CrawlError::Retryable(
            "still on the login page after logging in".into(),
        ));
    }
    Ok(())
}

/// `blocked` when the suspicious-activity popup is up.
pub fn check_challenge(page: &Page) -> Result<(), CrawlError> {
    if page.count(sel::CHALLENGE)? > 0 {
        return Err(CrawlError::Blocked(
            "Instagram shows the suspicious-activity popup (wbloks_1): the account is challenged"
                .into(),
        ));
    }
    Ok(())
}
