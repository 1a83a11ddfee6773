//! Large message corpora for benchmarks, made from a test collection's texts: each message mixes
//! sentences of several documents, so a corpus of 100k messages is varied rather than 70 copies.

use super::eval::Collection;
use crate::model::{Message, Thread, TitleSource};
use crate::store::{self, Store};
use chrono::Utc;
use uuid::Uuid;

/// xorshift64*: deterministic across platforms, so corpora are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `count` (title, text) pairs: a document's title and first sentences, plus sentences of two others.
pub fn messages(collection: &Collection, count: usize, seed: u64) -> Vec<(String, String)> {
    let sentences: Vec<Vec<&str>> = collection
        .docs
        .iter()
        .map(|(_, _, text)| text.split(" . ").filter(|s| !s.trim().is_empty()).collect())
        .collect();
    let mut rng = Rng::new(seed);
    let n = collection.docs.len();
    (0..count)
        .map(|i| {
            let main = i % n;
            let mut text: Vec<&str> = sentences[main]
                .iter()
                .take(2 + rng.below(3))
                .copied()
                .collect();
            for _ in 0..2 {
                let other = &sentences[rng.below(n)];
                if !other.is_empty() {
                    text.push(other[rng.below(other.len())]);
                }
            }
            (collection.docs[main].1.clone(), text.join(" . "))
        })
        .collect()
}

/// Stores each (title, text) as a thread of `org` owned by `owner` with one message, a thousand
/// per transaction; returns the message ids in order.
pub async fn store_messages(
    store: &Store,
    messages: &[(String, String)],
    org: Uuid,
    owner: Uuid,
) -> Result<Vec<Uuid>, store::Error> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(1000) {
        let batch: Vec<(Thread, Message)> = chunk
            .iter()
            .map(|(title, text)| {
                let thread_id = Uuid::new_v4();
                let message = Message::new(thread_id, owner, text.clone(), now);
                let thread =
                    Thread::new(thread_id, org, owner, title.clone(), TitleSource::User, now);
                (thread, message)
            })
            .collect();
        ids.extend(batch.iter().map(|(_, m)| m.id));
        store
            .write_threads(|tx| {
                for (thread, message) in &batch {
                    let mut thread = thread.clone();
                    tx.append_message::<store::Error>(&mut thread, message)?;
                    tx.put_thread(&thread)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(ids)
}
