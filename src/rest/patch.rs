//! `PATCH /threads/{thread_id}`: merge metadata (shallowly), set the TTL. `Prefer:
//! return=minimal` answers 204 instead of the thread.

use super::create;
use super::schema::Body;
use super::{no_content, ok_json, Request};
use crate::error::Result;
use crate::threads::access::{self, Right};
use crate::threads::events::Event;
use crate::threads::rules;
use chrono::Utc;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let metadata = create::metadata(&body)?;
    let ttl = create::ttl(&body)?;
    let user = &request.user;
    let services = request.services;
    let now = Utc::now();
    let thread = services
        .store
        .write_threads(|tx| {
            let (mut thread, _) = access::in_write(tx, user, id, Right::Edit)?;
            if let Some(metadata) = &metadata {
                let merged = thread.api.metadata.0.as_object_mut();
                let merged = merged.expect("metadata is always an object");
                for (key, value) in metadata {
                    merged.insert(key.clone(), value.clone());
                }
            }
            if ttl.is_some() {
                thread.api.ttl = ttl;
            }
            rules::stamp(&mut thread, user, now);
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    services.publish(Event::ThreadChanged {
        thread: thread.clone(),
        by: user.clone(),
        origin: None,
    });
    let minimal = request
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim() == "return=minimal"));
    if minimal {
        return Ok(no_content());
    }
    ok_json(&request.view(thread)?.to_json(false))
}
