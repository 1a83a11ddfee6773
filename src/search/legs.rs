//! The vector legs of the search: vectors of one embedding model each, in memory.
//!
//! Normally one leg, of the configured model, serves queries. After the model changes, the old
//! model's leg keeps serving while the new one is built in the background, and they swap when
//! the new one covers every message. An old leg can serve only if its queries can still be
//! embedded: the built-in model's always can; an old remote model's cannot, so until the new
//! model is complete the search uses the text leg alone (or the new model's partial vectors).

use super::embed::{EmbedError, Embedder, HashedNgrams};
use super::vectors::VectorIndex;
use crate::store::{self, Store, StoredVector};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// A thread, its org and its members: who may see its vectors.
pub type ThreadAccess = (Uuid, Uuid, Vec<Uuid>);

/// The vectors of one model, and the embedder that embeds queries and documents for them.
pub struct VectorLeg {
    pub embedder: Arc<dyn Embedder>,
    pub index: VectorIndex,
}

impl VectorLeg {
    pub fn empty(embedder: Arc<dyn Embedder>) -> VectorLeg {
        VectorLeg {
            embedder,
            index: VectorIndex::new(0),
        }
    }

    pub fn model(&self) -> &str {
        self.embedder.model()
    }

    /// Replaces the vectors of `threads` (all of them: deleted ones just go) with `vectors`,
    /// giving each live thread its access. Readers see the old or the new, never a mix.
    pub fn replace(
        &mut self,
        threads: &[Uuid],
        access: &[ThreadAccess],
        vectors: &[(Uuid, StoredVector)],
    ) -> Result<(), EmbedError> {
        self.check_dim(vectors)?;
        for thread in threads {
            self.index.remove_thread(*thread);
        }
        let mut ordinals = HashMap::new();
        for (thread, org, members) in access {
            ordinals.insert(
                *thread,
                self.index.set_thread(*thread, *org, members.clone()),
            );
        }
        for (message_id, stored) in vectors {
            if let Some(ordinal) = ordinals.get(&stored.thread_id) {
                self.index
                    .insert(*message_id, *ordinal, &stored.codes, stored.scale);
            }
        }
        Ok(())
    }

    /// Replaces the vectors of some messages of one thread, whose access is `access`, and
    /// drops those of `removed`.
    pub fn replace_messages(
        &mut self,
        access: &ThreadAccess,
        vectors: &[(Uuid, StoredVector)],
        removed: &[Uuid],
    ) -> Result<(), EmbedError> {
        self.check_dim(vectors)?;
        for message in removed {
            self.index.remove_message(*message);
        }
        let (thread, org, members) = access;
        let ordinal = self.index.set_thread(*thread, *org, members.clone());
        for (message_id, stored) in vectors {
            self.index
                .insert(*message_id, ordinal, &stored.codes, stored.scale);
        }
        Ok(())
    }

    fn check_dim(&self, vectors: &[(Uuid, StoredVector)]) -> Result<(), EmbedError> {
        let dim = self.index.dim();
        match vectors
            .iter()
            .find(|(_, v)| dim != 0 && v.codes.len() != dim)
        {
            Some((_, odd)) => Err(EmbedError(format!(
                "model {} now makes vectors of {} dimensions, not {dim}; run `skein reindex`",
                self.model(),
                odd.codes.len()
            ))),
            None => Ok(()),
        }
    }

    /// Applies `threads`' current access without new vectors: live threads (in `access`) get
    /// their org and members, the others lose their vectors.
    pub fn update_access(&mut self, threads: &[Uuid], access: &[ThreadAccess]) {
        for thread in threads {
            if !access.iter().any(|(live, _, _)| live == thread) {
                self.index.remove_thread(*thread);
            }
        }
        for (thread, org, members) in access {
            self.index.set_thread(*thread, *org, members.clone());
        }
    }

    /// The leg of `embedder`'s model with its stored vectors, for the threads that still exist.
    pub async fn load(
        store: &Store,
        embedder: Arc<dyn Embedder>,
    ) -> Result<VectorLeg, store::Error> {
        let mut index = VectorIndex::new(0);
        let mut threads = HashMap::new();
        for entry in store.vectors(embedder.model()).await? {
            let (message_id, stored) = entry;
            if stored.model != embedder.model()
                || (index.dim() != 0 && stored.codes.len() != index.dim())
            {
                continue;
            }
            let ordinal = match threads.get(&stored.thread_id) {
                Some(ordinal) => *ordinal,
                None => {
                    let Some(thread) = store.thread(stored.thread_id).await? else {
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
        Ok(VectorLeg { embedder, index })
    }
}

/// The leg serving queries and, while the configured model is incomplete and another serves,
/// the configured model's leg being built.
#[derive(Default)]
pub struct VectorLegs {
    pub serving: Option<VectorLeg>,
    pub building: Option<VectorLeg>,
}

impl VectorLegs {
    /// Chooses the legs on start: the configured model's if its vectors are complete; else a
    /// complete built-in model's, with the configured one building; else the configured model's
    /// partial vectors (better than none while they fill).
    pub async fn open(
        store: &Store,
        target: Arc<dyn Embedder>,
    ) -> Result<VectorLegs, store::Error> {
        let models = store.vector_models().await?;
        let complete = |model: &str| models.iter().any(|(m, state)| m == model && state.complete);
        let target_leg = VectorLeg::load(store, target.clone()).await?;
        if complete(target.model()) {
            return Ok(VectorLegs {
                serving: Some(target_leg),
                building: None,
            });
        }
        let old = models
            .iter()
            .filter(|(model, state)| state.complete && model != target.model())
            .find_map(|(model, _)| HashedNgrams::for_model(model));
        Ok(match old {
            Some(old) => VectorLegs {
                serving: Some(VectorLeg::load(store, Arc::new(old)).await?),
                building: Some(target_leg),
            },
            None => VectorLegs {
                serving: Some(target_leg),
                building: None,
            },
        })
    }

    /// The leg of `model`, if one is kept.
    pub fn leg_mut(&mut self, model: &str) -> Option<&mut VectorLeg> {
        [self.serving.as_mut(), self.building.as_mut()]
            .into_iter()
            .flatten()
            .find(|leg| leg.model() == model)
    }

    /// The embedders of the legs kept current, serving first.
    pub fn embedders(&self) -> Vec<Arc<dyn Embedder>> {
        [self.serving.as_ref(), self.building.as_ref()]
            .into_iter()
            .flatten()
            .map(|leg| leg.embedder.clone())
            .collect()
    }
}
