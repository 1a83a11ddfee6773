//! This node's stored vectors (derived data, kept per node).

use super::{decode, Error, PgStore};
use crate::store::{codec, StoredVector, VectorModel};
use uuid::Uuid;

impl PgStore {
    pub async fn vector(
        &self,
        model: &str,
        message_id: Uuid,
    ) -> Result<Option<StoredVector>, Error> {
        self.record(
            "SELECT record FROM vectors WHERE node = $1 AND model = $2 AND message_id = $3",
            &[&self.node, &model, &message_id],
        )
        .await
    }

    pub async fn put_vectors(
        &self,
        model: &str,
        put: &[(Uuid, StoredVector)],
    ) -> Result<(), Error> {
        if put.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = put.iter().map(|(id, _)| *id).collect();
        let records: Vec<Vec<u8>> = put.iter().map(|(_, v)| codec::encode(v)).collect();
        self.execute(
            "INSERT INTO vectors (node, model, message_id, record)
             SELECT $1, $2, unnest($3::uuid[]), unnest($4::bytea[])
             ON CONFLICT (node, model, message_id) DO UPDATE SET record = EXCLUDED.record",
            &[&self.node, &model, &ids, &records],
        )
        .await?;
        self.execute(
            "INSERT INTO vector_models (node, model, record) VALUES ($1, $2, $3)
             ON CONFLICT (node, model) DO NOTHING",
            &[
                &self.node,
                &model,
                &codec::encode(&VectorModel { complete: false }),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn remove_vectors(&self, messages: &[Uuid]) -> Result<(), Error> {
        if messages.is_empty() {
            return Ok(());
        }
        self.execute(
            "DELETE FROM vectors WHERE node = $1 AND message_id = ANY($2)",
            &[&self.node, &messages],
        )
        .await?;
        Ok(())
    }

    pub async fn vectors(&self, model: &str) -> Result<Vec<(Uuid, StoredVector)>, Error> {
        self.query(
            "SELECT message_id, record FROM vectors WHERE node = $1 AND model = $2
             ORDER BY message_id",
            &[&self.node, &model],
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, decode(row, 1)?)))
        .collect()
    }

    pub async fn vector_models(&self) -> Result<Vec<(String, VectorModel)>, Error> {
        self.query(
            "SELECT model, record FROM vector_models WHERE node = $1 ORDER BY model",
            &[&self.node],
        )
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, decode(row, 1)?)))
        .collect()
    }

    pub async fn vector_model(&self, model: &str) -> Result<Option<VectorModel>, Error> {
        self.record(
            "SELECT record FROM vector_models WHERE node = $1 AND model = $2",
            &[&self.node, &model],
        )
        .await
    }

    pub async fn set_vector_model(&self, model: &str, state: VectorModel) -> Result<(), Error> {
        self.execute(
            "INSERT INTO vector_models (node, model, record) VALUES ($1, $2, $3)
             ON CONFLICT (node, model) DO UPDATE SET record = EXCLUDED.record",
            &[&self.node, &model, &codec::encode(&state)],
        )
        .await?;
        Ok(())
    }

    pub async fn drop_vector_model(&self, model: &str) -> Result<(), Error> {
        for table in ["vectors", "vector_models"] {
            self.execute(
                &format!("DELETE FROM {table} WHERE node = $1 AND model = $2"),
                &[&self.node, &model],
            )
            .await?;
        }
        Ok(())
    }

    pub async fn clear_vectors(&self) -> Result<(), Error> {
        for table in ["vectors", "vector_models"] {
            self.execute(
                &format!("DELETE FROM {table} WHERE node = $1"),
                &[&self.node],
            )
            .await?;
        }
        Ok(())
    }
}
