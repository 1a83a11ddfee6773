//! Managing registered datasets: previewing a CSV before it is added, editing the notes the
//! analyst reads (meanings, units, roles, aggregation), replacing the data, removing one.
//! Every edit goes through [`Describe::columns`], the same checks as `--describe` files.

use super::describe::ColumnNotes;
use super::{import, DatasetError, Datasets, Describe, QueryResult};
use crate::model::{ColumnRole, ColumnType, Dataset, DatasetSource};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Rows a preview or a description shows.
pub const SAMPLE_ROWS: usize = 10;

/// What adding a CSV would make: its columns with the types and roles inferred, and its first
/// rows as they would be stored.
pub struct Preview {
    pub columns: Vec<crate::model::Column>,
    pub rows: QueryResult,
    pub row_count: u64,
}

/// Changes to a dataset's notes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct NoteChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub columns: BTreeMap<String, ColumnChange>,
}

#[derive(Debug, Default)]
pub struct ColumnChange {
    pub meaning: Option<Option<String>>,
    pub unit: Option<Option<String>>,
    pub synonyms: Option<Vec<String>>,
    /// `id`, `time`, `dimension` or `measure`.
    pub role: Option<String>,
    /// `sum`, `avg`, `min`, `max`, `last`; `Some(None)`: inferred again.
    pub aggregate: Option<Option<String>>,
}

impl Datasets {
    /// Imports `csv` into a scratch file to show what adding it would make; nothing stays.
    pub async fn preview_csv(&self, csv: Vec<u8>) -> Result<Preview, DatasetError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| DatasetError::Invalid(e.to_string()))?;
        let scratch = self.dir.join(format!("preview-{}.sqlite", Uuid::new_v4()));
        let target = scratch.clone();
        let imported = tokio::task::spawn_blocking(move || {
            import::import_csv(&csv[..], "preview", &BTreeMap::new(), &target)
        })
        .await
        .expect("import task");
        let preview = match imported {
            Ok(table_columns) => self.read_preview(&scratch, &table_columns).await,
            Err(err) => Err(err.into()),
        };
        let _ = std::fs::remove_file(&scratch);
        preview
    }

    async fn read_preview(
        &self,
        file: &std::path::Path,
        table_columns: &[(String, ColumnType)],
    ) -> Result<Preview, DatasetError> {
        let columns = Describe::default()
            .columns(table_columns)
            .map_err(DatasetError::Invalid)?;
        let scratch = Dataset {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            name: "preview".into(),
            table: "preview".into(),
            description: None,
            source: DatasetSource::External {
                path: file.display().to_string(),
            },
            columns: columns.clone(),
            terms: Vec::new(),
            created_at: chrono::Utc::now(),
        };
        let (row_count, rows) = self.sample(&scratch).await?;
        Ok(Preview {
            columns,
            rows,
            row_count,
        })
    }

    /// The number of rows and the first few of them.
    pub async fn sample(&self, dataset: &Dataset) -> Result<(u64, QueryResult), DatasetError> {
        let table = &dataset.table;
        let count = self
            .query(dataset, &format!("SELECT COUNT(*) AS n FROM \"{table}\""))
            .await?;
        let row_count = count
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(|n| n.as_u64())
            .unwrap_or(0);
        let rows = self
            .query(
                dataset,
                &format!("SELECT * FROM \"{table}\" LIMIT {SAMPLE_ROWS}"),
            )
            .await?;
        Ok((row_count, rows))
    }

    /// Applies changes to a dataset's name, description and column notes.
    pub async fn update_notes(
        &self,
        dataset: &Dataset,
        changes: NoteChanges,
    ) -> Result<Dataset, DatasetError> {
        let mut notes = notes_of(dataset);
        for (name, change) in changes.columns {
            let Some(column) = notes.columns.get_mut(&name) else {
                let known: Vec<&str> = dataset.columns.iter().map(|c| c.name.as_str()).collect();
                return Err(DatasetError::Invalid(format!(
                    "the dataset has no column {name:?} (it has {})",
                    known.join(", ")
                )));
            };
            change.apply(column);
        }
        let mut updated = dataset.clone();
        if let Some(name) = changes.name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(DatasetError::Invalid(
                    "a dataset's name is 1 to 200 characters".into(),
                ));
            }
            updated.name = name.to_string();
        }
        if let Some(description) = changes.description {
            updated.description = description.filter(|d| !d.trim().is_empty());
        }
        let table_columns: Vec<(String, ColumnType)> = dataset
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind))
            .collect();
        updated.columns = notes
            .columns(&table_columns)
            .map_err(DatasetError::Invalid)?;
        self.store.replace_dataset(&updated).await?;
        self.forget_profile(dataset.id);
        Ok(updated)
    }

    /// Replaces an imported dataset's rows with `csv`. Columns that stay keep their type (a
    /// row that does not fit is refused with its line) and their notes; nothing changes
    /// unless the whole CSV imports.
    pub async fn replace_csv(
        &self,
        dataset: &Dataset,
        csv: Vec<u8>,
    ) -> Result<Dataset, DatasetError> {
        if !matches!(dataset.source, DatasetSource::Imported) {
            return Err(DatasetError::Invalid(format!(
                "{} is a table of an SQLite file Skein only reads; change that file instead",
                dataset.name
            )));
        }
        let declared: BTreeMap<String, ColumnType> = dataset
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind))
            .collect();
        let current = self.file_of(dataset);
        let next = current.with_extension("next.sqlite");
        let (table, target) = (dataset.table.clone(), next.clone());
        let table_columns = tokio::task::spawn_blocking(move || {
            // Only the columns the new CSV has are declared: others may come and go.
            let headers = csv::Reader::from_reader(&csv[..])
                .headers()
                .map(|h| h.iter().map(import::sql_identifier).collect::<Vec<_>>())
                .unwrap_or_default();
            let declared: BTreeMap<String, ColumnType> = declared
                .into_iter()
                .filter(|(name, _)| headers.contains(name))
                .collect();
            import::import_csv(&csv[..], &table, &declared, &target)
        })
        .await
        .expect("import task")?;
        let mut notes = notes_of(dataset);
        notes
            .columns
            .retain(|name, _| table_columns.iter().any(|(column, _)| column == name));
        let mut replaced = dataset.clone();
        replaced.columns = match notes.columns(&table_columns) {
            Ok(columns) => columns,
            Err(err) => {
                let _ = std::fs::remove_file(&next);
                return Err(DatasetError::Invalid(err));
            }
        };
        if let Err(err) = self.store.replace_dataset(&replaced).await {
            let _ = std::fs::remove_file(&next);
            return Err(err.into());
        }
        std::fs::rename(&next, &current).map_err(|e| DatasetError::Invalid(e.to_string()))?;
        self.forget_profile(dataset.id);
        Ok(replaced)
    }

    /// Unregisters a dataset and deletes its imported file (a registered SQLite file of the
    /// user's own is left where it is). Answers already given keep their words, SQL and rows.
    pub async fn remove(&self, dataset: &Dataset) -> Result<(), DatasetError> {
        self.store.remove_dataset(dataset.id).await?;
        if matches!(dataset.source, DatasetSource::Imported) {
            let _ = std::fs::remove_file(self.file_of(dataset));
        }
        self.forget_profile(dataset.id);
        Ok(())
    }

    fn forget_profile(&self, id: Uuid) {
        self.profiles.lock().unwrap().remove(&id);
    }
}

impl ColumnChange {
    fn apply(self, notes: &mut ColumnNotes) {
        if let Some(meaning) = self.meaning {
            notes.meaning = meaning.filter(|m| !m.trim().is_empty());
        }
        if let Some(unit) = self.unit {
            notes.unit = unit.filter(|u| !u.trim().is_empty());
        }
        if let Some(synonyms) = self.synonyms {
            notes.synonyms = synonyms;
        }
        if let Some(role) = self.role {
            // A new role's aggregation is inferred again unless given with it.
            notes.role = Some(role);
            notes.aggregate = None;
        }
        if let Some(aggregate) = self.aggregate {
            notes.aggregate = aggregate;
        }
    }
}

/// A dataset's notes as a description file would hold them (what editing starts from).
fn notes_of(dataset: &Dataset) -> Describe {
    let columns = dataset
        .columns
        .iter()
        .map(|column| {
            let notes = ColumnNotes {
                meaning: column.meaning.clone(),
                synonyms: column.synonyms.clone(),
                unit: column.unit.clone(),
                role: Some(column.role.name().to_string()),
                kind: None,
                aggregate: match column.role {
                    ColumnRole::Measure => column.aggregate.map(|a| a.name().to_string()),
                    _ => None,
                },
            };
            (column.name.clone(), notes)
        })
        .collect();
    Describe {
        name: Some(dataset.name.clone()),
        description: dataset.description.clone(),
        columns,
        terms: Vec::new(),
    }
}
