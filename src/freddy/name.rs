//! `POST /v1/threads/{id}/generateName` → `{success, threadId, name, message}`: names the
//! thread from its questions and answers (2–5 words, ≤ 50 characters) and sets its title.

use super::{ok, view, Request};
use crate::error::Result;
use crate::threads::naming;
use serde_json::json;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let thread = naming::generate(request.services, &request.user, id).await?;
    ok(&json!({
        "success": true,
        "threadId": view::thread_id(thread.id),
        "name": thread.title,
        "message": "Thread name generated successfully",
    }))
}
