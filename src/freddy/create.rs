//! `POST /v1/threads`: a thread in the caller's organization, with messages, metadata,
//! assistant, visibility and title.

use super::body::Body;
use super::{limits, ok, view, Request};
use crate::error::{Code, Error, Result};
use crate::threads::create::{self, NewThread};
use crate::threads::turns::{StateWrite, Turn};
use serde_json::Value;

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    let org = body
        .string("organizationId")?
        .ok_or_else(|| Error::invalid("organizationId is required"))?;
    if uuid::Uuid::try_parse(org).ok() != Some(request.user.org_id) {
        return Err(Error::new(
            Code::OrgAccessDenied,
            format!(
                "you may create threads only in your own organization ({})",
                request.user.org_id
            ),
        ));
    }
    let metadata = body.object("metadata")?.cloned().unwrap_or_default();
    limits::metadata(&metadata)?;
    let turns = match body.array("messages")? {
        Some(messages) => messages
            .iter()
            .enumerate()
            .map(turn)
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let new = NewThread {
        metadata,
        state: vec![StateWrite {
            turns,
            ..StateWrite::default()
        }],
        title: body.string("title")?.map(String::from),
        visible_in_ui: body.bool("visibleInUi")?,
        assistant_id: body.nullable_string("assistantId")?.flatten(),
        ..NewThread::default()
    };
    let (thread, _) = create::create(request.services, &request.user, new).await?;
    ok(&view::thread_json(request.services, &thread).await?)
}

/// `{role: "user" | "assistant", content}` as a turn to store.
fn turn((n, message): (usize, &Value)) -> Result<Turn> {
    let field = |name: &str| message.get(name).and_then(Value::as_str);
    let content = field("content").ok_or_else(|| {
        Error::invalid(format!(
            "messages[{n}].content is required and must be a string"
        ))
    })?;
    let named = |err: Error| Error::new(err.code, format!("messages[{n}].content: {err}"));
    match field("role") {
        Some("user") => Turn::human(content, None).map_err(named),
        Some("assistant") => Turn::ai(content.to_string(), None).map_err(named),
        Some("system") => Turn::system(content, None).map_err(named),
        _ => Err(Error::invalid(format!(
            "messages[{n}].role must be user, assistant or system"
        ))),
    }
}
