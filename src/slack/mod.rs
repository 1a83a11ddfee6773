//! Slack assistant threads (seed 001): Skein as the backend of a Slack AI app. A question asked
//! in Slack's assistant panel is a Skein thread's question, answered by the same analyst, live
//! in the web UI and the WebSocket list, searchable and shareable.
//!
//! - `signature`: verifying Slack's request signatures.
//! - `inbound`: `POST /slack/events`: verify, answer `url_verification`, keep each new event
//!   durably (de-duplicated on `event_id`) and acknowledge at once.
//! - `process`: the worker that handles kept events in order: threads started, context
//!   changes, questions, title changes; Slack users and threads mapped to Skein's.
//! - `answer`: following the analyst while it works (`assistant.threads.setStatus`), the
//!   answer in the thread and its title; `stream`: the answer streamed as it is written, with
//!   fallbacks when Slack will not stream.
//! - `web_api`: calls to Slack's Web API.

mod answer;
mod inbound;
mod process;
pub mod signature;
mod stream;
mod web_api;

use crate::services::Services;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Slack's public Web API.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
/// How long handled event ids are kept to catch Slack's retries (it retries for minutes).
const KEEP_EVENT_IDS: Duration = Duration::from_secs(3600);

/// What the server needs to be a Slack app's backend.
#[derive(Clone)]
pub struct SlackConfig {
    pub signing_secret: String,
    pub bot_token: String,
    pub api_base: String,
}

/// `POST /slack/events`, answered 404 when the server is not configured as a Slack app.
pub fn routes(
    slack: Option<Arc<Slack>>,
) -> impl warp::Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    use warp::Filter;
    warp::path!("slack" / "events")
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(
            crate::limits::MAX_REST_BODY_BYTES as u64,
        ))
        .and(warp::body::bytes())
        .and(warp::any().map(move || slack.clone()))
        .then(
            |headers: warp::http::HeaderMap, body: bytes::Bytes, slack: Option<Arc<Slack>>| async move {
                match slack {
                    Some(slack) => inbound::receive(&slack, &headers, &body).await,
                    None => inbound::not_configured(),
                }
            },
        )
}

/// The bot's own user id (from `auth.test`), so its echoes are ignored even without a
/// `bot_id` (any message with a `bot_id` is ignored as well).
#[derive(Debug, Clone, Default)]
struct Bot {
    user_id: String,
}

/// The Slack face of a running server.
pub struct Slack {
    services: Arc<Services>,
    signing_secret: String,
    web: web_api::WebApi,
    bot: OnceLock<Bot>,
    /// Woken when an event is kept, or one is handled.
    wake: tokio::sync::Notify,
    /// The conversations whose events are being handled now.
    in_flight: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Slack {
    pub fn new(services: Arc<Services>, config: &SlackConfig) -> Arc<Slack> {
        Arc::new(Slack {
            services,
            signing_secret: config.signing_secret.clone(),
            web: web_api::WebApi::new(&config.api_base, &config.bot_token),
            bot: OnceLock::new(),
            wake: tokio::sync::Notify::new(),
            in_flight: Default::default(),
        })
    }

    /// Handles kept events until `stop`, those left from before a restart first.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        match self.web.call("auth.test", &serde_json::json!({})).await {
            Ok(me) => {
                let bot = Bot {
                    user_id: me["user_id"].as_str().unwrap_or_default().to_string(),
                };
                tracing::info!(bot_user = %bot.user_id, "Slack bot identified");
                let _ = self.bot.set(bot);
            }
            Err(err) => {
                tracing::error!(error = %err, "Slack auth.test failed: the bot token may be wrong; its own echoes are recognised by their bot_id only")
            }
        }
        loop {
            process::drain(&self).await;
            let cutoff = chrono::Utc::now().timestamp_millis() - KEEP_EVENT_IDS.as_millis() as i64;
            if let Err(err) = self
                .services
                .store
                .prune_slack_events(cutoff.max(0) as u64)
                .await
            {
                tracing::warn!(error = %err, "could not prune old Slack event ids");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }
}
