//! `POST /threads/prune`: delete the listed threads the caller may delete; others and missing
//! ones are skipped. Answers `{"pruned_count": n}`.

use super::schema::{parse_uuid, required, Body};
use super::{ok_json, Request};
use crate::error::{Error, Result};
use serde_json::json;

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, false)?;
    let Some(ids) = body.strings("thread_ids")? else {
        return Err(required("thread_ids"));
    };
    let ids = ids
        .iter()
        .map(|id| parse_uuid(id).ok_or_else(|| Error::invalid("Invalid thread ID: must be a UUID")))
        .collect::<Result<Vec<_>>>()?;
    if body.one_of("strategy", &["delete", "keep_latest"])? == Some("keep_latest") {
        return Err(Error::invalid(super::create::KEEP_LATEST_UNSUPPORTED));
    }
    let pruned = crate::threads::delete::prune(request.services, &request.user, &ids).await?;
    ok_json(&json!({"pruned_count": pruned}))
}
