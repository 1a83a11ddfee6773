//! Format 5 → 6: threads gain their lifecycle (open, locked, archived) and Freddy's attributes
//! (UI visibility, assistant id).

use super::super::{codec, Error, SledStore};
use crate::model::{Json, Lifecycle, Share, Thread, ThreadApi, ThreadTtl, Timestamp, TitleSource};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A thread as formats 2 to 5 stored it.
#[derive(Serialize, Deserialize)]
pub(super) struct ThreadV5 {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub titled_by: TitleSource,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Uuid,
    pub deleted_at: Option<Timestamp>,
    pub last_edited: Timestamp,
    pub shares: Vec<Share>,
    pub message_count: u32,
    pub dashboard_id: Option<Uuid>,
    pub folder_id: Option<Uuid>,
    pub api: ThreadApiV5,
}

/// A thread's REST attributes as formats 2 to 5 stored them.
#[derive(Serialize, Deserialize)]
pub(super) struct ThreadApiV5 {
    pub metadata: Json,
    pub ttl: Option<ThreadTtl>,
    pub values: Json,
    pub state_updated_at: Option<Timestamp>,
}

impl Default for ThreadApiV5 {
    fn default() -> Self {
        let defaults = ThreadApi::default();
        ThreadApiV5 {
            metadata: defaults.metadata,
            ttl: None,
            values: defaults.values,
            state_updated_at: None,
        }
    }
}

pub fn format_5_to_6(store: &SledStore) -> Result<(), Error> {
    let t = store.trees()?;
    for entry in t.threads.iter() {
        let (key, raw) = entry?;
        let old: ThreadV5 = codec::decode(&raw)?;
        let thread = Thread {
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
            api: ThreadApi {
                metadata: old.api.metadata,
                ttl: old.api.ttl,
                values: old.api.values,
                state_updated_at: old.api.state_updated_at,
                ..ThreadApi::default()
            },
            lifecycle: Lifecycle::Open,
        };
        t.threads.insert(key, codec::encode(&thread))?;
    }
    Ok(())
}
