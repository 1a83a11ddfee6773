//! `POST /threads/search` (seed 002): filter, sort, page, select and extract the threads the
//! user may see. Pagination headers follow the reference server: `X-Pagination-Next` when
//! more follow, and `X-Pagination-Total` (offset + limit + 1 then, else offset + page size).

use super::query::{self, Filters, Sort};
use super::schema::{parse_uuid, Body};
use super::Request;
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::HashSet;
use warp::http::HeaderValue;

const DEFAULT_LIMIT: i64 = 10;
const MAX_LIMIT: i64 = 1000;

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, true)?;
    let ids = match body.strings("ids")? {
        Some(ids) => Some(
            ids.iter()
                .map(|id| {
                    parse_uuid(id)
                        .ok_or_else(|| Error::malformed(format!("Invalid thread ID {id}")))
                })
                .collect::<Result<HashSet<_>>>()?,
        )
        .filter(|ids| !ids.is_empty()),
        None => None,
    };
    let filters = Filters::parse(&body)?;
    let limit = body
        .integer("limit", 1, Some(MAX_LIMIT))?
        .unwrap_or(DEFAULT_LIMIT) as usize;
    let offset = body.integer("offset", 0, None)?.unwrap_or(0) as usize;
    let sort = Sort::parse(&body)?;
    let select = query::parse_select(&body)?;
    let extracts = query::parse_extract(&body)?;

    let mut views = Vec::new();
    for thread in request.visible_threads().await? {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&thread.id))
            || !filters.matches_thread(&thread)
        {
            continue;
        }
        let view = request.view(thread).await?;
        if filters.matches(&view) {
            views.push(view);
        }
    }
    sort.apply(&mut views);
    let total = views.len();
    let page: Vec<Value> = views
        .iter()
        .skip(offset)
        .take(limit)
        .map(|view| query::project(view.to_json(false), select.as_deref(), &extracts))
        .collect();

    let page_len = page.len();
    let mut response = super::json_reply(warp::http::StatusCode::OK, &Value::Array(page));
    let headers = response.headers_mut();
    let header = |n: usize| HeaderValue::from_str(&n.to_string()).expect("a number");
    if offset + limit < total {
        headers.insert("x-pagination-next", header(offset + limit));
        headers.insert("x-pagination-total", header(offset + limit + 1));
    } else {
        headers.insert("x-pagination-total", header(offset + page_len));
    }
    Ok(response)
}
