//! The WebSocket handshake as a warp filter of our own. warp's `Ws` builds tungstenite with its
//! default 128 KiB read buffer per connection and no way to change it: most of what an idle
//! socket cost. Here the request's hyper upgrade is split in two: tokio-tungstenite reads the
//! client's frames from one half, with a [`WebSocketConfig`] sized for small JSON requests, and
//! the connection's outbox (`crate::outbox`) writes encoded frames to the other, so that a
//! broadcast can write to the socket directly without waking a task per connection.

use crate::limits::HARD_FRAME_BYTES;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::{Filter, Rejection};

/// An upgraded HTTP/1 connection.
type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// A server-side WebSocket over an upgraded HTTP/1 connection: the client's messages, and the
/// half the server writes its frames to.
pub struct Socket {
    pub incoming: WebSocketStream<ReadHalf>,
    pub outgoing: tokio::io::WriteHalf<Upgraded>,
}

/// The half tungstenite reads from. What tungstenite would write on its own (the answers to
/// pings and to the client's close) is dropped: the connection sends its own through its
/// outbox, in order with everything else it writes.
pub struct ReadHalf(tokio::io::ReadHalf<Upgraded>);

impl AsyncRead for ReadHalf {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Bytes read from the socket at a time. Requests are small JSON; a bigger frame is read in
/// several turns (up to [`HARD_FRAME_BYTES`]).
const READ_BUFFER_BYTES: usize = 4096;

/// The request asked for something other than a WebSocket upgrade.
#[derive(Debug)]
pub struct NotAnUpgrade;
impl warp::reject::Reject for NotAnUpgrade {}

/// A handshake that can be finished: the client's key and the connection's upgrade.
pub struct Handshake {
    key: String,
    on_upgrade: Option<OnUpgrade>,
}

/// Matches a WebSocket upgrade request (RFC 6455 §4.2.1) as warp's `ws()` does.
pub fn handshake() -> impl Filter<Extract = (Handshake,), Error = Rejection> + Clone {
    let connection_upgrade = warp::header::<String>("connection")
        .and_then(|connection: String| async move {
            let asks = connection
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
            if asks {
                Ok(())
            } else {
                Err(warp::reject::custom(NotAnUpgrade))
            }
        })
        .untuple_one();
    warp::get()
        .and(connection_upgrade)
        .and(warp::header::exact_ignore_case("upgrade", "websocket"))
        .and(warp::header::exact("sec-websocket-version", "13"))
        .and(warp::header::<String>("sec-websocket-key"))
        .and(warp::ext::optional::<OnUpgrade>())
        .map(|key, on_upgrade| Handshake { key, on_upgrade })
}

impl Handshake {
    /// Answers 101 and, once the connection is switched, runs `serve` on the socket.
    pub fn finish<F, U>(self, serve: F) -> warp::reply::Response
    where
        F: FnOnce(Socket) -> U + Send + 'static,
        U: std::future::Future<Output = ()> + Send + 'static,
    {
        match self.on_upgrade {
            Some(on_upgrade) => {
                tokio::spawn(async move {
                    match on_upgrade.await {
                        Ok(upgraded) => {
                            let (read, outgoing) = tokio::io::split(TokioIo::new(upgraded));
                            let incoming = WebSocketStream::from_raw_socket(
                                ReadHalf(read),
                                Role::Server,
                                Some(config()),
                            )
                            .await;
                            serve(Socket { incoming, outgoing }).await;
                        }
                        Err(err) => tracing::debug!(error = %err, "websocket upgrade failed"),
                    }
                });
            }
            None => tracing::debug!("no upgrade on this connection (HTTP/2?)"),
        }
        let mut response = warp::reply::Response::default();
        *response.status_mut() = warp::http::StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(
            "connection",
            warp::http::HeaderValue::from_static("upgrade"),
        );
        headers.insert("upgrade", warp::http::HeaderValue::from_static("websocket"));
        let accept = derive_accept_key(self.key.as_bytes());
        headers.insert(
            "sec-websocket-accept",
            accept.parse().expect("base64 is a valid header value"),
        );
        response
    }
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Only tungstenite's own answers pass through its write buffer, and are dropped.
        .write_buffer_size(0)
        .max_message_size(Some(HARD_FRAME_BYTES))
        .max_frame_size(Some(HARD_FRAME_BYTES))
}
