//! Domain types: organizations, users, threads, messages and the enums they carry.
//!
//! These are storage-neutral: `store` encodes them, `ws` renders them on the wire.
//! Free-form JSON attributes (chart config, step context, …) are kept as [`Json`], which
//! encodes as a string so the binary record format never needs a self-describing decoder.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

pub type Timestamp = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub email: String,
    pub admin: bool,
    pub created_at: Timestamp,
}

/// What a share grants; owners and org admins are implied, never stored as shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRole {
    Viewer,
    Editor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub user_id: Uuid,
    pub role: ShareRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    /// True once a person renamed the thread; generated titles never overwrite theirs.
    pub title_set_by_user: bool,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Uuid,
    pub deleted_at: Option<Timestamp>,
    /// Ordering key of thread lists: the time of the last change of any kind.
    pub last_edited: Timestamp,
    pub shares: Vec<Share>,
    /// Number of messages ever appended; also the position the next message takes.
    pub message_count: u32,
    pub dashboard_id: Option<Uuid>,
    pub folder_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    NotVerified,
    Verified,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feedback {
    Positive,
    Negative,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub sent_by: Uuid,
    /// The user's prompt.
    pub message: String,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub dataset_id: Option<Uuid>,
    pub code: Option<String>,
    pub title: Option<String>,
    pub time_frame: Option<String>,
    pub feedback: Option<Feedback>,
    pub status: Verification,
    pub responses: Option<Json>,
    pub context: Option<Json>,
    pub chart_config: Option<Json>,
    pub chart_recommendations: Option<Json>,
    pub data_metadata: Option<Json>,
}

impl Message {
    /// A fresh user message with nothing generated yet.
    pub fn new(thread_id: Uuid, sent_by: Uuid, prompt: String, at: Timestamp) -> Self {
        Message {
            id: Uuid::new_v4(),
            thread_id,
            sent_by,
            message: prompt,
            created_at: at,
            updated_at: None,
            deleted_at: None,
            dataset_id: None,
            code: None,
            title: None,
            time_frame: None,
            feedback: None,
            status: Verification::NotVerified,
            responses: None,
            context: None,
            chart_config: None,
            chart_recommendations: None,
            data_metadata: None,
        }
    }
}

/// A JSON value stored as its text, so records stay decodable by a non-self-describing codec.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(serde::de::Error::custom)
    }
}
