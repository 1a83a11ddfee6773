//! `/datasets/list`: the datasets the user may query, for a dataset picker.

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct ListRequest {}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let _: ListRequest = decode_data(data)?;
    let datasets = ctx.services.datasets.visible_to(ctx.user)?;
    let items: Vec<Value> = datasets
        .iter()
        .map(|dataset| {
            let columns: Vec<Value> = dataset
                .columns
                .iter()
                .map(|c| json!({"name": c.name, "type": c.kind.pg_name(), "meaning": c.meaning, "unit": c.unit}))
                .collect();
            let terms: Vec<Value> = dataset
                .terms
                .iter()
                .map(|t| json!({"id": t.id, "name": t.name, "definition": t.definition}))
                .collect();
            json!({
                "id": dataset.id,
                "name": dataset.name,
                "table": dataset.table,
                "description": dataset.description,
                "columns": columns,
                "terms": terms,
                "created_at": dataset.created_at,
            })
        })
        .collect();
    ctx.reply("getDatasetsList", Value::Array(items));
    Ok(())
}
