//! Operations of the embedded store only: durability on demand, backups, and reopening after a
//! failed disk write. On PostgreSQL these belong to PostgreSQL (`pg_dump`, its own recovery).

use super::{Backend, Counts, Error, FaultReport, Store};
use crate::model::Dataset;
use std::io::{Read, Write};
use tokio_util::sync::CancellationToken;

const BACKUP_ON_POSTGRES: &str = "this server keeps its data in PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or continuous archiving)";

impl Store {
    /// Waits until everything written so far is durable (every write already does).
    pub async fn flush(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sled(b) => b.flush().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Writes every durable record to `out`, then runs `also` with the latest position of the
    /// change sequence and the registered datasets (to copy their files), all while writes
    /// wait: the snapshot is one moment of the store. Embedded store only.
    pub fn snapshot<T>(
        &self,
        out: &mut impl Write,
        also: impl FnOnce(u64, Vec<Dataset>) -> std::io::Result<T>,
    ) -> Result<(Counts, T), Error> {
        match &self.backend {
            Backend::Sled(b) => b.snapshot(out, |b| {
                let seq = b.last_seq().map_err(std::io::Error::other)?;
                also(seq, b.datasets().map_err(std::io::Error::other)?)
            }),
            Backend::Postgres(_) => Err(Error::Unsupported(BACKUP_ON_POSTGRES)),
        }
    }

    /// Loads a snapshot into this (new, empty) embedded store and makes it durable.
    pub async fn load_snapshot(&self, input: &mut impl Read) -> Result<Counts, Error> {
        match &self.backend {
            Backend::Sled(b) => b.load_snapshot(input).await,
            Backend::Postgres(_) => Err(Error::Unsupported(BACKUP_ON_POSTGRES)),
        }
    }

    /// Why writes are failing now, if they are (the embedded store; PostgreSQL's failures are
    /// each request's own).
    pub fn fault(&self) -> Option<FaultReport> {
        match &self.backend {
            Backend::Sled(b) => b.fault(),
            Backend::Postgres(_) => None,
        }
    }

    /// How often the embedded database was reopened after a failure, and its last sequence
    /// number right after the latest reopening: a derived index covering more saw a write that
    /// was lost with the failure (never acknowledged) and must be rebuilt.
    pub fn reopened(&self) -> (u64, u64) {
        match &self.backend {
            Backend::Sled(b) => b.reopened(),
            Backend::Postgres(_) => (0, 0),
        }
    }

    /// The store's upkeep while a server runs, until `stop`: the embedded store watches that
    /// writes work and reopens its database after a failure; on PostgreSQL the node keeps its
    /// heartbeat.
    pub async fn run_upkeep(self, stop: CancellationToken) {
        match self.backend {
            Backend::Sled(b) => b.run_repair(stop).await,
            Backend::Postgres(b) => b.run_heartbeat(stop).await,
        }
    }
}
