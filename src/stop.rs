//! One stop request shared by everything that sends (load workers, probes, feature
//! cases), the collector and the signal handler: it lives below them all so each can
//! take it without knowing the others.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A stop request shared by workers, the collector and the signal handler.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: AtomicBool,
    notify: Notify,
    cut: AtomicBool,
    cut_notify: Notify,
}

impl Stop {
    /// Asks every worker to start no new request.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once a stop is asked for.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }

    /// Asks every request in flight to end now (a second interrupt, or the grace period
    /// over): each is recorded as cut, and the report is written with what was collected.
    /// Implies a stop.
    pub fn cut(&self) {
        self.stop();
        self.cut.store(true, Ordering::SeqCst);
        self.cut_notify.notify_waiters();
    }

    /// Whether requests in flight were asked to end.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// Resolves once requests in flight are asked to end.
    pub async fn wait_cut(&self) {
        let notified = self.cut_notify.notified();
        if self.is_cut() {
            return;
        }
        notified.await;
    }
}
