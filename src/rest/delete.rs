//! `DELETE /threads/{thread_id}`: 204, and the thread is gone for WebSocket clients too.

use super::{no_content, Request};
use crate::error::Result;
use crate::threads;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    threads::delete::delete(request.services, &request.user, &[id], None).await?;
    Ok(no_content())
}
