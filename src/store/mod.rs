//! The storage interface, and the two backends behind it.
//!
//! Everything outside `store` reaches durable data through [`Store`]'s methods; no backend type
//! appears in their signatures. Two backends implement them:
//!
//! - `embedded`: sled in the data dir, the default (`skein serve` needs nothing else);
//! - `postgres`: PostgreSQL (`serve --database postgres://…`), shared by several nodes.
//!
//! The operations:
//!
//! - atomic read-modify-write of threads with their messages: [`Store::write_threads`] runs a
//!   body over a [`ThreadTxn`] (read a thread or message, append or replace a message, put a
//!   thread, mark an analysis pending or done) and commits it durably, logging the threads it
//!   touched in the change sequence; or cancels it on [`abort`];
//! - reads: a thread, its messages, the latest one, a message by id, the threads of an org or
//!   a member, the expiring threads, the pending analyses;
//! - the change sequence: [`Store::last_seq`], [`Store::changes_since`], [`Store::prune_changes`],
//!   and [`Store::changed`] to wake the indexer. Positions only grow, and every change at or
//!   below a position `changes_since` returned is final (none can appear there later);
//! - accounts (orgs, users, token hashes), datasets, Slack's mappings, vectors per model.
//!
//! Every write returns once it is durable: on disk (sled) or committed (PostgreSQL).

/// Calls the same method on whichever backend the store has; PostgreSQL's are async.
/// `async` for methods that are async in both (writes, which wait to be durable).
macro_rules! on_backend {
    (async $store:expr, $b:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sled($b) => $call.await,
            Backend::Postgres($b) => $call.await,
        }
    };
    ($store:expr, $b:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sled($b) => $call,
            Backend::Postgres($b) => $call.await,
        }
    };
}

mod accounts;
mod codec;
mod datasets;
mod embedded;
mod error;
mod maintenance;
mod postgres;
mod slack;
mod threads;
pub mod transfer;
mod txn;
mod vectors;

pub use accounts::AccountError;
pub use datasets::DatasetExists;
pub use embedded::{Counts, FaultReport, DEFAULT_CACHE_MB};
pub use error::Error;
pub use postgres::NODE_GONE_AFTER_SECS;
pub use slack::InboxEvent;
pub use txn::{abort, ThreadTxn, TxError, TxResult};
pub use vectors::{StoredVector, VectorModel};

use std::path::Path;
use std::sync::Arc;

/// The record format this binary writes (records are bincode over `model`'s serde derives, in
/// either backend). Bump it with a migration when records change.
///
/// 2: threads carry their REST attributes; vectors are keyed by model tag and message id
/// (being derived, format 1's are dropped on upgrade and rebuilt in the background).
/// 6: threads carry their lifecycle (open, locked, archived), UI visibility and assistant id.
pub const FORMAT_VERSION: u32 = 6;

/// How often a node on PostgreSQL looks for changes it was not woken for.
pub const CHANGES_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The durable store. Clones share one open database (or one pool of connections).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Woken after every durable thread write, for the search indexer.
    changed: Arc<tokio::sync::Notify>,
}

#[derive(Clone)]
enum Backend {
    Sled(embedded::SledStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating if needed) the embedded store in `dir`, refusing a newer format.
    pub fn open(dir: &Path) -> Result<Store, Error> {
        Store::open_with_cache(dir, DEFAULT_CACHE_MB * 1024 * 1024)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, Error> {
        Ok(Store::with(Backend::Sled(
            embedded::SledStore::open_with_cache(dir, cache_bytes)?,
        )))
    }

    /// Connects to PostgreSQL at `url` and brings its schema up to date. `node_dir` is this
    /// node's own data dir: its node id lives there, so a restarted node is the same node.
    pub async fn connect(url: &str, node_dir: &Path) -> Result<Store, Error> {
        Ok(Store::with(Backend::Postgres(
            postgres::PgStore::connect(url, node_dir).await?,
        )))
    }

    fn with(backend: Backend) -> Store {
        Store {
            backend,
            changed: Default::default(),
        }
    }

    /// `sled` or `postgres`, for `/healthz` and the logs.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sled(_) => "sled",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Says this process serves from the store, as one node of several on PostgreSQL (a
    /// command run offline does not). Its heartbeat is kept by [`Store::run_upkeep`].
    pub async fn register_node(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sled(_) => Ok(()),
            Backend::Postgres(b) => b.register_node().await,
        }
    }

    /// Which store this is, for indexes built from it: `sled`, or `postgres-<cluster id>`.
    pub async fn source(&self) -> Result<String, Error> {
        Ok(match self.cluster_id().await? {
            None => "sled".to_string(),
            Some(cluster) => format!("postgres-{cluster:016x}"),
        })
    }

    /// This node's id among the nodes sharing a database (none for the embedded store).
    pub fn node_id(&self) -> Option<uuid::Uuid> {
        match &self.backend {
            Backend::Sled(_) => None,
            Backend::Postgres(b) => Some(b.node_id()),
        }
    }

    /// The id of the deployment the database belongs to, made with its schema (none for the
    /// embedded store): nodes sharing a bus with another deployment's tell theirs apart by it.
    pub async fn cluster_id(&self) -> Result<Option<u64>, Error> {
        match &self.backend {
            Backend::Sled(_) => Ok(None),
            Backend::Postgres(b) => Ok(Some(b.cluster_id().await?)),
        }
    }

    /// Other nodes serving from the same database now (none for the embedded store).
    pub async fn other_live_nodes(&self) -> Result<Vec<uuid::Uuid>, Error> {
        match &self.backend {
            Backend::Sled(_) => Ok(Vec::new()),
            Backend::Postgres(b) => b.other_live_nodes().await,
        }
    }

    /// Resolves after a thread write that happened since the last wake-up (none are missed).
    /// On PostgreSQL also every [`CHANGES_POLL`]: other nodes write too, and a write of this
    /// node joins the change sequence only once every older transaction has finished.
    pub async fn changed(&self) {
        match &self.backend {
            Backend::Sled(_) => self.changed.notified().await,
            Backend::Postgres(_) => {
                tokio::select! {
                    _ = self.changed.notified() => {}
                    _ = tokio::time::sleep(CHANGES_POLL) => {}
                }
            }
        }
    }
}
