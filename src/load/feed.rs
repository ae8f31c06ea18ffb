//! Datasets fed to a loop as it sends: a thread reads the file and hands records over a
//! small channel, so the run holds a few records at a time whatever the file's size, and
//! reading never blocks the runtime.

use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::{mpsc, Mutex};

use crate::scenario::dataset::{self, DatasetSpec, Record};

/// Records read ahead of the requests that will send them.
const AHEAD: usize = 64;

/// The records of one template's dataset, in file order, cycling unless it is read once.
#[derive(Debug, Clone)]
pub struct Feed {
    records: Arc<Mutex<mpsc::Receiver<Record>>>,
}

impl Feed {
    /// Starts reading `spec`'s file, keeping the records its filter keeps (the same ones
    /// the scenario's check counted). The reader ends with the loop: once every [`Feed`] of
    /// it is dropped.
    pub fn start(spec: &DatasetSpec) -> Feed {
        let (tx, rx) = mpsc::channel(AHEAD);
        let spec = spec.clone();
        std::thread::spawn(move || {
            let Some((file, _, seed)) = spec.resolved.clone() else { return };
            loop {
                let mut index = 0u64;
                let mut sent_any = false;
                let read = dataset::for_each(&file, spec.format(), |_, record| {
                    let keep = spec.keeps(seed, index, record.tokens);
                    index += 1;
                    if !keep {
                        return ControlFlow::Continue(());
                    }
                    sent_any = true;
                    match tx.blocking_send(record) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    }
                });
                // A file that broke or emptied since it was checked ends the feed.
                if spec.once || read.is_err() || !sent_any || tx.is_closed() {
                    return;
                }
            }
        });
        Feed { records: Arc::new(Mutex::new(rx)) }
    }

    /// The next record; None when a dataset read once is used up.
    pub async fn next(&self) -> Option<Record> {
        self.records.lock().await.recv().await
    }
}
