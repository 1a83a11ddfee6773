//! Upgrades of older on-disk formats, run by [`super::SledStore::open`].

use super::{codec, Error, SledStore};
use crate::model::aggregate::infer_aggregate;
use crate::model::{Analysis, Feedback, Json, Message, Progress, Step, StepRecord, Verification};
use crate::model::{
    Column, ColumnRole, ColumnType, Dataset, DatasetSource, Share, Term, Timestamp, TitleSource,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

mod format6;
pub use format6::format_5_to_6;
use format6::{ThreadApiV5, ThreadV5};

/// A thread as format 1 stored it: without the REST attributes.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct ThreadV1 {
    id: Uuid,
    org_id: Uuid,
    title: String,
    titled_by: TitleSource,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
    updated_by: Uuid,
    deleted_at: Option<Timestamp>,
    last_edited: Timestamp,
    shares: Vec<Share>,
    message_count: u32,
    dashboard_id: Option<Uuid>,
    folder_id: Option<Uuid>,
}

/// Format 1 → 2: threads gain their REST attributes (empty), and vectors, now keyed by model,
/// are dropped to be rebuilt (they are derived data).
pub fn format_1_to_2(store: &SledStore) -> Result<(), Error> {
    let t = store.trees()?;
    for entry in t.threads.iter() {
        let (key, raw) = entry?;
        let old: ThreadV1 = codec::decode(&raw)?;
        let thread = ThreadV5 {
            id: old.id,
            org_id: old.org_id,
            title: old.title,
            titled_by: old.titled_by,
            created_by: old.created_by,
            created_at: old.created_at,
            updated_at: old.updated_at,
            updated_by: old.updated_by,
            deleted_at: old.deleted_at,
            last_edited: old.last_edited,
            shares: old.shares,
            message_count: old.message_count,
            dashboard_id: old.dashboard_id,
            folder_id: old.folder_id,
            api: ThreadApiV5::default(),
        };
        t.threads.insert(key, codec::encode(&thread))?;
    }
    store.clear_vectors()?;
    Ok(())
}

/// A dataset as formats 1 and 2 stored it: columns without `aggregate`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct DatasetV2 {
    id: Uuid,
    org_id: Uuid,
    name: String,
    table: String,
    description: Option<String>,
    source: DatasetSource,
    columns: Vec<ColumnV2>,
    terms: Vec<Term>,
    created_at: Timestamp,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct ColumnV2 {
    name: String,
    kind: ColumnType,
    role: ColumnRole,
    meaning: Option<String>,
    synonyms: Vec<String>,
    unit: Option<String>,
}

/// Format 2 → 3: each measure learns how its values combine, inferred as an import would.
pub fn format_2_to_3(store: &SledStore) -> Result<(), Error> {
    let t = store.trees()?;
    for entry in t.datasets.iter() {
        let (key, raw) = entry?;
        let old: DatasetV2 = codec::decode(&raw)?;
        let columns = old
            .columns
            .into_iter()
            .map(|c| Column {
                aggregate: (c.role == ColumnRole::Measure).then(|| {
                    infer_aggregate(
                        &c.name,
                        c.meaning.as_deref(),
                        c.unit.as_deref(),
                        &c.synonyms,
                    )
                }),
                name: c.name,
                kind: c.kind,
                role: c.role,
                meaning: c.meaning,
                synonyms: c.synonyms,
                unit: c.unit,
            })
            .collect();
        let dataset = Dataset {
            id: old.id,
            org_id: old.org_id,
            name: old.name,
            table: old.table,
            description: old.description,
            source: old.source,
            columns,
            terms: old.terms,
            created_at: old.created_at,
        };
        t.datasets.insert(key, codec::encode(&dataset))?;
    }
    Ok(())
}

/// A message as formats 2 to 4 stored it: the analyst's steps as JSON in `context`.
#[derive(Deserialize, serde::Serialize)]
struct MessageV4 {
    id: Uuid,
    thread_id: Uuid,
    sent_by: Uuid,
    message: String,
    created_at: Timestamp,
    updated_at: Option<Timestamp>,
    deleted_at: Option<Timestamp>,
    dataset_id: Option<Uuid>,
    code: Option<String>,
    title: Option<String>,
    time_frame: Option<String>,
    feedback: Option<Feedback>,
    status: Verification,
    responses: Option<Json>,
    context: Option<Json>,
    chart_config: Option<Json>,
    chart_recommendations: Option<Json>,
    data_metadata: Option<Json>,
    plan: Option<Json>,
}

/// Format 4 → 5: the steps become a typed, versioned [`Analysis`] record instead of JSON.
pub fn format_4_to_5(store: &SledStore) -> Result<(), Error> {
    let t = store.trees()?;
    for entry in t.messages.iter() {
        let (key, raw) = entry?;
        let old: MessageV4 = codec::decode(&raw)?;
        let analysis = old.context.as_ref().map(|context| {
            let records = context.value().get("steps").and_then(Value::as_array);
            Analysis::new(
                records
                    .into_iter()
                    .flatten()
                    .filter_map(typed_step)
                    .collect(),
            )
        });
        let message = Message {
            id: old.id,
            thread_id: old.thread_id,
            sent_by: old.sent_by,
            message: old.message,
            created_at: old.created_at,
            updated_at: old.updated_at,
            deleted_at: old.deleted_at,
            dataset_id: old.dataset_id,
            code: old.code,
            title: old.title,
            time_frame: old.time_frame,
            feedback: old.feedback,
            status: old.status,
            responses: old.responses,
            analysis,
            chart_config: old.chart_config,
            chart_recommendations: old.chart_recommendations,
            data_metadata: old.data_metadata,
            plan: old.plan,
        };
        t.messages.insert(key, codec::encode(&message))?;
    }
    Ok(())
}

/// `{"step": "generatingSql", "progress": "completed", "fields": {…}, "error"?}` as a record.
fn typed_step(record: &Value) -> Option<StepRecord> {
    let step = Step::from_name(record.get("step")?.as_str()?)?;
    let progress = record
        .get("progress")
        .and_then(Value::as_str)
        .and_then(Progress::from_name)
        .unwrap_or(Progress::Completed);
    Some(StepRecord {
        step,
        progress,
        fields: Json::new(record.get("fields").cloned().unwrap_or_else(|| json!({}))),
        error: record
            .get("error")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

/// Format 3 → 4: `context.steps` keeps neutral step records (`{step, progress, fields,
/// error}`, fields by their snake_case wire names) instead of the WebSocket face's camelCase
/// shape, which that face now renders.
pub fn format_3_to_4(store: &SledStore) -> Result<(), Error> {
    let t = store.trees()?;
    for entry in t.messages.iter() {
        let (key, raw) = entry?;
        let mut message: MessageV4 = codec::decode(&raw)?;
        let Some(context) = &message.context else {
            continue;
        };
        let Some(steps) = context.value().get("steps").and_then(Value::as_array) else {
            continue;
        };
        let records: Vec<Value> = steps.iter().map(step_record).collect();
        let mut context = context.value().clone();
        context["steps"] = Value::Array(records);
        message.context = Some(Json::new(context));
        t.messages.insert(key, codec::encode(&message))?;
    }
    Ok(())
}

/// `{"generatingSql": {"sql": …, "sqlChunk": null, "progress": …, "threadId": …}}` as
/// `{"step": "generatingSql", "progress": …, "fields": {"sql": …}}`.
fn step_record(old: &Value) -> Value {
    let Some((name, Value::Object(body))) = old.as_object().and_then(|o| o.iter().next()) else {
        return old.clone();
    };
    let mut fields = Map::new();
    for (key, value) in body {
        let wire_only = matches!(
            key.as_str(),
            "progress" | "error" | "threadId" | "messageId"
        );
        let chunk_placeholder = key.ends_with("Chunk") && value.is_null();
        if !wire_only && !chunk_placeholder {
            fields.insert(snake_case(key), value.clone());
        }
    }
    let mut record = Map::new();
    record.insert("step".into(), name.clone().into());
    record.insert(
        "progress".into(),
        body.get("progress").cloned().unwrap_or(Value::Null),
    );
    record.insert("fields".into(), Value::Object(fields));
    if let Some(error) = body.get("error").filter(|e| e.is_string()) {
        record.insert("error".into(), error.clone());
    }
    Value::Object(record)
}

fn snake_case(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_format_1_data_dir_opens_with_its_threads_intact() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let old = ThreadV1 {
            id,
            org_id: Uuid::new_v4(),
            title: "old thread".into(),
            titled_by: TitleSource::User,
            created_by: Uuid::new_v4(),
            created_at: Utc::now(),
            updated_at: None,
            updated_by: Uuid::new_v4(),
            deleted_at: None,
            last_edited: Utc::now(),
            shares: Vec::new(),
            message_count: 3,
            dashboard_id: None,
            folder_id: None,
        };
        {
            let db = sled::open(dir.path().join("db")).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("format_version", &1u32.to_be_bytes())
                .unwrap();
            db.open_tree("threads")
                .unwrap()
                .insert(id.as_bytes(), codec::encode(&old))
                .unwrap();
            db.open_tree("vectors")
                .unwrap()
                .insert(id.as_bytes(), b"old vector".to_vec())
                .unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open_when_unlocked(dir.path());
        let thread = store.thread(id).unwrap().unwrap();
        assert_eq!(thread.title, "old thread");
        assert_eq!(thread.message_count, 3);
        assert_eq!(thread.api, crate::model::ThreadApi::default());
        assert_eq!(thread.lifecycle, crate::model::Lifecycle::Open);
        assert_eq!(store.trees().unwrap().vectors.len(), 0);
        assert_eq!(
            store
                .trees()
                .unwrap()
                .meta
                .get("format_version")
                .unwrap()
                .unwrap()
                .as_ref(),
            &super::super::DISK_FORMAT.to_be_bytes()
        );
    }

    #[test]
    fn a_format_2_dataset_gains_how_its_measures_combine() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let column = |name: &str, role, unit: Option<&str>| ColumnV2 {
            name: name.into(),
            kind: ColumnType::Real,
            role,
            meaning: None,
            synonyms: Vec::new(),
            unit: unit.map(String::from),
        };
        let old = DatasetV2 {
            id,
            org_id: Uuid::new_v4(),
            name: "Weather".into(),
            table: "weather".into(),
            description: None,
            source: DatasetSource::Imported,
            columns: vec![
                column("temp_max", ColumnRole::Measure, Some("°C")),
                column("rain_amount", ColumnRole::Measure, Some("mm")),
                column("station", ColumnRole::Dimension, None),
            ],
            terms: Vec::new(),
            created_at: Utc::now(),
        };
        {
            let db = sled::open(dir.path().join("db")).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("format_version", &2u32.to_be_bytes())
                .unwrap();
            db.open_tree("datasets")
                .unwrap()
                .insert(id.as_bytes(), codec::encode(&old))
                .unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open_when_unlocked(dir.path());
        let dataset = store.dataset(id).unwrap().unwrap();
        let aggregates: Vec<_> = dataset.columns.iter().map(|c| c.aggregate).collect();
        use crate::model::Aggregate;
        assert_eq!(
            aggregates,
            [Some(Aggregate::Avg), Some(Aggregate::Sum), None]
        );
        assert_eq!(dataset.name, "Weather");
    }

    #[test]
    fn format_3_steps_become_typed_step_records() {
        let dir = tempfile::tempdir().unwrap();
        let thread_id = Uuid::new_v4();
        let new = Message::new(thread_id, Uuid::new_v4(), "sales".into(), Utc::now());
        let id = new.id;
        let message = MessageV4 {
            id,
            thread_id,
            sent_by: new.sent_by,
            message: new.message,
            created_at: new.created_at,
            updated_at: None,
            deleted_at: None,
            dataset_id: None,
            code: None,
            title: None,
            time_frame: None,
            feedback: None,
            status: Verification::NotVerified,
            responses: None,
            chart_config: None,
            chart_recommendations: None,
            data_metadata: None,
            plan: None,
            context: Some(Json::new(serde_json::json!({"steps": [
                {"generatingSql": {"sql": "SELECT 1;", "sqlChunk": null, "engine": "built-in",
                                   "progress": "completed", "threadId": "t", "messageId": "m"}},
                {"fetchingData": {"data": [{"a": 1}], "dataMetadata": {"row_count": 1},
                                  "progress": "completed", "threadId": "t", "messageId": "m"}},
                {"fixingSql": {"sql": null, "sqlChunk": null, "progress": "failed",
                               "error": "no such column", "threadId": "t", "messageId": "m"}}
            ]}))),
        };
        {
            let db = sled::open(dir.path().join("db")).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert("format_version", &3u32.to_be_bytes())
                .unwrap();
            let mut key = thread_id.as_bytes().to_vec();
            key.extend_from_slice(&1u64.to_be_bytes());
            db.open_tree("messages")
                .unwrap()
                .insert(key.clone(), codec::encode(&message))
                .unwrap();
            db.open_tree("message_keys")
                .unwrap()
                .insert(id.as_bytes(), key)
                .unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open_when_unlocked(dir.path());
        // Through format 4's neutral records to format 5's typed ones.
        let message = store.message_by_id(id).unwrap().unwrap();
        let steps = message.analysis.unwrap().steps;
        assert_eq!(
            steps[0],
            StepRecord {
                step: Step::GeneratingSql,
                progress: Progress::Completed,
                fields: Json::new(serde_json::json!({"sql": "SELECT 1;", "engine": "built-in"})),
                error: None,
            }
        );
        assert_eq!(steps[1].fields.value()["data_metadata"]["row_count"], 1);
        assert_eq!(steps[2].progress, Progress::Failed);
        assert_eq!(steps[2].error.as_deref(), Some("no such column"));
        assert_eq!(*steps[2].fields.value(), serde_json::json!({"sql": null}));
    }
}
