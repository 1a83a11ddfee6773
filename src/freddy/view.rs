//! A thread as the Freddy API shows it, and its `thread_…` ids.

use crate::error::{Error, Result};
use crate::model::{Message, Thread};
use crate::services::Services;
use serde_json::{json, Value};
use uuid::Uuid;

const THREAD_PREFIX: &str = "thread_";

/// `thread_` and the thread's UUID as 32 lowercase hex digits.
pub fn thread_id(id: Uuid) -> String {
    format!("{THREAD_PREFIX}{}", id.simple())
}

/// The UUID in a `thread_…` id.
pub fn parse_thread_id(text: &str) -> Result<Uuid> {
    text.strip_prefix(THREAD_PREFIX)
        .filter(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| Uuid::try_parse(hex).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "invalid thread id {text:?}: a thread id is \"thread_\" and 32 hex digits"
            ))
        })
}

/// Freddy's messages in a thread: each stored question is a `user` message and its answer an
/// `assistant` message.
pub fn message_count(messages: &[Message]) -> usize {
    messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| usize::from(!m.message.is_empty()) + usize::from(m.responses.is_some()))
        .sum()
}

/// The thread object: the seed's fields, plus `state` (open, locked or archived).
pub fn thread_json(services: &Services, thread: &Thread) -> Result<Value> {
    let messages = services.store.messages(thread.id)?;
    let updated = thread
        .last_edited
        .max(thread.updated_at.unwrap_or(thread.created_at));
    Ok(json!({
        "id": thread_id(thread.id),
        "object": "thread",
        "createdAt": thread.created_at.timestamp(),
        "updatedAt": updated.timestamp(),
        "metadata": thread.api.metadata.0,
        "assistantId": thread.api.assistant_id,
        "organizationId": thread.org_id,
        "userId": thread.created_by,
        "title": thread.title,
        "visibleInUi": thread.api.visible_in_ui,
        "messageCount": message_count(&messages),
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
