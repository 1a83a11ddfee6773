//! Thread writes that arrive together share one record in the thread log and one sync.
//!
//! Writers queue their bodies here; the first to get the lead runs every queued body, one
//! after another, appends their writes to the thread log as one record made durable by one
//! `fdatasync` (see `wal`), applies them to sled, and tells each writer its outcome. Those who
//! queued meanwhile form the next group. A lone writer pays one sync.
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

#[derive(Default)]
pub(super) struct Combiner {
    queue: Mutex<Vec<Queued>>,
    /// Held by the writer that runs a group, then by the task that makes it durable, until
    /// the group is applied to sled (the next group's bodies must read it).
    lead: Arc<tokio::sync::Mutex<()>>,
}

/// A group's bodies have run: what they wrote, and the threads they touched.
struct Ran {
    trees: Arc<Trees>,
    writes: Vec<Write>,
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
        let store = self.clone();
        // The sync and the apply run on a task of their own, which keeps the lead until the
        // group is applied: a writer cancelled now cannot stop the group halfway.
        tokio::task::spawn_blocking(move || {
            let result = ran.and_then(|ran| store.commit_group(ran));
            // Before the writers hear: one that then closes the store closes it for good.
            drop(store);
            for done in dones {
                let _ = done.send(result.as_ref().map(|_| ()).map_err(shared));
            }
            drop(lead);
        });
        outcome.await.unwrap_or_else(|_| Err(lost()))
    }

    /// Logs the group's writes under its sequence number (with the change log's entries for
    /// the threads it touched), syncs the log, and applies them to sled. A failure is
    /// reported to `repair`.
    fn commit_group(&self, ran: Ran) -> Result<(), Error> {
        if !ran.kept {
            return Ok(());
        }
        let Ran {
            trees: t,
            mut writes,
            mut touched,
            ..
        } = ran;
        let committed = self.gated(|| -> Result<(), Error> {
            let seq = t.seq()? + 1;
            touched.sort_unstable();
            touched.dedup();
            // One entry for the group, however many threads it touched: under many writers
            // a group holds a dozen or more, and each entry is also removed again once indexed.
            if !touched.is_empty() {
                writes.push(Write {
                    tree: Tree::Changes,
                    key: seq.to_be_bytes()[..].into(),
                    value: Some(touched.iter().flat_map(|id| *id.as_bytes()).collect()),
                });
            }
            let record = wal::Record { seq, writes };
            let mut log = t.wal.lock().unwrap();
            let started = std::time::Instant::now();
            log.append(wal::encode(seq, &record.writes))?;
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
mod tests {
    use super::super::{Error, SledStore};
    use crate::model::{Message, Thread, TitleSource};
    use crate::store::{abort, ThreadTxn, TxResult};
    use uuid::Uuid;

    #[derive(Debug)]
    enum Refusal {
        Refused,
        Store(#[allow(dead_code)] Error),
    }

    impl From<Error> for Refusal {
        fn from(err: Error) -> Self {
            Refusal::Store(err)
        }
    }

    fn new_thread(id: Uuid) -> Thread {
        let now = chrono::Utc::now();
        Thread::new(
            id,
            Uuid::nil(),
            Uuid::nil(),
            "t".into(),
            TitleSource::User,
            now,
        )
    }

    /// Starts `body` as a writer once the writers before it are queued, so queue order is
    /// known; the lead is held by the test, so none of them runs yet.
    async fn queue_writer<T: Send + 'static>(
        store: &SledStore,
        queued_before: usize,
        body: impl Fn(&ThreadTxn) -> TxResult<T, Refusal> + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<T, Refusal>> {
        let writer = store.clone();
        let handle = tokio::spawn(async move { writer.write_threads(body).await });
        while store.combiner.queue.lock().unwrap().len() <= queued_before {
            tokio::task::yield_now().await;
        }
        handle
    }

    /// Writers queued together share one transaction (one sequence number): each sees the
    /// writes of those queued before it, one that aborts gets its error and leaves nothing,
    /// one that panics panics in its own task, and the others' writes all land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_queued_together_share_one_transaction_and_keep_their_own_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let before = store.last_seq().unwrap();
        let (first, refused, second) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let lead = store.combiner.lead.lock().await;

        let creates = queue_writer(&store, 0, move |tx| tx.put_thread(&new_thread(first))).await;
        // Sees the thread the writer before it created, in the same transaction.
        let appends = queue_writer(&store, 1, move |tx| {
            let mut thread = tx.thread(first)?.expect("created by the writer before");
            let message = Message::new(first, Uuid::nil(), "hi".into(), chrono::Utc::now());
            tx.append_message(&mut thread, &message)?;
            tx.put_thread(&thread)?;
            Ok(message.id)
        })
        .await;
        let refuses = queue_writer(&store, 2, move |tx| {
            tx.put_thread(&new_thread(refused))?;
            abort::<(), _>(Refusal::Refused)
        })
        .await;
        let panics = queue_writer(&store, 3, move |tx| -> TxResult<(), Refusal> {
            tx.put_thread(&new_thread(refused))?;
            panic!("a bug in a body")
        })
        .await;
        let creates_too =
            queue_writer(&store, 4, move |tx| tx.put_thread(&new_thread(second))).await;
        drop(lead);

        creates.await.unwrap().unwrap();
        let message_id = appends.await.unwrap().unwrap();
        assert!(matches!(refuses.await.unwrap(), Err(Refusal::Refused)));
        assert!(panics.await.unwrap_err().is_panic());
        creates_too.await.unwrap().unwrap();

        assert_eq!(store.last_seq().unwrap(), before + 1, "one transaction");
        let thread = store.thread(first).unwrap().unwrap();
        assert_eq!(thread.message_count, 1);
        assert_eq!(store.messages(first).unwrap()[0].id, message_id);
        assert!(store.thread(second).unwrap().is_some());
        assert!(
            store.thread(refused).unwrap().is_none(),
            "aborted writes stay out"
        );
        let (changes, _) = store.changes_since(before).unwrap();
        let mut logged: Vec<Uuid> = changes.into_iter().map(|(_, thread)| thread).collect();
        logged.sort();
        let mut expected = vec![first, second];
        expected.sort();
        assert_eq!(logged, expected);
    }

    /// A log past its size is emptied after the group that filled it, once sled has the
    /// writes on disk: they read back after reopening, and the log holds nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_log_is_checkpointed_into_sled() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.trees().unwrap().wal.lock().unwrap().checkpoint_bytes = 0;
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for &id in &ids {
            store
                .write_threads(move |tx| -> TxResult<(), Refusal> {
                    tx.put_thread(&new_thread(id))
                })
                .await
                .unwrap();
            let log = store.trees().unwrap();
            assert!(log.wal.lock().unwrap().is_empty(), "no records are left");
        }
        drop(store);
        let store = SledStore::open_when_unlocked(dir.path());
        for id in ids {
            assert!(store.thread(id).unwrap().is_some());
        }
    }

    /// A group in which every body aborts writes nothing, not even a sequence number.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_of_refusals_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let before = store.last_seq().unwrap();
        let refused = Uuid::new_v4();
        let result = store
            .write_threads(move |tx| -> TxResult<(), Refusal> {
                tx.put_thread(&new_thread(refused))?;
                abort(Refusal::Refused)
            })
            .await;
        assert!(matches!(result, Err(Refusal::Refused)));
        assert_eq!(store.last_seq().unwrap(), before);
        assert!(store.thread(refused).unwrap().is_none());
    }
}
