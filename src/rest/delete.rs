//! `DELETE /threads/{thread_id}`: 204, and the thread is gone for WebSocket clients too.

use super::error::{RestError, RestResult};
use super::{no_content, Request};
use crate::model::{Thread, User};
use crate::services::Services;
use crate::store::abort;
use chrono::Utc;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> RestResult<warp::reply::Response> {
    match delete_thread(request.services, &request.user, id).await? {
        Some(_) => Ok(no_content()),
        None => Err(RestError::not_found(id)),
    }
}

/// Soft-deletes a thread `user` may manage and tells everyone who saw it; `None` if `user`
/// cannot see it; 403 if they may see but not delete it.
pub async fn delete_thread(
    services: &Services,
    user: &User,
    id: Uuid,
) -> RestResult<Option<Thread>> {
    let now = Utc::now();
    let before = services
        .store
        .write_threads(|tx| {
            let Some(thread) = tx.thread(id)? else {
                return Ok(None);
            };
            match crate::auth::access(user, &thread) {
                None => return Ok(None),
                Some(access) if !access.can_manage() => {
                    return abort(RestError::forbidden(format!(
                        "only the owner or an org admin can delete thread {id}"
                    )))
                }
                Some(_) => {}
            }
            tx.put_thread(&thread.deleted(Some(user.id), now))?;
            Ok(Some(thread))
        })
        .await?;
    if let Some(thread) = &before {
        crate::ws::fanout::thread_deleted(services, thread, Some(user), None);
    }
    Ok(before)
}
