//! `GET /threads/{thread_id}/state` and `POST /threads/{thread_id}/state`.
//!
//! Writing `values.messages` follows LangGraph's `add_messages`: a message whose id is already
//! in the thread replaces it, any other is appended. A `human` message is a stored message
//! (its prompt), which WebSocket clients see like any other; an `ai` message answers the last
//! unanswered one, or stands alone. Other keys are kept as the thread's state values, each
//! replacing the old value. Writing does not run the analyst.

use super::schema::{parse_uuid, Body};
use super::view::ai_turn_id;
use super::{ok_json, Request};
use crate::error::{Error, Result};
use crate::limits::MAX_PROMPT_CHARS;
use crate::model::{Message, Thread, Timestamp, User};
use crate::store::{abort, ThreadTxn, TxResult};
use crate::threads::access::{self, Right};
use crate::threads::events::Event;
use crate::threads::rules;
use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

pub fn get(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let (thread, _) = request.visible_thread(id)?;
    let view = request.view(thread)?;
    ok_json(&view.state(view.messages.len()))
}

pub async fn post(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body, false)?;
    let update = match body.get("values") {
        None | Some(Value::Null) => Update::default(),
        Some(Value::Object(values)) => Update::parse(values)?,
        Some(other) => return Err(super::schema::type_error("values", other, "object")),
    };
    let user = &request.user;
    let services = request.services;
    let now = Utc::now();
    let thread = services
        .store
        .write_threads(|tx| {
            let (mut thread, _) = access::in_write(tx, user, id, Right::Edit)?;
            if services.runs.is_busy(id) {
                return abort(Error::new(
                    crate::error::Code::ThreadBusy,
                    "Thread is busy: the analyst is answering on it; try again when it is idle",
                ));
            }
            apply(tx, &mut thread, user, &update, now)?;
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    services.publish(Event::ThreadChanged {
        thread: thread.clone(),
        by: user.clone(),
        origin: None,
    });
    let view = request.view(thread)?;
    let state = view.state(view.messages.len());
    ok_json(&json!({"checkpoint": state["checkpoint"]}))
}

/// A validated state write.
#[derive(Default, Clone)]
pub struct Update {
    messages: Vec<Turn>,
    /// Keys other than `messages`.
    values: Map<String, Value>,
}

#[derive(Clone)]
struct Turn {
    human: bool,
    content: String,
    id: Option<String>,
}

impl Update {
    pub fn parse(values: &Map<String, Value>) -> Result<Update> {
        let mut update = Update::default();
        for (key, value) in values {
            if key != "messages" {
                update.values.insert(key.clone(), value.clone());
                continue;
            }
            let items = match value {
                Value::Array(items) => items.clone(),
                single @ Value::Object(_) => vec![single.clone()],
                other => return Err(super::schema::type_error("values.messages", other, "array")),
            };
            for item in &items {
                update.messages.push(Turn::parse(item)?);
            }
        }
        Ok(update)
    }
}

impl Turn {
    fn parse(item: &Value) -> Result<Turn> {
        let kind = item["type"]
            .as_str()
            .or(item["role"].as_str())
            .unwrap_or_default();
        let human = match kind {
            "human" | "user" => true,
            "ai" | "assistant" => false,
            other => {
                return Err(Error::invalid(format!(
                    "values.messages: only \"human\" and \"ai\" messages can be stored, got {:?}",
                    other
                )))
            }
        };
        let content = match &item["content"] {
            Value::String(text) => text.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b["text"].as_str().or(b.as_str()))
                .collect::<Vec<_>>()
                .join(""),
            _ => {
                return Err(Error::invalid(
                    "values.messages: each message needs a \"content\" string (or text blocks)",
                ))
            }
        };
        // A human turn is a prompt, under the same rule as on every interface.
        let content = if human {
            rules::prompt(&content).map_err(|err| Error {
                message: format!("values.messages: {}", err.message),
                ..err
            })?
        } else if content.chars().count() > MAX_PROMPT_CHARS {
            return Err(Error::invalid(format!(
                "values.messages: a message may have at most {MAX_PROMPT_CHARS} characters"
            )));
        } else {
            content
        };
        let id = match &item["id"] {
            Value::String(id) => Some(id.clone()),
            _ => None,
        };
        Ok(Turn { human, content, id })
    }
}

/// `supersteps` of a create: `[{updates: [{values, as_node}]}]`, applied in order.
pub fn supersteps(body: &Body) -> Result<Vec<Update>> {
    let Some(steps) = body.get("supersteps") else {
        return Ok(Vec::new());
    };
    let Value::Array(steps) = steps else {
        return Err(super::schema::type_error("supersteps", steps, "array"));
    };
    let mut updates = Vec::new();
    for step in steps {
        let Some(Value::Array(list)) = step.get("updates") else {
            return Err(Error::invalid(
                "supersteps: each superstep needs an \"updates\" array",
            ));
        };
        for update in list {
            match update.get("values") {
                Some(Value::Object(values)) => updates.push(Update::parse(values)?),
                None | Some(Value::Null) => {}
                Some(other) => return Err(super::schema::type_error("values", other, "object")),
            }
        }
    }
    Ok(updates)
}

/// Applies a state write inside a thread transaction; the caller writes the thread.
pub fn apply(
    tx: &ThreadTxn,
    thread: &mut Thread,
    user: &User,
    update: &Update,
    now: Timestamp,
) -> TxResult<(), Error> {
    for turn in &update.messages {
        let existing = match turn.id.as_deref().and_then(parse_uuid) {
            Some(id) => find(tx, thread, id)?,
            None => None,
        };
        match (existing, turn.human) {
            (Some((mut message, Side::Human)), true) => {
                message.message = turn.content.clone();
                message.updated_at = Some(now);
                tx.replace_message(&message)?;
            }
            (Some((mut message, Side::Ai)), false) => {
                answer(&mut message, &turn.content, now);
                tx.replace_message(&message)?;
            }
            (Some(_), _) => {
                return abort(Error::invalid(
                    "values.messages: a message cannot change between human and ai",
                ))
            }
            (None, true) => {
                let mut message = Message::new(thread.id, user.id, turn.content.clone(), now);
                // Keep the client's id when it is a UUID not used anywhere yet.
                if let Some(id) = turn.id.as_deref().and_then(parse_uuid) {
                    if !tx.message_exists(id)? {
                        message.id = id;
                    }
                }
                tx.append_message(thread, &message)?;
            }
            (None, false) => match tx.latest_message(thread)? {
                Some(mut last) if last.responses.is_none() && last.deleted_at.is_none() => {
                    answer(&mut last, &turn.content, now);
                    tx.replace_message(&last)?;
                }
                _ => {
                    let mut message = Message::new(thread.id, user.id, String::new(), now);
                    answer(&mut message, &turn.content, now);
                    tx.append_message(thread, &message)?;
                }
            },
        }
    }
    if let Some(values) = thread.api.values.0.as_object_mut() {
        for (key, value) in &update.values {
            values.insert(key.clone(), value.clone());
        }
    }
    thread.api.state_updated_at = Some(now);
    rules::stamp(thread, user, now);
    Ok(())
}

enum Side {
    Human,
    Ai,
}

/// The message of `thread` a turn id names: a message's own id is its human turn, the derived
/// [`ai_turn_id`] its answer.
fn find(tx: &ThreadTxn, thread: &Thread, id: Uuid) -> TxResult<Option<(Message, Side)>, Error> {
    if let Some(message) = tx.message(thread.id, id)? {
        return Ok(Some((message, Side::Human)));
    }
    for position in 0..thread.message_count {
        if let Some(message) = tx.message_at(thread.id, position)? {
            if ai_turn_id(message.id) == id {
                return Ok(Some((message, Side::Ai)));
            }
        }
    }
    Ok(None)
}

/// Makes `content` the message's answer, as the analyst stores its summary.
fn answer(message: &mut Message, content: &str, now: Timestamp) {
    message.set_responses(&[content]);
    message.updated_at = Some(now);
}
