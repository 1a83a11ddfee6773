//! Stage 3, execute: the SQL runs against the dataset; SQL that fails is repaired (built-in
//! repairs, or the model's fixes for the model's SQL) as `fixingSql`; the rows are
//! `fetchingData`.

use super::author::{Author, Draft};
use super::steps::{self, Failure, FailureKind, Progress, Step};
use super::{model, repair, Context, Recorder};
use crate::datasets::{Datasets, QueryResult};
use crate::model::Dataset;
use serde_json::{json, Map, Value};

/// The draft as it ran: its SQL (repaired, if it was) and the rows.
pub struct Ran {
    pub draft: Draft,
    pub result: QueryResult,
}

pub async fn execute(
    ctx: &Context<'_>,
    recorder: &mut Recorder<'_>,
    dataset: &Dataset,
    mut draft: Draft,
) -> Result<Ran, Failure> {
    let sql = std::mem::take(&mut draft.sql);
    let (sql, result) = match (&draft.author, ctx.llm) {
        (Author::Model { .. }, Some(llm)) => {
            let cancelled = || ctx.cancelled();
            model::execute_with_model_fixes(llm, ctx.datasets, dataset, sql, recorder, &cancelled)
                .await?
        }
        _ => execute_with_repairs(ctx.datasets, dataset, sql, recorder).await?,
    };
    fetched(recorder, &result);
    draft.sql = sql;
    if let Author::BuiltIn(plan) = &mut draft.author {
        plan.remember_named(&result);
    }
    Ok(Ran { draft, result })
}

/// The `fetchingData` step: the rows and their metadata.
fn fetched(recorder: &mut Recorder<'_>, result: &QueryResult) {
    recorder.start(Step::FetchingData);
    let mut fields = Map::new();
    fields.insert("data".into(), rows_as_objects(result));
    fields.insert("data_metadata".into(), data_metadata(result));
    recorder.complete(Step::FetchingData, fields);
}

/// Runs SQL; when it fails, tries bounded repairs as `fixingSql` steps.
///
/// Returns the SQL that ran (the repaired one if it was repaired) and its result.
pub async fn execute_with_repairs(
    datasets: &Datasets,
    dataset: &Dataset,
    sql: String,
    recorder: &mut Recorder<'_>,
) -> Result<(String, QueryResult), Failure> {
    let mut error = match datasets.query(dataset, &sql).await {
        Ok(result) => return Ok((sql, result)),
        Err(error) => error,
    };
    let mut current = sql;
    let mut changes = Vec::new();
    for _ in 0..repair::MAX_ATTEMPTS {
        let Some(fix) = repair::repair(&current, &error, dataset) else {
            break;
        };
        changes.push(fix.change.clone());
        for chunk in steps::chunks(&fix.sql) {
            let mut fields = Map::new();
            fields.insert("sql".into(), Value::Null);
            fields.insert("sql_chunk".into(), chunk.into());
            recorder.emit(Step::FixingSql, Progress::InProgress, fields, None);
        }
        current = fix.sql;
        match datasets.query(dataset, &current).await {
            Ok(result) => {
                let mut fields = Map::new();
                fields.insert("sql".into(), current.clone().into());
                fields.insert("changes".into(), json!(changes));
                recorder.complete(Step::FixingSql, fields);
                return Ok((current, result));
            }
            Err(next) => error = next,
        }
    }
    let tried = if changes.is_empty() {
        "no repair applies to this error".to_string()
    } else {
        format!("tried: {}", changes.join("; "))
    };
    let failure = Failure {
        kind: FailureKind::QueryFailed,
        message: format!("The SQL failed: {error} ({tried})."),
    };
    Err(recorder.fail(Step::FixingSql, failure))
}

/// Rows as objects keyed by column name, the shape of `fetchingData`'s `data`.
pub fn rows_as_objects(result: &QueryResult) -> Value {
    let rows = result
        .rows
        .iter()
        .map(|row| {
            let object: Map<String, Value> = result
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| (column.name.clone(), value.clone()))
                .collect();
            Value::Object(object)
        })
        .collect();
    Value::Array(rows)
}

pub fn data_metadata(result: &QueryResult) -> Value {
    let columns: Vec<Value> = result
        .columns
        .iter()
        .map(|c| json!({"name": c.name, "type": c.kind.pg_name()}))
        .collect();
    json!({
        "column_count": result.columns.len(),
        "column_metadata": columns,
        "row_count": result.rows.len(),
        "row_cap": result.row_cap,
        "truncated": result.truncated,
    })
}
