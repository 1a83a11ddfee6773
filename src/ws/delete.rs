//! `/threads/delete`: soft-delete one or many threads, all or none.

use super::envelope::{decode_data, ApiError};
use super::{fanout, Context};
use crate::auth;
use crate::model::Thread;
use crate::store::abort;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The largest number of threads one request may delete.
const MAX_IDS: usize = 1000;

#[derive(Deserialize)]
struct DeleteRequest {
    /// The seed sends `id` as an array; `ids` and a single string are accepted too.
    #[serde(default, alias = "ids")]
    id: Option<Ids>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ids {
    Many(Vec<Uuid>),
    One(Uuid),
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), ApiError> {
    let request: DeleteRequest = decode_data(data)?;
    let mut ids = match request.id {
        Some(Ids::Many(ids)) => ids,
        Some(Ids::One(id)) => vec![id],
        None => {
            return Err(ApiError::bad_request(
                "missing \"id\": give the thread ids to delete as an array of UUIDs",
            ))
        }
    };
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "\"id\" must list at least one thread",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_IDS} threads can be deleted at once, got {}",
            ids.len()
        )));
    }

    let services = ctx.services;
    let user = ctx.user;
    let now = Utc::now();
    let deleted: Vec<Thread> = services
        .store
        .write_threads(|tx| {
            let mut before = Vec::with_capacity(ids.len());
            for id in &ids {
                let Some(thread) = tx.thread(*id)? else {
                    return abort(ApiError::thread_not_found(*id));
                };
                match auth::access(user, &thread) {
                    None => return abort(ApiError::thread_not_found(*id)),
                    Some(access) if !access.can_manage() => {
                        return abort(ApiError::unauthorized(format!(
                            "only the owner or an org admin can delete thread {id}"
                        )))
                    }
                    Some(_) => {}
                }
                tx.put_thread(&thread.deleted(Some(user.id), now))?;
                before.push(thread);
            }
            Ok(before)
        })
        .await?;

    for thread in &deleted {
        fanout::thread_deleted(services, thread, Some(user), Some(ctx.conn));
    }
    ctx.reply("deleteThreadState", json!(ids));
    Ok(())
}
