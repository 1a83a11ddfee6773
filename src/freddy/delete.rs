//! `DELETE /v1/threads/{id}` → `{id, deleted: true, object: "thread.deleted"}`.

use super::{ok, view, Request};
use crate::error::Result;
use crate::threads;
use serde_json::json;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    threads::delete::delete(request.services, &request.user, &[id], None).await?;
    ok(&json!({"id": view::thread_id(id), "deleted": true, "object": "thread.deleted"}))
}
