//! `/datasets/add`: an org admin adds a CSV as a dataset of their org, with the column notes
//! they set on the preview (the same fields as a `--describe` file's `[columns.NAME]`).

use super::envelope::decode_data;
use super::{dataset_views, Context};
use crate::datasets::{may_manage, ColumnNotes, Describe};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    /// The dataset's name; its SQL table name is made from it.
    name: String,
    csv: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, ColumnNotes>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: AddRequest = decode_data(data)?;
    may_manage(ctx.user)?;
    let describe = Describe {
        name: None,
        description: request.description.filter(|d| !d.trim().is_empty()),
        columns: request.columns,
        terms: Vec::new(),
    };
    let datasets = &ctx.services.datasets;
    let dataset = datasets
        .add_csv(
            ctx.user.org_id,
            &request.name,
            request.csv.into_bytes(),
            Some(describe),
        )
        .await?;
    let examples = crate::pipeline::example_questions(datasets, &dataset).await;
    // Watchers first: once the admin has the answer, every list shows the change.
    super::datasets_list::broadcast(ctx).await;
    ctx.reply("addDataset", dataset_views::dataset(&dataset, examples));
    Ok(())
}
