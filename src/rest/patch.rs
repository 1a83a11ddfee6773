//! `PATCH /threads/{thread_id}`: merge metadata (shallowly), set the TTL. `Prefer:
//! return=minimal` answers 204 instead of the thread.

use super::create;
use super::schema::Body;
use super::{no_content, ok_json, Request};
use crate::error::Result;
use crate::threads::{self, create::Settings};
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let settings = Settings {
        metadata: create::metadata(&body)?,
        ttl: create::ttl(&body)?,
        ..Settings::default()
    };
    let thread = threads::create::configure(request.services, &request.user, id, &settings).await?;
    let minimal = request
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim() == "return=minimal"));
    if minimal {
        return Ok(no_content());
    }
    ok_json(&request.view(thread).await?.to_json(false))
}
