//! The WebSocket handshake as a warp filter of our own. warp's `Ws` builds tungstenite with its
//! default 128 KiB read buffer per connection and no way to change it: most of what an idle
//! socket cost. Here the request's hyper upgrade is wrapped by tokio-tungstenite directly, with
//! a [`WebSocketConfig`] sized for small JSON requests.

use crate::limits::HARD_FRAME_BYTES;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::{Filter, Rejection};

/// A server-side WebSocket over an upgraded HTTP/1 connection.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

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
                            let socket = WebSocketStream::from_raw_socket(
                                TokioIo::new(upgraded),
                                Role::Server,
                                Some(config()),
                            )
                            .await;
                            serve(socket).await;
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

/// See [`config`].
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // The writer flushes after each burst of queued frames (`connection::send_queued`), so
        // a burst leaves in writes of about this size rather than one per frame.
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(HARD_FRAME_BYTES))
        .max_frame_size(Some(HARD_FRAME_BYTES))
}
