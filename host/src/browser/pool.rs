//! Accounting of the browser session pool: how many sessions are alive, which
//! are idle and which plugin each belongs to, and what a caller asking for
//! one gets. Pure: the sessions themselves are a type parameter, so the rules
//! are tested with plain numbers.
//!
//! A session belongs to the plugin it was opened for, for its whole life: a
//! Chromium profile holds far more than cookies (localStorage,
//! sessionStorage, IndexedDB, the Cache API, service workers, the HTTP
//! cache, HSTS and permission state), and clearing all of that reliably is
//! not something WebDriver offers. So a session is never handed to another
//! plugin; at the cap, another plugin's idle session is closed and a new one
//! (a new Chromium with a new, empty profile) opened in its slot.
//!
//! Rules: at most `max` sessions alive (busy + idle). A plugin gets an idle
//! session of its own (its login survives between tasks); else a new one
//! while below the cap; else the least recently used idle session of another
//! plugin is replaced by a new one; else it waits for a check-in.

/// What [`PoolState::checkout`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Checkout<S> {
    /// An idle session of the same plugin.
    Reuse(S),
    /// At the cap: close this idle session of another plugin and open a new
    /// one in its slot (already counted; call [`PoolState::open_failed`] if
    /// opening fails).
    Replace(S),
    /// Below the cap: open a new session (the slot is already counted; call
    /// [`PoolState::open_failed`] if opening fails).
    Open,
    /// Every session is busy: wait for a check-in and ask again.
    Wait,
}

/// The pool's books.
#[derive(Debug)]
pub struct PoolState<S> {
    max: usize,
    busy: usize,
    /// Idle sessions with the plugin they belong to; most recent last.
    idle: Vec<(String, S)>,
}

impl<S> PoolState<S> {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            busy: 0,
            idle: Vec::new(),
        }
    }

    /// Sessions alive (busy and idle).
    pub fn alive(&self) -> usize {
        self.busy + self.idle.len()
    }

    pub fn busy(&self) -> usize {
        self.busy
    }

    pub fn idle(&self) -> usize {
        self.idle.len()
    }

    /// A session for `plugin`, by the rules above.
    pub fn checkout(&mut self, plugin: &str) -> Checkout<S> {
        if let Some(i) = self.idle.iter().rposition(|(p, _)| p == plugin) {
            let (_, session) = self.idle.remove(i);
            self.busy += 1;
            return Checkout::Reuse(session);
        }
        if self.alive() < self.max {
            self.busy += 1;
            return Checkout::Open;
        }
        if !self.idle.is_empty() {
            // The least recently used one.
            let (_, session) = self.idle.remove(0);
            self.busy += 1;
            return Checkout::Replace(session);
        }
        Checkout::Wait
    }

    /// Opening a session after [`Checkout::Open`] failed: free the slot.
    pub fn open_failed(&mut self) {
        self.busy = self.busy.saturating_sub(1);
    }

    /// Give back a session of `plugin`; a broken one (`None`) is dropped and
    /// frees its slot.
    pub fn checkin(&mut self, plugin: &str, session: Option<S>) {
        self.busy = self.busy.saturating_sub(1);
        if let Some(s) = session {
            self.idle.push((plugin.to_string(), s));
        }
    }

    /// Take every idle session (shutdown).
    pub fn drain_idle(&mut self) -> Vec<S> {
        self.idle.drain(..).map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_up_to_the_cap_then_waits() {
        let mut p = PoolState::<u32>::new(2);
        assert_eq!(p.checkout("ig"), Checkout::Open);
        assert_eq!(p.checkout("ig"), Checkout::Open);
        assert_eq!(p.checkout("ig"), Checkout::Wait);
        assert_eq!(p.alive(), 2);
        p.checkin("ig", Some(7));
        assert_eq!(p.checkout("ig"), Checkout::Reuse(7));
        assert_eq!(p.busy(), 2);
    }

    #[test]
    fn a_plugin_gets_its_own_session_back_before_another_plugins() {
        let mut p = PoolState::<u32>::new(2);
        assert_eq!(p.checkout("a"), Checkout::Open);
        assert_eq!(p.checkout("b"), Checkout::Open);
        p.checkin("a", Some(1));
        p.checkin("b", Some(2));
        assert_eq!(p.checkout("b"), Checkout::Reuse(2));
        // At the cap, plugin c gets a new session in the slot of a's idle
        // one, which is to be closed: never a's session itself.
        assert_eq!(p.checkout("c"), Checkout::Replace(1));
        assert_eq!(p.alive(), 2);
        assert_eq!(p.checkout("a"), Checkout::Wait);
        // c's session goes back as c's: a cannot get it, only replace it.
        p.checkin("c", Some(3));
        assert_eq!(p.checkout("a"), Checkout::Replace(3));
    }

    #[test]
    fn idle_sessions_below_the_cap_do_not_leak_to_other_plugins() {
        let mut p = PoolState::<u32>::new(3);
        assert_eq!(p.checkout("a"), Checkout::Open);
        p.checkin("a", Some(1));
        // Below the cap, b gets a fresh session rather than a's cookies.
        assert_eq!(p.checkout("b"), Checkout::Open);
        assert_eq!(p.idle(), 1);
    }

    #[test]
    fn broken_sessions_and_failed_opens_free_their_slot() {
        let mut p = PoolState::<u32>::new(1);
        assert_eq!(p.checkout("a"), Checkout::Open);
        p.open_failed();
        assert_eq!(p.alive(), 0);
        assert_eq!(p.checkout("a"), Checkout::Open);
        p.checkin("a", None);
        assert_eq!(p.alive(), 0);
        assert_eq!(p.checkout("b"), Checkout::Open);
        p.checkin("b", Some(3));
        assert_eq!(p.drain_idle(), vec![3]);
        assert_eq!(p.alive(), 0);
    }
}
