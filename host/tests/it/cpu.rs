//! The CPU as a shared resource. `http_rate` measures the rate limiter's
//! pacing against the wall clock and was a test binary of its own so that no
//! other test shared the CPU while it ran; here it takes [`alone`], and the
//! tests that keep the CPU busy for seconds (hostile guests spinning until
//! their deadline, the sink's crash loops over 100k records, Chromium, a hot
//! swap under load, many `crawlhost` processes at once) take [`busy`] or
//! [`busy_blocking`], so the two never overlap. Light tests take neither.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static CPU: RwLock<()> = RwLock::const_new(());

/// Held for the whole of a test that must not share the CPU with a busy one.
pub async fn alone() -> RwLockWriteGuard<'static, ()> {
    CPU.write().await
}

/// Held for the whole of an async test that keeps the CPU busy.
pub async fn busy() -> RwLockReadGuard<'static, ()> {
    CPU.read().await
}

/// [`busy`] for a plain `#[test]` (outside any runtime).
pub fn busy_blocking() -> RwLockReadGuard<'static, ()> {
    CPU.blocking_read()
}
