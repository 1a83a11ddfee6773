//! Reading an HTTP request's body under the size limit, for the REST faces (LangGraph, Freddy).

use crate::error::{Code, Error, Result};
use crate::limits::MAX_REST_BODY_BYTES;
use bytes::Buf;
use futures_util::StreamExt;

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
