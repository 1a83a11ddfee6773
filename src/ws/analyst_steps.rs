//! `/analyst/steps`: the steps an analysis goes through, in order, with their names for
//! people, so a client's progress list follows the server instead of a copy of it.

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use crate::model::analysis::Step;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepsRequest {}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let _: StepsRequest = decode_data(data)?;
    let steps: Vec<Value> = Step::ALL
        .iter()
        .map(|step| json!({"name": step.name(), "label": step.label(), "field": step.field()}))
        .collect();
    ctx.reply("getAnalystSteps", Value::Array(steps));
    Ok(())
}
