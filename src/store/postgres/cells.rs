//! Rows as plain values, for copying a data dir into the database (`store::transfer`).

use super::{Error, PgStore};
use crate::store::transfer::Table;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cell {
    Uuid(Uuid),
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
    Int4(i32),
    Bool(bool),
}

impl Cell {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::Uuid(v) => v,
            Cell::Text(v) => v,
            Cell::Bytes(v) => v,
            Cell::Int(v) => v,
            Cell::Int4(v) => v,
            Cell::Bool(v) => v,
        }
    }

    /// Column `index` of `row`, of the same kind as `like`.
    fn read(row: &Row, index: usize, like: &Cell) -> Result<Cell, Error> {
        Ok(match like {
            Cell::Uuid(_) => Cell::Uuid(row.try_get(index)?),
            Cell::Text(_) => Cell::Text(row.try_get(index)?),
            Cell::Bytes(_) => Cell::Bytes(row.try_get(index)?),
            Cell::Int(_) => Cell::Int(row.try_get(index)?),
            Cell::Int4(_) => Cell::Int4(row.try_get(index)?),
            Cell::Bool(_) => Cell::Bool(row.try_get(index)?),
        })
    }

    /// Feeds the value to a checksum, unambiguously (kind, length, bytes).
    pub fn hash_into(&self, hash: &mut Sha256) {
        let (kind, bytes): (u8, Vec<u8>) = match self {
            Cell::Uuid(v) => (0, v.as_bytes().to_vec()),
            Cell::Text(v) => (1, v.as_bytes().to_vec()),
            Cell::Bytes(v) => (2, v.clone()),
            Cell::Int(v) => (3, v.to_be_bytes().to_vec()),
            Cell::Int4(v) => (4, v.to_be_bytes().to_vec()),
            Cell::Bool(v) => (5, vec![u8::from(*v)]),
        };
        hash.update([kind]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
    }
}

impl PgStore {
    /// Inserts the rows whose key is not in `table` yet, in one transaction; returns how many.
    pub async fn insert_missing(&self, table: &Table, rows: &[Vec<Cell>]) -> Result<u64, Error> {
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            table.name,
            table.columns.join(", "),
            placeholders.join(", ")
        );
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let statement = tx.prepare(&sql).await?;
        let mut inserted = 0;
        for row in rows {
            let params: Vec<&(dyn ToSql + Sync)> = row.iter().map(Cell::sql).collect();
            inserted += tx.execute(&statement, &params).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The rows of `table` with the keys of `rows`, as stored, in key order.
    pub async fn read_back(
        &self,
        table: &Table,
        rows: &[Vec<Cell>],
    ) -> Result<Vec<Vec<Cell>>, Error> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let keys: HashSet<&[Cell]> = rows.iter().map(|row| &row[..table.key]).collect();
        let sql = format!("SELECT {} FROM {}", table.columns.join(", "), table.name);
        let mut stored = Vec::with_capacity(rows.len());
        for row in self.query(&sql, &[]).await? {
            let cells = (0..table.columns.len())
                .map(|i| Cell::read(&row, i, &first[i]))
                .collect::<Result<Vec<_>, Error>>()?;
            if keys.contains(&cells[..table.key]) {
                stored.push(cells);
            }
        }
        stored.sort_by(|a, b| a[..table.key].cmp(&b[..table.key]));
        Ok(stored)
    }
}
