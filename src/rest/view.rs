//! A thread as the REST API shows it: the LangGraph `Thread` and `ThreadState` objects, built
//! from the same records the WebSocket API uses.
//!
//! `values.messages` are the chat turns: each stored message is a `human` turn (the prompt)
//! followed by an `ai` turn (the analyst's summary) once answered. The latest answer's
//! artifacts (SQL, dataset, data shape, chart) are under `values.analysis`, and values written
//! over REST under their own keys.

use crate::model::{Json, Message, Thread, Timestamp, Turn};
use crate::store::Store;
use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

/// Every field a Thread has (the `select` enum), in the order they are shown.
pub const THREAD_FIELDS: [&str; 9] = [
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
];

/// A thread with what its REST view needs.
pub struct ThreadView {
    pub thread: Thread,
    pub messages: std::sync::Arc<[Message]>,
    pub busy: bool,
}

impl ThreadView {
    pub async fn load(
        store: &Store,
        runs: &crate::runs::Runs,
        thread: Thread,
    ) -> Result<ThreadView, crate::store::Error> {
        let messages = store.messages(thread.id).await?;
        Ok(ThreadView {
            busy: runs.is_busy(thread.id),
            thread,
            messages,
        })
    }

    /// `busy` while the analyst runs, `error` if its last run failed, else `idle`.
    pub fn status(&self) -> &'static str {
        if self.busy {
            "busy"
        } else if self.messages.last().is_some_and(Message::analysis_failed) {
            "error"
        } else {
            "idle"
        }
    }

    pub fn values(&self) -> Value {
        values_of(&self.thread, &self.messages)
    }

    /// The last change of state: a message written or answered, or values written over REST.
    pub fn state_updated_at(&self) -> Timestamp {
        let messages = self
            .messages
            .iter()
            .map(|m| m.updated_at.unwrap_or(m.created_at));
        messages
            .chain(self.thread.api.state_updated_at)
            .fold(self.thread.created_at, Timestamp::max)
    }

    /// The LangGraph Thread object; `ttl` only when asked for.
    pub fn to_json(&self, with_ttl: bool) -> Value {
        let thread = &self.thread;
        let mut out = json!({
            "thread_id": thread.id,
            "created_at": time(thread.created_at),
            "updated_at": time(thread.last_edited),
            "state_updated_at": time(self.state_updated_at()),
            "metadata": thread.api.metadata.value(),
            "config": {},
            "status": self.status(),
            "values": self.values(),
            "interrupts": {},
        });
        if with_ttl {
            if let Some(ttl) = ttl_json(thread) {
                out["ttl"] = ttl;
            }
        }
        out
    }

    /// The LangGraph ThreadState after the first `upto` messages (all of them for the current
    /// state). Checkpoints are the messages: a checkpoint's id is its message's id.
    pub fn state(&self, upto: usize) -> Value {
        let messages = &self.messages[..upto.min(self.messages.len())];
        let checkpoint = |m: Option<&Message>| match m {
            Some(m) => {
                json!({"thread_id": self.thread.id, "checkpoint_ns": "", "checkpoint_id": m.id})
            }
            None => Value::Null,
        };
        let last = messages.last();
        let parent = messages.len().checked_sub(2).map(|i| &messages[i]);
        let created_at = match last {
            Some(m) => m.updated_at.unwrap_or(m.created_at),
            None => self.thread.created_at,
        };
        json!({
            "values": values_of(&self.thread, messages),
            "next": [],
            "tasks": [],
            "metadata": {"source": "update", "step": messages.len() as i64 - 1, "writes": null, "parents": {}},
            "created_at": time(created_at),
            "checkpoint": checkpoint(last),
            "parent_checkpoint": checkpoint(parent),
            "interrupts": [],
            "checkpoint_id": last.map(|m| m.id),
            "parent_checkpoint_id": parent.map(|m| m.id),
        })
    }
}

/// The state values of a thread with these messages.
pub fn values_of(thread: &Thread, messages: &[Message]) -> Value {
    let mut turns = Vec::new();
    for turn in thread.with_system_turns(messages) {
        let message = match turn {
            Turn::System(system) => {
                turns.push(json!({"type": "system", "content": system.text, "id": system.id}));
                continue;
            }
            Turn::Message(message) if message.deleted_at.is_none() => message,
            Turn::Message(_) => continue,
        };
        if !message.message.is_empty() {
            turns.push(json!({"type": "human", "content": message.message, "id": message.id}));
        }
        if let Some(answer) = message.answer() {
            turns.push(json!({"type": "ai", "content": answer, "id": crate::threads::turns::ai_turn_id(message.id)}));
        }
    }
    let mut values = Map::new();
    values.insert("messages".into(), Value::Array(turns));
    if let Some(answered) = messages.iter().rev().find(|m| m.code.is_some()) {
        values.insert(
            "analysis".into(),
            json!({
                "message_id": answered.id,
                "dataset_id": answered.dataset_id,
                "sql": answered.code,
                "title": answered.title,
                "time_frame": answered.time_frame,
                "data_metadata": answered.data_metadata.as_ref().map(Json::value),
                "chart_config": answered.chart_config.as_ref().map(Json::value),
            }),
        );
    }
    if let Value::Object(extra) = thread.api.values.value() {
        for (key, value) in extra {
            values.insert(key.clone(), value.clone());
        }
    }
    Value::Object(values)
}

pub fn ttl_json(thread: &Thread) -> Option<Value> {
    let ttl = thread.api.ttl?;
    Some(json!({
        "strategy": "delete",
        "ttl_minutes": ttl.minutes,
        "expires_at": time(thread.expires_at()?),
    }))
}

/// RFC 3339 with microseconds and `+00:00`, as the reference server writes times.
pub fn time(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}
