//! Vectors for the configured embedding model: embedding what lacks them (after a model
//! change, or while a provider was down) in the background, and reporting progress.

use super::legs::VectorLeg;
use super::{vectors, Embedder, IndexDoc, Search, SearchError, VectorStatus, FILL_THREADS};
use crate::store::{StoredVector, VectorModel};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

impl Search {
    /// Leaves `threads` to the vector filler: the configured model's vectors of them are
    /// behind. Recorded in the store too, so a restart before the filler is done still fills.
    pub(super) async fn mark_stale(
        &self,
        model: &str,
        threads: &[Uuid],
    ) -> Result<(), SearchError> {
        if model != self.embedder.model() || threads.is_empty() {
            return Ok(());
        }
        let first = self.stale.lock().unwrap().is_empty();
        if first {
            self.store
                .set_vector_model(model, VectorModel { complete: false })
                .await?;
        }
        self.stale.lock().unwrap().extend(threads);
        self.fill.notify_one();
        Ok(())
    }

    pub(super) async fn configured_model_complete(&self) -> Result<bool, SearchError> {
        Ok(self
            .store
            .vector_model(self.embedder.model())
            .await?
            .is_some_and(|state| state.complete))
    }

    /// Vectors of `embedder`'s model for these documents, embedding only texts that changed
    /// since they were stored; also how many it embedded.
    pub(super) async fn vectors_for(
        &self,
        docs: &[IndexDoc],
        embedder: &dyn Embedder,
    ) -> Result<(Vec<(Uuid, StoredVector)>, usize), SearchError> {
        let model = embedder.model().to_string();
        let mut out = Vec::with_capacity(docs.len());
        let mut todo = Vec::new();
        for doc in docs {
            let hash = text_hash(&doc.text);
            match self.store.vector(&model, doc.message_id).await? {
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
    pub(super) async fn embed_threads(&self, threads: &[Uuid]) -> Result<usize, SearchError> {
        let model = self.embedder.model();
        let before = self.live_docs(threads).await?;
        let (vectors, embedded) = self
            .vectors_for(&before.docs, self.embedder.as_ref())
            .await?;
        let _guard = self.indexing.lock().await;
        let now = self.live_docs(threads).await?;
        let current: HashSet<(Uuid, u64)> = now
            .docs
            .iter()
            .map(|doc| (doc.message_id, text_hash(&doc.text)))
            .collect();
        let vectors: Vec<_> = vectors
            .into_iter()
            .filter(|(id, vector)| current.contains(&(*id, vector.text_hash)))
            .collect();
        self.store.put_vectors(model, &vectors).await?;
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
        for batch in self.store.thread_ids().await?.chunks(FILL_THREADS) {
            embedded += self.embed_threads(batch).await?;
        }
        let _guard = self.indexing.lock().await;
        if self.stale.lock().unwrap().is_empty() {
            self.store
                .set_vector_model(&model, VectorModel { complete: true })
                .await?;
        }
        {
            let mut legs = self.legs.write().unwrap();
            if let Some(building) = legs.building.take() {
                legs.serving = Some(building);
            }
        }
        for (other, _) in self.store.vector_models().await? {
            if other != model {
                self.store.drop_vector_model(&other).await?;
            }
        }
        Ok(embedded)
    }

    /// Embeds the threads marked stale since the last pass; returns how many texts it embedded.
    pub(super) async fn refresh_stale(&self) -> Result<usize, SearchError> {
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
                .set_vector_model(self.embedder.model(), VectorModel { complete: true })
                .await?;
        }
        Ok(embedded)
    }

    /// Keeps the configured model's vectors complete: a full pass on start after a model change
    /// (or after a stop with work left), then the threads the indexer marks stale. Retries with
    /// backoff while the provider fails; search uses the text leg and older vectors meanwhile.
    pub async fn run_vector_filler(self: Arc<Self>, stop: CancellationToken) {
        let mut full_pass = !self.configured_model_complete().await.unwrap_or(false);
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

    pub async fn vector_status(&self) -> VectorStatus {
        let stored_complete = self.configured_model_complete().await.unwrap_or(false);
        let legs = self.legs.read().unwrap();
        let model = self.embedder.model().to_string();
        let serving = legs.serving.as_ref().map(|leg| leg.model().to_string());
        VectorStatus {
            complete: serving.as_deref() == Some(model.as_str()) && stored_complete,
            building: legs.building.as_ref().map(|leg| leg.model().to_string()),
            vectors: legs.serving.as_ref().map_or(0, |leg| leg.index.len()),
            serving,
            model,
        }
    }
}

/// FNV-1a of the text: stable across builds and platforms, as stored hashes need (the standard
/// library's hasher makes no such promise).
fn text_hash(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, text.as_bytes());
    std::hash::Hasher::finish(&hasher)
}
