//! `skein bench writes`: acknowledged writes per second through a real server, next to three
//! anchors measured in the same run: the disk's own rate of `write` + `fdatasync`, from as many
//! writers as there are clients, on the file system of the server's data dir; a trivial
//! durable server (`durable_echo`) answered by the same clients, which shows how much of the
//! disk's rate a WebSocket round trip and the clients leave to any server; and the floor of
//! a round trip here (`blocking_echo`: plain TCP and blocking threads on both sides), which
//! shows how much of it any round trip leaves.
//!
//! A client's write is a rename of its own thread (`/threads/update`), acknowledged once
//! durable; each client first asks one question to have a thread.
//!
//! Skein, the disk and the echo take turns, round after round, their connections kept open:
//! the disk's own rate here drifts by a third between one window of seconds and the next, and
//! one long run of each would compare two moments of the disk as much as the server with it.
//! Each ratio is the median of the rounds'.

use super::blocking_echo;
use super::client;
use super::server::{median, micros_text, start_server, Server};
use super::trivial_server::start_anchor;
use crate::config::AnchorKind;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// A client's connection, the thread it renames (null for the echo) and its renames so far
/// (which number its titles and requests).
struct Writer {
    socket: client::Socket,
    thread: Value,
    renamed: u64,
}

impl Writer {
    fn new(socket: client::Socket, thread: Value) -> Writer {
        Writer {
            socket,
            thread,
            renamed: 0,
        }
    }
}

/// One round of one count of clients: each side's writes per second and CPU time per write.
struct Round {
    skein: f64,
    skein_cpu: Option<f64>,
    disk: f64,
    echo: f64,
    echo_cpu: Option<f64>,
    blocking: f64,
    blocking_cpu: Option<f64>,
}

/// For each count of clients, `rounds` rounds of `seconds` for each side in turn: the
/// server's acknowledged writes/s, the disk's syncs/s and the durable echo's writes/s.
pub async fn writes(
    clients: &[usize],
    seconds: u64,
    rounds: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    let server = start_server(server_binary)?;
    let duration = Duration::from_secs(seconds);
    let mut runs = Vec::new();
    let mut lines = vec![
        format!("{rounds} rounds of {seconds} s for each side in turn; medians of the rounds"),
        format!(
            "{:>7}  {:>14}  {:>16}  {:>16}  {:>15}  {:>5}  {:>19}  {:>27}",
            "clients",
            "skein writes/s",
            "disk fdatasync/s",
            "ratio (range)",
            "durable echo/s",
            "ratio",
            "CPU µs/write (echo)",
            "blocking echo/s (to disk)"
        ),
    ];
    for &count in clients {
        let measured = measure(&server, count, duration, rounds).await?;
        let of = |value: fn(&Round) -> f64| median(measured.iter().map(value));
        let cpu_of = |value: fn(&Round) -> Option<f64>| {
            let known: Option<Vec<f64>> = measured.iter().map(value).collect();
            known.map(median)
        };
        let ratios: Vec<f64> = measured.iter().map(|r| r.skein / r.disk).collect();
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let (ratio, echo_ratio) = (median(ratios), of(|r| r.skein / r.echo));
        let (skein_rate, disk_rate, echo_rate) = (of(|r| r.skein), of(|r| r.disk), of(|r| r.echo));
        let (blocking_rate, blocking_ratio) = (of(|r| r.blocking), of(|r| r.blocking / r.disk));
        let (skein_cpu, echo_cpu) = (cpu_of(|r| r.skein_cpu), cpu_of(|r| r.echo_cpu));
        let blocking_cpu = cpu_of(|r| r.blocking_cpu);
        let cpu = format!(
            "{} ({})",
            micros_text(skein_cpu, 0),
            micros_text(echo_cpu, 0)
        );
        let range = format!("{ratio:.2} ({low:.2}–{high:.2})");
        let floor = format!("{blocking_rate:.0} ({blocking_ratio:.2})");
        lines.push(format!(
            "{count:>7}  {skein_rate:>14.0}  {disk_rate:>16.0}  {range:>16}  {echo_rate:>15.0}  \
             {echo_ratio:>5.2}  {cpu:>19}  {floor:>27}"
        ));
        let rounds: Vec<Value> = measured
            .iter()
            .map(|r| {
                json!({
                    "writes_per_second": r.skein,
                    "disk_syncs_per_second": r.disk,
                    "durable_echo_per_second": r.echo,
                    "ratio": r.skein / r.disk,
                    "server_cpu_us_per_write": r.skein_cpu,
                    "durable_echo_cpu_us_per_write": r.echo_cpu,
                    "blocking_echo_per_second": r.blocking,
                    "blocking_echo_cpu_us_per_write": r.blocking_cpu,
                })
            })
            .collect();
        runs.push(json!({
            "clients": count,
            "writes_per_second": skein_rate,
            "disk_syncs_per_second": disk_rate,
            "ratio": ratio,
            "durable_echo_per_second": echo_rate,
            "ratio_to_durable_echo": echo_ratio,
            "server_cpu_us_per_write": skein_cpu,
            "durable_echo_cpu_us_per_write": echo_cpu,
            "blocking_echo_per_second": blocking_rate,
            "blocking_echo_ratio_to_disk": blocking_ratio,
            "blocking_echo_cpu_us_per_write": blocking_cpu,
            "rounds": rounds,
        }));
    }
    Ok(if as_json {
        json!({ "seconds": seconds, "rounds": rounds, "runs": runs }).to_string()
    } else {
        lines.join("\n")
    })
}

/// `rounds` rounds of `clients` writers: Skein's, then the disk's, the durable echo's and the
/// blocking echo's, each for `duration`, the connections kept open between rounds.
async fn measure(
    server: &Server,
    clients: usize,
    duration: Duration,
    rounds: usize,
) -> Result<Vec<Round>, String> {
    let mut skein = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut socket = client::connect(&server.ws_url()).await?;
        let (thread, _) = client::ask(&mut socket, "how many orders in 2023", &Value::Null).await?;
        skein.push(Writer::new(socket, thread));
    }
    let per_second = |writes: usize| writes as f64 / duration.as_secs_f64();
    let (mut echo, mut blocking) = (None, None);
    let mut measured = Vec::with_capacity(rounds);
    while measured.len() < rounds {
        let cpu_before = server.cpu_seconds();
        let (acknowledged, reply_bytes);
        (skein, acknowledged, reply_bytes) = renames(skein, duration).await?;
        let skein_cpu = server.cpu_micros_per(cpu_before, acknowledged);
        let disk = disk_syncs(server.dir(), clients, duration)?;
        // The echo's answers are as large as Skein's in the first round.
        let (running, mut writers) = match echo.take() {
            Some(started) => started,
            None => {
                let (url, running) =
                    start_anchor(AnchorKind::DurableEcho, reply_bytes, Some(server.dir()))?;
                let mut writers = Vec::with_capacity(clients);
                for _ in 0..clients {
                    writers.push(Writer::new(client::connect(&url).await?, Value::Null));
                }
                (running, writers)
            }
        };
        let cpu_before = running.cpu_seconds();
        let echoed;
        (writers, echoed, _) = renames(writers, duration).await?;
        let echo_cpu = running.cpu_micros_per(cpu_before, echoed);
        echo = Some((running, writers));
        let (running, mut connections) = match blocking.take() {
            Some(started) => started,
            None => {
                let (url, running) =
                    start_anchor(AnchorKind::BlockingEcho, reply_bytes, Some(server.dir()))?;
                let addr = url.trim_start_matches("tcp://");
                let connections = blocking_echo::Clients::connect(addr, clients, reply_bytes)?;
                (running, connections)
            }
        };
        let cpu_before = running.cpu_seconds();
        let round_trips = connections.round_trips(duration)?;
        let blocking_cpu = running.cpu_micros_per(cpu_before, round_trips);
        blocking = Some((running, connections));
        measured.push(Round {
            skein: per_second(acknowledged),
            skein_cpu,
            disk,
            echo: per_second(echoed),
            echo_cpu,
            blocking: per_second(round_trips),
            blocking_cpu,
        });
    }
    Ok(measured)
}

/// Every client renames its thread one write after another for `duration`: the clients
/// back, the writes the server acknowledged, and the size in bytes of the largest answer.
async fn renames(
    writers: Vec<Writer>,
    duration: Duration,
) -> Result<(Vec<Writer>, usize, usize), String> {
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|mut writer| {
            tokio::spawn(async move {
                let (mut acknowledged, mut reply_bytes) = (0usize, 0usize);
                while Instant::now() < deadline {
                    writer.renamed += 1;
                    let bytes =
                        client::rename(&mut writer.socket, &writer.thread, writer.renamed).await?;
                    acknowledged += 1;
                    reply_bytes = reply_bytes.max(bytes);
                }
                Ok::<_, String>((writer, acknowledged, reply_bytes))
            })
        })
        .collect();
    let (mut writers, mut total, mut largest) = (Vec::new(), 0, 0);
    for task in tasks {
        let (writer, acknowledged, reply_bytes) = task.await.map_err(|e| e.to_string())??;
        writers.push(writer);
        total += acknowledged;
        largest = largest.max(reply_bytes);
    }
    Ok((writers, total, largest))
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
