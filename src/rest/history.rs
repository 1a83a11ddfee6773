//! `GET` and `POST /threads/{thread_id}/history`: past states, newest first. Each message is a
//! checkpoint (its id the checkpoint id); `before` pages back from a checkpoint. Values other
//! than messages are not versioned: every past state shows their current value.

use super::schema::{parse_uuid, Body};
use super::{ok_json, Request};
use crate::error::{Error, Result};
use serde_json::Value;
use uuid::Uuid;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: i64 = 1000;

pub async fn get(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let limit = match request.query_values("limit").first() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| Error::invalid(format!("Invalid limit {text}")))?
            as usize,
    };
    let before = match request.query_values("before").first() {
        None => None,
        Some(text) => Some(checkpoint_id(&Value::String(text.clone()))?),
    };
    history(request, id, limit, before).await
}

pub async fn post(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let limit = body
        .integer("limit", 1, Some(MAX_LIMIT))?
        .unwrap_or(DEFAULT_LIMIT as i64) as usize;
    let before = match body.get("before") {
        None | Some(Value::Null) => None,
        Some(before) => Some(checkpoint_id(before)?),
    };
    history(request, id, limit, before).await
}

/// A checkpoint given as its id or as `{"checkpoint_id": ...}` (also nested in `configurable`).
fn checkpoint_id(value: &Value) -> Result<Uuid> {
    let text = value
        .as_str()
        .or(value["checkpoint_id"].as_str())
        .or(value["configurable"]["checkpoint_id"].as_str());
    text.and_then(parse_uuid)
        .ok_or_else(|| Error::invalid("before: not a checkpoint id"))
}

async fn history(
    request: &Request<'_>,
    id: Uuid,
    limit: usize,
    before: Option<Uuid>,
) -> Result<warp::reply::Response> {
    let (thread, _) = request.visible_thread(id).await?;
    let view = request.view(thread).await?;
    let newest = match before {
        None => view.messages.len(),
        Some(before) => view
            .messages
            .iter()
            .position(|m| m.id == before)
            .unwrap_or(0),
    };
    let states: Vec<Value> = (1..=newest)
        .rev()
        .take(limit)
        .map(|upto| view.state(upto))
        .collect();
    ok_json(&Value::Array(states))
}
