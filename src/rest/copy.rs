//! `POST /threads/{thread_id}/copy`: a new thread, owned by the caller, with the source's
//! title, metadata, state values and messages (under new ids).

use super::{ok_json, Request};
use crate::error::{Error, Result};
use crate::model::{Message, Thread};
use chrono::Utc;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    // The reference server answers a missing source with 409 "Conflict"; 404 says what happened.
    let (source, _) = request.visible_thread(id)?;
    let messages = request.services.store.messages(source.id)?;
    let user = &request.user;
    let now = Utc::now();
    let copy_id = crate::threads::rules::new_thread_id();
    let copies: Vec<Message> = messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| Message {
            id: Uuid::new_v4(),
            thread_id: copy_id,
            ..m.clone()
        })
        .collect();
    let thread: Thread = request
        .services
        .store
        .write_threads::<_, Error>(|tx| {
            let mut thread = Thread::new(
                copy_id,
                user.org_id,
                user.id,
                source.title.clone(),
                source.titled_by,
                now,
            );
            thread.api.metadata = source.api.metadata.clone();
            thread.api.values = source.api.values.clone();
            thread.api.state_updated_at = source.api.state_updated_at;
            for message in &copies {
                tx.append_message(&mut thread, message)?;
            }
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    request
        .services
        .publish(crate::threads::events::Event::ThreadChanged {
            thread: thread.clone(),
            by: user.clone(),
            origin: None,
        });
    ok_json(&request.view(thread)?.to_json(false))
}
