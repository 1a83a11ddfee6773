//! A thread as the Freddy API shows it, and its `thread_…` ids.

use crate::error::{Error, Result};
use crate::model::{Json, Message, Thread, Turn};
use crate::services::Services;
use serde_json::{json, Value};
use uuid::Uuid;

const THREAD_PREFIX: &str = "thread_";
const MESSAGE_PREFIX: &str = "msg_";
/// Rows of an answer's result shown in its message's metadata.
pub const SAMPLE_ROWS: usize = 20;

/// `thread_` and the thread's UUID as 32 lowercase hex digits.
pub fn thread_id(id: Uuid) -> String {
    format!("{THREAD_PREFIX}{}", id.simple())
}

/// The UUID in a `thread_…` id.
pub fn parse_thread_id(text: &str) -> Result<Uuid> {
    parse_prefixed(text, THREAD_PREFIX, "thread")
}

/// `msg_` and a turn's UUID (a question's message id, or its answer's derived id).
pub fn message_id(id: Uuid) -> String {
    format!("{MESSAGE_PREFIX}{}", id.simple())
}

/// The UUID in a `msg_…` id.
pub fn parse_message_id(text: &str) -> Result<Uuid> {
    parse_prefixed(text, MESSAGE_PREFIX, "message")
}

fn parse_prefixed(text: &str, prefix: &str, what: &str) -> Result<Uuid> {
    text.strip_prefix(prefix)
        .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| Uuid::try_parse(hex).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid {what} id {text:?}: a {what} id is \"{prefix}\" and 32 hex digits"
            ))
        })
}

/// A thread's messages as Freddy shows them, oldest first, with their turn ids: each stored
/// question is a `user` message, its answer an `assistant` message whose metadata holds what
/// was computed (the SQL, the dataset, the result's shape and its first rows), and system
/// messages are kept in their places. `messages` are all the thread's stored messages.
pub fn messages_json(thread: &Thread, messages: &[Message]) -> Vec<(Uuid, Value)> {
    let one =
        |id: Uuid, at: chrono::DateTime<chrono::Utc>, role: &str, text: &str, metadata: Value| {
            json!({
                "id": message_id(id),
                "object": "thread.message",
                "createdAt": at.timestamp(),
                "threadId": self::thread_id(thread.id),
                "role": role,
                "content": [{"type": "text", "text": text}],
                "metadata": metadata,
            })
        };
    let mut out = Vec::new();
    for turn in thread.with_system_turns(messages) {
        let message = match turn {
            Turn::System(system) => {
                let at = thread.created_at;
                out.push((
                    system.id,
                    one(system.id, at, "system", &system.text, json!({})),
                ));
                continue;
            }
            Turn::Message(message) if message.deleted_at.is_none() => message,
            Turn::Message(_) => continue,
        };
        if !message.message.is_empty() {
            out.push((
                message.id,
                one(
                    message.id,
                    message.created_at,
                    "user",
                    &message.message,
                    json!({}),
                ),
            ));
        }
        if let Some(answer) = message.answer() {
            let id = crate::threads::turns::ai_turn_id(message.id);
            let at = message.updated_at.unwrap_or(message.created_at);
            out.push((id, one(id, at, "assistant", answer, computed(message))));
        }
    }
    out
}

/// What an answer computed, for its message's metadata.
pub fn computed(message: &Message) -> Value {
    let rows = message.result_rows(SAMPLE_ROWS);
    json!({
        "sql": message.code,
        "datasetId": message.dataset_id,
        "title": message.title,
        "dataMetadata": message.data_metadata.as_ref().map(Json::value),
        "rows": rows,
    })
}

/// How many messages the Freddy view shows: questions, answers and system messages (counted,
/// not rendered: a list shows up to 100 threads).
pub fn message_count(thread: &Thread, messages: &[Message]) -> usize {
    thread
        .with_system_turns(messages)
        .map(|turn| match turn {
            Turn::System(_) => 1,
            Turn::Message(m) if m.deleted_at.is_none() => {
                usize::from(!m.message.is_empty()) + usize::from(m.answer().is_some())
            }
            Turn::Message(_) => 0,
        })
        .sum()
}

/// The thread object: the seed's fields, plus `state` (open, locked or archived).
pub async fn thread_json(services: &Services, thread: &Thread) -> Result<Value> {
    let messages = services.store.messages(thread.id).await?;
    let updated = thread
        .last_edited
        .max(thread.updated_at.unwrap_or(thread.created_at));
    Ok(json!({
        "id": thread_id(thread.id),
        "object": "thread",
        "createdAt": thread.created_at.timestamp(),
        "updatedAt": updated.timestamp(),
        "metadata": thread.api.metadata.value(),
        "assistantId": thread.api.assistant_id,
        "organizationId": thread.org_id,
        "userId": thread.created_by,
        "title": thread.title,
        "visibleInUi": thread.api.visible_in_ui,
        "messageCount": message_count(thread, &messages),
        "status": if services.runs.is_busy(thread.id) { "streaming" } else { "inactive" },
        "state": thread.lifecycle.name(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_other_forms_are_refused() {
        let id = Uuid::now_v7();
        let text = thread_id(id);
        assert_eq!(text.len(), 7 + 32);
        assert_eq!(parse_thread_id(&text).unwrap(), id);
        for bad in [
            id.to_string(),
            format!("thread_{id}"),
            format!("thread_{}", &id.simple().to_string()[1..]),
            "thread_".into(),
            format!("thrd_{}", id.simple()),
        ] {
            assert!(parse_thread_id(&bad).is_err(), "{bad}");
        }
    }
}
