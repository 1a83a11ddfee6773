//! Wire shapes of seed 000, built from model records: thread state, message, list item, presence.

use crate::events::Touched;
use crate::model::{
    Feedback, Json, Message, Progress, Step, StepRecord, Thread, Timestamp, User, Verification,
};
use crate::store::{self, Store};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

pub fn status_name(status: Verification) -> &'static str {
    match status {
        Verification::NotVerified => "notVerified",
        Verification::Verified => "verified",
        Verification::Rejected => "rejected",
    }
}

pub fn feedback_name(feedback: Feedback) -> &'static str {
    match feedback {
        Feedback::Positive => "positive",
        Feedback::Negative => "negative",
    }
}

/// Rows of each answer in a thread's state; `/threads/data` pages the rest.
const PREVIEW_ROWS: usize = 10;

/// Resolves user ids to users (and dataset ids to names) for one view, reading each once.
pub struct Users<'a> {
    store: &'a Store,
    cache: HashMap<Uuid, Option<User>>,
    datasets: HashMap<Uuid, Option<String>>,
}

impl<'a> Users<'a> {
    pub fn new(store: &'a Store) -> Self {
        Users {
            store,
            cache: HashMap::new(),
            datasets: HashMap::new(),
        }
    }

    /// The name of a dataset, if it still exists.
    pub async fn dataset_name(&mut self, id: Uuid) -> Result<Option<String>, store::Error> {
        if !self.datasets.contains_key(&id) {
            let name = self.store.dataset(id).await?.map(|dataset| dataset.name);
            self.datasets.insert(id, name);
        }
        Ok(self.datasets[&id].clone())
    }

    pub async fn get(&mut self, id: Uuid) -> Result<Option<&User>, store::Error> {
        if !self.cache.contains_key(&id) {
            let user = self.store.user(id).await?;
            self.cache.insert(id, user);
        }
        Ok(self.cache[&id].as_ref())
    }
}

/// Whether the steps carry an answer's result rows: their first few in thread states and
/// messages; none in search results (the thread has them).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rows {
    Preview,
    Without,
}

/// `context.steps` in the seed's shape: `{"<step>": {camelCase fields, progress, error?,
/// threadId, messageId}}`, rendered from the message's typed analysis record.
fn context(message: &Message, rows: Rows) -> Value {
    let Some(analysis) = &message.analysis else {
        return Value::Null;
    };
    let steps: Vec<Value> = analysis
        .steps
        .iter()
        .map(|record| wire_step(record, message, rows))
        .collect();
    json!({ "steps": steps })
}

fn wire_step(record: &StepRecord, message: &Message, rows: Rows) -> Value {
    let mut body = Map::new();
    if let Some(fields) = record.fields.value().as_object() {
        for (key, value) in fields {
            match (record.step, key.as_str(), value.as_array()) {
                // The rows are paged through `/threads/data`; the state shows the first few.
                (Step::FetchingData, "data", Some(all)) => {
                    let preview = &all[..all.len().min(PREVIEW_ROWS)];
                    let data = match rows {
                        Rows::Preview => Value::Array(preview.to_vec()),
                        Rows::Without => Value::Null,
                    };
                    body.insert("data".into(), data);
                    body.insert("dataComplete".into(), (preview.len() == all.len()).into());
                }
                _ => {
                    body.insert(camel_case(key), value.clone());
                }
            }
        }
    }
    if record.step.chunked() {
        body.insert(
            camel_case(&format!("{}_chunk", record.step.field())),
            Value::Null,
        );
    }
    body.insert("progress".into(), record.progress.name().into());
    if let Some(error) = &record.error {
        body.insert("error".into(), error.clone().into());
    }
    body.insert("threadId".into(), message.thread_id.to_string().into());
    body.insert("messageId".into(), message.id.to_string().into());
    let mut step = Map::new();
    step.insert(record.step.name().to_string(), Value::Object(body));
    Value::Object(step)
}

fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A message in the seed's shape, with its steps.
pub fn message<'a>(message: &'a Message, sent_by_name: Option<&'a str>) -> impl Serialize + 'a {
    MessageView::of(message, sent_by_name, context(message, Rows::Preview))
}

/// A search result: the message in the seed's shape, its steps without result rows, its
/// thread's title and its score.
pub fn search_hit<'a>(
    message: &'a Message,
    sent_by_name: Option<&'a str>,
    thread_title: &'a str,
    score: f32,
) -> impl Serialize + 'a {
    #[derive(Serialize)]
    struct SearchHit<'a> {
        #[serde(flatten)]
        message: MessageView<'a>,
        thread_title: &'a str,
        score: f32,
    }
    SearchHit {
        message: MessageView::of(message, sent_by_name, context(message, Rows::Without)),
        thread_title,
        score,
    }
}

/// A message in the seed's shape, serialized from borrowed parts (a thread state renders every
/// message of the thread on each change; building a JSON tree of each first cost more than
/// writing it). Fields in the order `json!` gave them.
#[derive(Serialize)]
struct MessageView<'a> {
    chart_config: Option<&'a RawValue>,
    chart_recommendations: Option<&'a RawValue>,
    code: &'a Option<String>,
    column_metadata: Option<&'a RawValue>,
    /// Its steps, or null.
    context: Value,
    created_at: Timestamp,
    data_metadata: Option<&'a RawValue>,
    dataset_id: Option<Uuid>,
    deleted_at: Option<Timestamp>,
    feedback: Option<&'static str>,
    id: Uuid,
    message: &'a str,
    responses: Option<&'a RawValue>,
    sent_by: Uuid,
    sent_by_name: Option<&'a str>,
    status: &'static str,
    thread_id: Uuid,
    time_frame: &'a Option<String>,
    title: &'a Option<String>,
    updated_at: Option<Timestamp>,
}

impl<'a> MessageView<'a> {
    /// `message` with `context` (its steps, or null).
    fn of(message: &'a Message, sent_by_name: Option<&'a str>, context: Value) -> Self {
        // Stored JSON is written out as it is stored, unparsed.
        let json = |field: &'a Option<Json>| field.as_ref().map(Json::raw);
        // Checked once (`Json::raw`), then read twice.
        let data_metadata = json(&message.data_metadata);
        MessageView {
            chart_config: json(&message.chart_config),
            chart_recommendations: json(&message.chart_recommendations),
            code: &message.code,
            column_metadata: data_metadata.and_then(column_metadata),
            context,
            created_at: message.created_at,
            data_metadata,
            dataset_id: message.dataset_id,
            deleted_at: message.deleted_at,
            feedback: message.feedback.map(feedback_name),
            id: message.id,
            message: &message.message,
            responses: json(&message.responses),
            sent_by: message.sent_by,
            sent_by_name,
            status: status_name(message.status),
            thread_id: message.thread_id,
            time_frame: &message.time_frame,
            title: &message.title,
            updated_at: message.updated_at,
        }
    }
}

/// `column_metadata` of an answer's `data_metadata`, as its stored text (not parsed into a tree:
/// every thread state renders it for every answer).
fn column_metadata(data_metadata: &RawValue) -> Option<&RawValue> {
    #[derive(serde::Deserialize)]
    struct Columns<'a> {
        #[serde(borrow, default)]
        column_metadata: Option<&'a RawValue>,
    }
    let columns: Columns = serde_json::from_str(data_metadata.get()).ok()?;
    columns.column_metadata.filter(|raw| raw.get() != "null")
}

/// The thread object of thread states, serialized like [`MessageView`].
#[derive(Serialize)]
struct ThreadView<'a> {
    created_at: Timestamp,
    created_by: Uuid,
    dashboard_id: Option<Uuid>,
    deleted_at: Option<Timestamp>,
    folder_id: Option<Uuid>,
    id: Uuid,
    messages: Vec<MessageView<'a>>,
    title: &'a str,
    updated_at: Option<Timestamp>,
    updated_by: Uuid,
}

/// Which messages of a rendered thread carry their steps (`context`); the others' is null.
#[derive(Debug, Clone, Copy)]
pub enum WithSteps {
    /// Those a change touched: an update's watchers have the others' from the state before.
    Touched(Touched),
    /// Those the message's own fields do not tell all of: the latest message (it may still be
    /// streaming), and any whose analysis failed or did not finish (the steps say why). A
    /// finished answer's steps repeat its fields (`code`, `title`, `responses`, …), so a whole
    /// state leaves them out and `/threads/message` returns them.
    Needed,
}

/// The thread object of `getThreadState`, `initializeThread` and `updateThreadState`, with
/// the steps (`context`) of the messages `with_steps` names.
pub async fn thread_state(
    thread: &Thread,
    messages: &[Message],
    users: &mut Users<'_>,
    with_steps: WithSteps,
) -> Result<Box<RawValue>, store::Error> {
    let live: Vec<&Message> = messages.iter().filter(|m| m.deleted_at.is_none()).collect();
    let latest = live.last().map(|m| m.id);
    // Each sender's name, looked up once, for the views to borrow.
    let mut names = HashMap::new();
    for msg in &live {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(msg.sent_by) {
            slot.insert(users.get(msg.sent_by).await?.map(|u| u.name.clone()));
        }
    }
    let rendered = live
        .into_iter()
        .map(|msg| {
            let carries_steps = match with_steps {
                WithSteps::Touched(Touched::Thread) => false,
                WithSteps::Touched(Touched::Message(id)) => id == msg.id,
                WithSteps::Touched(Touched::Messages) => true,
                WithSteps::Needed => Some(msg.id) == latest || !answered(msg),
            };
            let steps = if carries_steps {
                context(msg, Rows::Preview)
            } else {
                Value::Null
            };
            MessageView::of(msg, names[&msg.sent_by].as_deref(), steps)
        })
        .collect();
    let view = ThreadView {
        created_at: thread.created_at,
        created_by: thread.created_by,
        dashboard_id: thread.dashboard_id,
        deleted_at: thread.deleted_at,
        folder_id: thread.folder_id,
        id: thread.id,
        messages: rendered,
        title: &thread.title,
        updated_at: thread.updated_at,
        updated_by: thread.updated_by,
    };
    Ok(serde_json::value::to_raw_value(&view).expect("thread states always serialize"))
}

/// Whether every step of the message's analysis completed (a question without an analysis has
/// nothing its steps could add).
fn answered(message: &Message) -> bool {
    message.analysis.as_ref().is_none_or(|analysis| {
        analysis
            .steps
            .iter()
            .all(|step| step.progress == Progress::Completed)
    })
}

/// Reads a thread's messages and renders its whole state.
pub async fn load_thread_state(
    store: &Store,
    thread: &Thread,
) -> Result<Box<RawValue>, store::Error> {
    let messages = store.messages(thread.id).await?;
    thread_state(thread, &messages, &mut Users::new(store), WithSteps::Needed).await
}

/// Reads a thread's messages and renders its state after a change: as the seed's
/// `updateThreadState` shows, messages the change did not touch carry `context: null`
/// (watchers have their steps from the state they were sent before).
pub async fn load_thread_update(
    store: &Store,
    thread: &Thread,
    touched: Touched,
) -> Result<Box<RawValue>, store::Error> {
    let messages = store.messages(thread.id).await?;
    thread_state(
        thread,
        &messages,
        &mut Users::new(store),
        WithSteps::Touched(touched),
    )
    .await
}

/// One item of `getThreadsList` / `updateThreadsList`.
pub async fn list_item(
    thread: &Thread,
    latest: Option<&Message>,
    users: &mut Users<'_>,
) -> Result<Value, store::Error> {
    let dataset_id = latest.and_then(|m| m.dataset_id);
    let dataset_name = match dataset_id {
        Some(id) => users.dataset_name(id).await?,
        None => None,
    };
    let creator = users.get(thread.created_by).await?;
    Ok(json!({
        "id": thread.id,
        "title": thread.title,
        "last_edited": thread.last_edited,
        "dataset_name": dataset_name,
        "dataset_uuid": latest.and_then(|m| m.dataset_id),
        "created_by_id": thread.created_by,
        "created_by_name": creator.map(|u| u.name.clone()),
        "created_by_email": creator.map(|u| u.email.clone()),
        "status": status_name(latest.map_or(Verification::NotVerified, |m| m.status)),
    }))
}

/// Reads a thread's latest message and renders its list item.
pub async fn load_list_item(store: &Store, thread: &Thread) -> Result<Value, store::Error> {
    let latest = store.latest_message(thread.id).await?;
    list_item(thread, latest.as_ref(), &mut Users::new(store)).await
}

/// A presence entry of `joinedThread` / `leftThread`.
pub fn presence(user: &User, thread_id: Uuid) -> Value {
    json!({
        "email": user.email,
        "id": user.id,
        "name": user.name,
        "thread_id": thread_id,
    })
}
