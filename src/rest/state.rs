//! `GET /threads/{thread_id}/state` and `POST /threads/{thread_id}/state`.
//!
//! Writing `values.messages` follows LangGraph's `add_messages` (the rules are the core's,
//! `threads::turns`): a message whose id is already in the thread replaces it, any other is
//! appended. A `human` message is a stored message (its prompt), which WebSocket clients see
//! like any other; an `ai` message answers the last unanswered one, or stands alone. Other keys
//! are kept as the thread's state values, each replacing the old value. Writing does not run
//! the analyst.

use super::schema::{parse_uuid, Body};
use super::{ok_json, Request};
use crate::error::{Error, Result};
use crate::threads::turns::{self, StateWrite, Turn};
use serde_json::{json, Map, Value};
use uuid::Uuid;

pub async fn get(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let (thread, _) = request.visible_thread(id).await?;
    let view = request.view(thread).await?;
    ok_json(&view.state(view.messages.len()))
}

pub async fn post(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, false)?;
    let write = match body.get("values") {
        None | Some(Value::Null) => StateWrite::default(),
        Some(Value::Object(values)) => parse_values(values)?,
        Some(other) => return Err(super::schema::type_error("values", other, "object")),
    };
    let thread = turns::write(request.services, &request.user, id, &write).await?;
    let view = request.view(thread).await?;
    let state = view.state(view.messages.len());
    ok_json(&json!({"checkpoint": state["checkpoint"]}))
}

/// `values`: `messages` as turns, the other keys as state values.
pub fn parse_values(values: &Map<String, Value>) -> Result<StateWrite> {
    let mut write = StateWrite::default();
    for (key, value) in values {
        if key != "messages" {
            write.values.insert(key.clone(), value.clone());
            continue;
        }
        let items = match value {
            Value::Array(items) => items.clone(),
            single @ Value::Object(_) => vec![single.clone()],
            other => return Err(super::schema::type_error("values.messages", other, "array")),
        };
        for item in &items {
            write.turns.push(parse_turn(item).map_err(|err| Error {
                message: format!("values.messages: {}", err.message),
                ..err
            })?);
        }
    }
    Ok(write)
}

fn parse_turn(item: &Value) -> Result<Turn> {
    let kind = item["type"]
        .as_str()
        .or(item["role"].as_str())
        .unwrap_or_default();
    let content = match &item["content"] {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str().or(b.as_str()))
            .collect::<Vec<_>>()
            .join(""),
        _ => {
            return Err(Error::invalid(
                "each message needs a \"content\" string (or text blocks)",
            ))
        }
    };
    // Ids that are not UUIDs are replaced by the server's.
    let id = item["id"].as_str().and_then(parse_uuid);
    match kind {
        "human" | "user" => Turn::human(&content, id),
        "ai" | "assistant" => Turn::ai(content, id),
        "system" => Turn::system(&content, id),
        other => Err(Error::invalid(format!(
            "only \"human\", \"ai\" and \"system\" messages can be stored, got {other:?}"
        ))),
    }
}

/// `supersteps` of a create: `[{updates: [{values, as_node}]}]`, applied in order.
pub fn supersteps(body: &Body) -> Result<Vec<StateWrite>> {
    let Some(steps) = body.get("supersteps") else {
        return Ok(Vec::new());
    };
    let Value::Array(steps) = steps else {
        return Err(super::schema::type_error("supersteps", steps, "array"));
    };
    let mut writes = Vec::new();
    for step in steps {
        let Some(Value::Array(list)) = step.get("updates") else {
            return Err(Error::invalid(
                "supersteps: each superstep needs an \"updates\" array",
            ));
        };
        for update in list {
            match update.get("values") {
                Some(Value::Object(values)) => writes.push(parse_values(values)?),
                None | Some(Value::Null) => {}
                Some(other) => return Err(super::schema::type_error("values", other, "object")),
            }
        }
    }
    Ok(writes)
}
