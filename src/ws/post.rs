//! `/threads/post`: start a thread (`thread_id: null`) or add a message to one.
//!
//! The user's message is committed to disk before anything is sent back. Then the analyst runs
//! in its own task, streaming its steps to everyone watching the thread (see `pipeline`), and
//! the final state goes out as `updateThreadState`.

use super::envelope::{decode_data, ApiError};
use super::stream::ThreadStream;
use super::{fanout, views, Context};
use crate::auth;
use crate::limits::MAX_TITLE_CHARS;
use crate::model::{Message, Thread, TitleSource};
use crate::pipeline::{self, Job};
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
    let prompt = super::prompt(&request.prompt)?.to_string();
    if let Some(dataset_id) = request.dataset_id {
        if ctx
            .services
            .datasets
            .get_for(ctx.user, dataset_id)?
            .is_none()
        {
            return Err(ApiError::not_found(format!(
                "dataset {dataset_id} not found"
            )));
        }
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
                None => Thread::new(
                    new_thread_id,
                    user.org_id,
                    user.id,
                    derived_title(&prompt),
                    TitleSource::Prompt,
                    now,
                ),
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
    fanout::thread_changed(services, &thread, &state, user, Some(ctx.conn))?;

    let job = Job {
        thread_id: thread.id,
        message_id: message_template.id,
        prompt,
        dataset_id: request.dataset_id,
        user: user.clone(),
    };
    // Busy from the moment the message is acknowledged.
    let run = services.runs.start(thread.id);
    tokio::spawn(analyze(services.clone(), job, run));
    Ok(())
}

/// Runs the analyst on a posted message and tells everyone the outcome.
async fn analyze(
    services: std::sync::Arc<crate::services::Services>,
    job: Job,
    _run: crate::runs::Run,
) {
    let sink = ThreadStream {
        services: services.clone(),
        user: job.user.clone(),
    };
    let llm = services.llm.as_deref();
    match pipeline::run(&services.store, &services.datasets, llm, &job, &sink).await {
        Ok(Some(thread)) => {
            if let Err(err) = fanout::analysis_finished(&services, &thread, &job.user) {
                tracing::error!(error = %err, "could not announce the analysis");
            }
        }
        Ok(None) => tracing::debug!(thread = %job.thread_id, "thread deleted during analysis"),
        Err(err) => tracing::error!(error = %err, "could not store the analysis"),
    }
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
