//! `/threads/update`: rename a thread, change sharing, and set a message's code, feedback,
//! verification status or chart config. All of a request applies, or none of it.

use super::envelope::{decode_data, ApiError};
use super::stream::ReplyStream;
use super::{fanout, views, Context};
use crate::auth;
use crate::limits::MAX_TITLE_CHARS;
use crate::model::{Feedback, Json, Share, ShareRole, Thread, TitleSource, User, Verification};
use crate::pipeline::{self, Recorder, StepRecord};
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
    // New SQL runs (and is repaired if it can be) before anything is written.
    let ran = match &changes.code {
        Some(code) => Some(run_code(ctx, thread_id, message_id, code).await?),
        None => None,
    };

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
                after.titled_by = TitleSource::User;
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
                if let Some(ran) = &ran {
                    if message.dataset_id != Some(ran.dataset_id) {
                        return abort(ApiError::bad_request(
                            "the message changed while its SQL ran; send the update again",
                        ));
                    }
                    message.code = Some(ran.sql.clone());
                    message.data_metadata = Some(Json(ran.data_metadata.clone()));
                    // A chart naming columns the new result lacks is replaced by one that fits.
                    let fits = message
                        .chart_config
                        .as_ref()
                        .is_some_and(|c| pipeline::narrate::chart_fits(&c.0, &ran.result));
                    if !fits && changes.chart_config.is_none() {
                        let (config, recommendations) =
                            pipeline::narrate::chart_for_result(&ran.result);
                        message.chart_config = Some(Json(config));
                        message.chart_recommendations = Some(Json(recommendations));
                    }
                    message.context = Some(Json(merge_steps(message.context.take(), &ran.steps)));
                    // The analyst's words and plan described the old SQL; keeping them would
                    // put its numbers and reading next to a different result.
                    let rows = ran.result.rows.len();
                    let noun = if rows == 1 { "row" } else { "rows" };
                    let more = if ran.result.truncated {
                        " (the first of more)"
                    } else {
                        ""
                    };
                    message.set_answer(
                        &format!("The edited SQL returned {rows} {noun}{more}."),
                        "The SQL was edited by hand, so the analyst's earlier reading of the \
                         question no longer applies; the rows are what the edited SQL returned.",
                        pipeline::restate::BY_HAND,
                    );
                    message.plan = None;
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
    fanout::thread_changed(services, &after, &state, user, Some(ctx.conn))?;

    // Whoever lost access by this change leaves the thread and loses it from their list.
    let still_allowed = |u: &User| auth::access(u, &after).is_some();
    let departures = services.hub.evict(after.id, still_allowed);
    fanout::announce_departures(services, &departures);
    fanout::list_removed(services, &before, |u| {
        auth::access(u, &before).is_some() && !still_allowed(u)
    });
    Ok(())
}

/// SQL that ran for an update: the statement (repaired if it had to be) and what it produced.
struct RanCode {
    dataset_id: Uuid,
    sql: String,
    data_metadata: Value,
    result: crate::datasets::QueryResult,
    /// `fixingSql` (if repaired) and `fetchingData`, as persisted steps.
    steps: Vec<StepRecord>,
}

/// Runs new SQL for a message against the message's dataset, repairing it if it fails.
async fn run_code(
    ctx: &Context<'_>,
    thread_id: Uuid,
    message_id: Option<Uuid>,
    code: &str,
) -> Result<RanCode, ApiError> {
    let services = ctx.services;
    let thread = services
        .store
        .thread(thread_id)?
        .filter(|thread| auth::access(ctx.user, thread).is_some())
        .ok_or_else(|| ApiError::thread_not_found(thread_id))?;
    if !auth::access(ctx.user, &thread).is_some_and(|a| a.can_edit()) {
        return Err(ApiError::unauthorized(
            "viewers cannot change a thread; ask its owner for editor access",
        ));
    }
    let message = match message_id {
        Some(id) => services
            .store
            .message_by_id(id)?
            .filter(|m| m.thread_id == thread_id),
        None => services.store.latest_message(thread_id)?,
    }
    .ok_or_else(|| ApiError::not_found(format!("message not found in thread {thread_id}")))?;
    let dataset = message
        .dataset_id
        .and_then(|id| services.datasets.get_for(ctx.user, id).ok().flatten())
        .ok_or_else(|| {
            ApiError::bad_request(
                "this message has no dataset to run SQL against; ask a question first",
            )
        })?;
    let sink = ReplyStream {
        services,
        conn: ctx.conn,
        user: ctx.user,
        route: ctx.route.path(),
    };
    let mut recorder = Recorder::new(&sink, thread_id, message.id);
    let (sql, result) = pipeline::execute_with_repairs(
        &services.datasets,
        &dataset,
        code.to_string(),
        &mut recorder,
    )
    .await
    .map_err(|failure| {
        ApiError::bad_request(format!("{} Nothing was changed.", failure.message))
    })?;
    let mut steps = recorder.into_steps();
    let mut fetched = serde_json::Map::new();
    fetched.insert("data".into(), pipeline::rows_as_objects(&result));
    fetched.insert("data_metadata".into(), pipeline::data_metadata(&result));
    steps.push(
        pipeline::StepUpdate {
            step: pipeline::Step::FetchingData,
            progress: pipeline::Progress::Completed,
            fields: fetched,
            failure: None,
            thread_id,
            message_id: message.id,
        }
        .record(),
    );
    Ok(RanCode {
        dataset_id: dataset.id,
        sql,
        data_metadata: pipeline::data_metadata(&result),
        result,
        steps,
    })
}

/// Replaces steps of the same kind in `context.steps` with `new`, appending the others.
fn merge_steps(context: Option<Json>, new: &[StepRecord]) -> Value {
    let mut context = context.map(|c| c.0).unwrap_or_else(|| json!({}));
    let mut steps: Vec<StepRecord> = context
        .get("steps")
        .cloned()
        .and_then(|steps| serde_json::from_value(steps).ok())
        .unwrap_or_default();
    for step in new {
        match steps.iter_mut().find(|s| s.step == step.step) {
            Some(slot) => *slot = step.clone(),
            None => steps.push(step.clone()),
        }
    }
    context["steps"] = json!(steps);
    context
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
