//! `GET /v1/threads`: the caller's threads, a page at a time, with thread-id cursors.
//!
//! Threads are ordered by creation time (then id); `order` is `desc` (newest first, the default)
//! or `asc`. `after` continues past a thread in that order, `before` gives the page just
//! before one. A cursor is a position, not an index, so threads created or deleted meanwhile
//! cause no gaps or repeats. Filters: `assistantId`, `visibleInUi`, `includeArchived` (default
//! false).

use super::body::{query_bool, query_descending, query_limit, query_value};
use super::{ok, view, Request};
use crate::error::{Error, Result};
use crate::model::{Thread, Timestamp};
use crate::threads::{access, lifecycle};
use serde_json::json;
use uuid::Uuid;

/// Where a thread sorts.
type Key = (Timestamp, Uuid);

fn key(thread: &Thread) -> Key {
    (thread.created_at, thread.id)
}

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let query = request.query.as_str();
    let limit = query_limit(query)?;
    let descending = query_descending(query, true)?;
    let include_archived = query_bool(query, "includeArchived")?.unwrap_or(false);
    let visible = query_bool(query, "visibleInUi")?;
    let assistant = query_value(query, "assistantId");
    let after = cursor(request, query, "after").await?;
    let before = cursor(request, query, "before").await?;

    let mut threads: Vec<Thread> = access::visible_threads(&request.services.store, &request.user)
        .await?
        .into_iter()
        .filter(|t| lifecycle::listed(t, include_archived))
        .filter(|t| visible.is_none_or(|v| t.api.visible_in_ui == v))
        .filter(|t| {
            assistant
                .as_deref()
                .is_none_or(|a| t.api.assistant_id.as_deref() == Some(a))
        })
        .collect();
    threads.sort_by_key(key);
    if descending {
        threads.reverse();
    }
    // "Comes later in this order than the cursor".
    let later = |a: &Key, b: &Key| if descending { a < b } else { a > b };
    if let Some(after) = after {
        threads.retain(|t| later(&key(t), &after));
    }
    let before_cursor = before.is_some();
    if let Some(before) = before {
        threads.retain(|t| later(&before, &key(t)));
    }
    // Past `before`, the page is the one just before the cursor.
    let (page, has_more) = if before_cursor {
        let start = threads.len().saturating_sub(limit);
        (&threads[start..], start > 0)
    } else {
        let end = threads.len().min(limit);
        (&threads[..end], threads.len() > end)
    };
    let mut data = Vec::with_capacity(page.len());
    for thread in page {
        data.push(view::thread_json(request.services, thread).await?);
    }
    ok(&json!({
        "object": "list",
        "firstId": page.first().map(|t| view::thread_id(t.id)),
        "lastId": page.last().map(|t| view::thread_id(t.id)),
        "hasMore": has_more,
        "data": data,
    }))
}

/// The sort position of the thread a cursor names. It may have been deleted since (its
/// position still holds), but it must be one the caller may see.
async fn cursor(request: &Request<'_>, query: &str, name: &str) -> Result<Option<Key>> {
    let Some(text) = query_value(query, name) else {
        return Ok(None);
    };
    let id = view::parse_thread_id(&text)?;
    match request.services.store.thread(id).await? {
        Some(thread) if access::can_see(&request.user, &thread) => Ok(Some(key(&thread))),
        _ => Err(Error::invalid(format!("{name}: no thread {text}"))),
    }
}
