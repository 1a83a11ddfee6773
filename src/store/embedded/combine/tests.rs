//! Groups of thread writes: shared records, each writer's own outcome, checkpoints, and where
//! a group syncs.

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
    let creates_too = queue_writer(&store, 4, move |tx| tx.put_thread(&new_thread(second))).await;
    drop(lead);

    creates.await.unwrap().unwrap();
    let message_id = appends.await.unwrap().unwrap();
    assert!(matches!(refuses.await.unwrap(), Err(Refusal::Refused)));
    assert!(panics.await.unwrap_err().is_panic());
    creates_too.await.unwrap().unwrap();

    assert_eq!(store.last_seq().unwrap(), before + 1, "one transaction");
    let thread = store.thread(first).unwrap().unwrap();
    assert_eq!(thread.message_count, 1);
    assert_eq!(store.messages(first, true).unwrap()[0].id, message_id);
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
            .write_threads(move |tx| -> TxResult<(), Refusal> { tx.put_thread(&new_thread(id)) })
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

/// A group syncs on the leader's own worker only while syncs are fast and another worker can
/// go on serving; otherwise on the blocking pool (as does one that checkpoints).
#[test]
fn only_fast_syncs_run_on_a_worker_that_has_another_beside_it() {
    let two_workers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let one_worker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let current_thread = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let combiner = super::Combiner::default();
    let here = |runtime: &tokio::runtime::Runtime| {
        let _entered = runtime.enter();
        combiner.syncs_here()
    };
    assert!(here(&two_workers));
    assert!(!here(&one_worker), "no other worker");
    assert!(!here(&current_thread), "no other worker");
    assert!(!combiner.syncs_here(), "outside a runtime");
    for _ in 0..8 {
        combiner.synced_in(std::time::Duration::from_millis(5));
    }
    assert!(!here(&two_workers), "syncs have been slow");
    for _ in 0..32 {
        combiner.synced_in(std::time::Duration::from_micros(100));
    }
    assert!(here(&two_workers), "syncs are fast again");
}

/// With every sync sent to the blocking pool, writers queued together still share one
/// group and each hears its own outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_synced_on_the_blocking_pool_commit_alike() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store
        .combiner
        .inline_sync_limit
        .store(0, std::sync::atomic::Ordering::Relaxed);
    let before = store.last_seq().unwrap();
    let ids: Vec<Uuid> = (0..8).map(|_| Uuid::new_v4()).collect();
    let writes = ids.iter().map(|&id| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write_threads(move |tx| -> TxResult<(), Refusal> {
                    tx.put_thread(&new_thread(id))
                })
                .await
        })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.unwrap().unwrap();
    }
    assert!(store.last_seq().unwrap() > before);
    for id in ids {
        assert!(store.thread(id).unwrap().is_some());
    }
}

/// A backup that holds every write back is seen (a group then syncs on the blocking pool, not
/// on a worker it would hold until the backup is done), and so is its end.
#[test]
fn a_backup_holding_the_writes_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert!(!store.writes_paused());
    let backup = store.writes.clone();
    let reading = backup.write().unwrap();
    assert!(store.writes_paused());
    drop(reading);
    assert!(!store.writes_paused());
}
