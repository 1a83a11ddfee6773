//! Writing a thread's chat turns and state values from outside the analyst (the REST state
//! API, and any face that imports a conversation): a `human` turn is a stored message (its
//! prompt), an `ai` turn that message's answer. Writing turns never runs the analyst.

use super::rules;
use crate::error::{Code, Error, Result};
use crate::limits::MAX_PROMPT_CHARS;
use crate::model::{Json, Message, SystemTurn, Thread, Timestamp, User};
use crate::services::Services;
use crate::store::{abort, ThreadTxn, TxResult};
use serde_json::{Map, Value};
use uuid::Uuid;

/// One turn to write.
#[derive(Debug, Clone)]
pub struct Turn {
    kind: Kind,
    content: String,
    /// The client's id for the turn: a known one replaces that turn.
    id: Option<Uuid>,
}

impl Turn {
    /// A question, under the one prompt rule.
    pub fn human(content: &str, id: Option<Uuid>) -> Result<Turn> {
        Ok(Turn {
            kind: Kind::Human,
            content: rules::prompt(content)?,
            id,
        })
    }

    /// An answer.
    pub fn ai(content: String, id: Option<Uuid>) -> Result<Turn> {
        let length = content.chars().count();
        if length > MAX_PROMPT_CHARS {
            return Err(Error::invalid(format!(
                "an answer may have at most {MAX_PROMPT_CHARS} characters, got {length}"
            )));
        }
        Ok(Turn {
            kind: Kind::Ai,
            content,
            id,
        })
    }

    /// A system message (an instruction of an imported conversation): kept in order, never
    /// asked of the analyst.
    pub fn system(content: &str, id: Option<Uuid>) -> Result<Turn> {
        let text = rules::prompt(content)
            .map_err(|err| Error::new(err.code, err.message.replace("prompt", "system message")))?;
        Ok(Turn {
            kind: Kind::System,
            content: text,
            id,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Human,
    Ai,
    System,
}

/// Turns to merge into a thread, and state values to set (each replacing the old value).
#[derive(Debug, Clone, Default)]
pub struct StateWrite {
    pub turns: Vec<Turn>,
    pub values: Map<String, Value>,
}

/// Writes `write` into thread `id`; refused while the analyst answers on it.
pub async fn write(
    services: &Services,
    user: &User,
    id: Uuid,
    write: &StateWrite,
) -> Result<Thread> {
    let (writer, write) = (user.clone(), write.clone());
    change_turns(services, user, id, move |tx, thread, now| {
        apply(tx, thread, &writer, &write, now)
    })
    .await
}

/// Changes a thread's turns (a change of content, which a locked thread refuses), refused
/// while the analyst answers on the thread; records when its state changed.
async fn change_turns(
    services: &Services,
    user: &User,
    thread_id: Uuid,
    change: impl Fn(&ThreadTxn, &mut Thread, Timestamp) -> TxResult<(), Error> + Send + 'static,
) -> Result<Thread> {
    let runs = services.runs.clone();
    super::edit(
        services,
        user,
        thread_id,
        rules::Change::Content,
        move |tx, thread, now| {
            if runs.is_busy(thread_id) {
                return abort(Error::new(
                    Code::ThreadBusy,
                    "Thread is busy: the analyst is answering on it; try again when it is idle",
                ));
            }
            change(tx, thread, now)?;
            thread.api.state_updated_at = Some(now);
            Ok(())
        },
    )
    .await
}

/// Applies a state write inside a thread transaction; the caller writes the thread.
///
/// Turns merge like LangGraph's `add_messages`: a turn whose id is already in the thread
/// replaces it, any other is appended; an `ai` turn answers the last unanswered question.
pub fn apply(
    tx: &ThreadTxn,
    thread: &mut Thread,
    user: &User,
    write: &StateWrite,
    now: Timestamp,
) -> TxResult<(), Error> {
    for turn in &write.turns {
        if turn.kind == Kind::System {
            write_system(thread, turn);
            continue;
        }
        let existing = match turn.id {
            Some(id) => find(tx, thread, id)?,
            None => None,
        };
        match (existing, turn.kind == Kind::Human) {
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
                // Keep the client's id when it is not used anywhere yet.
                if let Some(id) = turn.id {
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
    let mut values = thread.api.values.clone().into_value();
    if let Some(merged) = values.as_object_mut() {
        for (key, value) in &write.values {
            merged.insert(key.clone(), value.clone());
        }
    }
    thread.api.values = Json::new(values);
    thread.api.state_updated_at = Some(now);
    rules::stamp(thread, user, now);
    Ok(())
}

/// A system turn replaces the one with its id, or is kept after the messages so far.
fn write_system(thread: &mut Thread, turn: &Turn) {
    let turns = &mut thread.api.system_turns;
    match turn.id.and_then(|id| turns.iter_mut().find(|t| t.id == id)) {
        Some(existing) => existing.text = turn.content.clone(),
        None => turns.push(SystemTurn {
            id: turn.id.unwrap_or_else(Uuid::new_v4),
            position: thread.message_count,
            text: turn.content.clone(),
        }),
    }
}

/// Replaces the content of an existing turn (a question's text, or an answer); refused while
/// the analyst answers on the thread, and with `message_not_found` for an unknown turn.
pub async fn edit_turn(
    services: &Services,
    user: &User,
    thread_id: Uuid,
    turn_id: Uuid,
    content: &str,
) -> Result<Thread> {
    let content = content.to_string();
    change_turns(services, user, thread_id, move |tx, thread, now| {
        let content = content.as_str();
        if thread.api.system_turns.iter().any(|t| t.id == turn_id) {
            let turn = Turn::system(content, Some(turn_id)).or_else(abort)?;
            write_system(thread, &turn);
            return Ok(());
        }
        match shown(find(tx, thread, turn_id)?) {
            Some((mut message, Side::Human)) => {
                message.message = rules::prompt(content).or_else(abort)?;
                message.updated_at = Some(now);
                tx.replace_message(&message)?;
            }
            Some((mut message, Side::Ai)) => {
                let turn = Turn::ai(content.to_string(), None).or_else(abort)?;
                answer(&mut message, &turn.content, now);
                tx.replace_message(&message)?;
            }
            None => return abort(turn_not_found(thread_id, turn_id)),
        }
        Ok(())
    })
    .await
}

/// What [`remove`] takes away.
#[derive(Debug, Clone, Copy)]
pub enum Removal {
    /// One turn: a question goes with its answer; an answer alone leaves the question
    /// unanswered.
    Turn(Uuid),
    /// Every message of the thread.
    All,
}

/// Removes turns from a thread (soft: the records stay, marked deleted, and every view and the
/// search index drop them); refused while the analyst answers on the thread.
pub async fn remove(
    services: &Services,
    user: &User,
    thread_id: Uuid,
    removal: Removal,
) -> Result<Thread> {
    change_turns(services, user, thread_id, move |tx, thread, now| {
        match removal {
            Removal::Turn(turn_id) if thread.api.system_turns.iter().any(|t| t.id == turn_id) => {
                thread.api.system_turns.retain(|t| t.id != turn_id);
            }
            Removal::Turn(turn_id) => match shown(find(tx, thread, turn_id)?) {
                Some((mut message, side)) => {
                    match side {
                        Side::Human => message.deleted_at = Some(now),
                        Side::Ai => message.responses = None,
                    }
                    message.updated_at = Some(now);
                    tx.replace_message(&message)?;
                }
                None => return abort(turn_not_found(thread_id, turn_id)),
            },
            Removal::All => {
                thread.api.system_turns.clear();
                for position in 0..thread.message_count {
                    if let Some(mut message) = tx.message_at(thread_id, position)? {
                        if message.deleted_at.is_none() {
                            message.deleted_at = Some(now);
                            tx.replace_message(&message)?;
                        }
                    }
                }
            }
        }
        Ok(())
    })
    .await
}

/// A found turn, if the thread's views show it: not deleted, and an answer only once given.
fn shown(found: Option<(Message, Side)>) -> Option<(Message, Side)> {
    found.filter(|(message, side)| {
        message.deleted_at.is_none() && (matches!(side, Side::Human) || message.responses.is_some())
    })
}

fn turn_not_found(thread_id: Uuid, turn_id: Uuid) -> Error {
    Error::new(
        Code::MessageNotFound,
        format!("message {turn_id} not found in thread {thread_id}"),
    )
}

/// The id of the `ai` turn answering `message` (stable, derived from the message's id).
pub fn ai_turn_id(message_id: Uuid) -> Uuid {
    Uuid::new_v5(&message_id, b"ai")
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
