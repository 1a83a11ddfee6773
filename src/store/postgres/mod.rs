//! The PostgreSQL backend: the same operations as the embedded store, on a database several
//! Skein nodes share (`serve --database postgres://…`).
//!
//! Tables are in `schema.sql` (applied at start, versioned in `schema_migrations`). Records are
//! the embedded store's bytes (`codec`), so both backends read and write the same records.
//! A write is acknowledged once its transaction has committed.
//!
//! Each node has an id (kept in its data dir) and a row in `nodes` with a heartbeat: the
//! analyses a node owes are its own (another node takes them over once its heartbeat stops),
//! vectors are per node, and the change log is pruned only below what every live node indexed.

mod accounts;
mod cells;
mod datasets;
mod nodes;
mod pool;
mod slack;
mod threads;
mod txn;
mod vectors;

pub use cells::Cell;
pub use nodes::NODE_GONE_AFTER_SECS;
pub use txn::PgTxn;

use super::{codec, Error, FORMAT_VERSION};
use deadpool_postgres::{GenericClient, Object, Pool};
use serde::de::DeserializeOwned;
use std::path::Path;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

/// The schema versions, in order; `schema_migrations` records which are applied.
const MIGRATIONS: &[&str] = &[include_str!("schema.sql")];

/// Serializes schema changes between nodes starting together.
const MIGRATION_LOCK: i64 = 0x736b_6569_6e00_0001;

/// Connections one node keeps open at most.
const POOL_SIZE: usize = 16;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// This node's id (see the module comment).
    node: Uuid,
}

impl PgStore {
    /// Connects and applies the schema migrations the database does not have yet.
    pub async fn connect(url: &str, node_dir: &Path) -> Result<PgStore, Error> {
        let pool = pool::connect(url, POOL_SIZE)?;
        let store = PgStore {
            pool,
            node: nodes::node_id(node_dir)?,
        };
        let mut client = store.client().await?;
        migrate(&mut client).await?;
        Ok(store)
    }

    async fn client(&self) -> Result<Object, Error> {
        Ok(self.pool.get().await?)
    }

    /// Runs one statement (prepared once per connection) and returns its rows.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        query(&self.client().await?, sql, params).await
    }

    /// Runs one statement and returns how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        execute(&self.client().await?, sql, params).await
    }

    /// The records in column 0 of `sql`'s rows.
    async fn records<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>, Error> {
        self.query(sql, params)
            .await?
            .iter()
            .map(|row| decode(row, 0))
            .collect()
    }

    /// The record in column 0 of `sql`'s first row, if any.
    async fn record<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>, Error> {
        self.query(sql, params)
            .await?
            .first()
            .map(|row| decode(row, 0))
            .transpose()
    }
}

async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, Error> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, Error> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// Decodes the record in column `index` of `row`.
fn decode<T: DeserializeOwned>(row: &Row, index: usize) -> Result<T, Error> {
    let raw: &[u8] = row.try_get(index)?;
    codec::decode(raw).map_err(|err| Error::Corrupt(err.to_string()))
}

/// Whether a failed statement may succeed when its transaction runs again: a serialization
/// failure, a deadlock, or a concurrent insert of the same key.
fn retryable(err: &Error) -> bool {
    use tokio_postgres::error::SqlState;
    match err {
        Error::Postgres(err) => err.code().is_some_and(|code| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
            ]
            .contains(code)
        }),
        _ => false,
    }
}

/// Whether `err` is a unique-key violation on `constraint`.
fn violates(err: &Error, constraint: &str) -> bool {
    match err {
        Error::Postgres(err) => err
            .as_db_error()
            .is_some_and(|db| db.constraint() == Some(constraint)),
        _ => false,
    }
}

/// Brings the schema up to date, one version at a time, under a lock other nodes wait on; and
/// refuses a database written by a newer Skein.
async fn migrate(client: &mut Object) -> Result<(), Error> {
    let tx = client.transaction().await?;
    // "already exists, skipping" notices are not news on every start.
    tx.batch_execute("SET LOCAL client_min_messages = warning")
        .await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let applied: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if applied as usize > MIGRATIONS.len() {
        return Err(Error::NewerFormat {
            found: applied as u32,
            reads: MIGRATIONS.len() as u32,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = index as i32 + 1;
        tracing::info!(version, "applying PostgreSQL schema migration");
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    // The deployment's id, made once: the bus's subjects are named by it.
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('cluster_id', (random() * 9e18)::bigint)
         ON CONFLICT (key) DO NOTHING",
        &[],
    )
    .await?;
    // Records are the embedded store's format: refuse newer ones, like the embedded store.
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('record_format', $1) ON CONFLICT (key) DO NOTHING",
        &[&(FORMAT_VERSION as i64)],
    )
    .await?;
    let found: i64 = tx
        .query_one("SELECT value FROM meta WHERE key = 'record_format'", &[])
        .await?
        .get(0);
    if found as u32 > FORMAT_VERSION {
        return Err(Error::NewerFormat {
            found: found as u32,
            reads: FORMAT_VERSION,
        });
    }
    if (found as u32) < FORMAT_VERSION {
        return Err(Error::Unsupported(
            "the database holds records of an older format than this Skein writes, and no upgrade of PostgreSQL records exists yet",
        ));
    }
    tx.commit().await?;
    Ok(())
}
