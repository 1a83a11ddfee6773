//! Stored message vectors (derived data: `skein reindex` can rebuild them).

use super::{codec, get, Error, Store};
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

impl Store {
    pub fn vector(&self, message_id: Uuid) -> Result<Option<StoredVector>, Error> {
        get(&self.vectors, message_id.as_bytes())
    }

    /// Writes and removes vectors in one batch (not flushed: vectors can be rebuilt).
    pub fn update_vectors(
        &self,
        put: &[(Uuid, StoredVector)],
        remove: &[Uuid],
    ) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for id in remove {
            batch.remove(id.as_bytes());
        }
        for (id, vector) in put {
            batch.insert(id.as_bytes(), codec::encode(vector));
        }
        self.vectors.apply_batch(batch)?;
        Ok(())
    }

    /// Every stored vector.
    pub fn vectors(&self) -> impl Iterator<Item = Result<(Uuid, StoredVector), Error>> + '_ {
        self.vectors.iter().map(|entry| {
            let (key, raw) = entry?;
            let id = Uuid::from_slice(&key).map_err(|e| sled::Error::Unsupported(e.to_string()))?;
            Ok((id, codec::decode(&raw)?))
        })
    }

    pub fn clear_vectors(&self) -> Result<(), Error> {
        self.vectors.clear()?;
        Ok(())
    }
}
