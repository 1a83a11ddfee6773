//! `/datasets/preview`: what adding a CSV would make (columns with inferred types, roles and
//! aggregation, and the first rows), for an admin to check before `/datasets/add`. Nothing is
//! written.

use super::envelope::decode_data;
use super::{dataset_views, Context};
use crate::datasets::may_manage;
use crate::error::Error;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    /// The CSV's text, header first.
    csv: String,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: PreviewRequest = decode_data(data)?;
    may_manage(ctx.user)?;
    let preview = ctx
        .services
        .datasets
        .preview_csv(request.csv.into_bytes())
        .await?;
    let columns: Vec<Value> = preview.columns.iter().map(dataset_views::column).collect();
    ctx.reply(
        "previewDataset",
        json!({
            "columns": columns,
            "sample": dataset_views::sample(preview.row_count, &preview.rows),
        }),
    );
    Ok(())
}
