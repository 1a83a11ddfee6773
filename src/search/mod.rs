//! Hybrid search over messages: BM25 (tantivy) fused with a vector leg.
//!
//! - `doc`: what is indexed per message, and the access scope of a query.
//! - `text`: the tantivy index and its BM25 queries; `scoped_top`: the top hits within an access
//!   scope; `term_sums`: the terms' BM25 scores, summed per document.
//! - `embed`: the [`Embedder`] interface and the built-in hashed n-gram embedder (a remote one is
//!   in `llm::embeddings`).
//! - `vectors`: quantized vectors in memory; `bits`: their one-bit codes and scan, which
//!   shortlists; `scan`: the exact 8-bit scan of the shortlist.
//! - `legs`: which model's vectors serve queries, and the one being built after a model change.
//! - `fusion`: merging the two ranked lists.
//! - `indexing`: catching up on the change log, reindexing; `filling`: embedding what the
//!   configured model lacks; `querying`: both legs, fused, within the user's scope.
//! - `eval`: nDCG@10 and recall@10 on the Cranfield collection.
//!
//! sled stays the source of truth. Every thread write logs `seq → thread`; the indexer re-indexes
//! the threads changed since the sequence stored in the last tantivy commit, so a crash between
//! a write and a commit only delays indexing. Vectors are kept in sled too, per model, and loaded
//! into memory on start. When the configured model lacks vectors for some messages (a new model,
//! a provider that was down), [`Search::run_vector_filler`] embeds them in the background while
//! the text leg and any complete older vectors keep serving. `reindex` rebuilds everything.

mod best;
mod bits;
pub mod corpus;
pub mod doc;
pub mod embed;
pub mod eval;
mod filling;
pub mod fusion;
mod indexing;
pub mod legs;
mod prints;
mod querying;
mod scan;
mod scoped_top;
mod term_sums;
pub mod text;
pub mod vectors;

pub use doc::{IndexDoc, Scope};
pub use embed::{Embedder, HashedNgrams};
pub use fusion::Fusion;

use crate::store::{self, Store};
use legs::VectorLegs;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use text::TextIndex;
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
    /// The text index was damaged or behind what the change log still holds: the indexer
    /// rebuilds it from the store before anything else, and `/healthz` says so meanwhile.
    rebuilding: std::sync::atomic::AtomicBool,
    /// The last indexing failure, until indexing works again.
    last_error: std::sync::Mutex<Option<String>>,
    /// The store's reopening count the indexer last checked (see `Store::reopened`).
    reopens_checked: std::sync::atomic::AtomicU64,
    /// What each thread's documents came to when last indexed (see `index_threads`).
    fingerprints: std::sync::Mutex<std::collections::HashMap<Uuid, prints::ThreadPrint>>,
    /// Which store the index is built from (see `read_payload`).
    source: String,
    /// The store sequence the indexer has looked at, committed or not (writes that change no
    /// document wait for the next commit).
    covered_seq: std::sync::atomic::AtomicU64,
    /// Text index commits since start.
    commits: std::sync::atomic::AtomicU64,
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
    pub async fn open(
        store: Store,
        data_dir: Option<&Path>,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Search, SearchError> {
        let (text, damaged) = match data_dir {
            Some(data_dir) => open_text(&data_dir.join("search").join("text"))?,
            None => (TextIndex::open(None, WRITER_MEMORY)?, false),
        };
        // Derived data heals itself: a damaged index, or one covering less than the change log
        // still holds (its pruned part is gone), is rebuilt from the store.
        let source = store.source().await?;
        let payload = text.committed_payload();
        let (built_from, indexed) = payload.as_deref().map_or((None, 0), read_payload);
        // Positions of one store mean nothing in another (a data dir moved onto PostgreSQL).
        let other_store = built_from.is_some_and(|built_from| built_from != source);
        let indexed = if other_store { 0 } else { indexed };
        let behind = other_store
            || indexed < store.changes_pruned_to().await?
            || (text.num_docs() == 0
                && indexed < store.last_seq().await?
                && store.has_messages().await?);
        if behind && !damaged {
            tracing::warn!(
                indexed,
                "the search index covers less than the store; rebuilding it from the store"
            );
        }
        let legs = VectorLegs::open(&store, embedder.clone()).await?;
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
            rebuilding: (damaged || behind).into(),
            last_error: Default::default(),
            reopens_checked: Default::default(),
            fingerprints: Default::default(),
            covered_seq: indexed.into(),
            source,
            commits: Default::default(),
        };
        if !search.configured_model_complete().await? {
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
        match self.text.committed_payload() {
            Some(payload) if read_payload(&payload).0 == Some(self.source.as_str()) => {
                read_payload(&payload).1
            }
            _ => 0,
        }
    }

    pub fn num_docs(&self) -> u64 {
        self.text.num_docs()
    }

    /// The store sequence the indexer has caught up to: every write up to it is searchable.
    pub fn covered_seq(&self) -> u64 {
        self.covered_seq
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(self.indexed_seq())
    }

    /// Text index commits since the server started.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Commits the text index with the store sequence it covers.
    fn commit(&self, covered: u64) -> Result<(), SearchError> {
        self.text.commit(&format!("{} {covered}", self.source))?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Whether the text index is being rebuilt from the store (search answers from what is
    /// committed meanwhile).
    pub fn rebuilding(&self) -> bool {
        self.rebuilding.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Memory of the tantivy writer.
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

/// Opens the text index in `dir`. A damaged one is moved aside (for a post-mortem, never read
/// again) and a fresh one made in its place; the second value says so.
/// A commit's payload: the store the index was built from and the position it covers
/// (`postgres-… 1234`). Indexes of before the store was named in it hold the position alone, and
/// were built from the embedded store.
fn read_payload(payload: &str) -> (Option<&str>, u64) {
    match payload.split_once(' ') {
        Some((source, position)) => (Some(source), position.parse().unwrap_or(0)),
        None => (Some("sled"), payload.parse().unwrap_or(0)),
    }
}

fn open_text(dir: &Path) -> Result<(TextIndex, bool), SearchError> {
    let opened =
        TextIndex::open(Some(dir), WRITER_MEMORY).and_then(|text| text.check().map(|_| text));
    match opened {
        Ok(text) => Ok((text, false)),
        // Made by a build whose documents had other fields: nothing wrong to look into.
        Err(tantivy::TantivyError::SchemaError(_)) => {
            tracing::info!("the search index is of an older layout; rebuilding it from the store");
            std::fs::remove_dir_all(dir).map_err(tantivy::TantivyError::from)?;
            Ok((TextIndex::open(Some(dir), WRITER_MEMORY)?, true))
        }
        Err(err) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let aside = dir.with_file_name(format!("text.damaged-{stamp}"));
            tracing::error!(
                error = %err,
                moved_to = %aside.display(),
                "the search index is damaged; moving it aside and rebuilding it from the store"
            );
            if let Err(err) = std::fs::rename(dir, &aside) {
                // It is derived data: if it cannot be kept for a post-mortem, it goes.
                tracing::warn!(error = %err, "could not move the damaged index aside; removing it");
                std::fs::remove_dir_all(dir).map_err(tantivy::TantivyError::from)?;
            }
            Ok((TextIndex::open(Some(dir), WRITER_MEMORY)?, true))
        }
    }
}
