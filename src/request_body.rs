//! An HTTP request as the REST faces (LangGraph, Freddy) take it: method, headers, raw query,
//! and the body read under the size limit.

use crate::error::{Code, Error, Result};
use crate::limits::MAX_REST_BODY_BYTES;
use bytes::Buf;
use futures_util::StreamExt;
use warp::http::{HeaderMap, Method};
use warp::Filter;

/// The parts of a request a REST face parses; the body is an error if it was too large or
/// could not be read (the face renders it in its own shape).
pub struct Incoming {
    pub method: Method,
    pub headers: HeaderMap,
    /// The raw query string ("" without one).
    pub query: String,
    pub body: Result<Vec<u8>>,
}

/// Extracts an [`Incoming`] from any request.
pub fn incoming() -> impl Filter<Extract = (Incoming,), Error = warp::Rejection> + Clone {
    warp::method()
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::body::stream())
        .then(|method, headers, query, body| async move {
            Incoming {
                method,
                headers,
                query,
                body: read(body).await,
            }
        })
}

/// Reads a body up to [`MAX_REST_BODY_BYTES`]. A larger one gets 413 after the rest has been
/// read and dropped (up to a hard cap), so the client sees the answer rather than a reset.
pub async fn read(
    mut stream: impl futures_util::Stream<Item = Result<impl Buf, warp::Error>> + Unpin,
) -> Result<Vec<u8>> {
    const HARD_CAP: usize = 8 * MAX_REST_BODY_BYTES;
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let mut chunk =
            chunk.map_err(|err| Error::malformed(format!("could not read the body: {err}")))?;
        seen += chunk.remaining();
        if seen > MAX_REST_BODY_BYTES {
            body = Vec::new();
            chunk.advance(chunk.remaining());
            if seen > HARD_CAP {
                break;
            }
            continue;
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            body.extend_from_slice(piece);
            let n = piece.len();
            chunk.advance(n);
        }
    }
    if seen > MAX_REST_BODY_BYTES {
        return Err(Error::new(
            Code::PayloadTooLarge,
            format!("Request body too large (limit: {MAX_REST_BODY_BYTES} bytes)"),
        ));
    }
    Ok(body)
}
