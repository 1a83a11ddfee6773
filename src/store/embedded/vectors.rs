//! Stored message vectors, per embedding model (derived data: `skein reindex` rebuilds them).
//!
//! Keys are `model tag ++ message id`, so the vectors of an old model stay intact (and keep
//! serving) while a new model's are being built; `vector_models` records, per model, whether
//! its vectors cover every message.
//!
//! Vectors are written and removed one key at a time, never in a sled batch: sled writes its
//! log buffer out and syncs it (`sync_file_range`) before and after a batch's writes, and the
//! indexer stores every changed thread's vectors on each pass: under 32 renaming clients those
//! syncs were almost a third of the device's, beside the thread log's.
//! Nothing needs them atomic: they are derived data, redone whenever their thread's change is
//! caught up again, and sled recovers its log in order, so the change log's pruning (written
//! after them) is never on disk without them.

use super::{codec, get, Error, SledStore};
use crate::store::{StoredVector, VectorModel};
use uuid::Uuid;

impl SledStore {
    pub fn vector(&self, model: &str, message_id: Uuid) -> Result<Option<StoredVector>, Error> {
        let t = self.trees()?;
        get(&t.vectors, &vector_key(model, message_id))
    }

    /// Writes one model's vectors (not flushed: vectors can be rebuilt).
    pub fn put_vectors(&self, model: &str, put: &[(Uuid, StoredVector)]) -> Result<(), Error> {
        let t = self.trees()?;
        if put.is_empty() {
            return Ok(());
        }
        for (id, vector) in put {
            t.vectors
                .insert(vector_key(model, *id), codec::encode(vector))?;
        }
        if self.vector_model(model)?.is_none() {
            self.set_vector_model(model, VectorModel { complete: false })?;
        }
        Ok(())
    }

    /// Removes messages' vectors of every model.
    pub fn remove_vectors(&self, messages: &[Uuid]) -> Result<(), Error> {
        let t = self.trees()?;
        if messages.is_empty() {
            return Ok(());
        }
        for (model, _) in self.vector_models()? {
            for id in messages {
                t.vectors.remove(vector_key(&model, *id))?;
            }
        }
        Ok(())
    }

    /// The stored vectors of one model.
    pub fn vectors(&self, model: &str) -> Result<Vec<(Uuid, StoredVector)>, Error> {
        let t = self.trees()?;
        t.vectors
            .scan_prefix(model_tag(model).to_be_bytes())
            .map(|entry| {
                let (key, raw) = entry?;
                let id = Uuid::from_slice(&key[8..])
                    .map_err(|e| sled::Error::Unsupported(e.to_string()))?;
                Ok((id, codec::decode(&raw)?))
            })
            .collect()
    }

    /// Every model with stored vectors, and whether its vectors are complete.
    pub fn vector_models(&self) -> Result<Vec<(String, VectorModel)>, Error> {
        let t = self.trees()?;
        t.vector_models
            .iter()
            .map(|entry| {
                let (key, raw) = entry?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    codec::decode(&raw)?,
                ))
            })
            .collect()
    }

    pub fn vector_model(&self, model: &str) -> Result<Option<VectorModel>, Error> {
        let t = self.trees()?;
        get(&t.vector_models, model.as_bytes())
    }

    pub fn set_vector_model(&self, model: &str, state: VectorModel) -> Result<(), Error> {
        let t = self.trees()?;
        t.vector_models
            .insert(model.as_bytes(), codec::encode(&state))?;
        Ok(())
    }

    /// Removes one model's vectors and its record.
    pub fn drop_vector_model(&self, model: &str) -> Result<(), Error> {
        let t = self.trees()?;
        for entry in t.vectors.scan_prefix(model_tag(model).to_be_bytes()) {
            t.vectors.remove(entry?.0)?;
        }
        t.vector_models.remove(model.as_bytes())?;
        Ok(())
    }

    pub fn clear_vectors(&self) -> Result<(), Error> {
        let t = self.trees()?;
        t.vectors.clear()?;
        t.vector_models.clear()?;
        Ok(())
    }
}

fn vector_key(model: &str, message_id: Uuid) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&model_tag(model).to_be_bytes());
    key[8..].copy_from_slice(message_id.as_bytes());
    key
}

/// FNV-1a of the model id: a fixed-size key prefix per model, stable across builds.
fn model_tag(model: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, model.as_bytes());
    std::hash::Hasher::finish(&hasher)
}

#[cfg(test)]
mod tests {
    /// Keys on disk depend on this value: it must never change.
    #[test]
    fn the_model_tag_is_fnv_1a() {
        assert_eq!(super::model_tag(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::model_tag("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
