//! `/threads/post`: start a thread (`thread_id: null`) or add a message to one.
//!
//! The user's message is committed to disk before anything is sent back. The analysis steps
//! that follow the message are not part of this version: the message has no responses yet.

use super::envelope::{decode_data, ApiError};
use super::{fanout, views, Context};
use crate::auth;
use crate::limits::{MAX_PROMPT_CHARS, MAX_TITLE_CHARS};
use crate::model::{Message, Thread};
use crate::store::abort;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Length of a title derived from the first prompt, before the user renames the thread.
const DERIVED_TITLE_CHARS: usize = 80;

#[derive(Deserialize)]
struct PostRequest {
    prompt: String,
    #[serde(default)]
    dataset_id: Option<Uuid>,
    #[serde(default)]
    thread_id: Option<Uuid>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), ApiError> {
    let request: PostRequest = decode_data(data)?;
    let prompt = request.prompt.trim().to_string();
    if prompt.is_empty() {
        return Err(ApiError::bad_request("prompt must not be empty"));
    }
    let length = prompt.chars().count();
    if length > MAX_PROMPT_CHARS {
        return Err(ApiError::bad_request(format!(
            "prompt is {length} characters; the limit is {MAX_PROMPT_CHARS}"
        )));
    }
    if let Some(dataset_id) = request.dataset_id {
        // No datasets can be registered in this version, so any id is unknown.
        return Err(ApiError::not_found(format!(
            "dataset {dataset_id} not found"
        )));
    }

    let services = ctx.services;
    let user = ctx.user;
    let now = Utc::now();
    let new_thread_id = Uuid::new_v4();
    let message_template = Message::new(new_thread_id, user.id, prompt.clone(), now);

    let thread = services
        .store
        .write_threads(|tx| {
            let mut message = message_template.clone();
            let mut thread = match request.thread_id {
                None => Thread {
                    id: new_thread_id,
                    org_id: user.org_id,
                    title: derived_title(&prompt),
                    title_set_by_user: false,
                    created_by: user.id,
                    created_at: now,
                    updated_at: None,
                    updated_by: user.id,
                    deleted_at: None,
                    last_edited: now,
                    shares: Vec::new(),
                    message_count: 0,
                    dashboard_id: None,
                    folder_id: None,
                },
                Some(id) => {
                    let Some(thread) = tx.thread(id)? else {
                        return abort(ApiError::thread_not_found(id));
                    };
                    match auth::access(user, &thread) {
                        None => return abort(ApiError::thread_not_found(id)),
                        Some(access) if !access.can_edit() => {
                            return abort(ApiError::unauthorized(
                                "viewers cannot post to a thread; ask its owner for editor access",
                            ))
                        }
                        Some(_) => {}
                    }
                    message.thread_id = id;
                    Thread {
                        last_edited: now,
                        updated_at: Some(now),
                        updated_by: user.id,
                        ..thread
                    }
                }
            };
            tx.append_message(&mut thread, &message)?;
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;

    let joined = services.hub.join_thread(ctx.conn, thread.id);
    let state = views::load_thread_state(&services.store, &thread)?;
    ctx.reply("initializeThread", state.clone());
    ctx.reply("joinedThread", views::presence(user, thread.id));
    fanout::announce_join(services, ctx.conn, &thread, user, &joined);
    fanout::thread_changed(services, &thread, &state, user, ctx.conn)?;
    Ok(())
}

/// A first title from the prompt: its first line, shortened.
fn derived_title(prompt: &str) -> String {
    let line = prompt.lines().next().unwrap_or(prompt).trim();
    let limit = DERIVED_TITLE_CHARS.min(MAX_TITLE_CHARS);
    if line.chars().count() <= limit {
        return line.to_string();
    }
    let mut title: String = line.chars().take(limit - 1).collect();
    title.push('…');
    title
}
