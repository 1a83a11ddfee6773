//! `DELETE /threads/{thread_id}`: 204, and the thread is gone for WebSocket clients too.

use super::error::RestResult;
use super::{changeable, no_content, Request, Right};
use crate::model::{Thread, User};
use crate::services::Services;
use chrono::Utc;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> RestResult<warp::reply::Response> {
    delete_thread(request.services, &request.user, id).await?;
    Ok(no_content())
}

/// Soft-deletes a thread `user` may manage and tells everyone who saw it; 404 if `user` cannot
/// see it, 403 if they may see but not delete it.
pub async fn delete_thread(services: &Services, user: &User, id: Uuid) -> RestResult<Thread> {
    let now = Utc::now();
    let before = services
        .store
        .write_threads(|tx| {
            let thread = changeable(tx, user, id, Right::Manage)?;
            tx.put_thread(&thread.deleted(Some(user.id), now))?;
            Ok(thread)
        })
        .await?;
    crate::ws::fanout::thread_deleted(services, &before, Some(user), None);
    Ok(before)
}
