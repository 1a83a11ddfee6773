//! The JSON shapes of datasets: a dataset with its columns' notes (what the analyst reads) and
//! example questions, and a sample of rows.

use crate::datasets::QueryResult;
use crate::model::{Column, Dataset};
use crate::pipeline::rows_as_objects;
use serde_json::{json, Value};

pub fn dataset(dataset: &Dataset, examples: Vec<String>) -> Value {
    let columns: Vec<Value> = dataset.columns.iter().map(column).collect();
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
        "example_questions": examples,
    })
}

pub fn column(column: &Column) -> Value {
    json!({
        "name": column.name,
        "type": column.kind.pg_name(),
        "role": column.role.name(),
        "aggregate": column.aggregate.map(|a| a.name()),
        "meaning": column.meaning,
        "unit": column.unit,
        "synonyms": column.synonyms,
    })
}

/// `row_count` rows in all, the first of them as objects.
pub fn sample(row_count: u64, rows: &QueryResult) -> Value {
    json!({"row_count": row_count, "rows": rows_as_objects(rows)})
}
