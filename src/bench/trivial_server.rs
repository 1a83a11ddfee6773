//! The benchmarks' trivial anchor servers (the fan-out's broadcast server, the writes' durable
//! echo) run as Skein's server does: this binary in a process of its own (`skein bench anchor`,
//! on a runtime like `serve`'s), beside the benchmark's clients. Both sides of a comparison
//! then stand alike towards the clients, and each one's CPU time is its process's. (Run on a
//! runtime inside the benchmark's process instead, the broadcast anchor measured no faster.)

use super::server::Process;
use crate::config::AnchorKind;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Starts the anchor of `kind` sending frames of `frame_bytes` (the echoes write their files
/// in `dir`); its URL (`ws://`, or `tcp://` for the blocking echo), and its process (killed
/// when dropped).
pub(super) fn start_anchor(
    kind: AnchorKind,
    frame_bytes: usize,
    dir: Option<&Path>,
) -> Result<(String, Process), String> {
    use clap::ValueEnum;
    let binary = std::env::current_exe().map_err(|e| e.to_string())?;
    let kind = kind.to_possible_value().expect("no kind is skipped");
    let mut command = Command::new(binary);
    command
        .args(["bench", "anchor", kind.get_name(), "--frame-bytes"])
        .arg(frame_bytes.to_string());
    if let Some(dir) = dir {
        command.arg("--dir").arg(dir);
    }
    let mut child = command
        // Its input is how it knows the benchmark is still there (see `serve_anchor`).
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the anchor server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no anchor output")?;
    let process = Process(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or("the anchor server stopped before printing its URL")?
        .to_string();
    Ok((url, process))
}

/// `skein bench anchor`: serves the anchor of `kind` on a loopback port, prints its URL, and
/// stops when its standard input closes: the benchmark that started it ended or died.
pub async fn serve_anchor(
    kind: AnchorKind,
    frame_bytes: usize,
    dir: Option<PathBuf>,
) -> Result<(), String> {
    crate::listener::raise_open_files_limit();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    match kind {
        AnchorKind::Broadcast => {
            tokio::spawn(super::fanout::broadcast_server(listener, frame_bytes));
        }
        AnchorKind::DurableEcho => {
            let dir = dir.ok_or("the durable echo needs --dir")?;
            tokio::spawn(super::durable_echo::serve(listener, dir, frame_bytes));
        }
        AnchorKind::BlockingEcho => {
            let dir = dir.ok_or("the blocking echo needs --dir")?;
            let listener = listener.into_std().map_err(|e| e.to_string())?;
            listener.set_nonblocking(false).map_err(|e| e.to_string())?;
            std::thread::spawn(move || super::blocking_echo::serve(listener, dir, frame_bytes));
        }
    }
    let scheme = if kind == AnchorKind::BlockingEcho {
        "tcp"
    } else {
        "ws"
    };
    println!("listening on {scheme}://{addr}");
    tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(())
}
