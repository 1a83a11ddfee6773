//! Threads and their messages: a write's body over the thread trees, with index upkeep, and
//! reads.

use super::message_cache::Lookup;
use super::wal::Write;
use super::{codec, get, Error, SledStore, Trees, TxResult};
use crate::model::{Message, Thread};
use sled::IVec;
use std::cell::RefCell;
use std::sync::Arc;
use uuid::Uuid;

/// The thread trees as one write's body sees them; several bodies of a group run one after
/// another over the same trees (see `combine`).
///
/// Only the group's leader writes thread trees, so a body reads them as they are under the
/// writes of the bodies before it. Its own writes wait in `pending` (its reads see them
/// first) and join the group only if the body succeeds, so a body that aborts leaves nothing
/// behind for the others. Messages are keyed `thread id ++ position`, so a body finds a
/// thread's latest message without a range scan.
pub struct SledTxn<'a> {
    trees: &'a Trees,
    /// The writes of the group's bodies before this one, which it reads as written.
    earlier: &'a [Write],
    pending: RefCell<Vec<Write>>,
    touched: RefCell<Vec<Uuid>>,
    /// What the indexes hold of the thread this body read or wrote last. A write reads its
    /// thread (to check access), then writes it: `put_thread` takes what changed from here
    /// instead of reading and decoding the record again.
    indexed: RefCell<Option<Indexed>>,
}

/// What the org, member and expiry indexes hold of a thread.
struct Indexed {
    id: Uuid,
    org_id: Uuid,
    /// Sorted, each once.
    members: Vec<Uuid>,
    expiring: bool,
}

impl Indexed {
    fn of(thread: &Thread) -> Indexed {
        let mut members: Vec<Uuid> = thread.members().collect();
        members.sort_unstable();
        members.dedup();
        Indexed {
            id: thread.id,
            org_id: thread.org_id,
            members,
            expiring: thread.is_expiring(),
        }
    }
}

/// A tree thread writes change, as the thread log names it (see `wal`): the numbers are on
/// disk, so they never change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum Tree {
    Threads = 0,
    OrgThreads = 1,
    MemberThreads = 2,
    Messages = 3,
    MessageKeys = 4,
    Expiring = 5,
    Pending = 6,
    /// The change log (`seq ++ thread id`), written by the group, never by a body.
    Changes = 7,
}

impl Tree {
    pub(super) fn from_u8(byte: u8) -> Option<Tree> {
        use Tree::*;
        [
            Threads,
            OrgThreads,
            MemberThreads,
            Messages,
            MessageKeys,
            Expiring,
            Pending,
            Changes,
        ]
        .get(byte as usize)
        .copied()
    }
}

impl Trees {
    pub(super) fn thread_tree(&self, tree: Tree) -> &sled::Tree {
        match tree {
            Tree::Threads => &self.threads,
            Tree::OrgThreads => &self.org_threads,
            Tree::MemberThreads => &self.member_threads,
            Tree::Messages => &self.messages,
            Tree::MessageKeys => &self.message_keys,
            Tree::Expiring => &self.expiring,
            Tree::Pending => &self.pending_analyses,
            Tree::Changes => &self.changes,
        }
    }
}

impl<'a> SledTxn<'a> {
    pub(super) fn new(trees: &'a Trees, earlier: &'a [Write]) -> SledTxn<'a> {
        SledTxn {
            trees,
            earlier,
            pending: RefCell::new(Vec::new()),
            touched: RefCell::new(Vec::new()),
            indexed: RefCell::new(None),
        }
    }

    /// The body's writes, in order, and the threads it touched.
    pub(super) fn into_writes(self) -> (Vec<Write>, Vec<Uuid>) {
        (self.pending.into_inner(), self.touched.into_inner())
    }

    fn get(&self, tree: Tree, key: &[u8]) -> sled::Result<Option<IVec>> {
        let pending = self.pending.borrow();
        match pending
            .iter()
            .rev()
            .chain(self.earlier.iter().rev())
            .find(|write| write.tree == tree && write.key == key)
        {
            Some(write) => Ok(write.value.clone()),
            None => self.trees.thread_tree(tree).get(key),
        }
    }

    fn insert(&self, tree: Tree, key: &[u8], value: impl Into<IVec>) {
        self.forget_indexed(tree, key);
        self.pending.borrow_mut().push(Write {
            tree,
            key: key.into(),
            value: Some(value.into()),
        });
    }

    fn remove(&self, tree: Tree, key: &[u8]) {
        self.forget_indexed(tree, key);
        self.pending.borrow_mut().push(Write {
            tree,
            key: key.into(),
            value: None,
        });
    }

    /// A write of the thread record `key` makes what `indexed` remembers of it stale.
    fn forget_indexed(&self, tree: Tree, key: &[u8]) {
        let mut indexed = self.indexed.borrow_mut();
        if tree == Tree::Threads && indexed.as_ref().is_some_and(|i| i.id.as_bytes() == key) {
            *indexed = None;
        }
    }

    pub fn thread<E>(&self, id: Uuid) -> TxResult<Option<Thread>, E> {
        let Some(raw) = self.get(Tree::Threads, id.as_bytes())? else {
            return Ok(None);
        };
        let thread: Thread = codec::decode(&raw)?;
        *self.indexed.borrow_mut() = Some(Indexed::of(&thread));
        Ok(Some(thread))
    }

    /// Writes a thread and keeps the org and member indexes in step with its owner and shares.
    pub fn put_thread<E>(&self, thread: &Thread) -> TxResult<(), E> {
        // Only what changed is written: a rename writes the thread alone.
        let remembered = self.indexed.take().filter(|old| old.id == thread.id);
        let old = match remembered {
            Some(old) => Some(old),
            None => self.thread::<E>(thread.id)?.map(|old| Indexed::of(&old)),
        };
        let new = Indexed::of(thread);
        let before = old.as_ref().map_or(&[][..], |old| &old.members[..]);
        for user in before.iter().filter(|user| !new.members.contains(user)) {
            self.remove(Tree::MemberThreads, &codec::pair_key(user, &thread.id));
        }
        for user in new.members.iter().filter(|user| !before.contains(user)) {
            self.insert(
                Tree::MemberThreads,
                &codec::pair_key(user, &thread.id),
                &[][..],
            );
        }
        if old.as_ref().is_none_or(|old| old.org_id != new.org_id) {
            self.insert(
                Tree::OrgThreads,
                &codec::pair_key(&thread.org_id, &thread.id),
                &[][..],
            );
        }
        if old.as_ref().is_some_and(|old| old.expiring) != new.expiring {
            if new.expiring {
                self.insert(Tree::Expiring, thread.id.as_bytes(), &[][..]);
            } else {
                self.remove(Tree::Expiring, thread.id.as_bytes());
            }
        }
        self.insert(Tree::Threads, thread.id.as_bytes(), codec::encode(thread));
        *self.indexed.borrow_mut() = Some(new);
        self.touch(thread.id);
        Ok(())
    }

    /// Appends a message at the end of `thread`; the caller writes the thread afterwards.
    pub fn append_message<E>(&self, thread: &mut Thread, message: &Message) -> TxResult<(), E> {
        let key = message_key(thread.id, thread.message_count);
        thread.message_count += 1;
        self.insert(Tree::Messages, &key, codec::encode(message));
        self.insert(Tree::MessageKeys, message.id.as_bytes(), &key[..]);
        self.touch(thread.id);
        Ok(())
    }

    /// A message of `thread_id` by id; `None` if it does not exist or belongs to another thread.
    pub fn message<E>(&self, thread_id: Uuid, message_id: Uuid) -> TxResult<Option<Message>, E> {
        let Some(key) = self.get(Tree::MessageKeys, message_id.as_bytes())? else {
            return Ok(None);
        };
        if key[..16] != thread_id.as_bytes()[..] {
            return Ok(None);
        }
        match self.get(Tree::Messages, &key)? {
            Some(raw) => Ok(Some(codec::decode(&raw)?)),
            None => Ok(None),
        }
    }

    /// Whether any thread has a message with this id.
    pub fn message_exists<E>(&self, message_id: Uuid) -> TxResult<bool, E> {
        Ok(self
            .get(Tree::MessageKeys, message_id.as_bytes())?
            .is_some())
    }

    /// The message at `position` (0 = first) of a thread.
    pub fn message_at<E>(&self, thread_id: Uuid, position: u32) -> TxResult<Option<Message>, E> {
        match self.get(Tree::Messages, &message_key(thread_id, position))? {
            Some(raw) => Ok(Some(codec::decode(&raw)?)),
            None => Ok(None),
        }
    }

    /// Overwrites an existing message in place.
    pub fn replace_message<E>(&self, message: &Message) -> TxResult<(), E> {
        if let Some(key) = self.get(Tree::MessageKeys, message.id.as_bytes())? {
            self.insert(Tree::Messages, &key, codec::encode(message));
            self.touch(message.thread_id);
        }
        Ok(())
    }

    /// Records that the analyst owes `message` an answer, so a stop before it is written can
    /// be found at the next start.
    pub fn analysis_pending<E>(&self, message: &Message) -> TxResult<(), E> {
        self.insert(
            Tree::Pending,
            message.id.as_bytes(),
            message.thread_id.as_bytes(),
        );
        Ok(())
    }

    /// The analyst's outcome for `message_id` is written (an answer, a failure, an interruption).
    pub fn analysis_done<E>(&self, message_id: Uuid) -> TxResult<(), E> {
        self.remove(Tree::Pending, message_id.as_bytes());
        Ok(())
    }

    fn touch(&self, thread_id: Uuid) {
        let mut touched = self.touched.borrow_mut();
        if !touched.contains(&thread_id) {
            touched.push(thread_id);
        }
    }
}

impl SledStore {
    /// Messages the analyst owes an answer: (thread id, message id).
    pub fn pending_analyses(&self) -> Result<Vec<(Uuid, Uuid)>, Error> {
        let t = self.trees()?;
        let mut pending = Vec::new();
        for entry in t.pending_analyses.iter() {
            let (message, thread) = entry?;
            let id = |raw: &[u8]| {
                Uuid::from_slice(raw).map_err(|e| sled::Error::Unsupported(e.to_string()))
            };
            pending.push((id(&thread)?, id(&message)?));
        }
        Ok(pending)
    }

    /// Threads that have a TTL (deleted ones excluded).
    pub fn expiring_threads(&self) -> Result<Vec<Uuid>, Error> {
        let t = self.trees()?;
        uuid_keys(&t.expiring)
    }

    /// Threads changed after sequence `seq`: (sequence, thread id), oldest first.
    pub fn changes_since(&self, seq: u64) -> Result<(Vec<(u64, Uuid)>, u64), Error> {
        // Read first: a group applies its change-log entries before its number (`wal::apply`),
        // so every change up to this number is in the log by the time it is scanned.
        let horizon = self.last_seq()?;
        let t = self.trees()?;
        let start = (seq + 1).to_be_bytes();
        let mut changes = Vec::new();
        for entry in t.changes.range(start..) {
            let (key, value) = entry?;
            let (seq, threads) = change_entry(&key, &value)?;
            changes.extend(threads.map(|thread| (seq, thread)));
        }
        Ok((changes, horizon))
    }

    pub fn changes_after(&self, seq: u64) -> Result<u64, Error> {
        let t = self.trees()?;
        let mut count = 0;
        for entry in t.changes.range((seq + 1).to_be_bytes()..) {
            let (key, value) = entry?;
            count += change_entry(&key, &value)?.1.len() as u64;
        }
        Ok(count)
    }

    /// Forgets changes up to and including `seq` (the indexes have them), and remembers that
    /// they are gone: an index covering less must be rebuilt, not caught up.
    pub fn prune_changes(&self, seq: u64) -> Result<(), Error> {
        let t = self.trees()?;
        let end = (seq + 1).to_be_bytes();
        // One removal at a time, not in sled batches: sled writes its log buffer out and syncs
        // it before and after a batch's writes, two device round trips beside the thread
        // log's on every indexer pass; and one batch of 100k removals (after a rebuild) peaked
        // at ~160 MB of heap, as sled keeps every page version a batch replaces until it ends.
        // Nothing needs the removals to be atomic: leftovers are below `seq` and skipped.
        for key in t.changes.range(..end).keys() {
            t.changes.remove(key?)?;
        }
        if seq > self.changes_pruned_to()? {
            t.meta.insert(super::KEY_PRUNED, &seq.to_be_bytes())?;
        }
        Ok(())
    }

    /// The sequence up to which the change log was pruned (0 if never).
    pub fn changes_pruned_to(&self) -> Result<u64, Error> {
        let t = self.trees()?;
        Ok(t.meta
            .get(super::KEY_PRUNED)?
            .map(|raw| codec::decode_u64(&raw))
            .unwrap_or(0))
    }

    /// Whether any message was ever stored.
    pub fn has_messages(&self) -> Result<bool, Error> {
        let t = self.trees()?;
        Ok(!t.messages.is_empty())
    }

    /// Every thread id, deleted threads included.
    pub fn thread_ids(&self) -> Result<Vec<Uuid>, Error> {
        let t = self.trees()?;
        uuid_keys(&t.threads)
    }

    /// A message by id, wherever it is.
    pub fn message_by_id(&self, message_id: Uuid) -> Result<Option<Message>, Error> {
        let t = self.trees()?;
        let Some(key) = t.message_keys.get(message_id.as_bytes())? else {
            return Ok(None);
        };
        match t.messages.get(key)? {
            Some(raw) => Ok(Some(codec::decode(&raw)?)),
            None => Ok(None),
        }
    }

    pub fn thread(&self, id: Uuid) -> Result<Option<Thread>, Error> {
        let t = self.trees()?;
        get(&t.threads, id.as_bytes())
    }

    /// All messages of a thread, oldest first: from the cache of decoded messages if they
    /// are there, else read, decoded and (if `keep`) kept there.
    pub fn messages(&self, thread_id: Uuid, keep: bool) -> Result<Arc<[Message]>, Error> {
        let t = self.trees()?;
        let generation = match t.message_cache.get(thread_id) {
            Lookup::Hit(messages) => return Ok(messages),
            Lookup::Miss(generation) => generation,
        };
        let mut record_bytes = 0;
        let messages = t
            .messages
            .scan_prefix(thread_id.as_bytes())
            .values()
            .map(|raw| {
                let raw = raw?;
                record_bytes += raw.len();
                Ok(codec::decode(&raw)?)
            })
            .collect::<Result<Arc<[Message]>, Error>>()?;
        if keep {
            t.message_cache
                .keep(thread_id, generation, &messages, record_bytes);
        }
        Ok(messages)
    }

    pub fn latest_message(&self, thread_id: Uuid) -> Result<Option<Message>, Error> {
        let t = self.trees()?;
        match t.messages.scan_prefix(thread_id.as_bytes()).next_back() {
            Some(entry) => Ok(Some(codec::decode(&entry?.1)?)),
            None => Ok(None),
        }
    }

    /// Every thread ever created in an org, deleted ones included.
    pub fn threads_in_org(&self, org_id: Uuid) -> Result<Vec<Thread>, Error> {
        let t = self.trees()?;
        self.threads_by_index(&t.org_threads, org_id)
    }

    /// Threads a user owns or has been shared, deleted ones included.
    pub fn threads_of_member(&self, user_id: Uuid) -> Result<Vec<Thread>, Error> {
        let t = self.trees()?;
        self.threads_by_index(&t.member_threads, user_id)
    }

    fn threads_by_index(&self, index: &sled::Tree, prefix: Uuid) -> Result<Vec<Thread>, Error> {
        let t = self.trees()?;
        let mut threads = Vec::new();
        for key in index.scan_prefix(prefix.as_bytes()).keys() {
            let key = key?;
            if let Some(raw) = t.threads.get(&key[16..])? {
                threads.push(codec::decode(&raw)?);
            }
        }
        Ok(threads)
    }
}

/// A message's key: its thread's id, then its position in the thread.
fn message_key(thread_id: Uuid, position: u32) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..16].copy_from_slice(thread_id.as_bytes());
    key[16..].copy_from_slice(&position.to_be_bytes());
    key
}

/// The thread a message's key (see [`message_key`]) belongs to.
pub(super) fn thread_of_message_key(key: &[u8]) -> Option<Uuid> {
    Uuid::from_slice(key.get(..16)?).ok()
}

/// The keys of a tree keyed by id.
fn uuid_keys(tree: &sled::Tree) -> Result<Vec<Uuid>, Error> {
    tree.iter()
        .keys()
        .map(|key| {
            Uuid::from_slice(&key?)
                .map_err(|e| Error::Sled(sled::Error::Unsupported(e.to_string())))
        })
        .collect()
}

/// One entry of the change log: its sequence and the threads its group touched. Format 9
/// writes one entry per group, `seq` → the thread ids one after another; format 8 wrote one
/// per thread, `seq ++ thread id` → empty, which a log not yet pruned may still hold.
fn change_entry<'a>(
    key: &'a [u8],
    value: &'a [u8],
) -> Result<(u64, impl ExactSizeIterator<Item = Uuid> + 'a), Error> {
    let corrupt = || Error::Corrupt(format!("a change log entry of {} bytes", key.len()));
    let (seq, ids): (_, &[u8]) = match key.len() {
        8 => (codec::decode_u64(key), value),
        24 => (codec::decode_u64(&key[..8]), &key[8..]),
        _ => return Err(corrupt()),
    };
    if ids.len() % 16 != 0 {
        return Err(corrupt());
    }
    let threads = ids
        .chunks_exact(16)
        .map(|id| Uuid::from_bytes(id.try_into().expect("chunks of 16")));
    Ok((seq, threads))
}

#[cfg(test)]
mod tests;
