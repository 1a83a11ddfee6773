//! Upgrades of older on-disk formats, run by [`super::Store::open`].

use super::{codec, Error, Store};
use crate::model::{Share, Thread, ThreadApi, Timestamp, TitleSource};
use serde::Deserialize;
use uuid::Uuid;

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
pub fn format_1_to_2(store: &Store) -> Result<(), Error> {
    for entry in store.threads.iter() {
        let (key, raw) = entry?;
        let old: ThreadV1 = codec::decode(&raw)?;
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
            api: ThreadApi::default(),
        };
        store.threads.insert(key, codec::encode(&thread))?;
    }
    store.clear_vectors()?;
    Ok(())
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
        let store = Store::open(dir.path()).unwrap();
        let thread = store.thread(id).unwrap().unwrap();
        assert_eq!(thread.title, "old thread");
        assert_eq!(thread.message_count, 3);
        assert_eq!(thread.api, ThreadApi::default());
        assert_eq!(store.vectors.len(), 0);
        assert_eq!(
            store.meta.get("format_version").unwrap().unwrap().as_ref(),
            &super::super::FORMAT_VERSION.to_be_bytes()
        );
    }
}
