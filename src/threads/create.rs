//! Threads made without a question: created empty (or with turns), copied, and their API
//! settings (metadata, time-to-live) changed.

use super::access::{self, Right};
use super::rules;
use super::turns::{self, StateWrite};
use crate::error::{Code, Error, Result};
use crate::model::{Json, Message, Thread, ThreadTtl, TitleSource, User};
use crate::services::Services;
use crate::store::abort;
use chrono::Utc;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The title of a thread created without a prompt; the first answer renames it.
pub const NEW_THREAD_TITLE: &str = "New thread";

/// A thread to create.
#[derive(Default)]
pub struct NewThread {
    /// The client's id; a new one if `None`.
    pub id: Option<Uuid>,
    pub metadata: Map<String, Value>,
    pub ttl: Option<ThreadTtl>,
    /// With a taken id: return the caller's existing thread instead of refusing.
    pub return_existing: bool,
    /// Written in order into the new thread.
    pub state: Vec<StateWrite>,
    /// A title (under the title rule); "New thread" until the first answer names it if `None`.
    pub title: Option<String>,
    /// Shown in the web UI's list; `true` if `None`.
    pub visible_in_ui: Option<bool>,
    pub assistant_id: Option<String>,
}

/// Creates a thread owned by `user`; returns it and whether it is new.
pub async fn create(services: &Services, user: &User, new: NewThread) -> Result<(Thread, bool)> {
    let id = new.id.unwrap_or_else(rules::new_thread_id);
    let title = new.title.as_deref().map(rules::title).transpose()?;
    let now = Utc::now();
    let writer = user.clone();
    let (thread, created) = services
        .store
        .write_threads(move |tx| {
            let user = &writer;
            if let Some(existing) = tx.thread(id)? {
                let visible = crate::auth::access(user, &existing).is_some();
                if !new.return_existing || !visible {
                    return abort(Error::new(
                        Code::ThreadExists,
                        format!("Thread with ID {id} already exists"),
                    ));
                }
                return Ok((existing, false));
            }
            let mut thread = Thread::new(
                id,
                user.org_id,
                user.id,
                NEW_THREAD_TITLE.into(),
                TitleSource::Prompt,
                now,
            );
            thread.api.metadata = Json::new(Value::Object(new.metadata.clone()));
            thread.api.ttl = new.ttl;
            thread.api.visible_in_ui = new.visible_in_ui.unwrap_or(true);
            thread.api.assistant_id = new.assistant_id.clone();
            if let Some(title) = &title {
                thread.title = title.clone();
                thread.titled_by = TitleSource::User;
            }
            for write in &new.state {
                turns::apply(tx, &mut thread, user, write, now)?;
            }
            tx.put_thread(&thread)?;
            Ok((thread, true))
        })
        .await?;
    if created {
        super::thread_changed(services, &thread, user).await;
    }
    Ok((thread, created))
}

/// A new thread owned by `user` with the source's title, metadata, state values and messages
/// (under new ids).
pub async fn copy(services: &Services, user: &User, source_id: Uuid) -> Result<Thread> {
    let (source, _) = access::thread(&services.store, user, source_id, Right::See).await?;
    let messages = services.store.messages(source.id).await?;
    let now = Utc::now();
    let copy_id = rules::new_thread_id();
    let copies: Vec<Message> = messages
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| Message {
            id: Uuid::new_v4(),
            thread_id: copy_id,
            ..m.clone()
        })
        .collect();
    let (org_id, owner) = (user.org_id, user.id);
    let thread = services
        .store
        .write_threads::<_, Error>(move |tx| {
            let mut thread = Thread::new(
                copy_id,
                org_id,
                owner,
                source.title.clone(),
                source.titled_by,
                now,
            );
            thread.api.metadata = source.api.metadata.clone();
            thread.api.values = source.api.values.clone();
            thread.api.state_updated_at = source.api.state_updated_at;
            for message in &copies {
                tx.append_message(&mut thread, message)?;
            }
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    super::thread_changed(services, &thread, user).await;
    Ok(thread)
}

/// Changes to a thread's API settings (and its title, for APIs that set both at once).
#[derive(Default, Clone)]
pub struct Settings {
    /// Merged (shallowly) into the thread's metadata.
    pub metadata: Option<Map<String, Value>>,
    pub ttl: Option<ThreadTtl>,
    pub visible_in_ui: Option<bool>,
    /// `Some(None)` unbinds the assistant.
    pub assistant_id: Option<Option<String>>,
    /// Under the title rule; a change of content, which a locked thread refuses.
    pub title: Option<String>,
}

/// Applies `settings` to thread `id`.
pub async fn configure(
    services: &Services,
    user: &User,
    id: Uuid,
    settings: &Settings,
) -> Result<Thread> {
    let title = settings.title.as_deref().map(rules::title).transpose()?;
    let kind = if title.is_some() {
        rules::Change::Content
    } else {
        rules::Change::Settings
    };
    let settings = settings.clone();
    super::edit(services, user, id, kind, move |_, thread, _| {
        if let Some(metadata) = &settings.metadata {
            let mut merged = thread.api.metadata.clone().into_value();
            if let Some(merged) = merged.as_object_mut() {
                for (key, value) in metadata {
                    merged.insert(key.clone(), value.clone());
                }
            }
            thread.api.metadata = Json::new(merged);
        }
        if settings.ttl.is_some() {
            thread.api.ttl = settings.ttl;
        }
        if let Some(visible) = settings.visible_in_ui {
            thread.api.visible_in_ui = visible;
        }
        if let Some(assistant_id) = &settings.assistant_id {
            thread.api.assistant_id = assistant_id.clone();
        }
        if let Some(title) = &title {
            thread.title = title.clone();
            thread.titled_by = TitleSource::User;
        }
        Ok(())
    })
    .await
}
