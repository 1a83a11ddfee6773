//! Dataset registrations.

use super::{decode, execute, query, Error, PgStore};
use crate::model::Dataset;
use crate::store::datasets::taken_by_other;
use crate::store::{codec, DatasetExists};
use uuid::Uuid;

impl PgStore {
    pub async fn datasets(&self) -> Result<Vec<Dataset>, Error> {
        self.records("SELECT record FROM datasets", &[]).await
    }

    pub async fn dataset(&self, id: Uuid) -> Result<Option<Dataset>, Error> {
        self.record("SELECT record FROM datasets WHERE id = $1", &[&id])
            .await
    }

    pub async fn add_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        self.write_dataset(dataset, false).await
    }

    pub async fn replace_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        self.write_dataset(dataset, true).await
    }

    /// Writes a registration while no other write to the org's datasets runs, so two nodes
    /// cannot both take one name.
    async fn write_dataset(&self, dataset: &Dataset, replace: bool) -> Result<(), DatasetExists> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::from)?;
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))",
            &[&dataset.org_id.to_string()],
        )
        .await?;
        let others: Vec<Dataset> = query(
            &tx,
            "SELECT record FROM datasets WHERE org_id = $1",
            &[&dataset.org_id],
        )
        .await?
        .iter()
        .map(|row| decode(row, 0))
        .collect::<Result<_, Error>>()?;
        let except = if replace { dataset.id } else { Uuid::nil() };
        let id_taken = !replace && others.iter().any(|other| other.id == dataset.id);
        if id_taken
            || taken_by_other(
                &others,
                except,
                dataset.org_id,
                &dataset.name,
                &dataset.table,
            )
        {
            return Err(DatasetExists::Name(dataset.name.clone()));
        }
        execute(
            &tx,
            "INSERT INTO datasets (id, org_id, record) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET org_id = EXCLUDED.org_id, record = EXCLUDED.record",
            &[&dataset.id, &dataset.org_id, &codec::encode(dataset)],
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(())
    }

    pub async fn remove_dataset(&self, id: Uuid) -> Result<bool, Error> {
        Ok(self
            .execute("DELETE FROM datasets WHERE id = $1", &[&id])
            .await?
            > 0)
    }
}
