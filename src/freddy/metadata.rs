//! `PATCH /v1/threads/{id}/metadata {metadata?, visibleInUi?}` →
//! `{id, metadata, visibleInUi, updatedAt}`. Allowed on a locked thread.

use super::body::Body;
use super::{modify, ok, view, Request};
use crate::error::{Error, Result};
use crate::threads::create::Settings;
use serde_json::json;
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    let settings = Settings {
        metadata: body.object("metadata")?.cloned(),
        visible_in_ui: body.bool("visibleInUi")?,
        ..Settings::default()
    };
    if settings.metadata.is_none() && settings.visible_in_ui.is_none() {
        return Err(Error::invalid(
            "nothing to change: give metadata or visibleInUi",
        ));
    }
    let thread = modify::apply(request, id, &settings).await?;
    ok(&json!({
        "id": view::thread_id(thread.id),
        "metadata": thread.api.metadata.value(),
        "visibleInUi": thread.api.visible_in_ui,
        "updatedAt": thread.last_edited.timestamp(),
    }))
}
