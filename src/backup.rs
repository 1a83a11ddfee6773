//! `skein backup` and `skein restore`: one file holding a consistent snapshot of everything
//! durable (orgs, users and their token hashes as stored, threads, messages with their
//! analyses, shares, dataset registrations and imported datasets' SQLite files, Slack
//! mappings, the store's settings), with a manifest saying what is in it.
//!
//! The file is a tar archive of:
//! - `manifest.json`: format and version, when, which Skein, the store's write sequence, the
//!   records per store tree, and every other entry's size and SHA-256;
//! - `store.records`: the store's records (`store::snapshot`), taken while writes wait;
//! - `datasets/<id>.sqlite`: each imported dataset's file. Datasets registered from an SQLite
//!   file of the user's own are listed in `external_datasets`, not copied.
//!
//! A restore goes into an empty data dir only, and checks everything (the archive whole, the
//! manifest, each checksum, the record counts) in a scratch dir beside it before the data dir
//! appears: a damaged backup writes nothing. The search index is not in a backup: the server
//! rebuilds it from the restored records on its first start.

use crate::error::Error;
use crate::model::DatasetSource;
use crate::store::{Counts, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

const FORMAT: &str = "skein-backup";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const RECORDS: &str = "store.records";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    created_at: String,
    skein_version: String,
    store_seq: u64,
    /// Records per store tree.
    records: Counts,
    /// Every other entry of the archive: its size and SHA-256.
    files: BTreeMap<String, FileSum>,
    /// Paths of SQLite files registered as datasets, which the backup does not copy.
    external_datasets: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct FileSum {
    bytes: u64,
    sha256: String,
}

/// Writes a backup of `store` (with the imported datasets' files in `datasets_dir`) to `to`;
/// returns what it holds.
pub async fn backup(store: &Store, datasets_dir: &Path, to: &Path) -> Result<String, Error> {
    let (store, datasets_dir, to) = (store.clone(), datasets_dir.to_path_buf(), to.to_path_buf());
    tokio::task::spawn_blocking(move || write_backup(&store, &datasets_dir, &to))
        .await
        .map_err(|err| Error::internal(format!("the backup stopped: {err}")))?
}

fn write_backup(store: &Store, datasets_dir: &Path, to: &Path) -> Result<String, Error> {
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".skein-backup-")
        .tempdir_in(dir)
        .map_err(|e| Error::file(dir, e))?;
    std::fs::create_dir(work.path().join("datasets")).map_err(|e| Error::file(work.path(), e))?;
    let records_path = work.path().join(RECORDS);
    let mut records =
        BufWriter::new(File::create(&records_path).map_err(|e| Error::file(&records_path, e))?);
    // The dataset files are copied in the same pause as the records, so each registration
    // comes with the file it describes.
    let (counts, (store_seq, copied, external)) =
        store.snapshot(&mut records, |seq, datasets| {
            let (mut copied, mut external) = (Vec::new(), Vec::new());
            for dataset in datasets {
                match &dataset.source {
                    DatasetSource::Imported => {
                        let name = format!("datasets/{}.sqlite", dataset.id);
                        let from = datasets_dir.join(format!("{}.sqlite", dataset.id));
                        std::fs::copy(&from, work.path().join(&name))?;
                        copied.push(name);
                    }
                    DatasetSource::External { path } => external.push(path.clone()),
                }
            }
            Ok((seq, copied, external))
        })?;
    records
        .into_inner()
        .map_err(|e| Error::file(&records_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::file(&records_path, e))?;

    let mut files = BTreeMap::new();
    for name in std::iter::once(RECORDS.to_string()).chain(copied) {
        files.insert(name.clone(), sum(&work.path().join(&name))?);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at: chrono::Utc::now().to_rfc3339(),
        skein_version: env!("CARGO_PKG_VERSION").into(),
        store_seq,
        records: counts,
        files,
        external_datasets: external,
    };
    let partial = PathBuf::from(format!("{}.partial", to.display()));
    write_archive(&manifest, work.path(), &partial).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    std::fs::rename(&partial, to).map_err(|e| Error::file(to, e))?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "backed up to {} ({bytes} bytes): {}; sequence {store_seq}",
        to.display(),
        describe(&manifest)
    ))
}

/// The archive: the manifest first, then the files it lists; durable before it is renamed.
fn write_archive(manifest: &Manifest, work: &Path, to: &Path) -> Result<(), Error> {
    let file = File::create(to).map_err(|e| Error::file(to, e))?;
    let mut archive = tar::Builder::new(BufWriter::new(file));
    let text = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_cksum();
    let failed = |e| Error::file(to, e);
    archive
        .append_data(&mut header, MANIFEST, &text[..])
        .map_err(failed)?;
    for name in manifest.files.keys() {
        archive
            .append_path_with_name(work.join(name), name)
            .map_err(failed)?;
    }
    let file = archive
        .into_inner()
        .map_err(failed)?
        .into_inner()
        .map_err(|e| Error::file(to, e.into_error()))?;
    file.sync_all().map_err(failed)
}

/// Restores a backup into `data_dir`, which must be empty or absent.
pub async fn restore(from: &Path, data_dir: &Path) -> Result<String, Error> {
    if std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::invalid(format!(
            "{} is not empty; restore into a new data dir",
            data_dir.display()
        )));
    }
    let parent = data_dir
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
    let work = tempfile::Builder::new()
        .prefix(".skein-restore-")
        .tempdir_in(parent)
        .map_err(|e| Error::file(parent, e))?;
    let unpacked = work.path().join("unpacked");
    let archive = File::open(from).map_err(|e| Error::file(from, e))?;
    tar::Archive::new(BufReader::new(archive))
        .unpack(&unpacked)
        .map_err(|e| damaged(from, &format!("it cannot be read whole ({e})")))?;
    let manifest = check(from, &unpacked)?;

    let target = work.path().join("data");
    let store = Store::open(&target)?;
    let records_path = unpacked.join(RECORDS);
    let mut records =
        BufReader::new(File::open(&records_path).map_err(|e| Error::file(&records_path, e))?);
    let loaded = store.load_snapshot(&mut records).await?;
    drop(store);
    if loaded
        .iter()
        .any(|(tree, n)| manifest.records.get(tree) != Some(n))
    {
        return Err(damaged(
            from,
            "its records do not match its manifest's counts",
        ));
    }
    if unpacked.join("datasets").exists() {
        std::fs::rename(unpacked.join("datasets"), target.join("datasets"))
            .map_err(|e| Error::file(&target, e))?;
    }
    if data_dir.exists() {
        std::fs::remove_dir(data_dir).map_err(|e| Error::file(data_dir, e))?;
    }
    std::fs::rename(&target, data_dir).map_err(|e| Error::file(data_dir, e))?;
    let mut text = format!(
        "restored {} into {}; the search index is rebuilt when the server starts",
        describe(&manifest),
        data_dir.display()
    );
    if !manifest.external_datasets.is_empty() {
        text.push_str(&format!(
            "\nregistered SQLite files (not in the backup; they must exist at these paths): {}",
            manifest.external_datasets.join(", ")
        ));
    }
    Ok(text)
}

/// The manifest of an unpacked backup, once every entry matches it.
fn check(from: &Path, unpacked: &Path) -> Result<Manifest, Error> {
    let text = std::fs::read(unpacked.join(MANIFEST))
        .map_err(|_| damaged(from, "it has no manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| damaged(from, &format!("its manifest cannot be read ({e})")))?;
    if manifest.format != FORMAT {
        return Err(damaged(from, "it is not a Skein backup"));
    }
    if manifest.version > VERSION {
        return Err(Error::invalid(format!(
            "{} is a backup of format {}, newer than this Skein reads ({VERSION}); restore it with a newer Skein",
            from.display(),
            manifest.version
        )));
    }
    let mut present = vec![RECORDS.to_string()];
    if let Ok(entries) = std::fs::read_dir(unpacked.join("datasets")) {
        present.extend(
            entries
                .flatten()
                .map(|e| format!("datasets/{}", e.file_name().to_string_lossy())),
        );
    }
    for name in &present {
        let expected = manifest
            .files
            .get(name)
            .ok_or_else(|| damaged(from, &format!("{name} is in it but not in its manifest")))?;
        if &sum(&unpacked.join(name))? != expected {
            return Err(damaged(
                from,
                &format!("{name} does not match its checksum"),
            ));
        }
    }
    if let Some(missing) = manifest.files.keys().find(|name| !present.contains(name)) {
        return Err(damaged(from, &format!("{missing} is missing")));
    }
    Ok(manifest)
}

fn sum(path: &Path) -> Result<FileSum, Error> {
    let mut file = File::open(path).map_err(|e| Error::file(path, e))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| Error::file(path, e))?;
    Ok(FileSum {
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// "3 threads, 7 messages, 2 users, 1 dataset".
fn describe(manifest: &Manifest) -> String {
    let count = |tree: &str| manifest.records.get(tree).copied().unwrap_or(0);
    let datasets = manifest.files.len() - 1 + manifest.external_datasets.len();
    format!(
        "{} orgs, {} users, {} tokens, {} threads, {} messages, {datasets} datasets",
        count("orgs"),
        count("users"),
        count("tokens"),
        count("threads"),
        count("messages"),
    )
}

fn damaged(from: &Path, why: &str) -> Error {
    Error::invalid(format!(
        "{} is not a usable Skein backup: {why}; nothing was restored",
        from.display()
    ))
}
