//! One stop request shared by everything that sends (load workers, probes, feature
//! cases), the collector and the signal handler: it lives below them all so each can
//! take it without knowing the others.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A one-way switch that tasks can poll or wait on.
#[derive(Debug, Default)]
struct Flag {
    set: AtomicBool,
    notify: Notify,
}

impl Flag {
    fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        // Registered before the check, so a set between the two is not missed.
        let notified = self.notify.notified();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

/// A stop request shared by workers, the collector and the signal handler.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: Flag,
    cut: Flag,
}

impl Stop {
    /// Asks every worker to start no new request.
    pub fn stop(&self) {
        self.stopped.set();
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_set()
    }

    /// Resolves once a stop is asked for.
    pub async fn wait(&self) {
        self.stopped.wait().await;
    }

    /// Asks every request in flight to end now (a second interrupt, or the grace period
    /// over): each is recorded as cut, and the report is written with what was collected.
    /// Implies a stop.
    pub fn cut(&self) {
        self.stop();
        self.cut.set();
    }

    /// Whether requests in flight were asked to end.
    pub fn is_cut(&self) -> bool {
        self.cut.is_set()
    }

    /// Resolves once requests in flight are asked to end.
    pub async fn wait_cut(&self) {
        self.cut.wait().await;
    }
}
