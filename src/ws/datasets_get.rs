//! `/datasets/get`: one dataset the user may read, with its columns' notes, its row count and
//! its first rows (a datasets page's detail).

use super::envelope::decode_data;
use super::{dataset_views, Context};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetRequest {
    id: Uuid,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: GetRequest = decode_data(data)?;
    let datasets = &ctx.services.datasets;
    let dataset = datasets.readable(ctx.user, request.id).await?;
    let (row_count, rows) = datasets.sample(&dataset).await?;
    let examples = crate::pipeline::example_questions(datasets, &dataset).await;
    let mut view = dataset_views::dataset(&dataset, examples);
    view["sample"] = dataset_views::sample(row_count, &rows);
    ctx.reply("getDataset", view);
    Ok(())
}
