//! Accepting HTTP connections with the protections warp's own server does not offer: a client
//! must finish sending a request's headers within a time limit (slow partial headers cannot
//! hold connections open), at most so many connections are served at once (past that, new ones
//! wait in the kernel's backlog instead of using up file descriptors), and accept errors such
//! as running out of descriptors wait a moment instead of spinning. `server` runs the loop.

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
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
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
