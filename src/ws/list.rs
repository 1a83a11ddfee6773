//! `/threads/list`: one page of the user's threads, newest first, and a subscription to changes.
//! It is the web UI's list: threads marked not visible in the UI (Freddy's `visibleInUi`) are
//! left out, and so are archived ones unless `include_archived` is true.

use super::envelope::decode_data;
use super::views::{self, Users};
use super::Context;
use crate::error::Error;
use crate::model::Thread;
use crate::threads::{access, lifecycle};
use serde::Deserialize;
use serde_json::Value;

const DEFAULT_PAGE_SIZE: u64 = 25;
const MAX_PAGE_SIZE: u64 = 100;

#[derive(Deserialize)]
struct ListRequest {
    #[serde(default)]
    page_size: Option<u64>,
    /// 0-based page number; a numeric string is accepted too.
    #[serde(default)]
    page_token: Option<PageToken>,
    #[serde(default)]
    include_archived: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PageToken {
    Number(u64),
    Text(String),
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: ListRequest = decode_data(data)?;
    let page_size = request.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(Error::invalid(format!(
            "page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
        )));
    }
    let page = match request.page_token {
        None => 0,
        Some(PageToken::Number(page)) => page,
        Some(PageToken::Text(text)) => text.parse().map_err(|_| {
            Error::invalid(format!(
                "page_token must be a page number (0, 1, …), got {text:?}"
            ))
        })?,
    };

    // Subscribe first so that no change between reading and subscribing is missed.
    let services = ctx.services;
    services.hub.subscribe_lists(ctx.conn);

    let user = ctx.user;
    let mut threads = access::visible_threads(&services.store, user).await?;
    threads.retain(|thread| in_list(thread, request.include_archived));
    threads.sort_by(|a, b| b.last_edited.cmp(&a.last_edited).then(a.id.cmp(&b.id)));

    let mut users = Users::new(&services.store);
    let mut items = Vec::new();
    let skip = page.saturating_mul(page_size);
    for thread in threads
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(page_size as usize)
    {
        let latest = services.store.latest_message(thread.id).await?;
        items.push(views::list_item(thread, latest.as_ref(), &mut users).await?);
    }
    ctx.reply("getThreadsList", Value::Array(items));
    Ok(())
}

/// Whether the web UI's list shows `thread`.
pub fn in_list(thread: &Thread, include_archived: bool) -> bool {
    thread.api.visible_in_ui && lifecycle::listed(thread, include_archived)
}
