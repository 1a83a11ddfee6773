//! `GET /v1/threads/{id}/messages`: a thread's messages a page at a time (`limit` 1–100,
//! default 20; `order` `asc`, the default, or `desc`; `after`/`before` take message ids), and
//! `DELETE /v1/threads/{id}/messages`: remove them all.

use super::body::{query_descending, query_limit, query_value};
use super::{ok, view, Request};
use crate::error::{Error, Result};
use crate::threads::access::{self, Right};
use crate::threads::turns::{self, Removal};
use serde_json::{json, Value};
use uuid::Uuid;

pub async fn list(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let query = request.query.as_str();
    let limit = query_limit(query)?;
    let descending = query_descending(query, false)?;
    let (thread, _) =
        access::thread(&request.services.store, &request.user, id, Right::See).await?;
    let mut messages = view::messages_json(&thread, &request.services.store.messages(id).await?);
    if descending {
        messages.reverse();
    }
    // A cursor is a message of this thread; the page continues past it (after) or ends just
    // before it (before). Messages are only ever appended, so positions hold.
    let position = |name: &str| -> Result<Option<usize>> {
        let Some(text) = query_value(query, name) else {
            return Ok(None);
        };
        let turn = view::parse_message_id(&text)?;
        messages
            .iter()
            .position(|(id, _)| *id == turn)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name}: no message {text} in this thread")))
    };
    let start = position("after")?.map_or(0, |at| at + 1);
    let end = position("before")?.unwrap_or(messages.len()).max(start);
    let window = &messages[start..end];
    let (page, has_more) =
        if query_value(query, "before").is_some() && query_value(query, "after").is_none() {
            let from = window.len().saturating_sub(limit);
            (&window[from..], from > 0)
        } else {
            let to = window.len().min(limit);
            (&window[..to], window.len() > to)
        };
    let data: Vec<&Value> = page.iter().map(|(_, message)| message).collect();
    ok(&json!({
        "object": "list",
        "data": data,
        "firstId": page.first().map(|(id, _)| view::message_id(*id)),
        "lastId": page.last().map(|(id, _)| view::message_id(*id)),
        "hasMore": has_more,
    }))
}

pub async fn clear(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let thread = turns::remove(request.services, &request.user, id, Removal::All).await?;
    ok(
        &json!({"threadId": view::thread_id(thread.id), "deleted": true, "object": "thread.messages.deleted"}),
    )
}
