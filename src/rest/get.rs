//! `GET /threads/{thread_id}` (`?include=ttl` adds the TTL).

use super::{ok_json, Request};
use crate::error::Result;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let (thread, _) = request.visible_thread(id).await?;
    let with_ttl = request.query_values("include").iter().any(|v| v == "ttl");
    ok_json(&request.view(thread).await?.to_json(with_ttl))
}
