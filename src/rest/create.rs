//! `POST /threads`: create a thread (`thread_id`, `metadata`, `if_exists`, `ttl`, `supersteps`).

use super::schema::{parse_uuid, Body};
use super::{ok_json, state, Request};
use crate::error::{Error, Result};
use crate::model::ThreadTtl;
use crate::threads::{self, create::NewThread};
use serde_json::{Map, Value};

/// Why `keep_latest` (keep only the latest checkpoint) is refused.
pub const KEEP_LATEST_UNSUPPORTED: &str = "keep_latest strategy is not supported: a Skein thread's state is its messages, so only \"delete\" is";

/// Metadata keys the reference server strips silently on create and patch.
const RESERVED_METADATA: [&str; 5] = [
    "thread_id",
    "assistant_id",
    "run_id",
    "cron_id",
    "counters_since_delta_snapshot",
];

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    // Unlike patch or search, a create without a body is refused (as the reference server).
    let body = Body::parse(&request.body, false)?;
    let id = match body.string("thread_id")? {
        Some(text) => Some(
            parse_uuid(text).ok_or_else(|| Error::invalid("Invalid thread ID: must be a UUID"))?,
        ),
        None => None,
    };
    let new = NewThread {
        id,
        metadata: metadata(&body)?.unwrap_or_default(),
        ttl: ttl(&body)?,
        return_existing: body.one_of("if_exists", &["raise", "do_nothing"])? == Some("do_nothing"),
        state: state::supersteps(&body)?,
        ..NewThread::default()
    };
    let (thread, _) = threads::create::create(request.services, &request.user, new).await?;
    ok_json(&request.view(thread).await?.to_json(false))
}

/// The `metadata` of a create or patch, without the reserved keys.
pub fn metadata(body: &Body) -> Result<Option<Map<String, Value>>> {
    Ok(body.object("metadata")?.map(|map| {
        let mut map = map.clone();
        for key in RESERVED_METADATA {
            map.remove(key);
        }
        map
    }))
}

/// `ttl: {ttl: minutes, strategy?: "delete"}` of a create or patch.
pub fn ttl(body: &Body) -> Result<Option<ThreadTtl>> {
    let Some(ttl) = body.object("ttl")? else {
        return Ok(None);
    };
    let ttl = Body(ttl.clone());
    if ttl.one_of("strategy", &["delete", "keep_latest"])? == Some("keep_latest") {
        return Err(Error::invalid(KEEP_LATEST_UNSUPPORTED));
    }
    let minutes = match ttl.get("ttl") {
        None => return Err(super::schema::required("ttl")),
        Some(value) => value
            .as_f64()
            .ok_or_else(|| super::schema::type_error("ttl", value, "number"))?,
    };
    if minutes <= 0.0 || !minutes.is_finite() {
        return Err(Error::invalid(format!(
            "ttl must be a positive number of minutes, got {minutes}"
        )));
    }
    Ok(Some(ThreadTtl { minutes }))
}
