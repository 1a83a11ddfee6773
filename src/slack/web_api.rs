//! Slack's Web API as Skein calls it: `POST {base}/{method}` with the bot token and a JSON
//! body; `{"ok": false, "error"}` becomes an error naming the method; 429 waits for
//! `Retry-After` and tries again.

use serde_json::Value;
use std::time::Duration;

/// Tries of one call when Slack answers 429.
const ATTEMPTS: usize = 3;
/// The longest `Retry-After` waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Time limit of one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack {method} failed: {error}")]
    Api { method: String, error: String },
    #[error("Slack {method} could not be reached: {error}")]
    Http { method: String, error: String },
}

pub struct WebApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl WebApi {
    pub fn new(base: &str, token: &str) -> WebApi {
        WebApi {
            http: reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Calls `method` with `args`; returns Slack's answer when it says `ok`.
    pub async fn call(&self, method: &str, args: &Value) -> Result<Value, SlackError> {
        let http_error = |error: String| SlackError::Http {
            method: method.to_string(),
            error,
        };
        for attempt in 1..=ATTEMPTS {
            let response = self
                .http
                .post(format!("{}/{method}", self.base))
                .bearer_auth(&self.token)
                .json(args)
                .send()
                .await
                .map_err(|e| http_error(e.to_string()))?;
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS && attempt < ATTEMPTS {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs)
                    .min(MAX_RETRY_AFTER);
                tracing::warn!(
                    method,
                    wait_secs = wait.as_secs(),
                    "Slack rate-limited a call; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let answer: Value = response
                .json()
                .await
                .map_err(|e| http_error(format!("not JSON: {e}")))?;
            if answer["ok"] == true {
                return Ok(answer);
            }
            let error = answer["error"]
                .as_str()
                .unwrap_or("unknown_error")
                .to_string();
            tracing::warn!(method, error = %error, "Slack refused a call");
            return Err(SlackError::Api {
                method: method.to_string(),
                error,
            });
        }
        Err(http_error("rate limited on every try".into()))
    }
}
