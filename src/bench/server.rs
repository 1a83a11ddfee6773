//! The server a benchmark measures: this binary (or another build, to compare side by side)
//! started on a temporary data dir and loopback, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The server under measurement; killed when dropped.
pub struct Server {
    process: Process,
    pub addr: String,
    pub token: String,
    _dir: tempfile::TempDir,
}

/// A process a benchmark started (a server, an anchor): killed when dropped.
pub(super) struct Process(pub(super) Child);

impl Process {
    /// The CPU time it has used so far, user and system, in seconds (Linux).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).ok()?;
        ticks_to_seconds(cpu_ticks(&stat[stat.rfind(')')? + 2..])?)
    }

    /// Its CPU time per operation (µs) since `before` (a [`Process::cpu_seconds`]).
    pub fn cpu_micros_per(&self, before: Option<f64>, operations: usize) -> Option<f64> {
        micros_per(before, self.cpu_seconds(), operations)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_server(binary: Option<&Path>) -> Result<Server, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let binary = match binary {
        Some(binary) => binary.to_path_buf(),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let mut child = Command::new(binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("SKEIN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no server output")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut addr, mut token) = (String::new(), String::new());
    while token.is_empty() {
        let line = lines
            .next()
            .ok_or("the server stopped before printing its login URL")?
            .map_err(|e| e.to_string())?;
        if let Some(a) = line.strip_prefix("listening on http://") {
            addr = a.to_string();
        }
        if let Some(t) = line.split("?token=").nth(1) {
            token = t.to_string();
        }
    }
    Ok(Server {
        process: Process(child),
        addr,
        token,
        _dir: dir,
    })
}

impl Server {
    /// Its WebSocket URL, signed in as the admin it made on first start.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws?token={}", self.addr, self.token)
    }

    /// The temporary directory the server's data dir is in (same file system).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// The CPU time the server has used so far, user and system (Linux), from
    /// `/proc/<pid>/stat`: less noisy than a rate on a machine whose speed drifts.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.process.cpu_seconds()
    }

    /// The server's CPU time per operation (µs) since `before` (a [`Server::cpu_seconds`]).
    pub fn cpu_micros_per(&self, before: Option<f64>, operations: usize) -> Option<f64> {
        self.process.cpu_micros_per(before, operations)
    }

    /// The server's resident memory in bytes (Linux), from `/proc/<pid>/status`.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.0.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

/// utime + stime from the fields of a `/proc/…/stat` line after the command name (which may hold
/// spaces, so it is cut off first): the 14th and 15th fields of the whole line.
pub(super) fn cpu_ticks(after_name: &str) -> Option<u64> {
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub(super) fn ticks_to_seconds(ticks: u64) -> Option<f64> {
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

/// CPU time per operation (µs) between two readings in seconds.
pub(super) fn micros_per(
    before: Option<f64>,
    after: Option<f64>,
    operations: usize,
) -> Option<f64> {
    Some((after? - before?) / operations.max(1) as f64 * 1e6)
}

/// The middle value (the upper one of an even count); NaN of none.
pub(super) fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A CPU time per operation for a table: `decimals` places, or a dash when unknown.
pub(super) fn micros_text(cpu: Option<f64>, decimals: usize) -> String {
    cpu.map_or("—".to_string(), |us| format!("{us:.decimals$}"))
}
