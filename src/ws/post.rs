//! `/threads/post`: start a thread (`thread_id: null`) or add a message to one.
//!
//! The core stores the message before anything is sent back; this face answers with
//! `initializeThread`, subscribes the poster to the thread, and then the analyst's steps and
//! the final state reach everyone watching (see `fanout`).

use super::envelope::decode_data;
use super::{fanout, views, Context};
use crate::error::Error;
use crate::threads::post::{post, Posted, Question};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
struct PostRequest {
    prompt: String,
    #[serde(default)]
    dataset_id: Option<Uuid>,
    #[serde(default)]
    thread_id: Option<Uuid>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: PostRequest = decode_data(data)?;
    let question = Question {
        prompt: request.prompt,
        dataset_id: request.dataset_id,
        thread_id: request.thread_id,
    };
    let (services, user) = (ctx.services, ctx.user);
    post(
        services,
        user,
        question,
        Some(ctx.conn),
        async |posted: &Posted| {
            let thread = &posted.thread;
            let joined = services.hub.join_thread(ctx.conn, thread.id);
            let state = views::load_thread_state(&services.store, thread).await?;
            fanout::announce_join(services, ctx.conn, thread, user, &joined);
            services.settled().await;
            ctx.reply("initializeThread", state);
            ctx.reply("joinedThread", views::presence(user, thread.id));
            Ok(())
        },
    )
    .await?;
    Ok(())
}
