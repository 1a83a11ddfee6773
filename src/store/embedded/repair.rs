//! Getting writes back after a failed disk write, without a restart.
//!
//! After one failed write to its log (a full disk, an I/O error), sled refuses every later
//! write until the database is opened again, and some reads fail with it too (seen in
//! `tests/disk_full.rs`: sled's log reservation checks its global error). So every write is
//! refused near a full disk, before sled can fail ([`Room`]); the store remembers a failure
//! (for `/healthz` and the error clients get), and `run_repair` reopens the database in place
//! once the disk has room again. What was acknowledged was flushed before the failure, so
//! reopening loses nothing acknowledged; what failed was never acknowledged.

use super::{Error, SledStore, Trees};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Free space the data dir needs before the database is reopened after a full disk: sled
/// writes a fresh 512 KiB log segment on recovery, and the next writes need room too.
pub const FREE_BYTES_TO_REOPEN: u64 = 8 << 20;

/// How often a healthy store checks that sled still takes writes, and a failed one whether it
/// can be reopened.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The store's current write failure, if any.
#[derive(Default)]
pub(super) struct Fault {
    report: Mutex<Option<FaultReport>>,
    wake: tokio::sync::Notify,
    /// How often the database was reopened, and its last sequence number right after the
    /// latest reopening (for derived indexes: see [`SledStore::reopened`]).
    reopened: Mutex<(u64, u64)>,
}

/// What `/healthz` says about a failed store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FaultReport {
    /// `disk_full` or `storage_failure` (machine codes of the error table).
    pub code: &'static str,
    pub message: String,
    /// When writes started failing (RFC 3339).
    pub since: String,
}

impl Fault {
    /// Notes a failed write (the first failure's time is kept) and wakes the repair.
    pub(super) fn report(&self, err: &Error) {
        if !matches!(err, Error::Sled(_)) {
            return;
        }
        let mut report = self.report.lock().unwrap();
        if report.is_none() {
            tracing::error!(error = %err, "storage writes are failing; they resume once the store can be reopened");
            *report = Some(FaultReport {
                code: if err.is_disk_full() {
                    "disk_full"
                } else {
                    "storage_failure"
                },
                message: err.to_string(),
                since: chrono::Utc::now().to_rfc3339(),
            });
        }
        drop(report);
        self.wake.notify_one();
    }

    fn clear(&self) {
        *self.report.lock().unwrap() = None;
    }
}

impl SledStore {
    /// Why writes are failing now, if they are.
    pub fn fault(&self) -> Option<FaultReport> {
        self.fault.report.lock().unwrap().clone()
    }

    /// How often the database was reopened, and its last sequence number right after the
    /// latest reopening. A derived index that covers more than that number saw a write that
    /// was lost with the failure (never acknowledged) and must be rebuilt: later writes reuse
    /// the lost sequence numbers.
    pub fn reopened(&self) -> (u64, u64) {
        *self.fault.reopened.lock().unwrap()
    }

    /// Watches that writes work and reopens the database after a failure, once the disk has
    /// [`FREE_BYTES_TO_REOPEN`]. Runs until `stop`.
    pub async fn run_repair(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.fault.wake.notified() => {}
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
            if self.fault().is_none() {
                self.check_writes().await;
                continue;
            }
            let free = free_bytes(&self.dir);
            if free.is_some_and(|free| free < FREE_BYTES_TO_REOPEN) {
                continue;
            }
            match self.reopen().await {
                Ok(()) => {
                    self.fault.clear();
                    tracing::info!("storage reopened; writes are accepted again");
                }
                Err(err) => tracing::warn!(error = %err, "reopening storage failed; retrying"),
            }
        }
    }

    /// Notices a write that failed outside `flush` (sled's own background flush): sled then
    /// fails every flush. Only sled's flush, which costs nothing when all is written; no
    /// `fdatasync` every second on an idle server.
    async fn check_writes(&self) {
        let Ok(t) = self.trees() else {
            return;
        };
        let flushed = tokio::task::spawn_blocking(move || t.db.flush())
            .await
            .expect("flush task");
        if let Err(err) = flushed {
            self.fault.report(&Error::Sled(err));
        }
    }

    /// Closes the database and opens it again. Operations that start meanwhile get
    /// [`Error::Reopening`]; those under way finish on the old database first (sled's file lock
    /// allows one open database per data dir).
    async fn reopen(&self) -> Result<(), Error> {
        let old = self.open.write().unwrap().take();
        if let Some(mut old) = old {
            loop {
                match Arc::try_unwrap(old) {
                    Ok(trees) => {
                        // Dropping sled joins its flusher thread.
                        let _ = tokio::task::spawn_blocking(move || drop(trees)).await;
                        break;
                    }
                    Err(shared) => {
                        old = shared;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }
        let (dir, cache_bytes) = (self.dir.clone(), self.cache_bytes);
        // The thread log holds what sled may not have written before it failed.
        let opened = tokio::task::spawn_blocking(move || -> Result<Trees, Error> {
            let (trees, unreplayed) = Trees::open(&dir, cache_bytes)?;
            super::wal::replay(&trees, unreplayed)?;
            Ok(trees)
        })
        .await
        .expect("open task")?;
        let seq = opened.seq()?;
        // Recorded before any write can reach the new database.
        {
            let mut reopened = self.fault.reopened.lock().unwrap();
            *reopened = (reopened.0 + 1, seq);
        }
        *self.open.write().unwrap() = Some(Arc::new(opened));
        Ok(())
    }
}

/// Free space on the data dir's file system below which writes are refused as a full disk,
/// before anything is written. The thread log's zeros ahead leave it room when the disk has
/// none, so without this sled, which takes each record next, would be the one to fail.
const FREE_BYTES_TO_WRITE: u64 = 2 << 20;

/// With at least this much free at the last look, the next look waits [`ROOM_RECHECK`]
/// rather than costing every write a `statfs` (1 % of a lone writer's server). Another
/// program filling that much faster than that can still leave sled the one to fail.
const PLENTY_OF_ROOM: u64 = 64 << 20;
const ROOM_RECHECK: Duration = Duration::from_millis(100);

/// Whether the data dir has room for a write (checked by every write, see
/// `SledStore::gated`).
pub(super) struct Room {
    dir: std::path::PathBuf,
    /// When the free space was last seen to be [`PLENTY_OF_ROOM`].
    roomy_at: Mutex<Option<std::time::Instant>>,
}

impl Room {
    pub(super) fn new(dir: &Path) -> Room {
        Room {
            dir: dir.to_path_buf(),
            roomy_at: Mutex::new(None),
        }
    }

    /// `ENOSPC` while the data dir's file system has under [`FREE_BYTES_TO_WRITE`] free (a
    /// file system that cannot say has room).
    pub(super) fn check(&self) -> Result<(), sled::Error> {
        let mut roomy_at = self.roomy_at.lock().unwrap();
        if roomy_at.is_some_and(|at| at.elapsed() < ROOM_RECHECK) {
            return Ok(());
        }
        let free = free_bytes(&self.dir);
        *roomy_at = free
            .is_none_or(|free| free >= PLENTY_OF_ROOM)
            .then(std::time::Instant::now);
        if free.is_none_or(|free| free >= FREE_BYTES_TO_WRITE) {
            Ok(())
        } else {
            let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
            Err(sled::Error::Io(full))
        }
    }
}

/// Bytes available to this process on the file system of `dir` (`None` if unknown).
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stat` a writable statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}
