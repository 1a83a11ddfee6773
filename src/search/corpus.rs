//! Test collections (the Cranfield files), and large message corpora for benchmarks made from
//! their texts: each message mixes sentences of several documents, so a corpus of 100k
//! messages is varied rather than 70 copies.

use crate::model::{Message, Thread, TitleSource};
use crate::store::{self, Store};
use chrono::Utc;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
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
            .write_threads(move |tx| {
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

#[derive(Deserialize)]
struct DocLine {
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct QueryLine {
    id: String,
    text: String,
}

pub struct Collection {
    pub docs: Vec<(String, String, String)>,
    pub queries: Vec<(String, String)>,
    /// Query id → document id → graded relevance (> 0 only).
    pub qrels: HashMap<String, HashMap<String, f64>>,
}

pub fn load(dir: &Path) -> Result<Collection, String> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let docs = read("docs.jsonl")?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| serde_json::from_str::<DocLine>(line).map(|d| (d.id, d.title, d.text)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("docs.jsonl: {e}"))?;
    let queries = read("queries.jsonl")?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| serde_json::from_str::<QueryLine>(line).map(|q| (q.id, q.text)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("queries.jsonl: {e}"))?;
    let mut qrels: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for line in read("qrels.tsv")?.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if let [query, doc, relevance] = fields[..] {
            let relevance: f64 = relevance
                .trim()
                .parse()
                .map_err(|_| format!("qrels.tsv: bad line {line:?}"))?;
            if relevance > 0.0 {
                qrels
                    .entry(query.to_string())
                    .or_default()
                    .insert(doc.to_string(), relevance);
            }
        }
    }
    Ok(Collection {
        docs,
        queries,
        qrels,
    })
}
