//! Durable storage on sled: trees, keys, record encoding, transactions and the write sequence.
//!
//! Layout (one sled tree each):
//!
//! | tree             | key                         | value                      |
//! |------------------|-----------------------------|----------------------------|
//! | `meta`           | `format_version`, `seq`     | u32 / u64, big endian      |
//! | `orgs`           | org id                      | [`Org`]                    |
//! | `users`          | user id                     | [`User`]                   |
//! | `user_emails`    | lower-cased email           | user id                    |
//! | `tokens`         | SHA-256 of a bearer token   | user id                    |
//! | `disabled_users` | user id                     | empty (tokens refused)     |
//! | `threads`        | thread id                   | [`Thread`]                 |
//! | `org_threads`    | org id ++ thread id         | empty (admin listing)      |
//! | `member_threads` | user id ++ thread id        | empty (owner and shares)   |
//! | `messages`       | thread id ++ seq            | [`Message`] (oldest first) |
//! | `message_keys`   | message id                  | thread id ++ seq           |
//! | `changes`        | seq                         | thread id                  |
//! | `expiring`       | thread id                   | empty (threads with a TTL) |
//! | `datasets`       | dataset id                  | [`Dataset`]                |
//! | `vectors`        | model tag ++ message id     | [`StoredVector`] (derived) |
//! | `vector_models`  | embedding model id          | [`VectorModel`] (derived)  |
//! | `slack_*`        | see `slack.rs`              | the Slack face's mappings  |
//!
//! Every write runs in one sled transaction that also takes the next value of `seq`; thread
//! writes additionally log `seq → thread id` in `changes`, so derived indexes can replay what they
//! have not seen. A write returns only after [`Store::flush`] has put it on disk.
//!
//! # The storage interface
//!
//! Everything outside `store` reaches storage through [`Store`]'s methods, and no sled type
//! appears in their signatures ([`TxError`] is opaque), so a second backend (PostgreSQL, a later
//! issue) implements the same operations:
//!
//! - atomic read-modify-write of threads with their messages: [`Store::write_threads`] runs a
//!   body over a [`ThreadTxn`] (read a thread or message, append or replace a message, put a
//!   thread, mark an analysis pending or done) and commits it with the next sequence number, or
//!   runs it again on a conflict (a SQL backend: one transaction, retried on serialization
//!   failure), or cancels it on [`abort`];
//! - reads: a thread, its messages, the latest one, a message by id, the threads of an org or
//!   a member, the expiring threads, the pending analyses;
//! - the change sequence: [`Store::last_seq`], [`Store::changes_since`], [`Store::prune_changes`],
//!   and [`Store::changed`] to wake the indexer;
//! - accounts (orgs, users, token hashes), datasets, and vectors per embedding model.
//!
//! [`Org`]: crate::model::Org
//! [`User`]: crate::model::User
//! [`Thread`]: crate::model::Thread
//! [`Message`]: crate::model::Message
//! [`Dataset`]: crate::model::Dataset

mod accounts;
mod codec;
mod commit;
mod datasets;
mod migrate;
mod repair;
mod slack;
mod snapshot;
mod threads;
mod vectors;

pub use accounts::AccountError;
pub use datasets::DatasetExists;
pub use repair::FaultReport;
pub use slack::InboxEvent;
pub use snapshot::Counts;

pub use threads::ThreadTxn;
pub use vectors::{StoredVector, VectorModel};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::Path;

/// The on-disk format this binary writes. Bump it with a migration when records change.
///
/// 2: threads carry their REST attributes; vectors are keyed by model tag and message id
/// (being derived, format 1's are dropped on upgrade and rebuilt in the background).
/// 6: threads carry their lifecycle (open, locked, archived), UI visibility and assistant id.
pub const FORMAT_VERSION: u32 = 6;

const KEY_FORMAT: &[u8] = b"format_version";
const KEY_SEQ: &[u8] = b"seq";
const KEY_PRUNED: &[u8] = b"changes_pruned_to";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error(
        "the data dir was written by a newer Skein (format {found}); this binary reads format {FORMAT_VERSION} at most"
    )]
    NewerFormat { found: u32 },
    #[error(
        "the data dir {0} is in use by another process (a running `skein serve`?) and its admin socket did not answer"
    )]
    Locked(String),
    #[error("the data store is being reopened after a write failure")]
    Reopening,
}

impl Error {
    /// Whether the disk (or the user's quota on it) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Sled(sled::Error::Io(io)) => matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            _ => false,
        }
    }
}

/// Result of a step of a write's body (see [`Store::write_threads`]).
pub type TxResult<T, E> = Result<T, TxError<E>>;

/// Why a write's body stopped: the caller's error ([`abort`]), which cancels the write, or the
/// storage engine's (a conflict makes the store run the body again). Opaque, so the engine's
/// types stay inside `store`; a second backend would carry its own here.
pub struct TxError<E>(ConflictableTransactionError<E>);

/// Cancels the surrounding write with the caller's error.
pub fn abort<T, E>(err: E) -> TxResult<T, E> {
    Err(TxError(ConflictableTransactionError::Abort(err)))
}

impl<E> From<sled::transaction::UnabortableTransactionError> for TxError<E> {
    fn from(err: sled::transaction::UnabortableTransactionError) -> Self {
        TxError(err.into())
    }
}

impl<E> From<sled::Error> for TxError<E> {
    fn from(err: sled::Error) -> Self {
        TxError(err.into())
    }
}

/// sled's own result type inside its transaction closures.
type SledTx<T, E> = Result<T, ConflictableTransactionError<E>>;

/// One open sled database and its trees.
struct Trees {
    db: sled::Db,
    /// sled's log file, for `fdatasync` after sled's own flush (see `commit`).
    log: std::fs::File,
    meta: sled::Tree,
    orgs: sled::Tree,
    users: sled::Tree,
    user_emails: sled::Tree,
    /// Users whose tokens no longer work: user id → empty.
    disabled_users: sled::Tree,
    tokens: sled::Tree,
    threads: sled::Tree,
    org_threads: sled::Tree,
    member_threads: sled::Tree,
    messages: sled::Tree,
    message_keys: sled::Tree,
    changes: sled::Tree,
    expiring: sled::Tree,
    /// Messages whose analysis has not written its outcome yet: message id → thread id.
    pending_analyses: sled::Tree,
    datasets: sled::Tree,
    vectors: sled::Tree,
    vector_models: sled::Tree,
    slack_teams: sled::Tree,
    slack_users: sled::Tree,
    slack_threads: sled::Tree,
    slack_events: sled::Tree,
    slack_inbox: sled::Tree,
}

impl Trees {
    fn open(dir: &Path, cache_bytes: u64) -> Result<Trees, Error> {
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|err| match err {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    Error::Locked(dir.display().to_string())
                }
                // sled reports a held lock as a generic I/O error on some platforms.
                sled::Error::Io(io) if io.to_string().contains("lock") => {
                    Error::Locked(dir.display().to_string())
                }
                other => Error::Sled(other),
            })?;
        let tree = |name: &str| db.open_tree(name);
        let log = std::fs::File::open(dir.join("db").join("db"))
            .map_err(|e| Error::Sled(sled::Error::Io(e)))?;
        Ok(Trees {
            log,
            meta: tree("meta")?,
            orgs: tree("orgs")?,
            users: tree("users")?,
            user_emails: tree("user_emails")?,
            disabled_users: tree("disabled_users")?,
            tokens: tree("tokens")?,
            threads: tree("threads")?,
            org_threads: tree("org_threads")?,
            member_threads: tree("member_threads")?,
            messages: tree("messages")?,
            message_keys: tree("message_keys")?,
            changes: tree("changes")?,
            expiring: tree("expiring")?,
            pending_analyses: tree("pending_analyses")?,
            datasets: tree("datasets")?,
            vectors: tree("vectors")?,
            vector_models: tree("vector_models")?,
            slack_teams: tree("slack_teams")?,
            slack_users: tree("slack_users")?,
            slack_threads: tree("slack_threads")?,
            slack_events: tree("slack_events")?,
            slack_inbox: tree("slack_inbox")?,
            db,
        })
    }
}

/// The durable store. Clones share one open database.
///
/// sled refuses every write after one failed disk write (a full disk, an I/O error) until the
/// database is opened again, so the store can close and reopen it in place (see `repair`):
/// each operation works on the database that was open when it began.
#[derive(Clone)]
pub struct Store {
    dir: std::path::PathBuf,
    /// `None` only while `repair` reopens the database.
    open: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<Trees>>>>,
    fault: std::sync::Arc<repair::Fault>,
    /// Shares one durable sync among concurrent writers.
    commit: std::sync::Arc<commit::GroupCommit>,
    /// Woken after every durable thread write, for the search indexer.
    changed: std::sync::Arc<tokio::sync::Notify>,
    /// The page cache's size, kept for reopening.
    cache_bytes: u64,
    /// Every transaction holds it shared while it runs; a backup holds it alone while it reads
    /// the trees, so it sees no write half done (see `backup`).
    writes: std::sync::Arc<std::sync::RwLock<()>>,
}

/// The store's page cache by default (MiB). sled's own default, 1 GiB, grows with everything
/// read: a server that had rebuilt its index (read every message) kept it all in memory.
pub const DEFAULT_CACHE_MB: u64 = 32;

impl Store {
    /// Opens (creating if needed) the store in `dir`, refusing a newer on-disk format.
    pub fn open(dir: &Path) -> Result<Store, Error> {
        Store::open_with_cache(dir, DEFAULT_CACHE_MB * 1024 * 1024)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, Error> {
        let store = Store {
            dir: dir.to_path_buf(),
            open: std::sync::Arc::new(std::sync::RwLock::new(Some(std::sync::Arc::new(
                Trees::open(dir, cache_bytes)?,
            )))),
            fault: Default::default(),
            commit: Default::default(),
            changed: Default::default(),
            cache_bytes,
            writes: Default::default(),
        };
        let t = store.trees()?;
        match t.meta.get(KEY_FORMAT)? {
            Some(raw) => {
                let found = codec::decode_u32(&raw);
                if found > FORMAT_VERSION {
                    return Err(Error::NewerFormat { found });
                }
                if found < FORMAT_VERSION {
                    if found < 2 {
                        migrate::format_1_to_2(&store)?;
                    }
                    if found < 3 {
                        migrate::format_2_to_3(&store)?;
                    }
                    if found < 4 {
                        migrate::format_3_to_4(&store)?;
                    }
                    if found < 5 {
                        migrate::format_4_to_5(&store)?;
                    }
                    migrate::format_5_to_6(&store)?;
                    t.meta.insert(KEY_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
                    t.db.flush()?;
                }
            }
            None => {
                t.meta.insert(KEY_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
                t.db.flush()?;
            }
        }
        drop(t);
        Ok(store)
    }

    /// The open database, held for the length of one operation.
    /// The data dir the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs one write (a transaction) while no backup is reading.
    fn gated<R>(&self, write: impl FnOnce() -> R) -> R {
        let _writing = self.writes.read().unwrap_or_else(|e| e.into_inner());
        write()
    }

    fn trees(&self) -> Result<std::sync::Arc<Trees>, Error> {
        self.open.read().unwrap().clone().ok_or(Error::Reopening)
    }

    /// Resolves after a thread write that happened since the last wake-up (none are missed).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The sequence number of the latest committed write.
    pub fn last_seq(&self) -> Result<u64, Error> {
        let t = self.trees()?;
        Ok(t.meta
            .get(KEY_SEQ)?
            .map(|raw| codec::decode_u64(&raw))
            .unwrap_or(0))
    }
}

/// Reads and decodes one record.
fn get<T: serde::de::DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, Error> {
    match tree.get(key)? {
        Some(raw) => Ok(Some(codec::decode(&raw)?)),
        None => Ok(None),
    }
}

/// Takes the next write sequence number inside a transaction on the `meta` tree.
fn next_seq<E>(meta: &sled::transaction::TransactionalTree) -> SledTx<u64, E> {
    let seq = meta
        .get(KEY_SEQ)?
        .map(|raw| codec::decode_u64(&raw))
        .unwrap_or(0)
        + 1;
    meta.insert(KEY_SEQ, &seq.to_be_bytes())?;
    Ok(seq)
}

/// Turns sled's transaction outcome into the caller's error type.
fn finish<T, E: From<Error>>(result: Result<T, TransactionError<E>>) -> Result<T, E> {
    result.map_err(|err| match err {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => E::from(Error::Sled(e)),
    })
}

/// Storage failures as clients see them (details go to the log).
impl From<Error> for crate::error::Error {
    fn from(err: Error) -> Self {
        use crate::error::{Code, Error as ClientError};
        match err {
            // Said as it is: the operator can act on these.
            Error::NewerFormat { .. } => ClientError::new(Code::Unsupported, err.to_string()),
            Error::Locked(_) => ClientError::new(Code::ServerUnreachable, err.to_string()),
            _ if err.is_disk_full() => {
                tracing::error!(error = %err, "storage failure: the disk is full");
                ClientError::new(
                    Code::DiskFull,
                    "the server is out of disk space; nothing was written (writes resume once space is freed)",
                )
            }
            Error::Reopening => ClientError::new(
                Code::StorageUnavailable,
                "the server is reopening its data store after a write failure; try again shortly",
            ),
            Error::Sled(_) => {
                tracing::error!(error = %err, "storage failure");
                ClientError::new(
                    Code::StorageFailure,
                    "the server could not read or write its data; see the server log",
                )
            }
        }
    }
}
