//! `PATCH /v1/threads/{id}/messages/{msgId} {content}`: replace a message's text (a question's
//! or an answer's; the analyst does not run again), and `DELETE` of the same path: remove it (a
//! question goes with its answer). Both are refused on a locked thread.

use super::body::Body;
use super::{ok, view, Request};
use crate::error::{Code, Error, Result};
use crate::threads::turns::{self, Removal};
use serde_json::json;
use uuid::Uuid;

pub async fn edit(request: &Request<'_>, id: Uuid, turn: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    if body.object("metadata")?.is_some() {
        return Err(Error::new(
            Code::Unsupported,
            "a message's metadata is what the analyst computed; it cannot be set",
        ));
    }
    let content = body
        .string("content")?
        .ok_or_else(|| Error::invalid("content is required and must be a string"))?;
    let thread = turns::edit_turn(request.services, &request.user, id, turn, content).await?;
    let messages = request.services.store.messages(id).await?;
    let edited = view::messages_json(&thread, &messages)
        .into_iter()
        .find(|(found, _)| *found == turn)
        .map(|(_, message)| message)
        .ok_or_else(|| Error::internal("the edited message is missing"))?;
    ok(&edited)
}

pub async fn delete(request: &Request<'_>, id: Uuid, turn: Uuid) -> Result<warp::reply::Response> {
    turns::remove(request.services, &request.user, id, Removal::Turn(turn)).await?;
    ok(&json!({"id": view::message_id(turn), "deleted": true, "object": "thread.message.deleted"}))
}
