//! Keeping the index current: catching up on the store's change log, rebuilding everything,
//! and (re)indexing threads: their text in tantivy, their vectors in memory.

use super::legs::{self, VectorLeg, VectorLegs};
use super::prints::{self, Reindex};
use super::{doc, IndexDoc, Search, SearchError, BATCH_THREADS};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The shortest time between two passes of the indexer (each may commit). Each commit starts
/// a new segment, a fixed cost of files and set-up however little it holds: at 250 ms,
/// tantivy took 8–10 % of the server under 32 renaming clients, at 500 ms 3 %. Under a
/// steady stream a write is searchable within about 0.6 s, after a pause within about 50 ms
/// (`benches/freshness.py`).
const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// How long the indexer waits after a write for others of the same burst.
const BURST_WAIT: Duration = Duration::from_millis(20);

impl Search {
    /// Indexes every thread changed since the last commit; returns how many threads' documents
    /// changed. Writes that leave a thread's documents as they were (metadata, status, a
    /// lifecycle change) cost no index work and no commit: the next real change's commit
    /// covers their sequence numbers too.
    pub async fn catch_up(&self) -> Result<usize, SearchError> {
        let _guard = self.indexing.lock().await;
        let caught_up = self.catch_up_locked().await;
        if caught_up.is_err() {
            // What was indexed but not committed is gone with the failure: index it again.
            self.fingerprints.lock().unwrap().clear();
        }
        caught_up
    }

    async fn catch_up_locked(&self) -> Result<usize, SearchError> {
        let (changes, horizon) = self.store.changes_since(self.indexed_seq()).await?;
        let Some(&(last, _)) = changes.last() else {
            self.covered_seq
                .fetch_max(horizon, std::sync::atomic::Ordering::Relaxed);
            return Ok(0);
        };
        let mut seen = HashSet::new();
        let threads: Vec<Uuid> = changes
            .into_iter()
            .filter_map(|(_, thread)| seen.insert(thread).then_some(thread))
            .collect();
        let batches = threads.chunks(BATCH_THREADS).count();
        let mut changed = 0;
        for (n, batch) in threads.chunks(BATCH_THREADS).enumerate() {
            let batch_changed = self.index_threads(batch).await?;
            changed += batch_changed;
            if n + 1 == batches {
                if changed > 0 {
                    self.commit(last)?;
                }
            } else if batch_changed > 0 {
                // Intermediate commits keep the last sequence: a crash redoes only unfinished
                // work.
                self.commit(self.indexed_seq())?;
            }
        }
        if changed > 0 {
            self.store.prune_changes(last).await?;
        }
        self.covered_seq
            .store(horizon.max(last), std::sync::atomic::Ordering::Relaxed);
        if batches > 1 {
            release_freed_memory(); // a bulk catch-up, like a rebuild
        }
        Ok(changed)
    }

    /// Rebuilds both legs from the threads in sled; returns how many messages it indexed.
    ///
    /// Vectors the provider could not make are filled in later by the vector filler.
    pub async fn reindex(&self) -> Result<u64, SearchError> {
        {
            let _guard = self.indexing.lock().await;
            let covered = self.store.last_seq().await?;
            self.fingerprints.lock().unwrap().clear();
            self.text.delete_all()?;
            self.store.clear_vectors().await?;
            *self.legs.write().unwrap() = VectorLegs {
                serving: Some(VectorLeg::empty(self.embedder.clone())),
                building: None,
            };
            let threads = self.store.thread_ids().await?;
            let rebuilt = async {
                for batch in threads.chunks(BATCH_THREADS) {
                    self.index_threads(batch).await?;
                }
                self.commit(covered)?;
                Ok::<(), SearchError>(())
            };
            if let Err(err) = rebuilt.await {
                self.fingerprints.lock().unwrap().clear();
                return Err(err);
            }
            self.text.settle()?;
            self.store.prune_changes(covered).await?;
            self.covered_seq
                .store(covered, std::sync::atomic::Ordering::Relaxed);
            self.rebuilding
                .store(false, std::sync::atomic::Ordering::Relaxed);
        }
        if let Err(err) = self.fill_vectors().await {
            tracing::warn!(error = %err, "vectors incomplete after reindexing; they will be filled in later");
            self.fill.notify_one();
        }
        release_freed_memory();
        Ok(self.text.num_docs())
    }

    /// Brings the indexed documents of these threads to their current messages: the text leg
    /// at once, and the vector legs of local embedders too. A remote embedder is never waited
    /// for here (a slow provider must not hold up the text leg): its legs get the threads' new
    /// access at once, and the threads are left to the vector filler. Only what changed since
    /// the threads were last indexed is redone (see `prints`); returns how many threads changed.
    pub(super) async fn index_threads(&self, threads: &[Uuid]) -> Result<usize, SearchError> {
        let live = self.live_docs(threads).await?;
        let now = prints::of(threads, &live.access, &live.docs);
        let mut whole = Vec::new();
        let mut parts = Vec::new();
        {
            let known = self.fingerprints.lock().unwrap();
            for &thread in threads {
                match Reindex::between(known.get(&thread), now.get(&thread)) {
                    Reindex::Nothing => {}
                    Reindex::Thread => whole.push(thread),
                    Reindex::Messages { changed, removed } => {
                        parts.push((thread, changed, removed))
                    }
                }
            }
        }
        for (thread, changed, removed) in &parts {
            self.index_messages(*thread, &live, changed, removed)
                .await?;
        }
        if !whole.is_empty() {
            self.index_whole_threads(&whole, live.only(&whole)).await?;
        }
        let mut known = self.fingerprints.lock().unwrap();
        for thread in whole.iter().chain(parts.iter().map(|(t, _, _)| t)) {
            match now.get(thread) {
                Some(print) => known.insert(*thread, print.clone()),
                None => known.remove(thread),
            };
        }
        Ok(whole.len() + parts.len())
    }

    /// Replaces every document of these threads (the deleted ones' just go).
    async fn index_whole_threads(
        &self,
        threads: &[Uuid],
        live: LiveDocs,
    ) -> Result<(), SearchError> {
        for &thread_id in threads {
            self.text.delete_thread(thread_id)?;
        }
        tracing::debug!(
            threads = threads.len(),
            docs = live.docs.len(),
            "indexing threads"
        );
        for doc in &live.docs {
            self.text.add(doc)?;
        }
        self.store.remove_vectors(&live.removed).await?;
        let embedders = self.legs.read().unwrap().embedders();
        for embedder in embedders {
            let model = embedder.model();
            if !embedder.is_local() {
                if let Some(leg) = self.legs.write().unwrap().leg_mut(model) {
                    leg.update_access(threads, &live.access);
                }
                self.mark_stale(model, threads).await?;
                continue;
            }
            let (vectors, _) = self.vectors_for(&live.docs, embedder.as_ref()).await?;
            self.store.put_vectors(model, &vectors).await?;
            if let Some(leg) = self.legs.write().unwrap().leg_mut(model) {
                leg.replace(threads, &live.access, &vectors)?;
            }
        }
        Ok(())
    }

    /// Replaces the documents of some messages of a thread whose access did not change, and
    /// drops those of `removed` (messages deleted from it).
    async fn index_messages(
        &self,
        thread: Uuid,
        live: &LiveDocs,
        changed: &[Uuid],
        removed: &[Uuid],
    ) -> Result<(), SearchError> {
        // A rename changes every message of the thread: look them up, not along a list.
        let changed_set: HashSet<&Uuid> = changed.iter().collect();
        let docs: Vec<IndexDoc> = live
            .docs
            .iter()
            .filter(|doc| doc.thread_id == thread && changed_set.contains(&doc.message_id))
            .cloned()
            .collect();
        for message in changed.iter().chain(removed) {
            self.text.delete_message(*message)?;
        }
        for doc in &docs {
            self.text.add(doc)?;
        }
        self.store.remove_vectors(removed).await?;
        let Some(access) = live.access.iter().find(|a| a.0 == thread) else {
            return Ok(());
        };
        let embedders = self.legs.read().unwrap().embedders();
        for embedder in embedders {
            let model = embedder.model();
            let vectors = if embedder.is_local() {
                let (vectors, _) = self.vectors_for(&docs, embedder.as_ref()).await?;
                self.store.put_vectors(model, &vectors).await?;
                vectors
            } else {
                self.mark_stale(model, &[thread]).await?;
                Vec::new()
            };
            if let Some(leg) = self.legs.write().unwrap().leg_mut(model) {
                leg.replace_messages(access, &vectors, removed)?;
            }
        }
        Ok(())
    }

    /// The documents of the threads that exist, who may see them, and the messages of deleted
    /// threads.
    pub(super) async fn live_docs(&self, threads: &[Uuid]) -> Result<LiveDocs, SearchError> {
        let mut live = LiveDocs::default();
        for &thread_id in threads {
            let Some(thread) = self.store.thread(thread_id).await? else {
                continue;
            };
            let messages = self.store.messages_in_bulk(thread_id).await?;
            if thread.deleted_at.is_some() {
                live.removed.extend(messages.iter().map(|m| m.id));
                live.removed_from
                    .extend(messages.iter().map(|m| m.thread_id));
                continue;
            }
            live.access
                .push((thread.id, thread.org_id, thread.members().collect()));
            live.docs.extend(doc::thread_docs(&thread, &messages));
        }
        Ok(live)
    }

    /// Keeps the index current: wakes on every thread write and catches up. A failure (a full
    /// disk, say) is retried every second until it clears, and `/healthz` shows it meanwhile.
    pub async fn run_indexer(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let started = std::time::Instant::now();
            let outcome = if self.rebuild_needed() {
                self.reindex().await.map(|messages| {
                    tracing::info!(
                        messages,
                        seconds = started.elapsed().as_secs_f64(),
                        "search index rebuilt from the store"
                    );
                })
            } else {
                self.catch_up().await.map(|threads| {
                    if threads > 0 {
                        tracing::debug!(
                            threads,
                            seconds = started.elapsed().as_secs_f64(),
                            "search index caught up"
                        );
                    }
                })
            };
            let failed = outcome.is_err();
            self.note_outcome(outcome);
            if failed {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.cancelled() => return,
                }
            }
            tokio::select! {
                _ = self.store.changed() => {}
                _ = stop.cancelled() => return,
            }
            // Let a burst of writes land in one commit, and commit at most every
            // COMMIT_INTERVAL under a steady stream of writes (a tantivy commit costs about
            // ten fdatasyncs); a write is searchable within that interval plus the indexing.
            let wait = COMMIT_INTERVAL.saturating_sub(started.elapsed());
            tokio::time::sleep(wait.max(BURST_WAIT)).await;
        }
    }

    /// Whether the index must be rebuilt rather than caught up: it was found damaged or
    /// behind at start, or it covers writes the store no longer has (the store was reopened
    /// after a failed write that was never acknowledged, but the index had seen it).
    fn rebuild_needed(&self) -> bool {
        let (reopens, seq_at_reopen) = self.store.reopened();
        let checked = self
            .reopens_checked
            .swap(reopens, std::sync::atomic::Ordering::Relaxed);
        if reopens != checked && self.indexed_seq() > seq_at_reopen {
            tracing::warn!(
                indexed = self.indexed_seq(),
                store = seq_at_reopen,
                "the search index covers writes the store lost with a failed disk write; rebuilding it"
            );
            self.rebuilding
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.rebuilding()
    }

    /// Remembers the last indexing failure for `/healthz` (logging it once), or forgets it.
    fn note_outcome(&self, outcome: Result<(), SearchError>) {
        let mut last = self.last_error.lock().unwrap();
        match outcome {
            Ok(()) => {
                if last.take().is_some() {
                    tracing::info!("search indexing works again");
                }
            }
            Err(err) => {
                let message = err.to_string();
                if last.as_deref() != Some(message.as_str()) {
                    tracing::error!(error = %message, "search indexing failed; retrying every second");
                }
                *last = Some(message);
            }
        }
    }

    /// Why indexing is failing now, if it is.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap().clone()
    }
}

/// What [`Search::live_docs`] found.
#[derive(Default)]
pub(super) struct LiveDocs {
    pub(super) docs: Vec<IndexDoc>,
    pub(super) access: Vec<legs::ThreadAccess>,
    pub(super) removed: Vec<Uuid>,
    /// The removed messages' threads, alongside `removed`.
    pub(super) removed_from: Vec<Uuid>,
}

impl LiveDocs {
    /// What concerns these threads only.
    fn only(self, threads: &[Uuid]) -> LiveDocs {
        let keep = |thread: &Uuid| threads.contains(thread);
        let (removed, removed_from) = self
            .removed
            .into_iter()
            .zip(self.removed_from)
            .filter(|(_, thread)| keep(thread))
            .unzip();
        LiveDocs {
            docs: self
                .docs
                .into_iter()
                .filter(|d| keep(&d.thread_id))
                .collect(),
            access: self.access.into_iter().filter(|a| keep(&a.0)).collect(),
            removed,
            removed_from,
        }
    }
}

/// Hands the heap's free pages back to the system. A rebuild (or a bulk catch-up) passes
/// every message through memory once (tantivy's arenas, sled's buffers, the batches); glibc
/// keeps what was freed: after rebuilding 100k messages a server held ~560 MB, not ~280 MB.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
