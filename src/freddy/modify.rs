//! `POST /v1/threads/{id}`: merge `metadata`, replace `title`, set `visibleInUi` and
//! `assistantId`, all or nothing (owner, editors and org admins).

use super::body::Body;
use super::{limits, ok, view, Request};
use crate::error::{Error, Result};
use crate::threads::access::{self, Right};
use crate::threads::create::{self, Settings};
use uuid::Uuid;

pub async fn handle(request: &Request<'_>, id: Uuid) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    let settings = Settings {
        metadata: body.object("metadata")?.cloned(),
        title: body.string("title")?.map(String::from),
        visible_in_ui: body.bool("visibleInUi")?,
        assistant_id: body.nullable_string("assistantId")?,
        ttl: None,
    };
    if settings.metadata.is_none()
        && settings.title.is_none()
        && settings.visible_in_ui.is_none()
        && settings.assistant_id.is_none()
    {
        return Err(Error::invalid(
            "nothing to change: give metadata, title, visibleInUi or assistantId",
        ));
    }
    let thread = apply(request, id, &settings).await?;
    ok(&view::thread_json(request.services, &thread).await?)
}

/// Checks the metadata as merged into the thread's, then applies `settings`.
pub async fn apply(
    request: &Request<'_>,
    id: Uuid,
    settings: &Settings,
) -> Result<crate::model::Thread> {
    if let Some(metadata) = &settings.metadata {
        let (thread, _) =
            access::thread(&request.services.store, &request.user, id, Right::See).await?;
        limits::merged(thread.api.metadata.value(), metadata)?;
    }
    create::configure(request.services, &request.user, id, settings).await
}
