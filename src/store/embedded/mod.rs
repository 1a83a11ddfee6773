//! The embedded backend: sled trees, keys, record encoding, transactions and the write sequence.
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
//! | `changes`        | seq                         | ids of the threads changed |
//! | `expiring`       | thread id                   | empty (threads with a TTL) |
//! | `datasets`       | dataset id                  | [`Dataset`]                |
//! | `vectors`        | model tag ++ message id     | [`StoredVector`] (derived) |
//! | `vector_models`  | embedding model id          | [`VectorModel`] (derived)  |
//! | `slack_*`        | see `slack.rs`              | the Slack face's mappings  |
//!
//! Every write takes the next value of `seq`, one write at a time. Thread writes that arrive
//! together form one group (see `combine`) that logs `seq → thread ids` in `changes`, so derived
//! indexes can replay what they have not seen; a group is durable once the thread log has it
//! (`wal`), before sled applies it. Other writes run in one sled transaction each and return
//! only after [`SledStore::flush`] has put them on disk.
//!
//! Reading a thread's messages keeps them decoded (`message_cache`) for the next read, as a
//! write's answer renders the thread again; applying a group drops the threads it wrote.
//!

mod accounts;
mod combine;
mod commit;
mod datasets;
mod message_cache;
mod migrate;
mod repair;
mod slack;
mod snapshot;
mod threads;
mod vectors;
mod wal;

pub use repair::FaultReport;
pub use snapshot::Counts;
pub use threads::SledTxn;

pub(super) use super::{codec, Error, TxResult};

/// The data dir's layout: [`super::FORMAT_VERSION`]'s records, plus (since 7) the thread
/// log, which a binary that does not know it would ignore, losing acknowledged writes: such a
/// binary must refuse the data dir. 8: the log's second layout (generations, zeros ahead),
/// which format 7's binaries would refuse as not a log. 9: one `changes` entry per group
/// (format 8's binaries read only one per thread).
pub(super) const DISK_FORMAT: u32 = 9;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use std::path::Path;

const KEY_FORMAT: &[u8] = b"format_version";
const KEY_SEQ: &[u8] = b"seq";
const KEY_PRUNED: &[u8] = b"changes_pruned_to";

/// sled's own result type inside its transaction closures.
type SledTx<T, E> = Result<T, ConflictableTransactionError<E>>;

/// One open sled database and its trees.
struct Trees {
    db: sled::Db,
    /// sled's log file, for `fdatasync` after sled's own flush (see `commit`).
    log: std::fs::File,
    /// Thread writes not yet durable in sled (see `wal`).
    wal: std::sync::Mutex<wal::Wal>,
    /// Recently read threads' messages, decoded (kept exact by `wal::apply`).
    message_cache: message_cache::MessageCache,
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
    /// Opens the database (refusing a newer format) and the thread log; the log's records are
    /// for [`wal::replay`] once older formats are upgraded.
    fn open(dir: &Path, cache_bytes: u64) -> Result<(Trees, Vec<wal::Record>), Error> {
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
        let log = std::fs::File::open(dir.join("db").join("db")).map_err(io)?;
        // Before the thread log: a newer Skein's log may not be ours to read.
        let meta = tree("meta")?;
        if let Some(raw) = meta.get(KEY_FORMAT)? {
            let found = codec::decode_u32(&raw);
            if found > DISK_FORMAT {
                return Err(Error::NewerFormat {
                    found,
                    reads: DISK_FORMAT,
                });
            }
        }
        let (wal, records) = wal::Wal::open(dir)?;
        let trees = Trees {
            log,
            wal: std::sync::Mutex::new(wal),
            message_cache: message_cache::MessageCache::new(message_cache_bytes(cache_bytes)),
            meta,
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
        };
        Ok((trees, records))
    }

    /// The sequence number of the latest write applied.
    fn seq(&self) -> Result<u64, Error> {
        Ok(self
            .meta
            .get(KEY_SEQ)?
            .map_or(0, |raw| codec::decode_u64(&raw)))
    }
}

/// The durable store. Clones share one open database.
///
/// sled refuses every write after one failed disk write (a full disk, an I/O error) until the
/// database is opened again, so the store can close and reopen it in place (see `repair`):
/// each operation works on the database that was open when it began.
#[derive(Clone)]
pub struct SledStore {
    dir: std::path::PathBuf,
    /// `None` only while `repair` reopens the database.
    open: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<Trees>>>>,
    fault: std::sync::Arc<repair::Fault>,
    /// Refuses writes near a full disk.
    room: std::sync::Arc<repair::Room>,
    /// Shares one durable sync among concurrent writers.
    commit: std::sync::Arc<commit::GroupCommit>,
    /// Runs thread writes that arrive together as one group (one log record, one sync).
    combiner: std::sync::Arc<combine::Combiner>,
    /// The page cache's size, kept for reopening.
    cache_bytes: u64,
    /// Every write holds it shared while it runs; a backup holds it alone while it reads
    /// the trees, so it sees no write half done (see `backup`).
    writes: std::sync::Arc<std::sync::RwLock<()>>,
    /// Held by each write while it takes its sequence number and applies: writes get their
    /// numbers in the order they are applied. A group of thread writes holds it through its
    /// sync, so another write may wait that long.
    serial: std::sync::Arc<std::sync::Mutex<()>>,
}

/// The budget of decoded messages kept beside a page cache of `cache_bytes`: a quarter as
/// much, so the one flag bounds both.
fn message_cache_bytes(cache_bytes: u64) -> usize {
    usize::try_from(cache_bytes / 4).unwrap_or(usize::MAX)
}

/// The store's page cache by default (MiB). sled's own default, 1 GiB, grows with everything
/// read: a server that had rebuilt its index (read every message) kept it all in memory.
pub const DEFAULT_CACHE_MB: u64 = 32;

impl SledStore {
    /// Opens (creating if needed) the store in `dir`, refusing a newer on-disk format.
    #[cfg(test)]
    pub fn open(dir: &Path) -> Result<SledStore, Error> {
        SledStore::open_with_cache(dir, DEFAULT_CACHE_MB * 1024 * 1024)
    }

    /// [`SledStore::open`], waiting while the dir is locked: sled releases its file lock from
    /// a background thread after the last handle is dropped, so a test that reopens a store
    /// in the same process can find the lock still held for a moment.
    #[cfg(test)]
    pub fn open_when_unlocked(dir: &Path) -> SledStore {
        for _ in 0..100 {
            match SledStore::open(dir) {
                Err(Error::Locked(_)) => std::thread::sleep(std::time::Duration::from_millis(20)),
                other => return other.unwrap(),
            }
        }
        panic!("the data dir stayed locked");
    }

    /// [`SledStore::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<SledStore, Error> {
        let (trees, unreplayed) = Trees::open(dir, cache_bytes)?;
        let store = SledStore {
            dir: dir.to_path_buf(),
            open: std::sync::Arc::new(std::sync::RwLock::new(Some(std::sync::Arc::new(trees)))),
            fault: Default::default(),
            room: std::sync::Arc::new(repair::Room::new(dir)),
            commit: Default::default(),
            combiner: Default::default(),
            cache_bytes,
            writes: Default::default(),
            serial: Default::default(),
        };
        let t = store.trees()?;
        match t.meta.get(KEY_FORMAT)? {
            Some(raw) => {
                // A newer format was refused by `Trees::open`.
                let found = codec::decode_u32(&raw);
                if found < DISK_FORMAT {
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
                    if found < 6 {
                        migrate::format_5_to_6(&store)?;
                    }
                    // 6 → 7 adds the thread log, which `Trees::open` created empty; 7 → 8
                    // changes its layout, which `wal::Wal::open` reads in either; 8 → 9
                    // changes the `changes` entries, which are read in either shape.
                    t.meta.insert(KEY_FORMAT, &DISK_FORMAT.to_be_bytes())?;
                    t.db.flush()?;
                }
            }
            None => {
                t.meta.insert(KEY_FORMAT, &DISK_FORMAT.to_be_bytes())?;
                t.db.flush()?;
            }
        }
        wal::replay(&t, unreplayed)?;
        drop(t);
        Ok(store)
    }

    /// Whether a backup is reading the trees now, so that a write would wait until it is done.
    fn writes_paused(&self) -> bool {
        matches!(
            self.writes.try_read(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    /// Runs one write while no backup is reading and no other write runs, if the disk has
    /// room for it: near a full disk it is refused as one before anything is written (see
    /// `repair`).
    fn gated<T, E: From<sled::Error>>(&self, write: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let _writing = self.writes.read().unwrap_or_else(|e| e.into_inner());
        let _alone = self.serial.lock().unwrap_or_else(|e| e.into_inner());
        self.room.check()?;
        write()
    }

    fn trees(&self) -> Result<std::sync::Arc<Trees>, Error> {
        self.open.read().unwrap().clone().ok_or(Error::Reopening)
    }

    /// The sequence number of the latest committed write.
    pub fn last_seq(&self) -> Result<u64, Error> {
        self.trees()?.seq()
    }
}

/// A file error of the store's own files, reported like sled's (`repair` knows a full disk).
fn io(err: std::io::Error) -> Error {
    Error::Sled(sled::Error::Io(err))
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

/// A tree's (key, value) pairs.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

impl SledStore {
    /// Every (key, value) of one tree, in key order: for copying the store elsewhere
    /// (`store::transfer`).
    pub fn entries(&self, tree: &str) -> Result<Entries, Error> {
        let t = self.trees()?;
        t.db.open_tree(tree)?
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                Ok((key.to_vec(), value.to_vec()))
            })
            .collect()
    }
}
