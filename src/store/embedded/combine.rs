//! Thread writes that arrive together share one sled transaction and one sync.
//!
//! Every sled 0.34 transaction writes its batch marker to the log as a buffer of its own
//! (`pin_log` rolls the log buffer before and after it), and sled writes those buffers one
//! after another, each waiting for the device: about two device writes per transaction however
//! many writers wait. So writers queue their bodies here; the first to get the lead runs every
//! queued body in one transaction, syncs once (`commit`), and tells each writer its outcome.
//! Those who queued meanwhile form the next group. A lone writer pays what it paid before.
//!
//! Each body keeps its writes to itself until it succeeds (`SledTxn`), so one that aborts
//! (its caller's error) leaves the others' writes intact; bodies run in queue order and each
//! sees the writes of those before it, as if they had run one after another.

use super::threads::{SledTxn, ThreadTrees};
use super::{finish, next_seq, Error, SledStore};
use crate::store::txn::{Backend, Stop, ThreadTxn, TxError, TxResult};
use sled::transaction::{ConflictableTransactionError, UnabortableTransactionError};
use sled::Transactional;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One queued write: runs its body (perhaps more than once, if sled retries) and says whether
/// to keep its writes; its outcome reaches the writer through the body's own slot.
type Body = Box<dyn Fn(&ThreadTxn) -> Result<Keep, UnabortableTransactionError> + Send>;

/// Whether a body succeeded (its writes join the transaction) or aborted (they are dropped).
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
    /// Held by the writer that runs a group, until the group is durable.
    lead: tokio::sync::Mutex<()>,
}

impl SledStore {
    /// [`Store::write_threads`](crate::store::Store::write_threads) on sled: `body` joins the
    /// next group (see the module comment); returns once that group is on disk.
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
        let body: Body = Box::new(move |txn| {
            // A body that panics leaves the slot empty (even after an earlier attempt), and
            // its writer panics in turn.
            *slot.lock().unwrap() = None;
            match body(txn) {
                Ok(value) => {
                    *slot.lock().unwrap() = Some(Ok(value));
                    Ok(Keep::Writes)
                }
                Err(TxError(Stop::Abort(err))) => {
                    *slot.lock().unwrap() = Some(Err(err));
                    Ok(Keep::Nothing)
                }
                Err(TxError(stop)) => Err(unabortable(stop)),
            }
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
        let _lead = self.combiner.lead.lock().await;
        match outcome.try_recv() {
            // A group that held our body ran while we waited for the lead.
            Ok(result) => return result,
            // Its leader was cancelled while syncing: the group committed; sync it ourselves.
            Err(oneshot::error::TryRecvError::Closed) => return self.flush().await,
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut *self.combiner.queue.lock().unwrap());
        let result = match self.commit_group(&group) {
            Ok(true) => self.flush().await,
            Ok(false) => Ok(()),
            Err(err) => Err(err),
        };
        for queued in group {
            let _ = queued
                .done
                .send(result.as_ref().map(|_| ()).map_err(shared));
        }
        outcome.try_recv().expect("our body was in the group")
    }

    /// Runs every body of the group in one transaction, logging the threads touched under the
    /// group's sequence number. `false` if every body aborted (nothing was written).
    fn commit_group(&self, group: &[Queued]) -> Result<bool, Error> {
        let t = self.trees()?;
        let trees = (
            &t.threads,
            &t.org_threads,
            &t.member_threads,
            &t.messages,
            &t.message_keys,
            &t.changes,
            &t.meta,
            &t.expiring,
            &t.pending_analyses,
        );
        let result = self.gated(|| {
            trees.transaction(
                |(
                    threads,
                    org_threads,
                    member_threads,
                    messages,
                    message_keys,
                    changes,
                    meta,
                    expiring,
                    pending,
                )| {
                    let trees = ThreadTrees {
                        threads,
                        org_threads,
                        member_threads,
                        messages,
                        message_keys,
                        expiring,
                        pending,
                    };
                    let mut touched: Vec<Uuid> = Vec::new();
                    let mut kept = false;
                    for queued in group {
                        let txn = ThreadTxn(Backend::Sled(SledTxn::new(&trees)));
                        let keep = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                            (queued.body)(&txn)
                        })) {
                            Ok(keep) => keep?,
                            // Its writer learns of it (see `write_threads`); the others go on.
                            Err(_) => Keep::Nothing,
                        };
                        let Backend::Sled(txn) = txn.0 else {
                            unreachable!("made above")
                        };
                        if keep == Keep::Writes {
                            kept = true;
                            touched.extend(txn.apply()?);
                        }
                    }
                    if !kept {
                        return Err(ConflictableTransactionError::Abort(Stopped::Nothing));
                    }
                    touched.sort_unstable();
                    touched.dedup();
                    let seq = next_seq(meta)?;
                    for thread_id in touched {
                        let mut key = [0u8; 24];
                        key[..8].copy_from_slice(&seq.to_be_bytes());
                        key[8..].copy_from_slice(thread_id.as_bytes());
                        changes.insert(&key[..], &[][..])?;
                    }
                    Ok(())
                },
            )
        });
        match finish(result) {
            Ok(()) => Ok(true),
            Err(Stopped::Nothing) => Ok(false),
            Err(Stopped::Store(err)) => Err(err),
        }
    }
}

/// Why a group's transaction did not commit.
enum Stopped {
    /// Every body aborted: there is nothing to write or sync.
    Nothing,
    Store(Error),
}

impl From<Error> for Stopped {
    fn from(err: Error) -> Self {
        Stopped::Store(err)
    }
}

/// A body's stop other than its caller's abort: sled's conflict (retried) or a failure.
fn unabortable<E>(stop: Stop<E>) -> UnabortableTransactionError {
    match stop {
        Stop::Abort(_) => unreachable!("aborts are the body's outcome"),
        Stop::Sled(err) => err,
        Stop::Store(Error::Sled(err)) => UnabortableTransactionError::Storage(err),
        // Only the PostgreSQL backend stops a body for these.
        Stop::Store(other) => {
            UnabortableTransactionError::Storage(sled::Error::Unsupported(other.to_string()))
        }
        Stop::Unread => {
            UnabortableTransactionError::Storage(sled::Error::Unsupported("unread key".into()))
        }
    }
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
