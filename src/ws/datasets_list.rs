//! `/datasets/list`: the datasets the user may query, for a dataset picker, each with example
//! questions the analyst answers (a client's first screen). After an admin changes one, every
//! list subscriber of the org gets the new list as `updateDatasetsList`.

use super::envelope::{decode_data, event};
use super::{dataset_views, Context};
use crate::error::Error;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListRequest {}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let _: ListRequest = decode_data(data)?;
    ctx.reply("getDatasetsList", list(ctx).await?);
    Ok(())
}

/// The datasets of the user's org, as the list shows them.
async fn list(ctx: &Context<'_>) -> Result<Value, Error> {
    let datasets = &ctx.services.datasets;
    let mut items = Vec::new();
    for dataset in datasets.visible_to(ctx.user).await? {
        let examples = crate::pipeline::example_questions(datasets, &dataset).await;
        items.push(dataset_views::dataset(&dataset, examples));
    }
    Ok(Value::Array(items))
}

/// Sends the org's new list to its list subscribers (their pickers follow an admin's change).
/// One broadcast at a time, each reading the datasets once it goes: a later one never carries
/// an older list than an earlier one. The change is made whatever happens here.
pub async fn broadcast(ctx: &Context<'_>) {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let items = match list(ctx).await {
        Ok(items) => items,
        Err(err) => {
            tracing::error!(error = %err.message, "could not send the new datasets list");
            return;
        }
    };
    let frame = event(
        "/datasets/list",
        "updateDatasetsList",
        items,
        Some(ctx.user),
    );
    let org = ctx.user.org_id;
    ctx.services
        .hub
        .broadcast_lists(frame, |user| user.org_id == org);
}
