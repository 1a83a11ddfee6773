//! Thread writes that arrive together share one record in the thread log and one sync.
//!
//! Writers queue their bodies here; the first to get the lead runs every queued body, one
//! after another, appends their writes to the thread log as one record made durable by one
//! `fdatasync` (see `wal`), applies them to sled, and tells each writer its outcome. Those who
//! queued meanwhile form the next group. A lone writer pays one sync. The leader syncs on its
//! own worker thread while syncs are fast, or else hands the group to tokio's blocking pool
//! (see `Combiner::syncs_here`).
//!
//! Each body keeps its writes to itself until it succeeds (`SledTxn`), so one that aborts
//! (its caller's error) leaves the others' writes intact; bodies run in queue order and each
//! sees the writes of those before it, as if they had run one after another. Only the group's
//! leader writes thread trees, so bodies need no sled transaction: nothing else changes what
//! they read while they run.

use super::threads::{SledTxn, Tree};
use super::wal::{self, Write};
use super::{Error, SledStore, Trees};
use crate::store::txn::{Backend, Stop, ThreadTxn, TxError, TxResult};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One queued write: runs its body once and says whether to keep its writes; its outcome
/// reaches the writer through the body's own slot.
type Body = Box<dyn FnOnce(&ThreadTxn) -> Keep + Send>;

/// Whether a body succeeded (its writes join the group) or stopped (they are dropped).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Writes,
    Nothing,
}

struct Queued {
    body: Body,
    /// The group's outcome: whether it is durable.
    done: oneshot::Sender<Result<(), Error>>,
}

pub(super) struct Combiner {
    queue: Mutex<Vec<Queued>>,
    /// Held by the writer that runs a group, then by whoever makes it durable, until the
    /// group is applied to sled (the next group's bodies must read it).
    lead: Arc<tokio::sync::Mutex<()>>,
    /// How long the log's recent syncs took (µs, a moving average): whether the next may run
    /// on the leader's own worker thread (see [`Combiner::syncs_here`]).
    sync_micros: AtomicU64,
    /// Syncs at least this slow (µs) go to the blocking pool; tests set 0 to send all there.
    pub(super) inline_sync_limit: AtomicU64,
}

/// Syncs that take less than this on average (µs) run on the leader's worker thread.
const INLINE_SYNC_MICROS: u64 = 500;

impl Default for Combiner {
    fn default() -> Combiner {
        Combiner {
            queue: Mutex::default(),
            lead: Arc::default(),
            sync_micros: AtomicU64::new(0),
            inline_sync_limit: AtomicU64::new(INLINE_SYNC_MICROS),
        }
    }
}

impl Combiner {
    /// Whether a group's sync and apply should run right here, on the leader's worker
    /// thread, rather than on tokio's blocking pool. Handing it over and back costs two thread
    /// wake-ups (one client's writes were 0.34–0.35× the disk that way, 0.42–0.47× here):
    /// worth it only while syncs are fast, so a worker is never held for long, and while
    /// another worker goes on serving meanwhile. A group that will fill the log checkpoints
    /// (sled's own flush, milliseconds): the caller sends it to the pool.
    fn syncs_here(&self) -> bool {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let other_worker = Handle::try_current().is_ok_and(|runtime| {
            runtime.runtime_flavor() == RuntimeFlavor::MultiThread
                && runtime.metrics().num_workers() > 1
        });
        let fast = self.sync_micros.load(Ordering::Relaxed)
            < self.inline_sync_limit.load(Ordering::Relaxed);
        other_worker && fast
    }

    /// Takes one sync's time into the moving average.
    fn synced_in(&self, took: std::time::Duration) {
        let micros = took.as_micros().min(u64::MAX as u128) as u64;
        let average = self.sync_micros.load(Ordering::Relaxed);
        let next = (average.saturating_mul(7).saturating_add(micros)) / 8;
        self.sync_micros.store(next, Ordering::Relaxed);
    }
}

/// A group's bodies have run: what they wrote, and the threads they touched.
struct Ran {
    trees: Arc<Trees>,
    writes: Vec<Write>,
    /// Sorted, each once.
    touched: Vec<Uuid>,
    /// Some body succeeded (the group takes a sequence number even if it wrote nothing).
    kept: bool,
}

impl SledStore {
    /// [`Store::write_threads`](crate::store::Store::write_threads) on sled: `body` joins the
    /// next group (see the module comment); returns once that group is durable.
    pub async fn write_threads<T, E>(
        &self,
        body: impl Fn(&ThreadTxn) -> TxResult<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let outcome: Arc<Mutex<Option<Result<T, E>>>> = Arc::default();
        let slot = outcome.clone();
        // A body that panics leaves the slot empty, and its writer panics in turn.
        let body: Body = Box::new(move |txn| {
            let (result, keep) = match body(txn) {
                Ok(value) => (Ok(value), Keep::Writes),
                Err(TxError(Stop::Abort(err))) => (Err(err), Keep::Nothing),
                Err(TxError(stop)) => (Err(E::from(failure(stop))), Keep::Nothing),
            };
            *slot.lock().unwrap() = Some(result);
            keep
        });
        self.in_group(body).await.map_err(E::from)?;
        let value = outcome.lock().unwrap().take();
        value.expect("the write's body panicked")
    }

    /// Queues `body` and waits until a group holding it is durable (leading one if needed).
    async fn in_group(&self, body: Body) -> Result<(), Error> {
        let (done, mut outcome) = oneshot::channel();
        self.combiner
            .queue
            .lock()
            .unwrap()
            .push(Queued { body, done });
        let lead = self.combiner.lead.clone().lock_owned().await;
        let sync_here = self.combiner.syncs_here();
        if sync_here {
            // This worker is about to be held by the sync: whatever it was about to run next
            // (a task just spawned or woken waits in a slot no other worker takes from) runs
            // first.
            tokio::task::yield_now().await;
        }
        match outcome.try_recv() {
            // A group that held our body ran while we waited for the lead.
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => return Err(lost()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut *self.combiner.queue.lock().unwrap());
        let (bodies, dones): (Vec<Body>, Vec<_>) =
            group.into_iter().map(|q| (q.body, q.done)).unzip();
        let ran = self.trees().map(|trees| run_bodies(trees, bodies));
        let checkpoint_due = ran.as_ref().is_ok_and(Ran::fills_the_log);
        let store = self.clone();
        // The sync and the apply run without an await, here or on a task of their own, which
        // keeps the lead until the group is applied: a writer cancelled now cannot stop the
        // group halfway.
        let commit = move || {
            let result = ran.and_then(|ran| store.commit_group(ran));
            // Before the writers hear: one that then closes the store closes it for good.
            drop(store);
            for done in dones {
                let _ = done.send(result.as_ref().map(|_| ()).map_err(shared));
            }
            drop(lead);
        };
        // Not while a backup holds every write back either: the group would wait for it,
        // holding the worker for as long as the backup reads. (One that starts between this
        // check and the group's write still holds one worker that long: a narrow window.)
        if sync_here && !checkpoint_due && !self.writes_paused() {
            commit();
        } else {
            tokio::task::spawn_blocking(commit);
        }
        outcome.await.unwrap_or_else(|_| Err(lost()))
    }

    /// Logs the group's writes under its sequence number (with the change log's entry for
    /// the threads it touched), syncs the log, and applies them to sled. A failure is
    /// reported to `repair`.
    fn commit_group(&self, ran: Ran) -> Result<(), Error> {
        if !ran.kept {
            return Ok(());
        }
        let Ran {
            trees: t,
            mut writes,
            touched,
            ..
        } = ran;
        let committed = self.gated(|| -> Result<(), Error> {
            let seq = t.seq()? + 1;
            writes.extend(change_entry(seq, &touched));
            let record = wal::Record { seq, writes };
            let mut log = t.wal.lock().unwrap();
            let started = std::time::Instant::now();
            log.append(wal::encode(seq, &record.writes))?;
            self.combiner.synced_in(started.elapsed());
            crate::metrics::METRICS
                .store_flush_seconds
                .observe(started.elapsed().as_secs_f64());
            // A record sled did not take is applied when the store is reopened (`repair`);
            // its writers hear of the failure, as of any write that may or may not have landed.
            if let Err(err) = wal::apply(&t, &record) {
                log.refuse_after(&err);
                return Err(err);
            }
            if log.is_full() {
                // The group is durable in the log whatever happens here.
                if let Err(err) = wal::checkpoint(&t, &mut log) {
                    self.fault.report(&err);
                }
            }
            Ok(())
        });
        if let Err(err) = &committed {
            self.fault.report(err);
        }
        committed
    }
}

impl Ran {
    /// Whether the group's record (its writes and its change log entry) will take the log
    /// past its size, so that committing it checkpoints.
    fn fills_the_log(&self) -> bool {
        // The entry's size does not depend on the sequence number it will get.
        let entry = change_entry(0, &self.touched);
        let bytes = wal::encoded_len(self.writes.iter().chain(&entry));
        self.trees.wal.lock().unwrap().fills_with(bytes as u64)
    }
}

/// The change log's entry for a group: one however many threads it touched (under many
/// writers a group holds a dozen or more, and each entry is removed again once indexed).
fn change_entry(seq: u64, touched: &[Uuid]) -> Option<Write> {
    (!touched.is_empty()).then(|| Write {
        tree: Tree::Changes,
        key: seq.to_be_bytes()[..].into(),
        value: Some(touched.iter().flat_map(|id| *id.as_bytes()).collect()),
    })
}

/// Runs the group's bodies in queue order over the thread trees, keeping the writes of
/// those that succeed.
fn run_bodies(trees: Arc<Trees>, bodies: Vec<Body>) -> Ran {
    let mut writes = Vec::new();
    let mut touched = Vec::new();
    let mut kept = false;
    for body in bodies {
        let txn = ThreadTxn(Backend::Sled(SledTxn::new(&trees, &writes)));
        // A body that panics is its writer's (see `write_threads`); the others go on.
        let keep =
            std::panic::catch_unwind(AssertUnwindSafe(|| body(&txn))).unwrap_or(Keep::Nothing);
        let Backend::Sled(txn) = txn.0 else {
            unreachable!("made above")
        };
        if keep == Keep::Writes {
            kept = true;
            let (body_writes, body_touched) = txn.into_writes();
            writes.extend(body_writes);
            touched.extend(body_touched);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    Ran {
        trees,
        writes,
        touched,
        kept,
    }
}

/// A body's stop other than its caller's abort: a storage failure while it read.
fn failure<E>(stop: Stop<E>) -> Error {
    match stop {
        Stop::Abort(_) => unreachable!("aborts are the body's outcome"),
        Stop::Sled(err) => Error::Sled(err),
        Stop::Store(err) => err,
        // Only the PostgreSQL backend fetches rows a body asks for.
        Stop::Unread => Error::File("a write's body asked for a row it may not read".into()),
    }
}

/// The group's task ended without telling its writers (it panicked: a bug).
fn lost() -> Error {
    Error::File("a group of thread writes ended without an outcome".into())
}

/// The group's failure, for each of its writers. A group fails only with sled's error or
/// while the store reopens; anything else keeps its text.
fn shared(err: &Error) -> Error {
    match err {
        Error::Sled(err) => Error::Sled(err.clone()),
        Error::Reopening => Error::Reopening,
        other => Error::File(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
