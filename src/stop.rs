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
}
