//! `/threads/update`: rename a thread, change sharing, and set a message's code, feedback,
//! verification status or chart config. All of a request applies, or none of it.

use super::envelope::{decode_data, ApiError};
use super::{fanout, views, Context};
use crate::auth;
use crate::limits::MAX_TITLE_CHARS;
use crate::model::{Feedback, Json, Share, ShareRole, Thread, User, Verification};
use crate::store::abort;
use chrono::Utc;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
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

/// Distinguishes an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A validated update, ready to apply inside a transaction.
struct Changes {
    title: Option<String>,
    code: Option<String>,
    feedback: Option<Option<Feedback>>,
    status: Option<Verification>,
    chart_config: Option<Option<Json>>,
    shares: Vec<(Uuid, Option<ShareRole>)>,
}

impl Changes {
    fn touches_message(&self) -> bool {
        self.code.is_some()
            || self.feedback.is_some()
            || self.status.is_some()
            || self.chart_config.is_some()
    }
}

pub async fn handle(ctx: &Context<'_>, data: Value) -> Result<(), ApiError> {
    let request: UpdateRequest = decode_data(data)?;
    let thread_id = request.id;
    let message_id = request.message_id;
    let sharing = request.share.is_some();
    let changes = validate(ctx, request)?;
    let services = ctx.services;
    let user = ctx.user;
    let now = Utc::now();

    let (before, after) = services
        .store
        .write_threads(|tx| {
            let Some(before) = tx.thread(thread_id)? else {
                return abort(ApiError::thread_not_found(thread_id));
            };
            let Some(access) = auth::access(user, &before) else {
                return abort(ApiError::thread_not_found(thread_id));
            };
            if !access.can_edit() {
                return abort(ApiError::unauthorized(
                    "viewers cannot change a thread; ask its owner for editor access",
                ));
            }
            if sharing && !access.can_manage() {
                return abort(ApiError::unauthorized(
                    "only the thread's owner or an org admin can change who it is shared with",
                ));
            }
            let mut after = Thread {
                last_edited: now,
                updated_at: Some(now),
                updated_by: user.id,
                ..before.clone()
            };
            if let Some(title) = &changes.title {
                after.title = title.clone();
                after.title_set_by_user = true;
            }
            for (user_id, role) in &changes.shares {
                if *user_id == before.created_by {
                    return abort(ApiError::bad_request(
                        "the thread's owner always has full access; share with someone else",
                    ));
                }
                after.shares.retain(|share| share.user_id != *user_id);
                if let Some(role) = role {
                    after.shares.push(Share {
                        user_id: *user_id,
                        role: *role,
                    });
                }
            }
            // A message_id that names no message of this thread is refused even when only
            // thread attributes change, so a client's mistake never passes silently.
            if changes.touches_message() || message_id.is_some() {
                let target = match message_id {
                    Some(id) => tx.message(thread_id, id)?,
                    None => tx.latest_message(&before)?,
                };
                let Some(mut message) = target else {
                    return abort(ApiError::not_found(match message_id {
                        Some(id) => format!("message {id} not found in thread {thread_id}"),
                        None => format!("thread {thread_id} has no message to update"),
                    }));
                };
                // SQL is stored as given: running it against a dataset comes with the analyst.
                if let Some(code) = &changes.code {
                    message.code = Some(code.clone());
                }
                if let Some(feedback) = changes.feedback {
                    message.feedback = feedback;
                }
                if let Some(status) = changes.status {
                    message.status = status;
                }
                if let Some(chart_config) = &changes.chart_config {
                    message.chart_config = chart_config.clone();
                }
                if changes.touches_message() {
                    message.updated_at = Some(now);
                    tx.replace_message(&message)?;
                }
            }
            tx.put_thread(&after)?;
            Ok((before.clone(), after))
        })
        .await?;

    let joined = services.hub.join_thread(ctx.conn, after.id);
    let state = views::load_thread_state(&services.store, &after)?;
    ctx.reply("updateThreadState", json!([state]));
    fanout::announce_join(services, ctx.conn, &after, user, &joined);
    fanout::thread_changed(services, &after, &state, user, ctx.conn)?;

    // Whoever lost access by this change leaves the thread and loses it from their list.
    let still_allowed = |u: &User| auth::access(u, &after).is_some();
    let departures = services.hub.evict(after.id, still_allowed);
    fanout::announce_departures(services, &departures);
    fanout::list_removed(services, &before, |u| {
        auth::access(u, &before).is_some() && !still_allowed(u)
    });
    Ok(())
}

fn validate(ctx: &Context<'_>, request: UpdateRequest) -> Result<Changes, ApiError> {
    let title = match request.title {
        Some(title) => {
            let title = title.trim().to_string();
            let length = title.chars().count();
            if title.is_empty() {
                return Err(ApiError::bad_request("title must not be empty"));
            }
            if length > MAX_TITLE_CHARS {
                return Err(ApiError::bad_request(format!(
                    "title is {length} characters; the limit is {MAX_TITLE_CHARS}"
                )));
            }
            Some(title)
        }
        None => None,
    };
    let code = match request.code {
        Some(code) if code.trim().is_empty() => {
            return Err(ApiError::bad_request("code must not be empty"))
        }
        other => other,
    };
    let feedback = match request.feedback {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => Some(Some(match text.to_ascii_lowercase().as_str() {
            "positive" => Feedback::Positive,
            "negative" => Feedback::Negative,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "feedback must be \"positive\", \"negative\" or null, got {text:?}"
                )))
            }
        })),
    };
    let status = match request.status {
        None => None,
        Some(text) => Some(parse_status(&text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status must be one of \"verified\", \"notVerified\", \"rejected\", got {text:?}"
            ))
        })?),
    };
    let chart_config = match request.chart_config {
        None => None,
        Some(None) => Some(None),
        Some(Some(config @ Value::Object(_))) => Some(Some(Json(config))),
        Some(Some(_)) => {
            return Err(ApiError::bad_request(
                "chart_config must be a JSON object or null",
            ))
        }
    };
    let shares = match request.share {
        None => Vec::new(),
        Some(requests) => resolve_shares(ctx, requests)?,
    };
    let changes = Changes {
        title,
        code,
        feedback,
        status,
        chart_config,
        shares,
    };
    if changes.title.is_none() && !changes.touches_message() && changes.shares.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to update: give title, code, feedback, status, chart_config or share",
        ));
    }
    Ok(changes)
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

/// Finds each share's user in the requester's org and reads its role.
fn resolve_shares(
    ctx: &Context<'_>,
    requests: Vec<ShareRequest>,
) -> Result<Vec<(Uuid, Option<ShareRole>)>, ApiError> {
    if requests.is_empty() {
        return Err(ApiError::bad_request("share must list at least one user"));
    }
    let store = &ctx.services.store;
    let mut shares = Vec::with_capacity(requests.len());
    for request in requests {
        let role = match request.role.to_ascii_lowercase().as_str() {
            "viewer" => Some(ShareRole::Viewer),
            "editor" => Some(ShareRole::Editor),
            "none" => None,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "share role must be \"viewer\", \"editor\" or \"none\", got {:?}",
                    request.role
                )))
            }
        };
        let (user, named) = match (request.user_id, request.email) {
            (Some(id), None) => (store.user(id)?, id.to_string()),
            (None, Some(email)) => (store.user_by_email(&email)?, email),
            _ => {
                return Err(ApiError::bad_request(
                    "each share names its user by exactly one of \"user_id\" or \"email\"",
                ))
            }
        };
        // Users of other orgs look the same as nonexistent ones.
        let user = user
            .filter(|user| user.org_id == ctx.user.org_id)
            .ok_or_else(|| ApiError::not_found(format!("no user {named} in your organization")))?;
        shares.push((user.id, role));
    }
    Ok(shares)
}
