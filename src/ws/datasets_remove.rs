//! `/datasets/remove`: an org admin removes a dataset. Answers already given keep their words,
//! SQL and rows (stored with each answer); new questions cannot use it.

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveRequest {
    id: Uuid,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: RemoveRequest = decode_data(data)?;
    let datasets = &ctx.services.datasets;
    let dataset = datasets.manageable(ctx.user, request.id).await?;
    datasets.remove(&dataset).await?;
    // Watchers first: once the admin has the answer, every list shows the change.
    super::datasets_list::broadcast(ctx).await;
    ctx.reply("removeDataset", json!({"id": dataset.id}));
    Ok(())
}
