//! Accepting HTTP connections with the protections warp's own server does not offer: a client
//! must finish sending a request's headers within a time limit (slow partial headers cannot
//! hold connections open), at most so many connections are served at once (past that, new ones
//! wait in the kernel's backlog instead of using up file descriptors), and accept errors such
//! as running out of descriptors wait a moment instead of spinning. WebSockets, which leave the
//! HTTP count once upgraded, have their own bound, and both bounds are fitted to the process's
//! limit on open files, so client sockets alone can never take the descriptors that storage,
//! the search index and the datasets need. `server` runs the loop.

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bounds on the connections the listener serves.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// HTTP connections served at once (an upgraded WebSocket leaves this count).
    pub max_connections: usize,
    /// WebSocket connections open at once; past that, upgrades are refused (429).
    pub max_websockets: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            max_websockets: 10_000,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Descriptors kept for everything but client sockets: sled's files, tantivy's segment files (a
/// commit or merge opens several), SQLite datasets and their temporary files, the admin socket.
const RESERVED_DESCRIPTORS: u64 = 128;

impl ConnectionLimits {
    /// Raises the soft limit on open files to the hard limit (as most servers do), then lowers
    /// the connection bounds if they do not fit in it beside [`RESERVED_DESCRIPTORS`]: HTTP gets
    /// up to a quarter of what is left, WebSockets the rest.
    pub fn fit_to_descriptors(self) -> ConnectionLimits {
        let Some(open_files) = raise_open_files_limit() else {
            return self;
        };
        let budget = open_files.saturating_sub(RESERVED_DESCRIPTORS).max(2) as usize;
        if self.max_connections + self.max_websockets <= budget {
            return self;
        }
        let max_connections = self.max_connections.min((budget / 4).max(1));
        let max_websockets = self.max_websockets.min(budget - max_connections);
        tracing::warn!(
            open_files,
            max_connections,
            max_websockets,
            "lowered the connection bounds to fit the limit on open files (raise it with `ulimit -n`)"
        );
        ConnectionLimits {
            max_connections,
            max_websockets,
            ..self
        }
    }
}

/// Sets the soft limit on open files to the hard limit; returns the soft limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit/setrlimit to read and write.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// How long to wait after an accept error (out of file descriptors, say) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Hands out accepted connections, each with the slot it holds until it ends.
pub struct Acceptor {
    listener: TcpListener,
    slots: Arc<Semaphore>,
}

impl Acceptor {
    pub fn new(listener: TcpListener, limits: ConnectionLimits) -> Acceptor {
        Acceptor {
            listener,
            slots: Arc::new(Semaphore::new(limits.max_connections)),
        }
    }

    /// The next connection once a slot is free, or `None` once `shutdown` resolves.
    pub async fn next(
        &self,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> Option<(TcpStream, OwnedSemaphorePermit)> {
        let slot = tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot.expect("the slots are never closed"),
            _ = shutdown.as_mut() => return None,
        };
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => return Some((stream, slot)),
                    Err(err) => {
                        tracing::warn!(error = %err, "accepting a connection failed; retrying shortly");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
                _ = shutdown.as_mut() => return None,
            }
        }
    }
}

/// An HTTP/1 connection builder with the header read timeout.
pub fn builder(limits: ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
}
