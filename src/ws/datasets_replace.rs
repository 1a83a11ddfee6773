//! `/datasets/replace`: an org admin replaces an imported dataset's rows with a new CSV.
//! Columns that stay keep their type and notes; a row that does not fit refuses the whole CSV.

use super::envelope::decode_data;
use super::{dataset_views, Context};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceRequest {
    id: Uuid,
    csv: String,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: ReplaceRequest = decode_data(data)?;
    let datasets = &ctx.services.datasets;
    let dataset = datasets.manageable(ctx.user, request.id).await?;
    let replaced = datasets
        .replace_csv(&dataset, request.csv.into_bytes())
        .await?;
    let examples = crate::pipeline::example_questions(datasets, &replaced).await;
    // Watchers first: once the admin has the answer, every list shows the change.
    super::datasets_list::broadcast(ctx).await;
    ctx.reply(
        "replaceDataset",
        dataset_views::dataset(&replaced, examples),
    );
    Ok(())
}
