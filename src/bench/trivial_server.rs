//! Where the benchmarks' trivial anchor servers run (the fan-out's broadcast server, the
//! writes' durable echo): on a runtime of their own with two
//! workers, as Skein's server has on this machine, beside the benchmark's clients.

use std::future::Future;

/// Starts `serve` on a listener of its own; the server's WebSocket URL, and the runtime that
/// keeps it running until dropped.
pub(super) fn start<F>(
    serve: impl FnOnce(std::net::TcpListener) -> F,
) -> Result<(String, Background), String>
where
    F: Future<Output = ()> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let url = format!("ws://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREAD_NAME)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.spawn(serve(listener));
    Ok((url, Background(Some(runtime))))
}

/// The anchor runtime's threads' name, by which their CPU time is found.
const THREAD_NAME: &str = "bench-anchor";

/// A runtime dropped from async code, where a plain drop would block (and panic).
pub(super) struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    /// The CPU time the anchor's threads have used so far, user and system (Linux), as
    /// [`super::server::Server::cpu_seconds`] gives the server's: the two sides' costs per
    /// operation side by side.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let mut ticks = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // The thread's name is in parentheses (the kernel cuts it to 15 bytes).
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if stat[open + 1..close] == THREAD_NAME[..THREAD_NAME.len().min(15)] {
                ticks += super::server::cpu_ticks(&stat[close + 2..])?;
            }
        }
        super::server::ticks_to_seconds(ticks)
    }

    /// The anchor's CPU time per operation (µs) since `before` (a [`Background::cpu_seconds`]).
    pub fn cpu_micros_per(&self, before: Option<f64>, operations: usize) -> Option<f64> {
        super::server::micros_per(before, self.cpu_seconds(), operations)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
