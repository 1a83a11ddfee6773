//! The thread trees' writes and the change log.

use super::SledStore;
use crate::model::{Share, ShareRole, Thread, TitleSource};
use crate::store::TxResult;
use uuid::Uuid;

/// A thread `owner` made in an org of its own.
fn owned_by(id: Uuid, owner: Uuid) -> Thread {
    let org = Uuid::new_v4();
    Thread::new(
        id,
        org,
        owner,
        "t".into(),
        TitleSource::User,
        chrono::Utc::now(),
    )
}

/// Writing a thread keeps the member index in step with its shares, and a rename writes
/// the thread record alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_a_thread_writes_only_the_index_entries_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (id, owner, guest) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut thread = owned_by(id, owner);
    let put = |thread: Thread| {
        let store = store.clone();
        async move {
            store
                .write_threads(move |tx| -> TxResult<usize, super::Error> {
                    tx.put_thread(&thread)?;
                    let crate::store::txn::Backend::Sled(txn) = &tx.0 else {
                        unreachable!()
                    };
                    Ok(txn.pending.borrow().len())
                })
                .await
                .unwrap()
        }
    };
    let members = |user| {
        let listed: Vec<Uuid> = store
            .threads_of_member(user)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        listed
    };
    put(thread.clone()).await;
    thread.shares.push(Share {
        user_id: guest,
        role: ShareRole::Viewer,
    });
    put(thread.clone()).await;
    assert_eq!(members(owner), [id]);
    assert_eq!(members(guest), [id]);

    thread.title = "renamed".into();
    assert_eq!(put(thread.clone()).await, 1, "the thread record alone");

    thread.shares.clear();
    put(thread.clone()).await;
    assert_eq!(members(owner), [id]);
    assert!(members(guest).is_empty());
    assert_eq!(store.thread(id).unwrap().unwrap().title, "renamed");
}

/// A write reads its thread (the access check) before it writes it back changed, and
/// `put_thread` takes what the indexes hold from that read: the thread as it was, not the
/// copy the body changed. A second write of the thread in the same body goes from the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_reads_its_thread_then_writes_it_keeps_the_member_index_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (id, owner, guest, other) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let thread = owned_by(id, owner);
    let share = |user_id| Share {
        user_id,
        role: ShareRole::Viewer,
    };
    store
        .write_threads(move |tx| -> TxResult<(), super::Error> { tx.put_thread(&thread) })
        .await
        .unwrap();
    store
        .write_threads(move |tx| -> TxResult<(), super::Error> {
            let mut thread = tx.thread(id)?.unwrap();
            thread.shares.push(share(guest));
            tx.put_thread(&thread)
        })
        .await
        .unwrap();
    let members = |user| -> Vec<Uuid> {
        let listed = store.threads_of_member(user).unwrap();
        listed.iter().map(|t| t.id).collect()
    };
    assert_eq!(members(guest), [id]);

    store
        .write_threads(move |tx| -> TxResult<(), super::Error> {
            let mut thread = tx.thread(id)?.unwrap();
            thread.shares.clear();
            tx.put_thread(&thread)?;
            thread.shares.extend([share(guest), share(other)]);
            tx.put_thread(&thread)
        })
        .await
        .unwrap();
    assert_eq!(members(guest), [id], "unshared, then shared again");
    assert_eq!(members(other), [id]);
    assert_eq!(members(owner), [id]);
}

/// The change log reads format 8's entries (one per thread, the id in the key) beside
/// format 9's (one per group, the ids in the value), in sequence order, and prunes both.
#[test]
fn change_entries_of_both_shapes_are_read_counted_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let t = store.trees().unwrap();
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    for (seq, id) in [(1u64, ids[0]), (1, ids[1]), (3, ids[3])] {
        let mut key = seq.to_be_bytes().to_vec();
        key.extend_from_slice(id.as_bytes());
        t.changes.insert(key, &[][..]).unwrap();
    }
    let group: Vec<u8> = [ids[2], ids[0]]
        .iter()
        .flat_map(|id| *id.as_bytes())
        .collect();
    t.changes.insert(2u64.to_be_bytes(), group).unwrap();
    let expected = [
        (1, ids[0]),
        (1, ids[1]),
        (2, ids[2]),
        (2, ids[0]),
        (3, ids[3]),
    ];
    let mut read = store.changes_since(0).unwrap().0;
    read[..2].sort_by_key(|(_, id)| *id);
    let mut first_two = expected[..2].to_vec();
    first_two.sort_by_key(|(_, id)| *id);
    assert_eq!(read[..2], first_two[..]);
    assert_eq!(read[2..], expected[2..]);
    assert_eq!(store.changes_after(1).unwrap(), 3);
    assert_eq!(store.changes_since(2).unwrap().0, vec![(3, ids[3])]);
    store.prune_changes(2).unwrap();
    assert_eq!(store.changes_since(0).unwrap().0, vec![(3, ids[3])]);
    t.changes
        .insert(4u64.to_be_bytes(), &[1u8; 15][..])
        .unwrap();
    assert!(store.changes_since(3).is_err(), "a torn entry is reported");
}

/// Pruning removes every entry up to the sequence, and keeps every later one.
#[test]
fn pruning_removes_exactly_up_to_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let t = store.trees().unwrap();
    let entries: u64 = 2_000;
    for seq in 1..=entries {
        let mut key = [0u8; 24];
        key[..8].copy_from_slice(&seq.to_be_bytes());
        t.changes.insert(&key[..], &[][..]).unwrap();
    }
    let prune_to = entries - 3;
    store.prune_changes(prune_to).unwrap();
    let left: Vec<u64> = store
        .changes_since(0)
        .unwrap()
        .0
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    assert_eq!(left, vec![prune_to + 1, prune_to + 2, prune_to + 3]);
    assert_eq!(store.changes_pruned_to().unwrap(), prune_to);
}
