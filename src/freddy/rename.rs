//! `PUT /v1/threads/{id}/rename {title}` → `{success, threadId, newTitle, message}`.

use super::body::Body;
use super::{ok, view, Request};
use crate::error::{Error, Result};
use crate::threads::create::{self, Settings};
use serde_json::json;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    let title = body
        .string("title")?
        .ok_or_else(|| Error::invalid("title is required"))?;
    let settings = Settings {
        title: Some(title.to_string()),
        ..Settings::default()
    };
    let thread = create::configure(request.services, &request.user, id, &settings).await?;
    ok(&json!({
        "success": true,
        "threadId": view::thread_id(thread.id),
        "newTitle": thread.title,
        "message": "Thread renamed successfully",
    }))
}
