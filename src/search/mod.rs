//! Hybrid search over messages: BM25 (tantivy) fused with a vector leg.
//!
//! - `doc`: what is indexed per message, and the access scope of a query.
//! - `text`: the tantivy index, with access terms so filtering happens inside the query.
//! - `embed`: the [`Embedder`] interface and the built-in hashed n-gram embedder.
//! - `vectors`: quantized vectors in memory and the dot-product scan.
//! - `fusion`: merging the two ranked lists.
//! - `eval`: nDCG@10 and recall@10 on the Cranfield collection.
//!
//! sled stays the source of truth. Every thread write logs `seq → thread`; the indexer re-indexes
//! the threads changed since the sequence stored in the last tantivy commit, so a crash between
//! a write and a commit only delays indexing. Vectors are kept in sled too, and loaded into memory
//! on start. `reindex` rebuilds everything from the threads.

pub mod corpus;
pub mod doc;
pub mod embed;
pub mod eval;
pub mod fusion;
pub mod text;
pub mod vectors;

pub use doc::{IndexDoc, Scope};
pub use embed::{Embedder, HashedNgrams};
pub use fusion::Fusion;

use crate::model::User;
use crate::store::{self, Store, StoredVector};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use text::TextIndex;
use uuid::Uuid;
use vectors::VectorIndex;

/// Results of a search, best first.
pub const MAX_RESULTS: usize = 10;
/// Extra fused hits beyond [`MAX_RESULTS`], so that results dropped by the final access check
/// (a change the indexer has not processed yet) still leave a full page.
pub const RESULT_MARGIN: usize = 10;
/// Candidates taken from each leg before fusion.
pub const CANDIDATES: usize = 100;
/// Dimension of the built-in embedder.
pub const DEFAULT_DIM: usize = 256;
/// The fusion chosen by measurement on the odd Cranfield queries (see `skein eval`).
pub const DEFAULT_FUSION: Fusion = Fusion::Rrf {
    k: 20.0,
    vector_weight: 0.4,
};
/// Pseudo-relevance feedback of the vector leg in hybrid queries: the query vector moves toward
/// the mean vector of the best text hits (Rocchio), chosen with the fusion on the odd queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feedback {
    /// How many of the best text hits.
    pub docs: usize,
    /// Weight of their mean against the query's own vector.
    pub weight: f32,
}

pub const DEFAULT_FEEDBACK: Option<Feedback> = Some(Feedback {
    docs: 3,
    weight: 2.0,
});

/// Threads re-indexed per commit while catching up.
const BATCH_THREADS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search prompt has no words to search for")]
    EmptyQuery,
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Embed(#[from] embed::EmbedError),
}

/// Which legs a query uses (benchmarks and `skein eval` compare them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legs {
    Text,
    Vector,
    Hybrid,
}

pub struct Search {
    store: Store,
    text: TextIndex,
    vectors: RwLock<VectorIndex>,
    embedder: Arc<dyn Embedder>,
    fusion: Fusion,
    feedback: Option<Feedback>,
    /// One indexing pass at a time.
    indexing: tokio::sync::Mutex<()>,
}

impl Search {
    /// Opens the index under `data_dir/search` (in memory if `None`) and loads stored vectors.
    pub fn open(
        store: Store,
        data_dir: Option<&Path>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Search, SearchError> {
        let dir = data_dir.map(|d| d.join("search").join("text"));
        let text = TextIndex::open(dir.as_deref(), 64 * 1024 * 1024)?;
        let search = Search {
            vectors: RwLock::new(VectorIndex::new(embedder.dim())),
            store,
            text,
            embedder,
            fusion: DEFAULT_FUSION,
            feedback: DEFAULT_FEEDBACK,
            indexing: tokio::sync::Mutex::new(()),
        };
        search.load_vectors()?;
        Ok(search)
    }

    pub fn with_fusion(mut self, fusion: Fusion) -> Search {
        self.fusion = fusion;
        self
    }

    /// Loads the stored vectors of the current model into memory.
    fn load_vectors(&self) -> Result<(), SearchError> {
        let mut index = self.vectors.write().unwrap();
        *index = VectorIndex::new(self.embedder.dim());
        let mut threads = std::collections::HashMap::new();
        for entry in self.store.vectors() {
            let (message_id, stored) = entry?;
            if stored.model != self.embedder.model() || stored.codes.len() != index.dim() {
                continue;
            }
            let ordinal = match threads.get(&stored.thread_id) {
                Some(ordinal) => *ordinal,
                None => {
                    let Some(thread) = self.store.thread(stored.thread_id)? else {
                        continue;
                    };
                    if thread.deleted_at.is_some() {
                        continue;
                    }
                    let ordinal =
                        index.set_thread(thread.id, thread.org_id, thread.members().collect());
                    threads.insert(thread.id, ordinal);
                    ordinal
                }
            };
            index.insert(message_id, ordinal, &stored.codes, stored.scale);
        }
        Ok(())
    }

    /// The store sequence the index covers.
    pub fn indexed_seq(&self) -> u64 {
        self.text
            .committed_payload()
            .and_then(|payload| payload.parse().ok())
            .unwrap_or(0)
    }

    pub fn num_docs(&self) -> u64 {
        self.text.num_docs()
    }

    /// Indexes every thread changed since the last commit; returns how many threads it indexed.
    pub async fn catch_up(&self) -> Result<usize, SearchError> {
        let _guard = self.indexing.lock().await;
        let changes = self.store.changes_since(self.indexed_seq())?;
        let Some(&(last, _)) = changes.last() else {
            return Ok(0);
        };
        let mut seen = HashSet::new();
        let threads: Vec<Uuid> = changes
            .into_iter()
            .filter_map(|(_, thread)| seen.insert(thread).then_some(thread))
            .collect();
        let count = threads.len();
        for (n, batch) in threads.chunks(BATCH_THREADS).enumerate() {
            self.index_threads(batch).await?;
            // Intermediate commits keep the last sequence: a crash redoes only unfinished work.
            let done = n * BATCH_THREADS + batch.len() == count;
            let covered = if done { last } else { self.indexed_seq() };
            self.text.commit(&covered.to_string())?;
        }
        self.store.prune_changes(last)?;
        Ok(count)
    }

    /// Rebuilds both legs from the threads in sled; returns how many messages it indexed.
    pub async fn reindex(&self) -> Result<u64, SearchError> {
        let _guard = self.indexing.lock().await;
        let covered = self.store.last_seq()?;
        self.text.delete_all()?;
        self.store.clear_vectors()?;
        *self.vectors.write().unwrap() = VectorIndex::new(self.embedder.dim());
        let threads = self.store.thread_ids()?;
        for batch in threads.chunks(BATCH_THREADS) {
            self.index_threads(batch).await?;
        }
        self.text.commit(&covered.to_string())?;
        self.text.settle()?;
        self.store.prune_changes(covered)?;
        Ok(self.text.num_docs())
    }

    /// Replaces the indexed documents of these threads with their current messages.
    async fn index_threads(&self, threads: &[Uuid]) -> Result<(), SearchError> {
        let mut docs = Vec::new();
        let mut removed = Vec::new();
        let mut access = Vec::new();
        for &thread_id in threads {
            self.text.delete_thread(thread_id);
            self.vectors.write().unwrap().remove_thread(thread_id);
            let Some(thread) = self.store.thread(thread_id)? else {
                continue;
            };
            let messages = self.store.messages(thread_id)?;
            if thread.deleted_at.is_some() {
                removed.extend(messages.iter().map(|m| m.id));
                continue;
            }
            access.push((thread.id, thread.org_id, thread.members().collect()));
            docs.extend(doc::thread_docs(&thread, &messages));
        }
        tracing::debug!(
            threads = threads.len(),
            docs = docs.len(),
            "indexing threads"
        );
        for doc in &docs {
            self.text.add(doc)?;
        }
        let vectors = self.vectors_for(&docs).await?;
        self.store.update_vectors(&vectors, &removed)?;
        let mut index = self.vectors.write().unwrap();
        let mut ordinals = BTreeMap::new();
        for (thread, org, members) in access {
            ordinals.insert(thread, index.set_thread(thread, org, members));
        }
        for (message_id, stored) in &vectors {
            index.insert(
                *message_id,
                ordinals[&stored.thread_id],
                &stored.codes,
                stored.scale,
            );
        }
        Ok(())
    }

    /// Vectors for these documents, embedding only texts that changed since they were stored.
    async fn vectors_for(
        &self,
        docs: &[IndexDoc],
    ) -> Result<Vec<(Uuid, StoredVector)>, SearchError> {
        let model = self.embedder.model().to_string();
        let mut out = Vec::with_capacity(docs.len());
        let mut todo = Vec::new();
        for doc in docs {
            let hash = text_hash(&doc.text);
            match self.store.vector(doc.message_id)? {
                Some(stored) if stored.model == model && stored.text_hash == hash => {
                    out.push((
                        doc.message_id,
                        StoredVector {
                            thread_id: doc.thread_id,
                            ..stored
                        },
                    ));
                }
                _ => todo.push(doc),
            }
        }
        for chunk in todo.chunks(256) {
            let texts: Vec<String> = chunk.iter().map(|d| d.text.clone()).collect();
            let embedded = self.embedder.embed(&texts).await?;
            for (doc, vector) in chunk.iter().zip(embedded) {
                let (codes, scale) = vectors::quantize(&vector);
                out.push((
                    doc.message_id,
                    StoredVector {
                        thread_id: doc.thread_id,
                        model: model.clone(),
                        text_hash: text_hash(&doc.text),
                        scale,
                        codes,
                    },
                ));
            }
        }
        Ok(out)
    }

    /// The best messages for `prompt` that `user` may see, best first: [`MAX_RESULTS`] plus a
    /// [`RESULT_MARGIN`] for the caller's final check against the store.
    pub async fn query(&self, user: &User, prompt: &str) -> Result<Vec<(Uuid, f32)>, SearchError> {
        let scope = if user.admin {
            Scope::Org(user.org_id)
        } else {
            Scope::Member {
                org: user.org_id,
                user: user.id,
            }
        };
        self.query_scoped(prompt, scope, Legs::Hybrid, MAX_RESULTS + RESULT_MARGIN)
            .await
    }

    /// A query with an explicit scope, legs and result count.
    pub async fn query_scoped(
        &self,
        prompt: &str,
        scope: Scope,
        legs: Legs,
        limit: usize,
    ) -> Result<Vec<(Uuid, f32)>, SearchError> {
        let (text_hits, vector_hits) = self.candidates(prompt, scope, legs, self.feedback).await?;
        Ok(match legs {
            Legs::Text => truncate(text_hits, limit),
            Legs::Vector => truncate(vector_hits, limit),
            Legs::Hybrid => fusion::fuse(&text_hits, &vector_hits, self.fusion, limit),
        })
    }

    /// Each leg's best [`CANDIDATES`] for a prompt; in hybrid queries the vector leg takes
    /// `feedback` from the text leg's best hits.
    pub async fn candidates(
        &self,
        prompt: &str,
        scope: Scope,
        legs: Legs,
        feedback: Option<Feedback>,
    ) -> Result<(Vec<(Uuid, f32)>, Vec<(Uuid, f32)>), SearchError> {
        let terms = self.text.terms(prompt);
        let has_words = prompt.chars().any(char::is_alphanumeric);
        if terms.is_empty() && !has_words {
            return Err(SearchError::EmptyQuery);
        }
        let text_hits = if legs != Legs::Vector && !terms.is_empty() {
            self.text.search(&terms, scope, CANDIDATES)?
        } else {
            Vec::new()
        };
        let vector_hits = if legs != Legs::Text {
            let mut query = self.embedder.embed(&[prompt.to_string()]).await?.remove(0);
            let index = self.vectors.read().unwrap();
            if let (Legs::Hybrid, Some(feedback)) = (legs, feedback) {
                let best: Vec<Vec<f32>> = text_hits
                    .iter()
                    .take(feedback.docs)
                    .filter_map(|(id, _)| index.vector_of(*id))
                    .collect();
                if !best.is_empty() {
                    let share = feedback.weight / best.len() as f32;
                    for vector in &best {
                        for (q, v) in query.iter_mut().zip(vector) {
                            *q += share * v;
                        }
                    }
                    embed::normalize(&mut query);
                }
            }
            index.search(&query, scope, CANDIDATES)
        } else {
            Vec::new()
        };
        Ok((text_hits, vector_hits))
    }

    /// Keeps the index current: wakes on every thread write and catches up.
    pub async fn run_indexer(self: Arc<Self>) {
        loop {
            let started = std::time::Instant::now();
            match self.catch_up().await {
                Ok(0) => {}
                Ok(threads) => tracing::info!(
                    threads,
                    seconds = started.elapsed().as_secs_f64(),
                    "search index caught up"
                ),
                Err(err) => {
                    tracing::error!(error = %err, "search indexing failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            self.store.changed().await;
            // Let a burst of writes land in one commit.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn truncate(mut hits: Vec<(Uuid, f32)>, limit: usize) -> Vec<(Uuid, f32)> {
    hits.truncate(limit);
    hits
}

/// FNV-1a of the text (stable across builds, like the stored vectors).
fn text_hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
