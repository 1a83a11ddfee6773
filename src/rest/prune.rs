//! `POST /threads/prune`: delete the listed threads the caller may delete; others and missing
//! ones are skipped. Answers `{"pruned_count": n}`.

use super::delete::delete_thread;
use super::error::{RestError, RestResult};
use super::schema::{parse_uuid, required, Body};
use super::{ok_json, Request};
use serde_json::json;
use warp::http::StatusCode;

pub async fn handle(request: &Request<'_>) -> RestResult<warp::reply::Response> {
    let body = Body::parse(&request.body, false)?;
    let Some(ids) = body.strings("thread_ids")? else {
        return Err(required("thread_ids"));
    };
    let ids = ids
        .iter()
        .map(|id| {
            parse_uuid(id)
                .ok_or_else(|| RestError::unprocessable("Invalid thread ID: must be a UUID"))
        })
        .collect::<RestResult<Vec<_>>>()?;
    if body.one_of("strategy", &["delete", "keep_latest"])? == Some("keep_latest") {
        return Err(RestError::unprocessable(
            super::create::KEEP_LATEST_UNSUPPORTED,
        ));
    }
    let mut pruned = 0u64;
    for id in ids {
        match delete_thread(request.services, &request.user, id).await {
            Ok(_) => pruned += 1,
            // Missing, invisible, or not the caller's to delete: skipped.
            Err(err) if matches!(err.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {}
            Err(err) => return Err(err),
        }
    }
    ok_json(&json!({"pruned_count": pruned}))
}
