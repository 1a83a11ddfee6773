//! An answer's result rows, a page at a time, for faces that show a thread without every
//! answer's rows (the WebSocket face's thread states carry a preview): a thread of many
//! answers would otherwise re-send up to the row cap for every answer on every change.

use super::access::{self, Right};
use crate::error::{Error, Result};
use crate::model::User;
use crate::store::Store;
use serde_json::Value;
use uuid::Uuid;

/// Rows one page may hold at most (the analyst's row cap is 1,000).
pub const MAX_PAGE: usize = 1000;

/// Rows `offset..offset + limit` of an answer, and how many it has.
pub struct RowsPage {
    pub thread_id: Uuid,
    pub message_id: Uuid,
    pub offset: usize,
    pub total: usize,
    pub rows: Vec<Value>,
}

/// A page of the rows of `message_id`'s answer, if `user` may see its thread.
pub async fn page(
    store: &Store,
    user: &User,
    message_id: Uuid,
    offset: usize,
    limit: usize,
) -> Result<RowsPage> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_PAGE}")));
    }
    let message = access::message(store, user, message_id, Right::See).await?;
    let all = message.rows().unwrap_or(&[]);
    Ok(RowsPage {
        thread_id: message.thread_id,
        message_id,
        offset,
        total: all.len(),
        rows: all.iter().skip(offset).take(limit).cloned().collect(),
    })
}
