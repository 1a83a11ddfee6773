//! The decoded messages of recently read threads, so that answering a write (which renders
//! the thread's state) does not read and decode every message of the thread again.
//!
//! It never serves a thread older than the store: the thread log's `apply` drops a thread's
//! entry once a group that wrote its messages is applied, before any of the group's writers
//! is answered. A read that raced such a group must not put back what it read before the
//! group landed, so every drop moves a generation, and a read keeps what it read only if the
//! generation has not moved since it looked. Belongs to one open database: a reopened one
//! starts empty.

use crate::model::Message;
use lru::LruCache;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What one cached message is counted as, beside its record's bytes: the struct itself and
/// the allocations its fields hold.
const MESSAGE_OVERHEAD: usize = std::mem::size_of::<Message>() + 128;

pub(super) struct MessageCache {
    inner: Mutex<Inner>,
    /// The most the entries may weigh: their records' bytes, plus [`MESSAGE_OVERHEAD`] for each
    /// message.
    budget: usize,
}

struct Inner {
    /// Moves on every drop (see the module's comment).
    generation: u64,
    threads: LruCache<Uuid, Entry>,
    /// The weight of every entry.
    weight: usize,
}

struct Entry {
    messages: Arc<[Message]>,
    weight: usize,
}

/// What a lookup found: the thread's messages, or the generation the caller quotes to
/// [`MessageCache::keep`] what it reads from the store instead.
pub(super) enum Lookup {
    Hit(Arc<[Message]>),
    Miss(u64),
}

impl MessageCache {
    pub(super) fn new(budget: usize) -> MessageCache {
        MessageCache {
            inner: Mutex::new(Inner {
                generation: 0,
                threads: LruCache::unbounded(),
                weight: 0,
            }),
            budget,
        }
    }

    pub(super) fn get(&self, thread_id: Uuid) -> Lookup {
        let mut inner = self.inner.lock().unwrap();
        match inner.threads.get(&thread_id) {
            Some(entry) => Lookup::Hit(entry.messages.clone()),
            None => Lookup::Miss(inner.generation),
        }
    }

    /// Keeps a thread's messages read from the store after a [`Lookup::Miss`] of `generation`,
    /// unless a write has landed since, evicting the least recently used threads to stay
    /// within the budget. `record_bytes` is the size of their records.
    pub(super) fn keep(
        &self,
        thread_id: Uuid,
        generation: u64,
        messages: &Arc<[Message]>,
        record_bytes: usize,
    ) {
        let weight = record_bytes + messages.len() * MESSAGE_OVERHEAD;
        if weight > self.budget {
            return;
        }
        let mut inner = self.inner.lock().unwrap();
        if inner.generation != generation {
            return;
        }
        let entry = Entry {
            messages: messages.clone(),
            weight,
        };
        inner.weight += weight;
        if let Some(old) = inner.threads.put(thread_id, entry) {
            inner.weight -= old.weight;
        }
        while inner.weight > self.budget {
            let Some((_, evicted)) = inner.threads.pop_lru() else {
                break;
            };
            inner.weight -= evicted.weight;
        }
    }

    /// Forgets these threads' messages: a write to them has been applied.
    pub(super) fn forget(&self, threads: impl IntoIterator<Item = Uuid>) {
        let mut inner = self.inner.lock().unwrap();
        inner.generation += 1;
        for thread_id in threads {
            if let Some(old) = inner.threads.pop(&thread_id) {
                inner.weight -= old.weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SledStore;
    use super::{Lookup, MessageCache, MESSAGE_OVERHEAD};
    use crate::model::{Message, Thread, TitleSource};
    use crate::store::{Error, TxResult};
    use std::sync::Arc;
    use uuid::Uuid;

    fn messages(thread_id: Uuid, count: usize) -> Arc<[Message]> {
        (0..count)
            .map(|_| Message::new(thread_id, Uuid::new_v4(), "q".into(), chrono::Utc::now()))
            .collect()
    }

    fn miss(cache: &MessageCache, thread_id: Uuid) -> u64 {
        match cache.get(thread_id) {
            Lookup::Hit(_) => panic!("expected a miss"),
            Lookup::Miss(generation) => generation,
        }
    }

    /// A read that began before a write to any thread landed keeps nothing: it may hold what
    /// the write replaced.
    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = MessageCache::new(1 << 20);
        let (thread, other) = (Uuid::new_v4(), Uuid::new_v4());
        let before = miss(&cache, thread);
        cache.forget([other]);
        cache.keep(thread, before, &messages(thread, 2), 100);
        assert!(matches!(cache.get(thread), Lookup::Miss(_)));

        let now = miss(&cache, thread);
        let read = messages(thread, 2);
        cache.keep(thread, now, &read, 100);
        match cache.get(thread) {
            Lookup::Hit(kept) => assert!(Arc::ptr_eq(&kept, &read)),
            Lookup::Miss(_) => panic!("a read after the write is kept"),
        }
        cache.forget([thread]);
        assert!(matches!(cache.get(thread), Lookup::Miss(_)));
    }

    /// Through the store: a thread read (and so cached) and then written is read back as
    /// written, whether a message was appended or replaced; a bulk read keeps nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thread_written_after_it_was_read_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let at = chrono::Utc::now();
        let thread = Thread::new(
            Uuid::new_v4(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            "t".into(),
            TitleSource::User,
            at,
        );
        let id = thread.id;
        let append = |prompt: &'static str| {
            let (store, thread_id) = (store.clone(), id);
            async move {
                store
                    .write_threads(move |tx| -> TxResult<Message, Error> {
                        let mut thread = tx.thread(thread_id)?.unwrap();
                        let message = Message::new(thread_id, thread.created_by, prompt.into(), at);
                        tx.append_message(&mut thread, &message)?;
                        tx.put_thread(&thread)?;
                        Ok(message)
                    })
                    .await
                    .unwrap()
            }
        };
        let prompts = |store: &SledStore| -> Vec<String> {
            let messages = store.messages(id, true).unwrap();
            messages.iter().map(|m| m.message.clone()).collect()
        };
        store
            .write_threads(move |tx| -> TxResult<(), Error> { tx.put_thread(&thread) })
            .await
            .unwrap();
        let first = append("first").await;
        let in_bulk = || store.messages(id, false).unwrap();
        assert!(
            !Arc::ptr_eq(&in_bulk(), &in_bulk()),
            "a bulk read keeps nothing"
        );
        assert_eq!(prompts(&store), ["first"]);
        assert!(
            Arc::ptr_eq(&in_bulk(), &in_bulk()),
            "but takes what is kept"
        );

        append("second").await;
        assert_eq!(prompts(&store), ["first", "second"]);

        let mut edited = first.clone();
        edited.message = "first, edited".into();
        store
            .write_threads(move |tx| -> TxResult<(), Error> { tx.replace_message(&edited) })
            .await
            .unwrap();
        assert_eq!(prompts(&store), ["first, edited", "second"]);
    }

    /// Entries stay within the budget, the least recently read going first, and a thread too
    /// large for it is not kept at all.
    #[test]
    fn the_least_recently_read_threads_go_first_within_the_budget() {
        let cache = MessageCache::new(2 * (100 + MESSAGE_OVERHEAD));
        let threads: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        for &thread in &threads[..2] {
            let generation = miss(&cache, thread);
            cache.keep(thread, generation, &messages(thread, 1), 100);
        }
        assert!(matches!(cache.get(threads[0]), Lookup::Hit(_)));
        let generation = miss(&cache, threads[2]);
        cache.keep(threads[2], generation, &messages(threads[2], 1), 100);
        assert!(matches!(cache.get(threads[0]), Lookup::Hit(_)));
        assert!(matches!(cache.get(threads[1]), Lookup::Miss(_)));
        assert!(matches!(cache.get(threads[2]), Lookup::Hit(_)));

        let big = Uuid::new_v4();
        let generation = miss(&cache, big);
        cache.keep(big, generation, &messages(big, 3), 100);
        assert!(matches!(cache.get(big), Lookup::Miss(_)));
        assert!(matches!(cache.get(threads[0]), Lookup::Hit(_)));
    }
}
