//! Shutdown: the one "stop now" flag of a command, and the signals that set
//! it.
//!
//! A command that runs until it is told to stop (`serve`, `worker`, `sink`)
//! makes one [`Shutdown`] with [`Shutdown::on_signals`]; the first SIGINT
//! (Ctrl-C) or SIGTERM cancels it. Every part that has to stop takes a clone
//! and waits on [`Shutdown::cancelled`], checks [`Shutdown::is_cancelled`],
//! or, for the APIs that take one (the run loop's
//! [`crate::run::RunRequest::shutdown`], the distributed worker), holds a
//! `watch::Receiver<bool>` from [`Shutdown::subscribe`]. A command can also
//! cancel by hand: `run --once --distributed` stops this host's worker with
//! [`Shutdown::cancel`] once its own runs are over.
//!
//! **A second signal does not force an exit.** Once a handler is installed
//! the process keeps handling the signal (the operating system's default,
//! terminate, is not restored), so a second Ctrl-C is ignored and the
//! graceful stop (tasks in flight finish, open batches are left for the next
//! start) runs to its end; SIGKILL stops the process at once. That was the
//! behaviour of the three handlers this module replaces (two in the CLI, one
//! in `serve`), and stopping in the middle of a bus acknowledgement is what
//! the graceful stop exists to avoid.
//!
//! **When listening starts matters.** Before [`Shutdown::on_signals`] runs, a
//! signal terminates the process as usual; call it where the command becomes
//! able to stop gracefully (for `serve`: once the service is up).
//!
//! A `watch` channel rather than a `CancellationToken`: the run loop and the
//! worker already take a `watch::Receiver<bool>`, and a dropped sender reads
//! as "stop" there, so one type serves both without a bridge task.

use std::future::Future;

use tokio::sync::watch;

/// A shared stop flag: clones see the same state, and cancelling any clone
/// stops every holder.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A flag that only [`Shutdown::cancel`] sets.
    pub fn new() -> Self {
        Self {
            tx: watch::Sender::new(false),
        }
    }

    /// A flag that the first SIGINT or SIGTERM sets. The handlers are
    /// installed before this returns (needs a Tokio runtime), so no signal
    /// sent afterwards is missed.
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let signal = Signals::install();
        let flag = shutdown.clone();
        tokio::spawn(async move {
            signal.first().await;
            flag.cancel();
        });
        shutdown
    }

    /// Stop every holder. Idempotent.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the flag is set (at once if it already is). The future
    /// owns what it needs, so it can be moved into a spawned task; it also
    /// resolves if every [`Shutdown`] is dropped, which only happens when
    /// nobody could cancel any more.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// A receiver for the APIs that take the flag as a `watch` channel: it
    /// reads `true` once cancelled, and reports the channel closed when every
    /// [`Shutdown`] is dropped.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// SIGINT and SIGTERM, listened for from [`Signals::install`] on.
enum Signals {
    #[cfg(unix)]
    Unix {
        term: tokio::signal::unix::Signal,
        int: tokio::signal::unix::Signal,
    },
    /// Ctrl-C only (not Unix, or the Unix handlers could not be installed).
    CtrlC,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(term), Ok(int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                return Signals::Unix { term, int };
            }
        }
        Signals::CtrlC
    }

    /// Resolves on the first of the signals.
    async fn first(self) {
        match self {
            #[cfg(unix)]
            Signals::Unix { mut term, mut int } => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            Signals::CtrlC => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_new_flag_is_not_set_and_cancel_sets_it_for_every_clone() {
        let a = Shutdown::new();
        let b = a.clone();
        let rx = a.subscribe();
        assert!(!a.is_cancelled() && !b.is_cancelled() && !*rx.borrow());
        b.cancel();
        assert!(a.is_cancelled() && b.is_cancelled() && *rx.borrow());
        b.cancel();
        assert!(a.is_cancelled(), "cancelling twice changes nothing");
    }

    #[tokio::test]
    async fn cancelled_resolves_when_a_clone_cancels_and_not_before() {
        let shutdown = Shutdown::new();
        let waiting = tokio::spawn(shutdown.cancelled());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let other = shutdown.clone();
        tokio::spawn(async move { other.cancel() });
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("cancelled() resolves after cancel()")
            .unwrap();
        // Already cancelled: resolves at once.
        tokio::time::timeout(Duration::from_secs(5), shutdown.cancelled())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn dropping_every_flag_reads_as_stop() {
        let shutdown = Shutdown::new();
        let waiting = shutdown.cancelled();
        let mut rx = shutdown.subscribe();
        drop(shutdown);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap();
        assert!(rx.changed().await.is_err(), "the run loop stops on this");
    }

    /// The one test that sends a real signal: SIGTERM to this process, with
    /// the handler installed before it is raised.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[tokio::test]
    async fn the_first_sigterm_cancels() {
        let shutdown = Shutdown::on_signals();
        assert!(!shutdown.is_cancelled());
        // SAFETY: raising a signal whose handler is installed above.
        assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
        tokio::time::timeout(Duration::from_secs(5), shutdown.cancelled())
            .await
            .expect("SIGTERM cancels");
        assert!(shutdown.is_cancelled());
    }
}
