//! `POST /threads/count`: how many threads match the filters of a search (a bare integer).

use super::query::Filters;
use super::schema::Body;
use super::{ok_json, Request};
use crate::error::Result;

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let filters = Filters::parse(&body)?;
    let mut count = 0u64;
    for thread in request.visible_threads().await? {
        if filters.matches_thread(&thread) && filters.matches(&request.view(thread).await?) {
            count += 1;
        }
    }
    ok_json(&count.into())
}
