//! `PATCH /threads/{thread_id}`: merge metadata (shallowly), set the TTL. `Prefer:
//! return=minimal` answers 204 instead of the thread.

use super::create;
use super::error::RestResult;
use super::schema::Body;
use super::{changeable, no_content, ok_json, Request, Right};
use chrono::Utc;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> RestResult<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let metadata = create::metadata(&body)?;
    let ttl = create::ttl(&body)?;
    let user = &request.user;
    let services = request.services;
    let now = Utc::now();
    let thread = services
        .store
        .write_threads(|tx| {
            let mut thread = changeable(tx, user, id, Right::Edit)?;
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
            thread.last_edited = now;
            thread.updated_at = Some(now);
            thread.updated_by = user.id;
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    crate::ws::fanout::list_changed(services, &thread, user)?;
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
