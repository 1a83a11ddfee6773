//! The thread log: thread writes are durable once appended here, before sled has them on disk.
//!
//! A sled 0.34 transaction costs two log buffers written and synced by sled's IO threads, and
//! sled's flush a third device round trip, so a lone thread write waited for three. Instead, a
//! group of thread writes (see `combine`) is appended to this file as one record and made
//! durable with one `fdatasync`; then it is applied to sled with plain inserts, which sled
//! writes out in its own time. Applying after the sync means sled never holds a thread write
//! the log lacks, so a group sled kept only part of before a crash is completed by replaying
//! its record.
//!
//! At open (and when `repair` reopens the database) every record is applied again, in order:
//! records hold the values written (not the changes made), so applying one twice, or one sled
//! already has, leaves what the last record left. Then sled is synced and the log emptied
//! (`checkpoint`); the same happens while serving once the log passes [`CHECKPOINT_BYTES`].
//!
//! File: the 8 bytes `SKEINWAL`, then records `[payload length: u32 LE][CRC-32 of payload:
//! u32 LE][payload]`. Payload: the group's sequence number (u64 BE), then each write as
//! `[tree: u8][key length: u32 BE][key][0 = removed | 1 = value][value length: u32 BE][value]`.
//! A record cut short or failing its checksum ends the log: it was never acknowledged (its
//! sync had not returned), and what follows it was written later still.

use super::threads::Tree;
use super::{io, Error, Trees};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: &[u8; 8] = b"SKEINWAL";
const HEADER: u64 = MAGIC.len() as u64;

/// The log's size at which the serving store applies sled's own sync and empties it.
const CHECKPOINT_BYTES: u64 = 8 << 20;

/// One write of a group: a key of a thread tree set to a value, or removed.
pub(super) struct Write {
    pub tree: Tree,
    pub key: sled::IVec,
    pub value: Option<sled::IVec>,
}

/// A group of writes as the log holds it.
pub(super) struct Record {
    pub seq: u64,
    pub writes: Vec<Write>,
}

/// The open log file.
pub(super) struct Wal {
    file: File,
    /// Bytes of whole, synced records (and the header): where the next record goes.
    len: u64,
    /// The size past which the serving store checkpoints ([`CHECKPOINT_BYTES`]).
    pub(super) checkpoint_bytes: u64,
    /// Why an append failed: like sled after a failed write, the log takes nothing more
    /// until the database is reopened (`repair`), which reads it anew.
    failed: Option<Failure>,
}

/// A failed append's error, to give every later append (a full disk stays a full disk).
#[derive(Clone, Copy)]
struct Failure {
    kind: std::io::ErrorKind,
    os_code: Option<i32>,
}

impl Wal {
    /// Opens the log in `dir` (creating it empty) and reads its records; a torn tail is cut off.
    pub(super) fn open(dir: &Path) -> Result<(Wal, Vec<Record>), Error> {
        let path = dir.join("threads.wal");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        // New, or created by a process stopped before it wrote the header.
        if bytes.is_empty() {
            file.write_all_at(MAGIC, 0).map_err(io)?;
            file.sync_all().map_err(io)?;
            // The file's name is durable only once its directory is.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            bytes.extend_from_slice(MAGIC);
        }
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(Error::Corrupt(format!(
                "{} is not a Skein thread log",
                path.display()
            )));
        }
        let (records, len) = read_records(&bytes)?;
        if len < bytes.len() as u64 {
            tracing::warn!(
                cut = bytes.len() as u64 - len,
                "the thread log ended in a record that was never acknowledged; cut it off"
            );
            file.set_len(len).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let wal = Wal {
            file,
            len,
            checkpoint_bytes: CHECKPOINT_BYTES,
            failed: None,
        };
        Ok((wal, records))
    }

    /// Appends one record and waits until it is on the device. On failure the record is cut
    /// off again (if it can be; reading the log stops at a torn record anyway), and the log
    /// refuses appends until it is opened again.
    pub(super) fn append(&mut self, record: &[u8]) -> Result<(), Error> {
        if let Some(failed) = self.failed {
            return Err(io(match failed.os_code {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(failed.kind, "an earlier thread log write failed"),
            }));
        }
        let written = self
            .file
            .write_all_at(record, self.len)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(())
            }
            Err(err) => {
                let _ = self.file.set_len(self.len);
                self.refuse(&err);
                Err(io(err))
            }
        }
    }

    /// Takes no more appends until the log is opened again: after a record could not be
    /// applied to sled, later groups would read a state without it, and their records,
    /// replayed after it, would undo it.
    pub(super) fn refuse_after(&mut self, err: &Error) {
        match err {
            Error::Sled(sled::Error::Io(err)) => self.refuse(err),
            other => self.refuse(&std::io::Error::other(other.to_string())),
        }
    }

    fn refuse(&mut self, err: &std::io::Error) {
        self.failed.get_or_insert(Failure {
            kind: err.kind(),
            os_code: err.raw_os_error(),
        });
    }

    /// Whether the log has grown enough to checkpoint.
    pub(super) fn is_full(&self) -> bool {
        self.len > self.checkpoint_bytes
    }

    /// Empties the log; the caller has made everything in it durable elsewhere.
    pub(super) fn clear(&mut self) -> Result<(), Error> {
        self.file.set_len(HEADER).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len = HEADER;
        Ok(())
    }
}

/// A group's record, framed for [`Wal::append`].
pub(super) fn encode(seq: u64, writes: &[Write]) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|w| 10 + w.key.len() + w.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut record = Vec::with_capacity(16 + size);
    record.extend_from_slice(&[0; 8]);
    record.extend_from_slice(&seq.to_be_bytes());
    for write in writes {
        record.push(write.tree as u8);
        record.extend_from_slice(&(write.key.len() as u32).to_be_bytes());
        record.extend_from_slice(&write.key);
        match &write.value {
            None => record.push(0),
            Some(value) => {
                record.push(1);
                record.extend_from_slice(&(value.len() as u32).to_be_bytes());
                record.extend_from_slice(value);
            }
        }
    }
    let payload_len = (record.len() - 8) as u32;
    let crc = crc32fast::hash(&record[8..]);
    record[..4].copy_from_slice(&payload_len.to_le_bytes());
    record[4..8].copy_from_slice(&crc.to_le_bytes());
    record
}

/// The whole records after the header, and the length they end at.
fn read_records(bytes: &[u8]) -> Result<(Vec<Record>, u64), Error> {
    let mut records = Vec::new();
    let mut at = MAGIC.len();
    while let Some(frame) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(frame[4..].try_into().unwrap());
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        // A payload whose checksum holds but does not parse was written by a bug, not torn.
        records.push(decode(payload).ok_or_else(|| {
            Error::Corrupt(format!("thread log record at byte {at} does not parse"))
        })?);
        at += 8 + len;
    }
    Ok((records, at as u64))
}

fn decode(payload: &[u8]) -> Option<Record> {
    let mut rest = payload;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    let seq = u64::from_be_bytes(take(8)?.try_into().ok()?);
    let mut writes = Vec::new();
    while let Some(tree) = take(1) {
        let tree = Tree::from_u8(tree[0])?;
        let key_len = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        let key = take(key_len)?.into();
        let value = match take(1)?[0] {
            0 => None,
            1 => {
                let len = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
                Some(take(len)?.into())
            }
            _ => return None,
        };
        writes.push(Write { tree, key, value });
    }
    Some(Record { seq, writes })
}

/// Applies a group's writes to sled, the change log's entries after the data they name and
/// the sequence number last (`changes_since` reads the number first, then the log).
pub(super) fn apply(t: &Trees, record: &Record) -> Result<(), Error> {
    for write in &record.writes {
        let tree = t.thread_tree(write.tree);
        match &write.value {
            Some(value) => tree.insert(&write.key, value)?,
            None => tree.remove(&write.key)?,
        };
    }
    // An old record applied again must not move the number back.
    t.meta.fetch_and_update(super::KEY_SEQ, |old| {
        let old = old.map_or(0, super::codec::decode_u64);
        Some(old.max(record.seq).to_be_bytes().to_vec())
    })?;
    Ok(())
}

/// Makes everything applied to sled durable there, then empties the log.
pub(super) fn checkpoint(t: &Trees, wal: &mut Wal) -> Result<(), Error> {
    t.db.flush()?;
    t.log.sync_data().map_err(io)?;
    wal.clear()
}

/// Applies every record read at open, then checkpoints: run before anything else writes.
pub(super) fn replay(t: &Trees, records: Vec<Record>) -> Result<(), Error> {
    if records.is_empty() {
        return Ok(());
    }
    let count = records.len();
    for record in &records {
        apply(t, record)?;
    }
    checkpoint(t, &mut t.wal.lock().unwrap())?;
    tracing::info!(records = count, "replayed the thread log");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(tree: Tree, key: &[u8], value: Option<&[u8]>) -> Write {
        Write {
            tree,
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    /// Records read back as written; a torn last record (cut anywhere) is dropped and cut
    /// off, and the records before it stay.
    #[test]
    fn records_read_back_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let first = encode(
            7,
            &[
                write(Tree::Threads, b"t1", Some(b"thread")),
                write(Tree::MemberThreads, b"m1", None),
            ],
        );
        let second = encode(8, &[write(Tree::Messages, b"k", Some(&[0u8; 300]))]);
        {
            let (mut wal, records) = Wal::open(dir.path()).unwrap();
            assert!(records.is_empty());
            wal.append(&first).unwrap();
            wal.append(&second).unwrap();
        }
        let path = dir.path().join("threads.wal");
        let (_, records) = Wal::open(dir.path()).unwrap();
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [7, 8]);
        assert_eq!(records[0].writes.len(), 2);
        assert_eq!(records[0].writes[0].tree, Tree::Threads);
        assert_eq!(&records[0].writes[0].value.as_ref().unwrap()[..], b"thread");
        assert!(records[0].writes[1].value.is_none());

        let whole = std::fs::read(&path).unwrap();
        for cut in [1, 8, second.len() / 2, second.len() - 1] {
            std::fs::write(&path, &whole[..whole.len() - cut]).unwrap();
            let (wal, records) = Wal::open(dir.path()).unwrap();
            assert_eq!(records.len(), 1, "cut {cut}");
            assert_eq!(wal.len, HEADER + first.len() as u64);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), wal.len);
        }
        // A flipped bit in the last record fails its checksum.
        let mut flipped = whole.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert_eq!(Wal::open(dir.path()).unwrap().1.len(), 1);
    }

    /// A record sled never got is applied at open (its thread readable, its change logged,
    /// the sequence moved to it) and the log emptied; an older record applied again moves
    /// nothing back.
    #[test]
    fn opening_replays_what_only_the_log_has() {
        use super::super::SledStore;
        use crate::model::{Thread, TitleSource};
        let dir = tempfile::tempdir().unwrap();
        let seq = SledStore::open(dir.path()).unwrap().last_seq().unwrap();
        let id = uuid::Uuid::new_v4();
        let thread = Thread::new(
            id,
            uuid::Uuid::nil(),
            uuid::Uuid::nil(),
            "only in the log".into(),
            TitleSource::User,
            chrono::Utc::now(),
        );
        let mut change = (seq + 1).to_be_bytes().to_vec();
        change.extend_from_slice(id.as_bytes());
        let put = |seq| {
            encode(
                seq,
                &[
                    write(
                        Tree::Threads,
                        id.as_bytes(),
                        Some(&super::super::codec::encode(&thread)),
                    ),
                    write(Tree::Changes, &change, Some(b"")),
                ],
            )
        };
        Wal::open(dir.path())
            .unwrap()
            .0
            .append(&put(seq + 1))
            .unwrap();

        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.thread(id).unwrap().unwrap().title, "only in the log");
        assert_eq!(store.last_seq().unwrap(), seq + 1);
        assert_eq!(store.changes_since(seq).unwrap().0, vec![(seq + 1, id)]);
        let log = dir.path().join("threads.wal");
        assert_eq!(std::fs::metadata(&log).unwrap().len(), HEADER, "emptied");
        drop(store);

        Wal::open(dir.path()).unwrap().0.append(&put(1)).unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.last_seq().unwrap(), seq + 1);
        assert!(store.thread(id).unwrap().is_some());
    }

    /// Once a record could not be taken, every later append is refused with that failure (a
    /// full disk stays one, for `/healthz` and clients), and nothing more reaches the file.
    #[test]
    fn after_a_failure_appends_are_refused_until_the_log_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path()).unwrap();
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        wal.refuse_after(&Error::Sled(sled::Error::Io(full)));
        let record = encode(1, &[write(Tree::Threads, b"t", Some(b"v"))]);
        let refused = wal.append(&record).unwrap_err();
        assert!(refused.is_disk_full(), "{refused}");
        assert_eq!(wal.len, HEADER);
        assert!(Wal::open(dir.path()).unwrap().1.is_empty());

        let (mut reopened, _) = Wal::open(dir.path()).unwrap();
        reopened.append(&record).unwrap();
    }

    /// A log file left empty (its creator stopped before writing the header) is a new log,
    /// not a foreign file.
    #[test]
    fn an_empty_log_file_is_a_new_log() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("threads.wal"), b"").unwrap();
        let (wal, records) = Wal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        assert_eq!(wal.len, HEADER);
        assert_eq!(
            std::fs::read(dir.path().join("threads.wal")).unwrap(),
            MAGIC
        );
    }

    #[test]
    fn a_file_that_is_not_a_thread_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("threads.wal"), b"something else").unwrap();
        assert!(matches!(Wal::open(dir.path()), Err(Error::Corrupt(_))));
    }
}
