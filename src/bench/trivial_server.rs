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
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.spawn(serve(listener));
    Ok((url, Background(Some(runtime))))
}

/// A runtime dropped from async code, where a plain drop would block (and panic).
pub(super) struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
