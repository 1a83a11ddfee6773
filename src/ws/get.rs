//! `/threads/get`: a thread's state, a subscription to its channel, and presence.

use super::envelope::decode_data;
use super::{fanout, views, Context};
use crate::error::Error;
use crate::threads::access::{self, Right};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
struct GetRequest {
    id: Uuid,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: GetRequest = decode_data(data)?;
    let services = ctx.services;
    let (thread, _) = access::thread(&services.store, ctx.user, request.id, Right::See).await?;

    let joined = services.hub.join_thread(ctx.conn, thread.id);
    let roster: Vec<Value> = services
        .hub
        .roster(thread.id)
        .iter()
        .map(|user| views::presence(user, thread.id))
        .collect();
    let state = views::load_thread_state(&services.store, &thread).await?;
    ctx.reply("getThreadState", [state]);
    fanout::announce_join(services, ctx.conn, &thread, ctx.user, &joined);
    services.settled().await;
    ctx.reply("joinedThread", Value::Array(roster));
    Ok(())
}
