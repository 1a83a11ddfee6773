//! `skein bench writes`: acknowledged writes per second through a real server, next to two
//! anchors measured in the same run: the disk's own rate of `write` + `fdatasync`, from as many
//! writers as there are clients, on the file system of the server's data dir; and a trivial
//! durable server (`durable_echo`) answered by the same clients, which shows how much of the
//! disk's rate a WebSocket round trip and the clients leave to any server.
//!
//! A client's write is a rename of its own thread (`/threads/update`), acknowledged once
//! durable; each client first asks one question to have a thread.

use super::client;
use super::server::{micros_text, start_server};
use super::trivial_server::start_anchor;
use crate::config::AnchorKind;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// For each count of clients: the server's acknowledged writes/s and the disk's syncs/s.
pub async fn writes(
    clients: &[usize],
    seconds: u64,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    let server = start_server(server_binary)?;
    let url = server.ws_url();
    let mut rows = Vec::new();
    let mut lines = vec![format!(
        "{:>7}  {:>14}  {:>16}  {:>5}  {:>15}  {:>5}  {:>19}",
        "clients",
        "skein writes/s",
        "disk fdatasync/s",
        "ratio",
        "durable echo/s",
        "ratio",
        "CPU µs/write (echo)"
    )];
    for &count in clients {
        let mut sockets = Vec::with_capacity(count);
        for _ in 0..count {
            let mut socket = client::connect(&url).await?;
            let (thread, _) =
                client::ask(&mut socket, "how many orders in 2023", &Value::Null).await?;
            sockets.push((socket, thread));
        }
        let duration = Duration::from_secs(seconds);
        let cpu_before = server.cpu_seconds();
        let (acknowledged, reply_bytes) = renames(sockets, duration).await?;
        let cpu_per_write = server.cpu_micros_per(cpu_before, acknowledged);
        let server_rate = acknowledged as f64 / duration.as_secs_f64();
        let disk_rate = disk_syncs(server.dir(), count, duration)?;
        let (echo_rate, echo_cpu) = echo_writes(server.dir(), count, duration, reply_bytes).await?;
        let (ratio, echo_ratio) = (server_rate / disk_rate, server_rate / echo_rate);
        let cpu = format!(
            "{} ({})",
            micros_text(cpu_per_write, 0),
            micros_text(echo_cpu, 0)
        );
        lines.push(format!(
            "{count:>7}  {server_rate:>14.0}  {disk_rate:>16.0}  {ratio:>5.2}  {echo_rate:>15.0}  {echo_ratio:>5.2}  {cpu:>19}"
        ));
        rows.push(json!({
            "clients": count,
            "writes_per_second": server_rate,
            "disk_syncs_per_second": disk_rate,
            "ratio": ratio,
            "durable_echo_per_second": echo_rate,
            "ratio_to_durable_echo": echo_ratio,
            "server_cpu_us_per_write": cpu_per_write,
            "durable_echo_cpu_us_per_write": echo_cpu,
        }));
    }
    Ok(if as_json {
        json!({ "seconds": seconds, "runs": rows }).to_string()
    } else {
        lines.join("\n")
    })
}

/// The durable echo server's acknowledged writes per second with `clients` renaming as they
/// rename Skein's threads, answered with frames of `reply_bytes`, and its CPU time per write
/// (µs).
async fn echo_writes(
    dir: &Path,
    clients: usize,
    duration: Duration,
    reply_bytes: usize,
) -> Result<(f64, Option<f64>), String> {
    let (url, running) = start_anchor(AnchorKind::DurableEcho, reply_bytes, Some(dir))?;
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        sockets.push((client::connect(&url).await?, Value::Null));
    }
    let cpu_before = running.cpu_seconds();
    let (acknowledged, _) = renames(sockets, duration).await?;
    let cpu = running.cpu_micros_per(cpu_before, acknowledged);
    Ok((acknowledged as f64 / duration.as_secs_f64(), cpu))
}

/// Every client renames its thread one write after another for `duration`; the writes the
/// server acknowledged, and the size in bytes of the largest answer.
async fn renames(
    sockets: Vec<(client::Socket, Value)>,
    duration: Duration,
) -> Result<(usize, usize), String> {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|(mut socket, thread)| {
            tokio::spawn(async move {
                let (mut acknowledged, mut reply_bytes) = (0usize, 0usize);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let bytes = client::rename(&mut socket, &thread, n).await?;
                    acknowledged += 1;
                    reply_bytes = reply_bytes.max(bytes);
                }
                Ok::<_, String>((acknowledged, reply_bytes))
            })
        })
        .collect();
    let (mut total, mut largest) = (0, 0);
    for task in tasks {
        let (acknowledged, reply_bytes) = task.await.map_err(|e| e.to_string())??;
        total += acknowledged;
        largest = largest.max(reply_bytes);
    }
    Ok((total, largest))
}

/// `writers` threads each writing 200 bytes and `fdatasync`ing their own file in `dir` for
/// `duration`: the disk's syncs per second. Each writes over zeros written beforehand, as
/// Skein's thread log does, the way that asks the least of the file system.
fn disk_syncs(dir: &Path, writers: usize, duration: Duration) -> Result<f64, String> {
    let files = (0..writers)
        .map(|i| ZeroedFile::create(&dir.join(format!("anchor-{i}"))))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + duration;
    let handles: Vec<_> = files
        .into_iter()
        .map(|mut file| {
            std::thread::spawn(move || -> std::io::Result<usize> {
                let mut syncs = 0;
                while Instant::now() < deadline {
                    file.write_synced(&[b'x'; 200])?;
                    syncs += 1;
                }
                Ok(syncs)
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle
            .join()
            .map_err(|_| "an anchor writer panicked")?
            .map_err(|e| e.to_string())?;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

/// A file of zeros that records are written over, one after another, going back to its start
/// at the end: a write below the file's size changes no metadata, so its sync writes the data
/// alone. Removed when dropped.
pub(super) struct ZeroedFile {
    file: std::fs::File,
    path: std::path::PathBuf,
    at: u64,
}

impl ZeroedFile {
    const BYTES: u64 = 1 << 20;

    pub(super) fn create(path: &Path) -> std::io::Result<ZeroedFile> {
        let mut file = std::fs::File::create(path)?;
        file.write_all(&vec![0; Self::BYTES as usize])?;
        file.sync_all()?;
        Ok(ZeroedFile {
            file,
            path: path.to_path_buf(),
            at: 0,
        })
    }

    /// Writes `record` at the next place and `fdatasync`s.
    pub(super) fn write_synced(&mut self, record: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        if self.at + record.len() as u64 > Self::BYTES {
            self.at = 0;
        }
        self.file.write_all_at(record, self.at)?;
        self.at += record.len() as u64;
        self.file.sync_data()
    }
}

impl Drop for ZeroedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
