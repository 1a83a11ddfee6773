//! The worker's side: kept events handled in the order they came within each conversation,
//! each marked done once handled (so one acknowledged before a crash is handled after the
//! restart, and once).

use super::{answer, Slack};
use crate::auth::{self, NewUser};
use crate::model::{ColumnRole, Dataset, User};
use crate::threads::create::{self, NewThread, Settings};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

const GREETING: &str =
    "Hi! Ask me about your data, for example one of the questions below. I'll show you the numbers and how I computed them.";
/// Suggested prompts Slack shows at most.
const MAX_PROMPTS: usize = 4;

/// Starts handling the kept events: each conversation's one after another, in the order they
/// came, and different conversations' at once, so one slow answer holds up no one else.
pub async fn drain(slack: &Arc<Slack>) {
    let events = match slack.services.store.slack_inbox().await {
        Ok(events) => events,
        Err(err) => {
            tracing::error!(error = %err, "could not read the Slack inbox");
            return;
        }
    };
    let mut seen = HashSet::new();
    for event in events {
        let key = conversation(&event.body);
        // An earlier event of this conversation is handled first.
        if !seen.insert(key.clone()) || !slack.in_flight.lock().unwrap().insert(key.clone()) {
            continue;
        }
        let slack = slack.clone();
        tokio::spawn(async move {
            if let Err(err) = handle(&slack, &event.body).await {
                tracing::error!(error = %err, "a Slack event could not be handled");
            }
            if let Err(err) = slack.services.store.slack_event_done(&event).await {
                // Left in the inbox: handled again once storage works.
                tracing::error!(error = %err, "could not mark a Slack event handled");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            slack.in_flight.lock().unwrap().remove(&key);
            slack.wake.notify_one();
        });
    }
}

/// The conversation an event belongs to: workspace, channel and thread.
fn conversation(body: &[u8]) -> String {
    let Ok(envelope) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let event = &envelope["event"];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
    let (channel, ts) = if event["assistant_thread"]["channel_id"].is_string() {
        let thread = &event["assistant_thread"];
        (text(&thread["channel_id"]), text(&thread["thread_ts"]))
    } else {
        let message = if event["subtype"] == "message_changed" {
            &event["message"]
        } else {
            event
        };
        let ts = if message["thread_ts"].is_string() {
            &message["thread_ts"]
        } else {
            &message["ts"]
        };
        (text(&event["channel"]), text(ts))
    };
    format!("{}\0{channel}\0{ts}", text(&envelope["team_id"]))
}

/// Why an event could not be handled (logged).
type Failed = String;

async fn handle(slack: &Slack, body: &[u8]) -> Result<(), Failed> {
    let envelope: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let team = envelope["team_id"].as_str().unwrap_or_default();
    let store = &slack.services.store;
    let Some(org) = store
        .slack_team_org(team)
        .await
        .map_err(|e| e.to_string())?
    else {
        tracing::info!(
            team,
            "a Slack event from a workspace not linked to an org (`skein slack link`); ignored"
        );
        return Ok(());
    };
    let event = &envelope["event"];
    match event["type"].as_str() {
        Some("assistant_thread_started") => thread_started(slack, team, org, event).await,
        Some("assistant_thread_context_changed") => context_changed(slack, team, event).await,
        Some("message") => message(slack, team, org, event).await,
        _ => Ok(()),
    }
}

/// A new assistant thread: our thread, a greeting, and questions to start with.
async fn thread_started(slack: &Slack, team: &str, org: Uuid, event: &Value) -> Result<(), Failed> {
    let started = &event["assistant_thread"];
    let (Some(slack_user), Some(channel), Some(ts)) = (
        started["user_id"].as_str(),
        started["channel_id"].as_str(),
        started["thread_ts"].as_str(),
    ) else {
        return Err("assistant_thread_started without user_id, channel_id or thread_ts".into());
    };
    let user = user(slack, team, org, slack_user).await?;
    thread(slack, team, channel, ts, &user, Some(&started["context"])).await?;
    answer::call(
        slack,
        "chat.postMessage",
        json!({"channel": channel, "thread_ts": ts, "text": GREETING}),
    )
    .await;
    let prompts = suggested_prompts(
        &slack
            .services
            .datasets
            .visible_to(&user)
            .await
            .map_err(|e| e.to_string())?,
    );
    if !prompts.is_empty() {
        answer::call(
            slack,
            "assistant.threads.setSuggestedPrompts",
            json!({"channel_id": channel, "thread_ts": ts, "title": "Try asking", "prompts": prompts}),
        )
        .await;
    }
    Ok(())
}

/// The user switched channels while the assistant panel was open: keep the new context.
async fn context_changed(slack: &Slack, team: &str, event: &Value) -> Result<(), Failed> {
    let changed = &event["assistant_thread"];
    let (Some(channel), Some(ts)) = (
        changed["channel_id"].as_str(),
        changed["thread_ts"].as_str(),
    ) else {
        return Err("assistant_thread_context_changed without channel_id or thread_ts".into());
    };
    let Some((thread_id, owner)) = mapped_thread(slack, team, channel, ts).await? else {
        return Ok(());
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert("slack_context".into(), changed["context"].clone());
    let settings = Settings {
        metadata: Some(metadata),
        ..Settings::default()
    };
    create::configure(&slack.services, &owner, thread_id, &settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A message event: a user's question in an assistant thread, or Slack renaming the thread.
async fn message(slack: &Slack, team: &str, org: Uuid, event: &Value) -> Result<(), Failed> {
    let channel = event["channel"].as_str().unwrap_or_default();
    let subtype = event["subtype"].as_str();
    if subtype == Some("message_changed") {
        let root = &event["message"];
        if root["subtype"] == "assistant_app_thread" {
            if let Some(title) = root["assistant_app_thread"]["title"].as_str() {
                let ts = root["thread_ts"]
                    .as_str()
                    .or(root["ts"].as_str())
                    .unwrap_or_default();
                return retitle(slack, team, channel, ts, title).await;
            }
        }
        return Ok(());
    }
    let bot = slack.bot.get().cloned().unwrap_or_default();
    let echo = event.get("bot_id").is_some_and(|id| !id.is_null())
        || (!bot.user_id.is_empty() && event["user"] == bot.user_id.as_str());
    if echo || !matches!(subtype, None | Some("file_share")) {
        return Ok(());
    }
    let (Some(slack_user), Some(ts)) = (event["user"].as_str(), event["ts"].as_str()) else {
        return Ok(());
    };
    let thread_ts = event["thread_ts"].as_str().unwrap_or(ts);
    let text = event["text"].as_str().unwrap_or_default();
    let user = user(slack, team, org, slack_user).await?;
    // Slack does not always send assistant_thread_started: the first question makes the thread.
    let thread_id = thread(slack, team, channel, thread_ts, &user, None).await?;
    answer::ask(slack, channel, thread_ts, &user, thread_id, text).await;
    Ok(())
}

/// Slack renamed the thread (after `setTitle`, or its own titling): our title follows.
async fn retitle(
    slack: &Slack,
    team: &str,
    channel: &str,
    ts: &str,
    title: &str,
) -> Result<(), Failed> {
    let Some((thread_id, owner)) = mapped_thread(slack, team, channel, ts).await? else {
        return Ok(());
    };
    let settings = Settings {
        title: Some(title.to_string()),
        ..Settings::default()
    };
    create::configure(&slack.services, &owner, thread_id, &settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Our thread for a Slack thread, and its owner.
async fn mapped_thread(
    slack: &Slack,
    team: &str,
    channel: &str,
    ts: &str,
) -> Result<Option<(Uuid, User)>, Failed> {
    let store = &slack.services.store;
    let Some(id) = store
        .slack_thread(team, channel, ts)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let Some(thread) = store.thread(id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    Ok(store
        .user(thread.created_by)
        .await
        .map_err(|e| e.to_string())?
        .map(|owner| (id, owner)))
}

/// Our thread for `(team, channel, ts)`, made (owned by `user`) the first time.
async fn thread(
    slack: &Slack,
    team: &str,
    channel: &str,
    ts: &str,
    user: &User,
    context: Option<&Value>,
) -> Result<Uuid, Failed> {
    let store = &slack.services.store;
    if let Some(id) = store
        .slack_thread(team, channel, ts)
        .await
        .map_err(|e| e.to_string())?
    {
        if store
            .thread(id)
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|t| t.deleted_at.is_none())
        {
            return Ok(id);
        }
    }
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "slack".into(),
        json!({"team": team, "channel": channel, "thread_ts": ts}),
    );
    if let Some(context) = context.filter(|c| !c.is_null()) {
        metadata.insert("slack_context".into(), context.clone());
    }
    let new = NewThread {
        metadata,
        title: Some("Slack conversation".into()),
        ..NewThread::default()
    };
    let (thread, _) = create::create(&slack.services, user, new)
        .await
        .map_err(|e| e.to_string())?;
    store
        .set_slack_thread(team, channel, ts, thread.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(thread.id)
}

/// The Skein user of a Slack user, made in the linked org on first contact (named as in Slack;
/// they sign in to the web UI once an admin issues them a token).
async fn user(slack: &Slack, team: &str, org: Uuid, slack_user: &str) -> Result<User, Failed> {
    let store = &slack.services.store;
    if let Some(id) = store
        .slack_user(team, slack_user)
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(user) = store.user(id).await.map_err(|e| e.to_string())? {
            return Ok(user);
        }
    }
    let email = format!(
        "{}@{}.slack",
        slack_user.to_lowercase(),
        team.to_lowercase()
    );
    let user = match store
        .user_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(user) => user,
        None => {
            let info = slack
                .web
                .call("users.info", &json!({"user": slack_user}))
                .await;
            let name = info
                .ok()
                .and_then(|info| {
                    let user = &info["user"];
                    [
                        &user["real_name"],
                        &user["profile"]["real_name"],
                        &user["name"],
                    ]
                    .into_iter()
                    .find_map(|n| {
                        n.as_str()
                            .filter(|n| !n.trim().is_empty())
                            .map(String::from)
                    })
                })
                .unwrap_or_else(|| slack_user.to_string());
            let org_name = store
                .org(org)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the org {org} linked to Slack team {team} is gone"))?
                .name;
            let request = NewUser {
                name,
                email,
                admin: false,
                org: Some(org_name),
            };
            auth::create_user(store, request)
                .await
                .map_err(|e| e.to_string())?
                .0
        }
    };
    store
        .set_slack_user(team, slack_user, user.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(user)
}

/// Up to four first questions in the datasets' own words: a measure by a category, by month,
/// and overall.
fn suggested_prompts(datasets: &[Dataset]) -> Vec<Value> {
    let words = |name: &str| name.replace('_', " ");
    let mut per_dataset: Vec<Vec<Value>> = datasets
        .iter()
        .map(|dataset| {
            let column = |role| dataset.columns.iter().find(|c| c.role == role);
            let Some(measure) = column(ColumnRole::Measure) else {
                return Vec::new();
            };
            let how = match measure.aggregate {
                Some(crate::model::Aggregate::Avg) => "average",
                _ => "total",
            };
            let measure = format!("{how} {}", words(&measure.name));
            let mut questions = Vec::new();
            if let Some(dimension) = column(ColumnRole::Dimension) {
                questions.push(format!(
                    "What is the {measure} by {}?",
                    words(&dimension.name)
                ));
            }
            if column(ColumnRole::Time).is_some() {
                questions.push(format!("What is the {measure} by month?"));
            }
            questions.push(format!("What is the {measure}?"));
            questions
                .into_iter()
                .map(|q| json!({"title": format!("{}: {q}", dataset.name), "message": q}))
                .collect()
        })
        .collect();
    // Round-robin over the datasets, so each gets a question before any gets two.
    let mut prompts = Vec::new();
    while prompts.len() < MAX_PROMPTS && per_dataset.iter().any(|q| !q.is_empty()) {
        for questions in per_dataset.iter_mut().filter(|q| !q.is_empty()) {
            if prompts.len() < MAX_PROMPTS {
                prompts.push(questions.remove(0));
            }
        }
    }
    prompts
}
