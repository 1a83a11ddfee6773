//! `/threads/unsubscribe`: leave one thread's channel, or (`id: null`) every channel.

use super::envelope::decode_data;
use super::{fanout, Context};
use crate::error::Error;
use crate::threads::access;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Deserialize)]
struct UnsubscribeRequest {
    #[serde(default)]
    id: Option<Uuid>,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: UnsubscribeRequest = decode_data(data)?;
    let services = ctx.services;
    if let Some(id) = request.id {
        let visible = services
            .store
            .thread(id)
            .await?
            .is_some_and(|thread| access::can_see(ctx.user, &thread));
        if !visible {
            return Err(Error::thread_not_found(id));
        }
    }
    let departures = services.hub.leave(ctx.conn, request.id);
    fanout::announce_departures(services, &departures);
    services.settled().await;
    ctx.reply("unsubscribed", json!([{ "id": request.id }]));
    Ok(())
}
