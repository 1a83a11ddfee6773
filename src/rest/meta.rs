//! `GET /ok`, `GET /info` and `GET /openapi.json`: open to all, no token needed.

use serde_json::json;
use warp::http::StatusCode;

pub fn ok() -> warp::reply::Response {
    super::json_reply(StatusCode::OK, &json!({"ok": true, "services": {}}))
}

pub fn info() -> warp::reply::Response {
    super::json_reply(
        StatusCode::OK,
        &json!({
            "version": env!("CARGO_PKG_VERSION"),
            "server": "skein",
            "flags": {"assistants": false, "crons": false, "langsmith": false, "threads": true},
        }),
    )
}

/// The OpenAPI description of what Skein serves over REST.
pub fn openapi() -> warp::reply::Response {
    use warp::Reply;
    warp::reply::with_header(
        include_str!("openapi.json"),
        "content-type",
        "application/json",
    )
    .into_response()
}
