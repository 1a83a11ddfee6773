//! Dataset descriptions (the data itself lives in SQLite files, see `datasets`).

use super::{codec, finish, get, next_seq, Error, SledStore};
use crate::model::Dataset;
use crate::store::DatasetExists;
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use uuid::Uuid;

impl SledStore {
    pub fn datasets(&self) -> Result<Vec<Dataset>, Error> {
        let t = self.trees()?;
        t.datasets
            .iter()
            .values()
            .map(|raw| Ok(codec::decode(&raw?)?))
            .collect()
    }

    pub fn dataset(&self, id: Uuid) -> Result<Option<Dataset>, Error> {
        let t = self.trees()?;
        get(&t.datasets, id.as_bytes())
    }

    /// Whether an org already has a dataset of this name or table name (ignoring case).
    pub fn dataset_taken(&self, org_id: Uuid, name: &str, table: &str) -> Result<bool, Error> {
        self.taken_by_other(Uuid::nil(), org_id, name, table)
    }

    /// Whether another dataset of the org (not `except`) has this name or table name.
    fn taken_by_other(
        &self,
        except: Uuid,
        org_id: Uuid,
        name: &str,
        table: &str,
    ) -> Result<bool, Error> {
        let all = self.datasets()?;
        Ok(crate::store::datasets::taken_by_other(
            &all, except, org_id, name, table,
        ))
    }

    /// Rewrites a registered dataset (its notes, name or columns changed); the name stays
    /// unique within the org.
    pub async fn replace_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        let t = self.trees()?;
        if self.taken_by_other(dataset.id, dataset.org_id, &dataset.name, &dataset.table)? {
            return Err(DatasetExists::Name(dataset.name.clone()));
        }
        let result = self.gated(|| {
            (&t.datasets, &t.meta).transaction(|(datasets, meta)| {
                next_seq::<DatasetExists>(meta)?;
                datasets.insert(dataset.id.as_bytes(), codec::encode(dataset))?;
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await?;
        Ok(())
    }

    /// Unregisters a dataset; whether it existed.
    pub async fn remove_dataset(&self, id: Uuid) -> Result<bool, Error> {
        let t = self.trees()?;
        let result = self.gated(|| {
            (&t.datasets, &t.meta).transaction(|(datasets, meta)| {
                next_seq::<Error>(meta)?;
                Ok(datasets.remove(id.as_bytes())?.is_some())
            })
        });
        let existed = finish(result)?;
        self.flush().await?;
        Ok(existed)
    }

    /// Registers a dataset; names (and table names) are unique within an org.
    pub async fn add_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        let t = self.trees()?;
        if self.dataset_taken(dataset.org_id, &dataset.name, &dataset.table)? {
            return Err(DatasetExists::Name(dataset.name.clone()));
        }
        let result = self.gated(|| {
            (&t.datasets, &t.meta).transaction(|(datasets, meta)| {
                next_seq::<DatasetExists>(meta)?;
                if datasets.get(dataset.id.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(DatasetExists::Name(
                        dataset.name.clone(),
                    )));
                }
                datasets.insert(dataset.id.as_bytes(), codec::encode(dataset))?;
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await?;
        Ok(())
    }
}
