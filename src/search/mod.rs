//! Hybrid search over messages: BM25 (tantivy) fused with a vector leg.
//!
//! - `doc`: what is indexed per message, and the access scope of a query.
//! - `text`: the tantivy index, with access terms so filtering happens inside the query.
//! - `embed`: the [`Embedder`] interface and the built-in hashed n-gram embedder (a remote one is
//!   in `llm::embeddings`).
//! - `vectors`: quantized vectors in memory and the dot-product scan.
//! - `legs`: which model's vectors serve queries, and the one being built after a model change.
//! - `fusion`: merging the two ranked lists.
//! - `eval`: nDCG@10 and recall@10 on the Cranfield collection.
//!
//! sled stays the source of truth. Every thread write logs `seq → thread`; the indexer re-indexes
//! the threads changed since the sequence stored in the last tantivy commit, so a crash between
//! a write and a commit only delays indexing. Vectors are kept in sled too, per model, and loaded
//! into memory on start. When the configured model lacks vectors for some messages (a new model,
//! a provider that was down), [`Search::run_vector_filler`] embeds them in the background while
//! the text leg and any complete older vectors keep serving. `reindex` rebuilds everything.

pub mod corpus;
pub mod doc;
pub mod embed;
pub mod eval;
pub mod fusion;
pub mod legs;
pub mod text;
pub mod vectors;

pub use doc::{IndexDoc, Scope};
pub use embed::{Embedder, HashedNgrams};
pub use fusion::Fusion;

use crate::model::User;
use crate::store::{self, Store, StoredVector, VectorModel};
use legs::{VectorLeg, VectorLegs};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use text::TextIndex;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

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
/// Threads per step of filling in vectors (the indexer may run between steps).
const FILL_THREADS: usize = 100;
/// How long a search waits for its query's vector before answering from the text leg alone.
const QUERY_EMBED_TIMEOUT: Duration = Duration::from_secs(3);

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
    legs: RwLock<VectorLegs>,
    /// The configured embedding model.
    embedder: Arc<dyn Embedder>,
    fusion: Fusion,
    feedback: Option<Feedback>,
    /// One indexing pass at a time.
    indexing: tokio::sync::Mutex<()>,
    /// Woken when the configured model's vectors need filling in.
    fill: tokio::sync::Notify,
    /// Threads whose vectors of the configured (remote) model are behind their text.
    stale: std::sync::Mutex<HashSet<Uuid>>,
}

/// Which models' vectors serve and build, for `/healthz`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VectorStatus {
    /// The configured model.
    pub model: String,
    /// The model whose vectors answer queries, if any.
    pub serving: Option<String>,
    /// The configured model while its vectors are built and another model serves.
    pub building: Option<String>,
    /// Every message has a vector of the configured model, and those serve.
    pub complete: bool,
    /// Vectors serving.
    pub vectors: usize,
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
        let legs = VectorLegs::open(&store, embedder.clone())?;
        let search = Search {
            legs: RwLock::new(legs),
            store,
            text,
            embedder,
            fusion: DEFAULT_FUSION,
            feedback: DEFAULT_FEEDBACK,
            indexing: tokio::sync::Mutex::new(()),
            fill: tokio::sync::Notify::new(),
            stale: Default::default(),
        };
        if !search.configured_model_complete()? {
            search.fill.notify_one();
        }
        Ok(search)
    }

    pub fn with_fusion(mut self, fusion: Fusion) -> Search {
        self.fusion = fusion;
        self
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
    ///
    /// Vectors the provider could not make are filled in later by the vector filler.
    pub async fn reindex(&self) -> Result<u64, SearchError> {
        {
            let _guard = self.indexing.lock().await;
            let covered = self.store.last_seq()?;
            self.text.delete_all()?;
            self.store.clear_vectors()?;
            *self.legs.write().unwrap() = VectorLegs {
                serving: Some(VectorLeg::empty(self.embedder.clone())),
                building: None,
            };
            let threads = self.store.thread_ids()?;
            for batch in threads.chunks(BATCH_THREADS) {
                self.index_threads(batch).await?;
            }
            self.text.commit(&covered.to_string())?;
            self.text.settle()?;
            self.store.prune_changes(covered)?;
        }
        if let Err(err) = self.fill_vectors().await {
            tracing::warn!(error = %err, "vectors incomplete after reindexing; they will be filled in later");
            self.fill.notify_one();
        }
        Ok(self.text.num_docs())
    }

    /// Replaces the indexed documents of these threads with their current messages: the text
    /// leg at once, and the vector legs of local embedders too. A remote embedder is never
    /// waited for here (a slow provider must not hold up the text leg): its legs get the
    /// threads' new access at once, and the threads are left to the vector filler.
    async fn index_threads(&self, threads: &[Uuid]) -> Result<(), SearchError> {
        for &thread_id in threads {
            self.text.delete_thread(thread_id);
        }
        let live = self.live_docs(threads)?;
        tracing::debug!(
            threads = threads.len(),
            docs = live.docs.len(),
            "indexing threads"
        );
        for doc in &live.docs {
            self.text.add(doc)?;
        }
        self.store.remove_vectors(&live.removed)?;
        let embedders = self.legs.read().unwrap().embedders();
        for embedder in embedders {
            let model = embedder.model();
            if !embedder.is_local() {
                if let Some(leg) = self.legs.write().unwrap().leg_mut(model) {
                    leg.update_access(threads, &live.access);
                }
                self.mark_stale(model, threads)?;
                continue;
            }
            let (vectors, _) = self.vectors_for(&live.docs, embedder.as_ref()).await?;
            self.store.put_vectors(model, &vectors)?;
            if let Some(leg) = self.legs.write().unwrap().leg_mut(model) {
                leg.replace(threads, &live.access, &vectors)?;
            }
        }
        Ok(())
    }

    /// The documents of the threads that exist, who may see them, and the messages of deleted
    /// threads.
    fn live_docs(&self, threads: &[Uuid]) -> Result<LiveDocs, SearchError> {
        let mut live = LiveDocs::default();
        for &thread_id in threads {
            let Some(thread) = self.store.thread(thread_id)? else {
                continue;
            };
            let messages = self.store.messages(thread_id)?;
            if thread.deleted_at.is_some() {
                live.removed.extend(messages.iter().map(|m| m.id));
                continue;
            }
            live.access
                .push((thread.id, thread.org_id, thread.members().collect()));
            live.docs.extend(doc::thread_docs(&thread, &messages));
        }
        Ok(live)
    }

    /// Leaves `threads` to the vector filler: the configured model's vectors of them are
    /// behind. Recorded in the store too, so a restart before the filler is done still fills.
    fn mark_stale(&self, model: &str, threads: &[Uuid]) -> Result<(), SearchError> {
        if model != self.embedder.model() || threads.is_empty() {
            return Ok(());
        }
        let mut stale = self.stale.lock().unwrap();
        if stale.is_empty() {
            self.store
                .set_vector_model(model, VectorModel { complete: false })?;
        }
        stale.extend(threads);
        self.fill.notify_one();
        Ok(())
    }

    fn configured_model_complete(&self) -> Result<bool, SearchError> {
        Ok(self
            .store
            .vector_model(self.embedder.model())?
            .is_some_and(|state| state.complete))
    }

    /// Vectors of `embedder`'s model for these documents, embedding only texts that changed
    /// since they were stored; also how many it embedded.
    async fn vectors_for(
        &self,
        docs: &[IndexDoc],
        embedder: &dyn Embedder,
    ) -> Result<(Vec<(Uuid, StoredVector)>, usize), SearchError> {
        let model = embedder.model().to_string();
        let mut out = Vec::with_capacity(docs.len());
        let mut todo = Vec::new();
        for doc in docs {
            let hash = text_hash(&doc.text);
            match self.store.vector(&model, doc.message_id)? {
                Some(stored) if stored.model == model && stored.text_hash == hash => {
                    out.push((
                        doc.message_id,
                        StoredVector {
                            thread_id: doc.thread_id,
                            ..stored
                        },
                    ));
                }
                _ => todo.push((doc, hash)),
            }
        }
        let texts: Vec<String> = todo.iter().map(|(d, _)| d.text.clone()).collect();
        let embedded = embedder.embed(&texts).await?;
        for ((doc, hash), vector) in todo.iter().zip(embedded) {
            let (codes, scale) = vectors::quantize(&vector);
            out.push((
                doc.message_id,
                StoredVector {
                    thread_id: doc.thread_id,
                    model: model.clone(),
                    text_hash: *hash,
                    scale,
                    codes,
                },
            ));
        }
        Ok((out, todo.len()))
    }

    /// Embeds the configured model's vectors of `threads` and puts them in its leg; returns how
    /// many texts it embedded. The provider is called without holding the indexing lock, and
    /// what it returns is matched against the threads as they are afterwards: vectors of text
    /// that changed meanwhile are dropped (the change marked the thread stale again).
    async fn embed_threads(&self, threads: &[Uuid]) -> Result<usize, SearchError> {
        let model = self.embedder.model();
        let before = self.live_docs(threads)?;
        let (vectors, embedded) = self
            .vectors_for(&before.docs, self.embedder.as_ref())
            .await?;
        let _guard = self.indexing.lock().await;
        let now = self.live_docs(threads)?;
        let current: HashSet<(Uuid, u64)> = now
            .docs
            .iter()
            .map(|doc| (doc.message_id, text_hash(&doc.text)))
            .collect();
        let vectors: Vec<_> = vectors
            .into_iter()
            .filter(|(id, vector)| current.contains(&(*id, vector.text_hash)))
            .collect();
        self.store.put_vectors(model, &vectors)?;
        let mut legs = self.legs.write().unwrap();
        let leg = match legs.leg_mut(model) {
            Some(leg) => leg,
            None => legs
                .building
                .insert(VectorLeg::empty(self.embedder.clone())),
        };
        leg.replace(threads, &now.access, &vectors)?;
        Ok(embedded)
    }

    /// Embeds every message lacking a vector of the configured model; then that model's vectors
    /// serve and other models' are dropped. Returns how many texts it embedded. Runs in steps of
    /// [`FILL_THREADS`] threads; indexing and searching go on meanwhile.
    pub async fn fill_vectors(&self) -> Result<usize, SearchError> {
        let model = self.embedder.model().to_string();
        // This pass covers every thread, including those marked stale so far.
        self.stale.lock().unwrap().clear();
        let mut embedded = 0;
        for batch in self.store.thread_ids()?.chunks(FILL_THREADS) {
            embedded += self.embed_threads(batch).await?;
        }
        let _guard = self.indexing.lock().await;
        if self.stale.lock().unwrap().is_empty() {
            self.store
                .set_vector_model(&model, VectorModel { complete: true })?;
        }
        {
            let mut legs = self.legs.write().unwrap();
            if let Some(building) = legs.building.take() {
                legs.serving = Some(building);
            }
        }
        for (other, _) in self.store.vector_models()? {
            if other != model {
                self.store.drop_vector_model(&other)?;
            }
        }
        Ok(embedded)
    }

    /// Embeds the threads marked stale since the last pass; returns how many texts it embedded.
    async fn refresh_stale(&self) -> Result<usize, SearchError> {
        let threads: Vec<Uuid> = self.stale.lock().unwrap().iter().copied().collect();
        let mut embedded = 0;
        for batch in threads.chunks(FILL_THREADS) {
            match self.embed_threads(batch).await {
                Ok(count) => embedded += count,
                Err(err) => return Err(err),
            }
            let mut stale = self.stale.lock().unwrap();
            for thread in batch {
                stale.remove(thread);
            }
        }
        let _guard = self.indexing.lock().await;
        if self.stale.lock().unwrap().is_empty() {
            self.store
                .set_vector_model(self.embedder.model(), VectorModel { complete: true })?;
        }
        Ok(embedded)
    }

    /// Keeps the configured model's vectors complete: a full pass on start after a model change
    /// (or after a stop with work left), then the threads the indexer marks stale. Retries with
    /// backoff while the provider fails; search uses the text leg and older vectors meanwhile.
    pub async fn run_vector_filler(self: Arc<Self>, stop: CancellationToken) {
        let mut full_pass = !self.configured_model_complete().unwrap_or(false);
        loop {
            tokio::select! {
                _ = self.fill.notified() => {}
                _ = stop.cancelled() => return,
            }
            let mut failures = 0u32;
            loop {
                let started = std::time::Instant::now();
                let result = if full_pass {
                    self.fill_vectors().await
                } else {
                    self.refresh_stale().await
                };
                match result {
                    Ok(embedded) => {
                        full_pass = false;
                        if embedded > 0 {
                            tracing::info!(
                                model = self.embedder.model(),
                                embedded,
                                seconds = started.elapsed().as_secs_f64(),
                                "vectors filled in"
                            );
                        }
                        if self.stale.lock().unwrap().is_empty() {
                            break;
                        }
                    }
                    Err(err) => {
                        failures += 1;
                        let wait = Duration::from_secs(2u64.pow(failures.min(5)));
                        tracing::warn!(error = %err, retry_in_secs = wait.as_secs(), "embedding failed; search uses the text leg and any older vectors meanwhile");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    pub fn vector_status(&self) -> VectorStatus {
        let legs = self.legs.read().unwrap();
        let model = self.embedder.model().to_string();
        let serving = legs.serving.as_ref().map(|leg| leg.model().to_string());
        VectorStatus {
            complete: serving.as_deref() == Some(model.as_str())
                && self.configured_model_complete().unwrap_or(false),
            building: legs.building.as_ref().map(|leg| leg.model().to_string()),
            vectors: legs.serving.as_ref().map_or(0, |leg| leg.index.len()),
            serving,
            model,
        }
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
            self.vector_candidates(prompt, scope, &text_hits, legs, feedback)
                .await
        } else {
            Vec::new()
        };
        Ok((text_hits, vector_hits))
    }

    /// The vector leg's candidates; none (the text leg answers alone) when no vectors serve or
    /// the query cannot be embedded in time.
    async fn vector_candidates(
        &self,
        prompt: &str,
        scope: Scope,
        text_hits: &[(Uuid, f32)],
        legs: Legs,
        feedback: Option<Feedback>,
    ) -> Vec<(Uuid, f32)> {
        let serving = self
            .legs
            .read()
            .unwrap()
            .serving
            .as_ref()
            .map(|leg| leg.embedder.clone());
        let Some(embedder) = serving else {
            return Vec::new();
        };
        let texts = [prompt.to_string()];
        let mut query =
            match tokio::time::timeout(QUERY_EMBED_TIMEOUT, embedder.embed(&texts)).await {
                Ok(Ok(mut vectors)) if !vectors.is_empty() => vectors.swap_remove(0),
                Ok(Ok(_)) => return Vec::new(),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "query not embedded; answering from the text leg");
                    return Vec::new();
                }
                Err(_) => {
                    tracing::warn!("query embedding timed out; answering from the text leg");
                    return Vec::new();
                }
            };
        let all_legs = self.legs.read().unwrap();
        // The serving leg may have been swapped while the query was embedded.
        let Some(leg) = all_legs
            .serving
            .as_ref()
            .filter(|leg| leg.model() == embedder.model())
        else {
            return Vec::new();
        };
        if let (Legs::Hybrid, Some(feedback)) = (legs, feedback) {
            let best: Vec<Vec<f32>> = text_hits
                .iter()
                .take(feedback.docs)
                .filter_map(|(id, _)| leg.index.vector_of(*id))
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
        leg.index.search(&query, scope, CANDIDATES)
    }

    /// Keeps the index current: wakes on every thread write and catches up.
    pub async fn run_indexer(self: Arc<Self>, stop: CancellationToken) {
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
            tokio::select! {
                _ = self.store.changed() => {}
                _ = stop.cancelled() => return,
            }
            // Let a burst of writes land in one commit.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What [`Search::live_docs`] found.
#[derive(Default)]
struct LiveDocs {
    docs: Vec<IndexDoc>,
    access: Vec<legs::ThreadAccess>,
    removed: Vec<Uuid>,
}

fn truncate(mut hits: Vec<(Uuid, f32)>, limit: usize) -> Vec<(Uuid, f32)> {
    hits.truncate(limit);
    hits
}

/// FNV-1a of the text: stable across builds and platforms, as stored hashes need (the standard
/// library's hasher makes no such promise).
fn text_hash(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, text.as_bytes());
    std::hash::Hasher::finish(&hasher)
}
