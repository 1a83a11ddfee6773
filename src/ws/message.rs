//! `/threads/message`: one message with its steps (`context`). A thread state leaves out the
//! steps of finished answers, whose fields already say what was computed; a client that shows
//! how an answer was computed asks for them here.

use super::envelope::decode_data;
use super::{views, Context};
use crate::error::Error;
use crate::threads::access::{self, Right};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    message_id: Uuid,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: MessageRequest = decode_data(data)?;
    let store = &ctx.services.store;
    let message = access::message(store, ctx.user, request.message_id, Right::See).await?;
    let mut users = views::Users::new(store);
    let name = users.get(message.sent_by).await?.map(|u| u.name.clone());
    ctx.reply("getMessage", views::message(&message, name.as_deref()));
    Ok(())
}
