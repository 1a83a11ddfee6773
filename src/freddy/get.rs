//! `GET /v1/threads/{id}`.

use super::{ok, view, Request};
use crate::error::Result;
use crate::threads::access::{self, Right};
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let (thread, _) =
        access::thread(&request.services.store, &request.user, id, Right::See).await?;
    ok(&view::thread_json(request.services, &thread).await?)
}
