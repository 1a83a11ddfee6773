//! `/threads/data`: a page of an answer's result rows (thread states carry a preview only).

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use crate::threads::rows;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// Rows per page when the request does not say.
const DEFAULT_LIMIT: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataRequest {
    message_id: Uuid,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    limit: Option<usize>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: DataRequest = decode_data(data)?;
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    let page = rows::page(
        &ctx.services.store,
        ctx.user,
        request.message_id,
        request.offset,
        limit,
    )
    .await?;
    ctx.reply(
        "getThreadData",
        json!({
            "thread_id": page.thread_id,
            "message_id": page.message_id,
            "offset": page.offset,
            "limit": limit,
            "total": page.total,
            "rows": page.rows,
        }),
    );
    Ok(())
}
