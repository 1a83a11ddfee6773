//! `/users/me`: who the connection belongs to (clients show it and mark their own messages).

use super::envelope::decode_data;
use super::Context;
use crate::error::Error;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct MeRequest {}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let _: MeRequest = decode_data(data)?;
    let user = ctx.user;
    let org = ctx.services.store.org(user.org_id).await?;
    ctx.reply(
        "getCurrentUser",
        json!({
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "admin": user.admin,
            "org": {"id": user.org_id, "name": org.map(|o| o.name)},
        }),
    );
    Ok(())
}
