//! `POST /threads/{thread_id}/copy`: a new thread, owned by the caller, with the source's
//! title, metadata, state values and messages (under new ids).

use super::{ok_json, Request};
use crate::error::Result;
use crate::threads;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    // The reference server answers a missing source with 409 "Conflict"; 404 says what happened.
    let thread = threads::create::copy(request.services, &request.user, id).await?;
    ok_json(&request.view(thread).await?.to_json(false))
}
