//! The thread log's tests: its file layout, torn and old records, and replay by the store.

use super::*;

fn write(tree: Tree, key: &[u8], value: Option<&[u8]>) -> Write {
    Write {
        tree,
        key: key.into(),
        value: value.map(Into::into),
    }
}

/// Records read back as written; a torn last record (cut anywhere, whether the file ends
/// there or goes on in zeros) is dropped, the records before it stay, and the next append
/// takes its place.
#[test]
fn records_read_back_and_a_torn_tail_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = encode(
        7,
        &[
            write(Tree::Threads, b"t1", Some(b"thread")),
            write(Tree::MemberThreads, b"m1", None),
        ],
    );
    let second = encode(8, &[write(Tree::Messages, b"k", Some(&[5u8; 300]))]);
    {
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        wal.append(first.clone()).unwrap();
        wal.append(second.clone()).unwrap();
    }
    let path = dir.path().join("threads.wal");
    let (_, records) = Wal::open(dir.path()).unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [7, 8]);
    assert_eq!(records[0].writes.len(), 2);
    assert_eq!(records[0].writes[0].tree, Tree::Threads);
    assert_eq!(&records[0].writes[0].value.as_ref().unwrap()[..], b"thread");
    assert!(records[0].writes[1].value.is_none());

    let whole = std::fs::read(&path).unwrap();
    let end = (HEADER as usize) + first.len() + second.len();
    for cut in [1, 8, second.len() / 2, second.len() - 1] {
        let mut zeroed = whole.clone();
        zeroed[end - cut..end].fill(0);
        for torn in [&whole[..end - cut], &zeroed[..]] {
            std::fs::write(&path, torn).unwrap();
            let (wal, records) = Wal::open(dir.path()).unwrap();
            assert_eq!(records.len(), 1, "cut {cut}");
            assert_eq!(wal.len, HEADER + first.len() as u64);
        }
    }
    // A flipped bit in the last record fails its checksum.
    let mut flipped = whole.clone();
    flipped[end - 1] ^= 1;
    std::fs::write(&path, &flipped).unwrap();
    let (mut wal, records) = Wal::open(dir.path()).unwrap();
    assert_eq!(records.len(), 1);
    wal.append(encode(9, &[write(Tree::Threads, b"t2", Some(b"x"))]))
        .unwrap();
    let (_, records) = Wal::open(dir.path()).unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [7, 9]);
}

/// Appends overwrite the zeros written ahead of them (the file grows a megabyte at a time,
/// not with every record), and once the log is emptied the file keeps its size while what
/// the earlier generation left in it no longer reads as records.
#[test]
fn appends_overwrite_zeros_and_an_emptied_log_reads_no_old_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.wal");
    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    let record = |seq| encode(seq, &[write(Tree::Threads, b"t", Some(&[7u8; 200]))]);
    for seq in 1..=100 {
        wal.append(record(seq)).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(size, ZEROS_AHEAD, "after record {seq}");
    }
    wal.clear().unwrap();
    assert!(wal.is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), ZEROS_AHEAD);
    assert!(Wal::open(dir.path()).unwrap().1.is_empty());

    let (mut wal, _) = Wal::open(dir.path()).unwrap();
    wal.append(record(101)).unwrap();
    let (_, records) = Wal::open(dir.path()).unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [101]);
}

/// A record from [`encode`] with its checksum as the first layout had it: of the payload alone.
fn sealed_as_format_7(mut record: Vec<u8>) -> Vec<u8> {
    let crc = checksum(None, &record[8..]);
    record[4..8].copy_from_slice(&crc.to_le_bytes());
    record
}

/// A log in format 7's layout (no generation) is read, and rewritten in this one when it
/// is emptied.
#[test]
fn a_log_in_the_first_layout_is_read_then_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.wal");
    let mut old = MAGIC_V1.to_vec();
    for seq in [3, 4] {
        let record = encode(seq, &[write(Tree::Threads, b"t", Some(b"v"))]);
        old.extend_from_slice(&sealed_as_format_7(record));
    }
    std::fs::write(&path, &old).unwrap();
    let (mut wal, records) = Wal::open(dir.path()).unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    wal.clear().unwrap();
    assert_eq!(&std::fs::read(&path).unwrap()[..8], MAGIC);
    assert!(Wal::open(dir.path()).unwrap().1.is_empty());
}

/// A record sled never got is applied at open (its thread readable, its change logged,
/// the sequence moved to it) and the log emptied; an older record applied again moves
/// nothing back.
#[test]
fn opening_replays_what_only_the_log_has() {
    use super::super::SledStore;
    let dir = tempfile::tempdir().unwrap();
    let seq = SledStore::open(dir.path()).unwrap().last_seq().unwrap();
    let id = uuid::Uuid::new_v4();
    Wal::open(dir.path())
        .unwrap()
        .0
        .append(put_thread(seq + 1, id))
        .unwrap();

    let store = SledStore::open_when_unlocked(dir.path());
    assert_eq!(store.thread(id).unwrap().unwrap().title, "only in the log");
    assert_eq!(store.last_seq().unwrap(), seq + 1);
    assert_eq!(store.changes_since(seq).unwrap().0, vec![(seq + 1, id)]);
    assert!(store.trees().unwrap().wal.lock().unwrap().is_empty());
    drop(store);

    Wal::open(dir.path())
        .unwrap()
        .0
        .append(put_thread(1, id))
        .unwrap();
    let store = SledStore::open_when_unlocked(dir.path());
    assert_eq!(store.last_seq().unwrap(), seq + 1);
    assert!(store.thread(id).unwrap().is_some());
}

/// sled's own open of `path`, waiting while a handle dropped a moment ago still holds its
/// lock (see [`super::super::SledStore::open_when_unlocked`]).
fn sled_once_unlocked(path: &Path) -> sled::Db {
    for _ in 0..100 {
        match sled::open(path) {
            Err(sled::Error::Io(err)) if err.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("{} stayed locked", path.display());
}

/// A format 7 data dir whose log (first layout) holds a record sled lacks: opening it
/// applies the record (its change entry in format 8's shape), and the dir is of the current
/// format with the log in the second layout.
#[test]
fn a_format_7_data_dir_is_replayed_and_upgraded() {
    use super::super::{SledStore, DISK_FORMAT, KEY_FORMAT};
    let dir = tempfile::tempdir().unwrap();
    let seq = SledStore::open(dir.path()).unwrap().last_seq().unwrap();
    {
        let db = sled_once_unlocked(&dir.path().join("db"));
        let meta = db.open_tree("meta").unwrap();
        meta.insert(KEY_FORMAT, &7u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let id = uuid::Uuid::new_v4();
    let record = sealed_as_format_7(put_thread(seq + 1, id));
    std::fs::write(
        dir.path().join("threads.wal"),
        [&MAGIC_V1[..], &record].concat(),
    )
    .unwrap();

    let store = SledStore::open_when_unlocked(dir.path());
    assert_eq!(store.thread(id).unwrap().unwrap().title, "only in the log");
    assert_eq!(store.last_seq().unwrap(), seq + 1);
    let t = store.trees().unwrap();
    let format = t.meta.get(KEY_FORMAT).unwrap().unwrap();
    assert_eq!(super::super::codec::decode_u32(&format), DISK_FORMAT);
    assert!(t.wal.lock().unwrap().is_empty());
    drop(t);
    drop(store);
    let log = std::fs::read(dir.path().join("threads.wal")).unwrap();
    assert_eq!(&log[..8], MAGIC);
}

/// A record writing a thread titled "only in the log" under sequence number `seq`, with
/// its change-log entry.
fn put_thread(seq: u64, id: uuid::Uuid) -> Vec<u8> {
    use crate::model::{Thread, TitleSource};
    let thread = Thread::new(
        id,
        uuid::Uuid::nil(),
        uuid::Uuid::nil(),
        "only in the log".into(),
        TitleSource::User,
        chrono::Utc::now(),
    );
    let mut change = seq.to_be_bytes().to_vec();
    change.extend_from_slice(id.as_bytes());
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
    let refused = wal.append(record.clone()).unwrap_err();
    assert!(refused.is_disk_full(), "{refused}");
    assert_eq!(wal.len, HEADER);
    assert!(Wal::open(dir.path()).unwrap().1.is_empty());

    let (mut reopened, _) = Wal::open(dir.path()).unwrap();
    reopened.append(record).unwrap();
}

/// A log file left empty or with part of its first header (its creator stopped before the
/// header was whole) is a new log, not a foreign file.
#[test]
fn a_log_file_without_a_whole_first_header_is_a_new_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.wal");
    for partial in [&b""[..], b"SKEI", MAGIC, &[&MAGIC[..], &[7, 7, 7]].concat()] {
        std::fs::write(&path, partial).unwrap();
        let (mut wal, records) = Wal::open(dir.path()).unwrap();
        assert!(records.is_empty(), "{partial:?}");
        assert_eq!(wal.len, HEADER);
        assert_eq!(&std::fs::read(&path).unwrap()[..8], MAGIC);
        wal.append(encode(1, &[write(Tree::Threads, b"t", Some(b"v"))]))
            .unwrap();
        assert_eq!(Wal::open(dir.path()).unwrap().1.len(), 1, "{partial:?}");
    }
}

#[test]
fn a_file_that_is_not_a_thread_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("threads.wal"), b"something else").unwrap();
    assert!(matches!(Wal::open(dir.path()), Err(Error::Corrupt(_))));
}
