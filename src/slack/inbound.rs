//! `POST /slack/events`. The signature is checked on the raw body before anything is parsed;
//! a new event is kept durably and acknowledged at once (Slack wants a 2xx within 3 s and
//! retries otherwise), and handled afterwards by the worker. Retries of a kept event are
//! acknowledged and dropped.

use super::{signature, Slack};
use serde_json::{json, Value};
use warp::http::{HeaderMap, StatusCode};
use warp::Reply;

pub async fn receive(slack: &Slack, headers: &HeaderMap, body: &[u8]) -> warp::reply::Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(refusal) = signature::verify(
        &slack.signing_secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now,
    ) {
        tracing::warn!(reason = %refusal, "refused a Slack request");
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"ok": false, "error": "invalid_request"}),
        );
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(body) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"ok": false, "error": "invalid_json"}),
        );
    };
    match envelope["type"].as_str() {
        Some("url_verification") => reply(
            StatusCode::OK,
            json!({"challenge": envelope["challenge"].as_str().unwrap_or_default()}),
        ),
        Some("event_callback") => {
            let Some(event_id) = envelope["event_id"].as_str() else {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"ok": false, "error": "no_event_id"}),
                );
            };
            match slack
                .services
                .store
                .accept_slack_event(event_id, body)
                .await
            {
                Ok(true) => {
                    slack.wake.notify_one();
                    reply(StatusCode::OK, json!({"ok": true}))
                }
                Ok(false) => {
                    tracing::debug!(event_id, "a Slack event delivered again; already kept");
                    reply(StatusCode::OK, json!({"ok": true}))
                }
                // Not kept: Slack retries.
                Err(err) => {
                    tracing::error!(error = %err, event_id, "could not keep a Slack event");
                    reply(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"ok": false, "error": "unavailable"}),
                    )
                }
            }
        }
        Some("app_rate_limited") => {
            tracing::warn!(team = %envelope["team_id"], "Slack is rate-limiting this app's events");
            reply(StatusCode::OK, json!({"ok": true}))
        }
        _ => reply(StatusCode::OK, json!({"ok": true})),
    }
}

/// The server runs without `--slack-signing-secret`.
pub fn not_configured() -> warp::reply::Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"ok": false, "error": "slack_not_configured"}),
    )
}

fn reply(status: StatusCode, body: Value) -> warp::reply::Response {
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}
