//! `/datasets/update`: an org admin edits a dataset's name, description and column notes
//! (meaning, unit, synonyms, role, aggregation). `null` clears a note; an absent field stays.

use super::envelope::{decode_data, present};
use super::{dataset_views, Context};
use crate::datasets::{ColumnChange, NoteChanges};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    id: Uuid,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default)]
    columns: BTreeMap<String, ColumnRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnRequest {
    #[serde(default, deserialize_with = "present")]
    meaning: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    unit: Option<Option<String>>,
    #[serde(default)]
    synonyms: Option<Vec<String>>,
    #[serde(default)]
    role: Option<String>,
    /// `null`: inferred again.
    #[serde(default, deserialize_with = "present")]
    aggregate: Option<Option<String>>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: UpdateRequest = decode_data(data)?;
    let datasets = &ctx.services.datasets;
    let dataset = datasets.manageable(ctx.user, request.id).await?;
    let changes = NoteChanges {
        name: request.name,
        description: request.description,
        columns: request
            .columns
            .into_iter()
            .map(|(name, c)| {
                let change = ColumnChange {
                    meaning: c.meaning,
                    unit: c.unit,
                    synonyms: c.synonyms,
                    role: c.role,
                    aggregate: c.aggregate,
                };
                (name, change)
            })
            .collect(),
    };
    let updated = datasets.update_notes(&dataset, changes).await?;
    let examples = crate::pipeline::example_questions(datasets, &updated).await;
    // Watchers first: once the admin has the answer, every list shows the change.
    super::datasets_list::broadcast(ctx).await;
    ctx.reply("updateDataset", dataset_views::dataset(&updated, examples));
    Ok(())
}
