//! `/threads/delete`: soft-delete one or many threads, all or none.

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use crate::threads;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Deserialize)]
struct DeleteRequest {
    /// The seed sends `id` as an array; `ids` and a single string are accepted too.
    #[serde(default, alias = "ids")]
    id: Option<Ids>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ids {
    Many(Vec<Uuid>),
    One(Uuid),
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: DeleteRequest = decode_data(data)?;
    let ids = match request.id {
        Some(Ids::Many(ids)) => ids,
        Some(Ids::One(id)) => vec![id],
        None => {
            return Err(Error::invalid(
                "missing \"id\": give the thread ids to delete as an array of UUIDs",
            ))
        }
    };
    let deleted = threads::delete::delete(ctx.services, ctx.user, &ids, Some(ctx.conn)).await?;
    let ids: Vec<Uuid> = deleted.iter().map(|thread| thread.id).collect();
    ctx.reply("deleteThreadState", json!(ids));
    Ok(())
}
