//! Dataset registrations (the data itself lives in SQLite files, see `datasets`).

use super::{Backend, Error, Store};
use crate::model::Dataset;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum DatasetExists {
    #[error("a dataset named {0:?} already exists in this organization")]
    Name(String),
    #[error(transparent)]
    Store(#[from] Error),
}

impl Store {
    /// Every registered dataset, oldest first.
    pub async fn datasets(&self) -> Result<Vec<Dataset>, Error> {
        let mut all = on_backend!(self, b => b.datasets())?;
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub async fn dataset(&self, id: Uuid) -> Result<Option<Dataset>, Error> {
        on_backend!(self, b => b.dataset(id))
    }

    /// Whether an org already has a dataset of this name or table name (ignoring case).
    pub async fn dataset_taken(
        &self,
        org_id: Uuid,
        name: &str,
        table: &str,
    ) -> Result<bool, Error> {
        Ok(taken_by_other(
            &self.datasets().await?,
            Uuid::nil(),
            org_id,
            name,
            table,
        ))
    }

    /// Rewrites a registered dataset (its notes, name or columns changed); the name stays
    /// unique within the org.
    pub async fn replace_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        on_backend!(async self, b => b.replace_dataset(dataset))
    }

    /// Unregisters a dataset; whether it existed.
    pub async fn remove_dataset(&self, id: Uuid) -> Result<bool, Error> {
        on_backend!(async self, b => b.remove_dataset(id))
    }

    /// Registers a dataset; names (and table names) are unique within an org.
    pub async fn add_dataset(&self, dataset: &Dataset) -> Result<(), DatasetExists> {
        on_backend!(async self, b => b.add_dataset(dataset))
    }
}

/// Whether a dataset of the org other than `except` has this name or table name (ignoring case).
pub(super) fn taken_by_other(
    all: &[Dataset],
    except: Uuid,
    org_id: Uuid,
    name: &str,
    table: &str,
) -> bool {
    all.iter().any(|other| {
        other.id != except
            && other.org_id == org_id
            && (other.name.eq_ignore_ascii_case(name) || other.table.eq_ignore_ascii_case(table))
    })
}
