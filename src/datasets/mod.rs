//! Datasets: tables the analyst queries, each in an SQLite file of its own.
//!
//! - `describe`: the TOML description of columns and business terms.
//! - `import`: CSV to SQLite, all rows or none.
//! - `roles`: what a column is for, and how a measure combines, when the description is silent.
//! - `engine`: read-only query execution with a time limit and a row cap.
//! - `sqlfns`: `date_trunc`, `to_char`, `date_part`, `now` for the seed's SQL style.
//! - `aggregates`: `median`, `percentile` and `latest`, which SQLite lacks.
//! - `manage`: previewing a CSV, editing notes, replacing data, removing a dataset.
//! - `access`: members read their org's datasets; its admins manage them.
//!
//! Imported data lives in `DATA_DIR/datasets/<id>.sqlite`; an existing SQLite file is opened
//! read-only where it is. Descriptions are stored in sled. A dataset belongs to one org, and
//! only that org's users may query it. Keeping each dataset in its own file means one org's SQL
//! can never read another org's table.

mod access;
pub mod aggregates;
pub mod describe;
pub mod engine;
pub mod import;
mod manage;
pub mod roles;
pub mod sqlfns;

pub use access::may_manage;
pub use describe::{ColumnNotes, Describe};
pub use engine::{QueryError, QueryLimits, QueryResult, ResultColumn};
pub use manage::{ColumnChange, NoteChanges, Preview, SAMPLE_ROWS};

use crate::model::{ColumnRole, ColumnType, Dataset, DatasetSource, User};
use crate::store::{self, DatasetExists, Store};
use chrono::{NaiveDate, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Text columns with at most this many distinct values have them profiled for the planner.
const MAX_PROFILED_VALUES: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error(transparent)]
    Exists(#[from] DatasetExists),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// What the planner knows about a dataset's contents.
#[derive(Debug, Default)]
pub struct Profile {
    /// Distinct values of each text column that has few enough of them.
    pub values: HashMap<String, Vec<String>>,
    /// First and last day of each time column.
    pub time_range: HashMap<String, (NaiveDate, NaiveDate)>,
    /// Time columns whose every row has a time of its own (one row per day, or per month),
    /// with the number of rows: such rows are counted as periods ("how many days").
    pub one_row_per_time: HashMap<String, u64>,
    /// Rows of the table.
    pub rows: Option<u64>,
    /// Id columns with a different value in every row (each row is one order, one car).
    pub unique_ids: std::collections::HashSet<String>,
}

pub struct Datasets {
    store: Store,
    dir: PathBuf,
    limits: QueryLimits,
    profiles: Mutex<HashMap<Uuid, Arc<Profile>>>,
    /// Queries running at once: more wait their turn instead of piling onto the cores.
    running: Arc<tokio::sync::Semaphore>,
}

/// How many queries run at once, whatever asks.
fn concurrent_queries() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
}

impl Datasets {
    /// Where imported datasets' SQLite files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `dir` holds imported datasets' SQLite files (on a cluster, a directory every node reads).
    pub fn new(store: Store, dir: &Path, limits: QueryLimits) -> Datasets {
        static CAPPED: std::sync::Once = std::sync::Once::new();
        CAPPED.call_once(engine::cap_memory);
        Datasets {
            store,
            dir: dir.to_path_buf(),
            limits,
            profiles: Mutex::default(),
            running: Arc::new(tokio::sync::Semaphore::new(concurrent_queries())),
        }
    }

    /// The datasets a user may query, oldest first.
    pub async fn visible_to(&self, user: &User) -> Result<Vec<Dataset>, store::Error> {
        Ok(self
            .store
            .datasets()
            .await?
            .into_iter()
            .filter(|dataset| dataset.org_id == user.org_id)
            .collect())
    }

    /// One dataset, if the user may query it.
    pub async fn get_for(&self, user: &User, id: Uuid) -> Result<Option<Dataset>, store::Error> {
        Ok(self
            .store
            .dataset(id)
            .await?
            .filter(|dataset| dataset.org_id == user.org_id))
    }

    /// Imports CSV text as a new dataset of `org_id`.
    pub async fn add_csv(
        &self,
        org_id: Uuid,
        name: &str,
        csv: Vec<u8>,
        describe: Option<Describe>,
    ) -> Result<Dataset, DatasetError> {
        let describe = describe.unwrap_or_default();
        let (display, table) = names(name, &describe)?;
        self.check_free(org_id, &display, &table).await?;
        let declared = describe.declared_types().map_err(DatasetError::Invalid)?;
        let id = Uuid::new_v4();
        std::fs::create_dir_all(&self.dir).map_err(|e| DatasetError::Invalid(e.to_string()))?;
        let target = self.dir.join(format!("{id}.sqlite"));
        let table_for_import = table.clone();
        let target_for_import = target.clone();
        let columns = tokio::task::spawn_blocking(move || {
            import::import_csv(&csv[..], &table_for_import, &declared, &target_for_import)
        })
        .await
        .expect("import task")?;
        let dataset = Dataset {
            id,
            org_id,
            name: display,
            table,
            description: describe.description.clone(),
            source: DatasetSource::Imported,
            columns: describe.columns(&columns).map_err(DatasetError::Invalid)?,
            terms: describe.terms(),
            created_at: Utc::now(),
        };
        if let Err(err) = self.store.add_dataset(&dataset).await {
            let _ = std::fs::remove_file(&target);
            return Err(err.into());
        }
        Ok(dataset)
    }

    /// Registers table `table` of an existing SQLite file, which is only ever read.
    pub async fn add_sqlite(
        &self,
        org_id: Uuid,
        name: &str,
        path: &Path,
        table: &str,
        describe: Option<Describe>,
    ) -> Result<Dataset, DatasetError> {
        let describe = describe.unwrap_or_default();
        let display = describe
            .name
            .clone()
            .unwrap_or_else(|| name.trim().to_string());
        if display.is_empty() {
            return Err(DatasetError::Invalid("a dataset needs a name".into()));
        }
        self.check_free(org_id, &display, table).await?;
        let path = path
            .canonicalize()
            .map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
        let columns = table_columns(&path, table)?;
        let dataset = Dataset {
            id: Uuid::new_v4(),
            org_id,
            name: display,
            table: table.to_string(),
            description: describe.description.clone(),
            source: DatasetSource::External {
                path: path.display().to_string(),
            },
            columns: describe.columns(&columns).map_err(DatasetError::Invalid)?,
            terms: describe.terms(),
            created_at: Utc::now(),
        };
        self.store.add_dataset(&dataset).await?;
        Ok(dataset)
    }

    /// Refuses a taken name before any import work (the store checks again when registering).
    async fn check_free(&self, org_id: Uuid, name: &str, table: &str) -> Result<(), DatasetError> {
        if self.store.dataset_taken(org_id, name, table).await? {
            return Err(DatasetExists::Name(name.to_string()).into());
        }
        Ok(())
    }

    fn file_of(&self, dataset: &Dataset) -> PathBuf {
        match &dataset.source {
            DatasetSource::Imported => self.dir.join(format!("{}.sqlite", dataset.id)),
            DatasetSource::External { path } => PathBuf::from(path),
        }
    }

    /// Runs one read-only statement against a dataset, off the async runtime.
    pub async fn query(&self, dataset: &Dataset, sql: &str) -> Result<QueryResult, QueryError> {
        let path = self.file_of(dataset);
        let sql = sql.to_string();
        let limits = self.limits;
        let turn = self
            .running
            .clone()
            .acquire_owned()
            .await
            .expect("the query semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let result = engine::open_read_only(&path)
                .and_then(|mut conn| engine::run(&mut conn, &sql, limits));
            if matches!(result, Err(QueryError::TooBig(_) | QueryError::TimedOut(_))) {
                engine::release_memory();
            }
            result
        })
        .await
        .expect("query task")
    }

    /// Distinct values and date ranges, computed once per dataset.
    pub async fn profile(&self, dataset: &Dataset) -> Result<Arc<Profile>, QueryError> {
        if let Some(profile) = self.profiles.lock().unwrap().get(&dataset.id) {
            return Ok(profile.clone());
        }
        let mut profile = Profile::default();
        let count = format!("SELECT COUNT(*) FROM \"{}\"", dataset.table);
        profile.rows = self
            .query(dataset, &count)
            .await?
            .rows
            .first()
            .and_then(|row| row.first()?.as_u64());
        for column in &dataset.columns {
            let quoted = format!("\"{}\"", column.name);
            match (column.role, column.kind) {
                // Dimensions of any type ("origin", "year", "cylinders") are named by their values.
                (ColumnRole::Dimension, _) => {
                    let sql = format!(
                        "SELECT DISTINCT {quoted} FROM \"{}\" WHERE {quoted} IS NOT NULL LIMIT {}",
                        dataset.table,
                        MAX_PROFILED_VALUES + 1
                    );
                    let result = self.query(dataset, &sql).await?;
                    if result.rows.len() <= MAX_PROFILED_VALUES && !result.truncated {
                        let values = result
                            .rows
                            .into_iter()
                            .filter_map(|row| match &row[0] {
                                serde_json::Value::String(text) => Some(text.clone()),
                                serde_json::Value::Number(number) => Some(number.to_string()),
                                _ => None,
                            })
                            .collect();
                        profile.values.insert(column.name.clone(), values);
                    }
                }
                (ColumnRole::Id, _) => {
                    let sql = format!(
                        "SELECT COUNT(DISTINCT {quoted}) = COUNT(*) FROM \"{}\"",
                        dataset.table
                    );
                    let result = self.query(dataset, &sql).await?;
                    let unique = result.rows.first().and_then(|row| row.first()?.as_i64());
                    if unique == Some(1) {
                        profile.unique_ids.insert(column.name.clone());
                    }
                }
                (ColumnRole::Time, _) => {
                    let sql = format!(
                        "SELECT MIN({quoted}), MAX({quoted}), COUNT(*), COUNT(DISTINCT {quoted}) FROM \"{}\"",
                        dataset.table
                    );
                    let result = self.query(dataset, &sql).await?;
                    let day = |value: &serde_json::Value| {
                        value
                            .as_str()
                            .and_then(sqlfns::parse_moment)
                            .map(|m| m.at.date())
                    };
                    if let Some(row) = result.rows.first() {
                        if let (Some(first), Some(last)) = (day(&row[0]), day(&row[1])) {
                            profile
                                .time_range
                                .insert(column.name.clone(), (first, last));
                        }
                        if let (Some(rows), Some(distinct)) = (row[2].as_u64(), row[3].as_u64()) {
                            if rows > 1 && rows == distinct {
                                profile.one_row_per_time.insert(column.name.clone(), rows);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let profile = Arc::new(profile);
        self.profiles
            .lock()
            .unwrap()
            .insert(dataset.id, profile.clone());
        Ok(profile)
    }

    /// Registers the bundled sample sales dataset for `org_id`.
    pub async fn add_sample(&self, org_id: Uuid) -> Result<Dataset, DatasetError> {
        let describe = Describe::parse(SAMPLE_DESCRIBE).map_err(DatasetError::Invalid)?;
        self.add_csv(
            org_id,
            "sales_summary",
            SAMPLE_CSV.as_bytes().to_vec(),
            Some(describe),
        )
        .await
    }
}

const SAMPLE_CSV: &str = include_str!("../../assets/sample/sales_summary.csv");
const SAMPLE_DESCRIBE: &str = include_str!("../../assets/sample/sales_summary.toml");

/// Display name (from the describe file, else NAME) and SQL table name (from NAME).
fn names(name: &str, describe: &Describe) -> Result<(String, String), DatasetError> {
    let table = import::sql_identifier(name);
    if table.is_empty() {
        return Err(DatasetError::Invalid(format!(
            "{name:?} cannot be a dataset name: use letters, digits and underscores"
        )));
    }
    let display = describe
        .name
        .clone()
        .unwrap_or_else(|| name.trim().to_string());
    Ok((display, table))
}

/// The columns of a table in an existing SQLite file, with types from their declarations.
fn table_columns(path: &Path, table: &str) -> Result<Vec<(String, ColumnType)>, DatasetError> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
    let mut stmt = conn
        .prepare("SELECT name, type FROM pragma_table_info(?1)")
        .map_err(|e| DatasetError::Invalid(format!("{}: {e}", path.display())))?;
    let columns: Vec<(String, ColumnType)> = stmt
        .query_map([table], |row| {
            let name: String = row.get(0)?;
            let declared: String = row.get(1)?;
            Ok((name, engine::declared_type(&declared)))
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| DatasetError::Invalid(e.to_string()))?;
    if columns.is_empty() {
        return Err(DatasetError::Invalid(format!(
            "{} has no table named {table:?}",
            path.display()
        )));
    }
    Ok(columns)
}

/// Dataset errors as clients see them.
impl From<DatasetError> for crate::error::Error {
    fn from(err: DatasetError) -> Self {
        use crate::error::{Code, Error};
        use DatasetError as E;
        match err {
            E::Store(err) => err.into(),
            E::Exists(_) => Error::new(Code::AlreadyExists, err.to_string()),
            E::Invalid(_) | E::Import(_) | E::Query(_) => Error::invalid(err.to_string()),
        }
    }
}
