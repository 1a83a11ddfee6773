//! What search indexes: one document per message, with the text people would search for and
//! the access data that filters results inside the query.

use crate::model::{Message, Thread};
use uuid::Uuid;

/// One message as the indexes see it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    pub message_id: Uuid,
    pub thread_id: Uuid,
    pub org_id: Uuid,
    /// Users with access through ownership or a share (org admins match by `org_id`).
    pub members: Vec<Uuid>,
    /// The thread's title, the prompt, the answer's texts and its SQL.
    pub text: String,
}

/// Who is asking, as both legs filter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every document of the org (an org admin).
    Org(Uuid),
    /// Documents of the org whose thread the user owns or was shared.
    Member { org: Uuid, user: Uuid },
}

/// The documents of a thread's live messages.
pub fn thread_docs(thread: &Thread, messages: &[Message]) -> Vec<IndexDoc> {
    let members: Vec<Uuid> = thread.members().collect();
    messages
        .iter()
        .filter(|message| message.deleted_at.is_none())
        .map(|message| IndexDoc {
            message_id: message.id,
            thread_id: thread.id,
            org_id: thread.org_id,
            members: members.clone(),
            text: message_text(thread, message),
        })
        .collect()
}

fn message_text(thread: &Thread, message: &Message) -> String {
    let mut parts = vec![thread.title.as_str(), message.message.as_str()];
    if let Some(title) = &message.title {
        parts.push(title);
    }
    let responses: Vec<&str> = message
        .responses
        .as_ref()
        .and_then(|json| json.value().get("messages"))
        .and_then(|messages| messages.as_array())
        .map(|messages| messages.iter().filter_map(|m| m.as_str()).collect())
        .unwrap_or_default();
    parts.extend(responses);
    if let Some(code) = &message.code {
        parts.push(code);
    }
    parts.join("\n")
}
