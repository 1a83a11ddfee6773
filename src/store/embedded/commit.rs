//! Group commit, and what "on disk" means.
//!
//! A write is acknowledged only once it is durable. Writers that finish at about the same time
//! share one sync: the first becomes the leader and syncs everything written so far; those
//! who arrive meanwhile wait for the next sync, which the next of them leads. So concurrent
//! writers pay for one sync per round, not one each.
//!
//! One sync is sled's `flush` and then `fdatasync` of sled's log file. sled itself only calls
//! `sync_file_range`, which neither flushes the device's write cache nor the file's growth, so
//! without the `fdatasync` an acknowledged write survived `kill -9` but not a power cut.

use super::{Error, SledStore};
use std::sync::Mutex;

pub(super) struct GroupCommit {
    state: Mutex<State>,
    /// The highest ticket known durable; every finished sync announces itself here.
    synced: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    /// Tickets handed out so far (one per `SledStore::flush` call).
    issued: u64,
    /// A leader is syncing now.
    syncing: bool,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::default(),
            synced: tokio::sync::watch::channel(0).0,
        }
    }
}

impl SledStore {
    /// Waits until everything written so far is durable (see the module comment). A failure
    /// is reported to `repair`, which reopens the database once that can help.
    pub async fn flush(&self) -> Result<(), Error> {
        let started = std::time::Instant::now();
        let flushed = self.flush_shared().await;
        crate::metrics::METRICS
            .store_flush_seconds
            .observe(started.elapsed().as_secs_f64());
        flushed
    }

    async fn flush_shared(&self) -> Result<(), Error> {
        let ticket = {
            let mut state = self.commit.state.lock().unwrap();
            state.issued += 1;
            state.issued
        };
        let mut synced = self.commit.synced.subscribe();
        loop {
            if *synced.borrow_and_update() >= ticket {
                return Ok(());
            }
            let lead = {
                let mut state = self.commit.state.lock().unwrap();
                (!state.syncing).then(|| {
                    state.syncing = true;
                    state.issued
                })
            };
            let Some(covers) = lead else {
                // The leader's announcement (or failure) wakes us; a send between our check
                // and this wait is not missed, as the receiver has not seen it yet.
                let _ = synced.changed().await;
                continue;
            };
            let result = self.sync_now().await;
            self.commit.state.lock().unwrap().syncing = false;
            match result {
                Ok(()) => self
                    .commit
                    .synced
                    .send_modify(|done| *done = (*done).max(covers)),
                Err(err) => {
                    // The others try for themselves, and fail or succeed on their own.
                    self.commit.synced.send_modify(|_| {});
                    return Err(err);
                }
            }
        }
    }

    /// One sync of everything written so far.
    async fn sync_now(&self) -> Result<(), Error> {
        let t = self.trees()?;
        // Blocking calls on tokio's blocking pool: concurrent `flush_async` calls deadlock in
        // sled 0.34.7 (spacejam/sled#1308, fixed on sled's main branch but never released).
        let synced = tokio::task::spawn_blocking(move || -> Result<(), Error> {
            t.db.flush()?;
            t.log.sync_data().map_err(super::io)?;
            Ok(())
        })
        .await
        .expect("sync task");
        if let Err(err) = &synced {
            self.fault.report(err);
        }
        synced
    }
}
