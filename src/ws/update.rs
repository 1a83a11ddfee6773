//! `/threads/update`: rename a thread, change sharing, and set a message's code, feedback,
//! verification status or chart config. All of a request applies, or none of it (the rules
//! are the core's, `threads::update`; this face parses and answers).

use super::envelope::{decode_data, present};
use super::stream::ReplyStream;
use super::{fanout, views, Context};
use crate::error::Error;
use crate::model::{Feedback, Json, ShareRole, Verification};
use crate::threads::update::{update, Changes, ShareChange, UserRef};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Deserialize)]
struct UpdateRequest {
    id: Uuid,
    /// The message that code, feedback, status and chart_config apply to; the latest if absent.
    #[serde(default)]
    message_id: Option<Uuid>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    code: Option<String>,
    /// `null` clears the feedback; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    feedback: Option<Option<String>>,
    #[serde(default)]
    status: Option<String>,
    /// `null` clears the chart config; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    chart_config: Option<Option<Value>>,
    #[serde(default)]
    share: Option<Vec<ShareRequest>>,
}

#[derive(Deserialize)]
struct ShareRequest {
    #[serde(default)]
    user_id: Option<Uuid>,
    #[serde(default)]
    email: Option<String>,
    /// `viewer`, `editor`, or `none` to take a share back.
    role: String,
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), Error> {
    let request: UpdateRequest = decode_data(data)?;
    let thread_id = request.id;
    let changes = parse(request)?;
    let (services, user) = (ctx.services, ctx.user);
    // Repair steps of new code go to the requester only.
    let sink = ReplyStream {
        services,
        conn: ctx.conn,
        user,
        route: ctx.route.path(),
    };
    let (after, touched) =
        update(services, user, thread_id, changes, &sink, Some(ctx.conn)).await?;
    let joined = services.hub.join_thread(ctx.conn, after.id);
    // A watcher gets the watchers' shape (seed 000's example): the steps of messages the
    // change did not touch are null, as it has them from the state before; a newcomer gets
    // the whole state.
    let state = if joined.was_subscribed {
        views::load_thread_update(&services.store, &after, touched).await?
    } else {
        views::load_thread_state(&services.store, &after).await?
    };
    fanout::announce_join(services, ctx.conn, &after, user, &joined);
    services.settled().await;
    ctx.reply("updateThreadState", [state]);
    Ok(())
}

/// The request's fields as the core's typed change.
fn parse(request: UpdateRequest) -> Result<Changes, Error> {
    let feedback = match request.feedback {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(match text.to_ascii_lowercase().as_str() {
            "positive" => Feedback::Positive,
            "negative" => Feedback::Negative,
            _ => {
                return Err(Error::invalid(format!(
                    "feedback must be \"positive\", \"negative\" or null, got {text:?}"
                )))
            }
        })),
    };
    let status = match request.status {
        None => None,
        Some(text) => Some(parse_status(&text).ok_or_else(|| {
            Error::invalid(format!(
                "status must be one of \"verified\", \"notVerified\", \"rejected\", got {text:?}"
            ))
        })?),
    };
    let chart_config = match request.chart_config {
        None => None,
        Some(None) => Some(None),
        Some(Some(config @ Value::Object(_))) => Some(Some(Json::new(config))),
        Some(Some(_)) => return Err(Error::invalid("chart_config must be a JSON object or null")),
    };
    let shares = match request.share {
        None => None,
        Some(requests) => Some(
            requests
                .into_iter()
                .map(parse_share)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Changes {
        message_id: request.message_id,
        title: request.title,
        code: request.code,
        feedback,
        status,
        chart_config,
        shares,
    })
}

/// Accepts any case and the usual separators: `Verified`, `notVerified`, `not_verified`, …
fn parse_status(text: &str) -> Option<Verification> {
    let normal: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match normal.as_str() {
        "verified" => Some(Verification::Verified),
        "notverified" => Some(Verification::NotVerified),
        "rejected" => Some(Verification::Rejected),
        _ => None,
    }
}

fn parse_share(request: ShareRequest) -> Result<ShareChange, Error> {
    let role = match request.role.to_ascii_lowercase().as_str() {
        "viewer" => Some(ShareRole::Viewer),
        "editor" => Some(ShareRole::Editor),
        "none" => None,
        _ => {
            return Err(Error::invalid(format!(
                "share role must be \"viewer\", \"editor\" or \"none\", got {:?}",
                request.role
            )))
        }
    };
    let user = match (request.user_id, request.email) {
        (Some(id), None) => UserRef::Id(id),
        (None, Some(email)) => UserRef::Email(email),
        _ => {
            return Err(Error::invalid(
                "each share names its user by exactly one of \"user_id\" or \"email\"",
            ))
        }
    };
    Ok(ShareChange { user, role })
}
