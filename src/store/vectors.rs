//! Stored message vectors, per embedding model (derived data: `skein reindex` rebuilds them).
//!
//! The vectors of an old model stay intact (and keep serving) while a new model's are being
//! built; `vector_models` records, per model, whether its vectors cover every message. Writes
//! are not waited on to be durable: vectors can be rebuilt. On PostgreSQL each node keeps its
//! own, like its text index.

use super::{Backend, Error, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One message's vector, quantized, with what made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredVector {
    pub thread_id: Uuid,
    /// The embedder model that made it.
    pub model: String,
    /// Hash of the embedded text, so unchanged messages are not embedded again.
    pub text_hash: u64,
    pub scale: f32,
    pub codes: Vec<i8>,
}

/// What is known of one model's stored vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorModel {
    /// Every live message had a vector of this model when this was last set.
    pub complete: bool,
}

impl Store {
    pub async fn vector(
        &self,
        model: &str,
        message_id: Uuid,
    ) -> Result<Option<StoredVector>, Error> {
        on_backend!(self, b => b.vector(model, message_id))
    }

    /// Writes one model's vectors.
    pub async fn put_vectors(
        &self,
        model: &str,
        put: &[(Uuid, StoredVector)],
    ) -> Result<(), Error> {
        on_backend!(self, b => b.put_vectors(model, put))
    }

    /// Removes messages' vectors of every model.
    pub async fn remove_vectors(&self, messages: &[Uuid]) -> Result<(), Error> {
        on_backend!(self, b => b.remove_vectors(messages))
    }

    /// The stored vectors of one model.
    pub async fn vectors(&self, model: &str) -> Result<Vec<(Uuid, StoredVector)>, Error> {
        on_backend!(self, b => b.vectors(model))
    }

    /// Every model with stored vectors, and whether its vectors are complete.
    pub async fn vector_models(&self) -> Result<Vec<(String, VectorModel)>, Error> {
        on_backend!(self, b => b.vector_models())
    }

    pub async fn vector_model(&self, model: &str) -> Result<Option<VectorModel>, Error> {
        on_backend!(self, b => b.vector_model(model))
    }

    pub async fn set_vector_model(&self, model: &str, state: VectorModel) -> Result<(), Error> {
        on_backend!(self, b => b.set_vector_model(model, state))
    }

    /// Removes one model's vectors and its record.
    pub async fn drop_vector_model(&self, model: &str) -> Result<(), Error> {
        on_backend!(self, b => b.drop_vector_model(model))
    }

    pub async fn clear_vectors(&self) -> Result<(), Error> {
        on_backend!(self, b => b.clear_vectors())
    }
}
