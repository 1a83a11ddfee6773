//! `/datasets/list`: the datasets the user may query, for a dataset picker, each with example
//! questions the analyst answers (a client's first screen).

use super::envelope::decode_data;
use super::{dataset_views, Context};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ListRequest {}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let _: ListRequest = decode_data(data)?;
    let datasets = &ctx.services.datasets;
    let mut items = Vec::new();
    for dataset in datasets.visible_to(ctx.user)? {
        let examples = crate::pipeline::example_questions(datasets, &dataset).await;
        items.push(dataset_views::dataset(&dataset, examples));
    }
    ctx.reply("getDatasetsList", Value::Array(items));
    Ok(())
}
