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
//! Appends overwrite zeros written ahead of them (a megabyte at a time), and emptying the log
//! starts a new generation instead of shrinking the file: an append then changes none of the
//! file's metadata, so its `fdatasync` writes the record alone. Appending to the end of the
//! file, the size changed with every record, and the file system wrote the inode too (ext4:
//! a second device write, or a journal commit), about 30 % more time per sync here.
//!
//! File: the 8 bytes `SKEINWL2`, the generation (u64 LE, random), then records `[payload
//! length: u32 LE][CRC-32 of generation (LE) and payload: u32 LE][payload]`. Payload: the
//! group's sequence number (u64 BE), then each write as `[tree: u8][key length: u32 BE][key][0 =
//! removed | 1 = value][value length: u32 BE][value]`. The first record whose length is 0 (the
//! zeros ahead), that is cut short, or whose checksum fails ends the log: a torn record was
//! never acknowledged (its sync had not returned), and the records of an earlier generation
//! left after the end were emptied into sled already. Format 7's first layout (`SKEINWAL`,
//! records right after it, checksums of the payload alone) is read at open and then rewritten.

use super::threads::Tree;
use super::{io, Error, Trees};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use uuid::Uuid;

const MAGIC: &[u8; 8] = b"SKEINWL2";
/// The first layout's magic (data dir format 7): no generation.
const MAGIC_V1: &[u8; 8] = b"SKEINWAL";
/// The magic and the generation.
const HEADER: u64 = 16;

/// How far ahead of the records the file is filled with zeros.
const ZEROS_AHEAD: u64 = 1 << 20;

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
    /// In every record's checksum, so that what an earlier generation left in the file past
    /// `len` does not read as records.
    generation: u64,
    /// The file's size. Past `len` it holds zeros or an earlier generation's records, so an
    /// append below it changes no metadata.
    size: u64,
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
    /// Opens the log in `dir` (creating it empty) and reads its records. Without records to
    /// replay, the log starts a new generation at once: what is left in the file (a torn
    /// record, the first layout) will not read as records again.
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
        let not_a_log = || Error::Corrupt(format!("{} is not a Skein thread log", path.display()));
        let created = bytes.is_empty();
        // New, or left by a process stopped before its first header was whole: no records.
        let unwritten = bytes.len() < HEADER as usize
            && MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]);
        let (records, len, generation) = match bytes.get(..MAGIC.len()) {
            _ if unwritten => (Vec::new(), 0, 0),
            Some(magic) if magic == MAGIC => {
                let generation = bytes
                    .get(MAGIC.len()..HEADER as usize)
                    .ok_or_else(not_a_log)?;
                let generation = u64::from_le_bytes(generation.try_into().unwrap());
                let (records, len) = read_records(&bytes, HEADER, Some(generation))?;
                (records, len, generation)
            }
            Some(magic) if magic == MAGIC_V1 => {
                let (records, len) = read_records(&bytes, MAGIC_V1.len() as u64, None)?;
                (records, len, 0)
            }
            _ => return Err(not_a_log()),
        };
        let mut wal = Wal {
            file,
            len,
            generation,
            size: bytes.len() as u64,
            checkpoint_bytes: CHECKPOINT_BYTES,
            failed: None,
        };
        if records.is_empty() {
            wal.clear()?;
        }
        if created {
            // The file's name is durable only once its directory is.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok((wal, records))
    }

    /// Appends one record (from [`encode`], sealed here with the log's generation) and waits
    /// until it is on the device. On failure the record is made unreadable again (if it can
    /// be), and the log refuses appends until it is opened again.
    pub(super) fn append(&mut self, mut record: Vec<u8>) -> Result<(), Error> {
        if let Some(failed) = self.failed {
            return Err(io(match failed.os_code {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(failed.kind, "an earlier thread log write failed"),
            }));
        }
        let crc = checksum(Some(self.generation), &record[8..]);
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        let end = self.len + record.len() as u64;
        if end > self.size {
            // Zeros ahead, written with this record and synced by its sync. Best effort: on
            // a full disk the record may still fit, and later ones grow the file themselves.
            let ahead = end.next_multiple_of(ZEROS_AHEAD);
            if let Ok(()) = self
                .file
                .write_all_at(&vec![0; (ahead - end) as usize], end)
            {
                self.size = ahead;
            }
        }
        let written = self
            .file
            .write_all_at(&record, self.len)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len = end;
                self.size = self.size.max(end);
                Ok(())
            }
            Err(err) => {
                // Its length zeroed, the record ends the log rather than being read.
                let _ = self
                    .file
                    .write_all_at(&[0; 4], self.len)
                    .and_then(|()| self.file.sync_data());
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

    /// Whether appending a record of `bytes` would make the log full.
    pub(super) fn fills_with(&self, bytes: u64) -> bool {
        self.len + bytes > self.checkpoint_bytes
    }

    /// Whether the log holds no records.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len == HEADER
    }

    /// Empties the log by starting a new generation; the caller has made everything in it
    /// durable elsewhere. The file keeps its size, for the next appends.
    pub(super) fn clear(&mut self) -> Result<(), Error> {
        // Random, so that no earlier generation's records (say, a title holding a record's
        // bytes) can be made to read as this one's.
        let generation: u64 = rand::random();
        let mut header = [0; HEADER as usize];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()..].copy_from_slice(&generation.to_le_bytes());
        let written = self
            .file
            .write_all_at(&header, 0)
            .and_then(|()| self.file.sync_data());
        if let Err(err) = written {
            // Which generation the file now names is unknown, and records sealed with the
            // old one might not read back: take none until the log is opened again.
            self.refuse(&err);
            return Err(io(err));
        }
        self.generation = generation;
        self.len = HEADER;
        self.size = self.size.max(HEADER);
        Ok(())
    }
}

/// A record's checksum: of the generation and the payload (the first layout: of the payload).
fn checksum(generation: Option<u64>, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    if let Some(generation) = generation {
        hasher.update(&generation.to_le_bytes());
    }
    hasher.update(payload);
    hasher.finalize()
}

/// The size of a record of `writes`, framing included.
pub(super) fn encoded_len<'a>(writes: impl IntoIterator<Item = &'a Write>) -> usize {
    let payload: usize = writes
        .into_iter()
        .map(|w| 10 + w.key.len() + w.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    16 + payload
}

/// A group's record, framed for [`Wal::append`] (which fills in its checksum).
pub(super) fn encode(seq: u64, writes: &[Write]) -> Vec<u8> {
    let mut record = Vec::with_capacity(encoded_len(writes));
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
    record[..4].copy_from_slice(&payload_len.to_le_bytes());
    record
}

/// The whole records from `at` on, and the length they end at. `generation` is the log's
/// (`None` for the first layout).
fn read_records(
    bytes: &[u8],
    at: u64,
    generation: Option<u64>,
) -> Result<(Vec<Record>, u64), Error> {
    let mut records = Vec::new();
    let mut at = at as usize;
    while let Some(frame) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(frame[4..].try_into().unwrap());
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if len == 0 || checksum(generation, payload) != crc {
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
    let applied = record.writes.iter().try_for_each(|write| {
        let tree = t.thread_tree(write.tree);
        match &write.value {
            Some(value) => tree.insert(&write.key, value)?,
            None => tree.remove(&write.key)?,
        };
        Ok::<_, Error>(())
    });
    // Before anyone is answered, and after a failed write too (part of it may be in).
    let messages_of: Vec<Uuid> = record
        .writes
        .iter()
        .filter(|write| write.tree == Tree::Messages)
        .filter_map(|write| super::threads::thread_of_message_key(&write.key))
        .collect();
    if !messages_of.is_empty() {
        t.message_cache.forget(messages_of);
    }
    applied?;
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
mod tests;
