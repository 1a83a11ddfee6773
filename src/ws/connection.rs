//! One WebSocket connection: a reader that keeps reading frames (so pings, pongs and closes
//! are seen while a request runs), answers pings and keeps the ping clock, a worker that
//! answers the connection's requests in order from a bounded queue, and a writer that writes
//! what the outbox could not write at once, then the close.

use super::envelope::{parse_request, Outgoing, Request, Unparseable};
use super::upgrade::Socket;
use super::{dispatch, fanout, Context, Route};
use crate::error::{Code, Error};
use crate::hub::CLOSE_GOING_AWAY;
use crate::limits::{HARD_FRAME_BYTES, MAX_FRAME_BYTES};
use crate::model::User;
use crate::outbox::Outbox;
use crate::services::Services;
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::Message;

/// How long a closing connection may take to deliver what it is writing and its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves one authenticated WebSocket until either side closes it.
pub async fn serve_connection(
    socket: Socket,
    services: Arc<Services>,
    user: User,
    token: [u8; 32],
) {
    let Socket {
        incoming: mut stream,
        outgoing,
    } = socket;
    let registration = services
        .hub
        .register(user.clone(), token, Box::pin(outgoing));
    let _counted = Counted::new(&crate::metrics::METRICS.connections);
    let conn = registration.id;
    let outbox = registration.outbox;
    let mut writer = tokio::spawn(write_loop(outbox.clone()));
    tracing::debug!(conn, user = %user.email, "connection opened");
    // Requests run one after another, in the order sent (two quick posts to one thread are
    // stored in that order), while the reader goes on; a full queue is answered RATE_LIMITED.
    let (queue, mut queued) =
        mpsc::channel::<(Route, Request)>(services.settings.requests_per_connection);
    let mut worker = {
        let (services, user) = (services.clone(), user.clone());
        tokio::spawn(async move {
            while let Some((route, request)) = queued.recv().await {
                if route.only_reads() {
                    crate::workers::wake_an_idle_worker();
                }
                let ctx = Context {
                    services: &services,
                    conn,
                    user: &user,
                    route,
                    request_id: request.request_id.as_ref(),
                };
                dispatch(&ctx, request.data).await;
            }
        })
    };

    // Made once: a fresh `closed()` per frame registered with and left the close notifier
    // (two more locks per frame).
    let closed = outbox.closed();
    tokio::pin!(closed);
    // The ping clock is the reader's, which hears the pongs; the writer waits on the outbox
    // alone.
    let mut last_heard = Instant::now();
    let (pong_timeout, mut ping) = (
        services.settings.pong_timeout,
        tokio::time::interval(services.settings.ping_interval),
    );
    ping.tick().await; // the first tick is immediate
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = &mut closed => break,
            _ = ping.tick() => {
                let silent_for = last_heard.elapsed();
                if silent_for > pong_timeout {
                    outbox.close(CLOSE_GOING_AWAY, format!(
                        "no pong or other frame for {} s", silent_for.as_secs()
                    ));
                    break;
                }
                outbox.ping();
                continue;
            }
        };
        let message = match frame {
            Some(Ok(message)) => message,
            Some(Err(err)) => {
                tracing::debug!(conn, error = %err, "read failed");
                if let WsError::Capacity(CapacityError::MessageTooLong { .. }) = err {
                    outbox.close(CLOSE_TOO_BIG, too_big_reason());
                } else {
                    outbox.close(1002, close_reason(&format!("protocol error: {err}")));
                }
                break;
            }
            None => break,
        };
        last_heard = Instant::now();
        if let Message::Close(close) = message {
            // The answer echoes the client's code (RFC 6455 §5.5.1).
            outbox.close(close.map_or(1000, |close| close.code.into()), "");
            break;
        } else if let Message::Ping(payload) = message {
            outbox.pong(payload);
        } else if let Message::Binary(_) = message {
            reject_frame(
                &services,
                conn,
                &user,
                Error::malformed(
                    "binary frames are not supported; send each request as a JSON text frame",
                ),
            );
        } else if let Message::Text(text) = &message {
            if let Some(request) = read_request(&services, conn, &user, text) {
                if let Err(TrySendError::Full((route, request))) = queue.try_send(request) {
                    refuse_busy(&services, conn, &user, route, request);
                }
            }
        }
        // Pongs only refresh `last_heard`.
    }

    // What the client sent before leaving still runs; then the worker ends.
    drop(queue);
    if tokio::time::timeout(CLOSE_GRACE, &mut worker)
        .await
        .is_err()
    {
        worker.abort();
    }
    let departures = services.hub.unregister(conn);
    fanout::announce_departures(&services, &departures);
    outbox.close(1000, "");
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    tracing::debug!(conn, "connection closed");
}

/// A text frame as a request for a known route; anything else is answered here and dropped.
fn read_request(
    services: &Services,
    conn: u64,
    user: &User,
    text: &str,
) -> Option<(Route, Request)> {
    if text.len() > MAX_FRAME_BYTES {
        let error = Error::new(
            Code::PayloadTooLarge,
            format!(
                "frame is {} bytes; the limit is {MAX_FRAME_BYTES}",
                text.len()
            ),
        );
        reject_frame(services, conn, user, error);
        return None;
    }
    let request = match parse_request(text) {
        Ok(request) => request,
        Err(Unparseable {
            route,
            request_id,
            error,
        }) => {
            let frame = Outgoing {
                route: route.as_deref().unwrap_or_default(),
                event: "error",
                payload: &Value::Null,
                error: Some(&error),
                sent_by: None,
                request_id: request_id.as_ref(),
                send_back_to_user: false,
            }
            .to_frame();
            services.hub.send(conn, frame);
            return None;
        }
    };
    let Some(route) = Route::parse(&request.route) else {
        let error = Error::new(Code::UnknownRoute, format!(
            "unknown route {:?}; routes are /threads/list, /threads/get, /threads/post, \
             /threads/update, /threads/delete, /threads/unsubscribe, /threads/search, /datasets/list, /users/me",
            request.route
        ));
        let frame = Outgoing {
            route: &request.route,
            event: "error",
            payload: &Value::Null,
            error: Some(&error),
            sent_by: None,
            request_id: request.request_id.as_ref(),
            send_back_to_user: false,
        }
        .to_frame();
        services.hub.send(conn, frame);
        return None;
    };
    Some((route, request))
}

/// Answers a request that found the connection's queue full.
fn refuse_busy(services: &Arc<Services>, conn: u64, user: &User, route: Route, request: Request) {
    let ctx = Context {
        services,
        conn,
        user,
        route,
        request_id: request.request_id.as_ref(),
    };
    ctx.fail(&Error::new(
        Code::RateLimited,
        format!(
            "this connection already has {} requests waiting; wait for their answers before sending more",
            services.settings.requests_per_connection
        ),
    ));
}

/// Answers a frame that is not a request with event `error`.
fn reject_frame(services: &Services, conn: u64, user: &User, error: Error) {
    let frame = Outgoing {
        route: "",
        event: "error",
        payload: &Value::Null,
        error: Some(&error),
        sent_by: Some(user),
        request_id: None,
        send_back_to_user: false,
    }
    .to_frame();
    services.hub.send(conn, frame);
}

/// Writes what the outbox could not write at once, until the close; if the socket fails first,
/// asks for the close itself (so the reader stops too).
async fn write_loop(outbox: Arc<Outbox>) {
    if let Err(err) = outbox.write_queued().await {
        tracing::debug!(error = %err, "write failed");
        outbox.close(1000, "");
    }
}

/// RFC 6455's close code for a message too big to process.
const CLOSE_TOO_BIG: u16 = 1009;

fn too_big_reason() -> String {
    format!(
        "frame over the {} MiB limit; requests may be up to {} KiB",
        HARD_FRAME_BYTES / (1024 * 1024),
        MAX_FRAME_BYTES / 1024
    )
}

/// Close reasons are limited to 123 bytes by the protocol.
fn close_reason(text: &str) -> String {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Counts a connection in a gauge while it lives.
struct Counted<'a>(&'a prometheus::IntGauge);

impl<'a> Counted<'a> {
    fn new(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        Counted(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
