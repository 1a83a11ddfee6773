//! OpenAI-compatible providers (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI). Here, the
//! chat model; `embeddings` is the embeddings endpoint behind search's `Embedder`.
//!
//! The chat model:
//! `POST {base}/chat/completions` with `stream: true`, server-sent events parsed as they arrive,
//! tokens handed to the caller one by one.
//!
//! Failures are typed so the pipeline can report them plainly: unreachable, an HTTP error
//! (retried with backoff on 429 and 5xx, honouring `Retry-After`), a timeout (connect, first
//! token, total), garbage in the stream, or cancellation. The API key goes only into the
//! `Authorization` header: it is never logged, printed or put in an error.

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub mod embeddings;

/// A provider's API key. It only ever leaves as an `Authorization` header: `Debug` prints
/// `<redacted>`, and there is no `Display`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key, or `None` when it is empty (no key configured).
    pub fn new(key: &str) -> Option<ApiKey> {
        (!key.is_empty()).then(|| ApiKey(key.to_string()))
    }

    /// `request` with this key as its bearer token, if there is a key.
    pub fn authorize(
        key: &Option<ApiKey>,
        request: reqwest::RequestBuilder,
    ) -> reqwest::RequestBuilder {
        match key {
            Some(ApiKey(key)) => request.bearer_auth(key),
            None => request,
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the model is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    pub connect_timeout: Duration,
    pub first_token_timeout: Duration,
    pub total_timeout: Duration,
    /// Attempts for one request when the server answers 429 or 5xx.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("the model provider at {0} could not be reached")]
    Unreachable(String),
    #[error("the model provider answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the model provider timed out waiting for the {0}")]
    Timeout(&'static str),
    #[error("the model provider sent data that is not a chat completion stream: {0}")]
    Garbage(String),
    #[error("the run was cancelled")]
    Cancelled,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system",
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user",
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "assistant",
            content: content.into(),
        }
    }
}

pub struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|_| LlmError::Unreachable(config.base_url.clone()))?;
        Ok(LlmClient { http, config })
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// Streams a completion: `on_token` gets each piece of text as it arrives; the whole text is
    /// returned. `cancelled` is asked between tokens.
    pub async fn stream_chat(
        &self,
        messages: &[ChatMessage],
        on_token: &mut (dyn FnMut(&str) + Send),
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<String, LlmError> {
        let outcome = self
            .stream_with_retries(messages, on_token, cancelled)
            .await;
        let label = match &outcome {
            Ok(_) => "ok",
            Err(LlmError::Unreachable(_)) => "unreachable",
            Err(LlmError::Status { .. }) => "status",
            Err(LlmError::Timeout(_)) => "timeout",
            Err(LlmError::Garbage(_)) => "garbage",
            Err(LlmError::Cancelled) => "cancelled",
        };
        crate::metrics::METRICS
            .llm_calls
            .with_label_values(&[label])
            .inc();
        outcome
    }

    async fn stream_with_retries(
        &self,
        messages: &[ChatMessage],
        on_token: &mut (dyn FnMut(&str) + Send),
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<String, LlmError> {
        let deadline = Instant::now() + self.config.total_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(messages, on_token, cancelled, deadline).await {
                Err(Retry {
                    error,
                    after,
                    retryable: true,
                }) if attempt < self.config.attempts => {
                    let wait = backoff(attempt, after);
                    if Instant::now() + wait >= deadline {
                        return Err(error);
                    }
                    tracing::warn!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying the model provider");
                    tokio::time::sleep(wait).await;
                }
                Err(Retry { error, .. }) => return Err(error),
                Ok(text) => return Ok(text),
            }
        }
    }

    async fn attempt(
        &self,
        messages: &[ChatMessage],
        on_token: &mut (dyn FnMut(&str) + Send),
        cancelled: &(dyn Fn() -> bool + Sync),
        deadline: Instant,
    ) -> Result<String, Retry> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.config.model,
            "stream": true,
            // The last event then carries the tokens used (counted in the metrics).
            "stream_options": {"include_usage": true},
            "temperature": 0,
            "messages": messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
        });
        let request = ApiKey::authorize(&self.config.api_key, self.http.post(&url).json(&body));
        let remaining = deadline.saturating_duration_since(Instant::now());
        let response = match tokio::time::timeout(
            remaining.min(self.config.first_token_timeout),
            request.send(),
        )
        .await
        {
            Err(_) => return Err(Retry::not(LlmError::Timeout("first token"))),
            Ok(Err(_)) => {
                return Err(Retry::not(LlmError::Unreachable(
                    self.config.base_url.clone(),
                )))
            }
            Ok(Ok(response)) => response,
        };
        if !response.status().is_success() {
            let failure = HttpFailure::read(response).await;
            return Err(Retry {
                retryable: failure.retryable(),
                after: failure.retry_after,
                error: LlmError::Status {
                    status: failure.status,
                    message: failure.message,
                },
            });
        }

        let mut events = response.bytes_stream().eventsource();
        let mut text = String::new();
        let mut first = true;
        loop {
            let wait = if first {
                self.config.first_token_timeout
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            let wait = wait.min(deadline.saturating_duration_since(Instant::now()));
            let event = match tokio::time::timeout(wait, events.next()).await {
                Err(_) => {
                    return Err(Retry::not(LlmError::Timeout(if first {
                        "first token"
                    } else {
                        "whole answer"
                    })))
                }
                Ok(None) => break,
                Ok(Some(Err(err))) => return Err(Retry::not(LlmError::Garbage(err.to_string()))),
                Ok(Some(Ok(event))) => event,
            };
            if cancelled() {
                return Err(Retry::not(LlmError::Cancelled));
            }
            if event.data.trim() == "[DONE]" {
                break;
            }
            let chunk: Value = serde_json::from_str(&event.data).map_err(|err| {
                Retry::not(LlmError::Garbage(format!(
                    "{err} in {:?}",
                    clip(&event.data)
                )))
            })?;
            if let Some(message) = chunk.get("error") {
                return Err(Retry::not(LlmError::Status {
                    status: 200,
                    message: message.to_string(),
                }));
            }
            if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
                let tokens = &crate::metrics::METRICS.llm_tokens;
                for (field, kind) in [
                    ("prompt_tokens", "prompt"),
                    ("completion_tokens", "completion"),
                ] {
                    if let Some(n) = usage[field].as_u64() {
                        tokens.with_label_values(&[kind]).inc_by(n);
                    }
                }
            }
            let piece = chunk["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default();
            if !piece.is_empty() {
                first = false;
                text.push_str(piece);
                on_token(piece);
            }
        }
        if first {
            return Err(Retry::not(LlmError::Garbage(
                "the stream ended without any text".into(),
            )));
        }
        Ok(text)
    }
}

/// A failed attempt, and whether (and when) to try again: only 429 and 5xx are retried, never a
/// timeout, garbage or a cancellation.
struct Retry {
    error: LlmError,
    after: Option<Duration>,
    retryable: bool,
}

impl Retry {
    fn not(error: LlmError) -> Retry {
        Retry {
            error,
            after: None,
            retryable: false,
        }
    }
}

/// An unsuccessful HTTP answer of a provider: what to report, and whether to try again.
pub(crate) struct HttpFailure {
    pub status: u16,
    /// The start of the body (providers put their error message there).
    pub message: String,
    /// `Retry-After` in seconds, capped at 30.
    pub retry_after: Option<Duration>,
}

impl HttpFailure {
    pub async fn read(response: reqwest::Response) -> HttpFailure {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(30)));
        let message = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        HttpFailure {
            status,
            message,
            retry_after,
        }
    }

    /// Only rate limits and server errors are worth another attempt.
    pub fn retryable(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

/// The wait before attempt `attempt + 1`: the server's `Retry-After`, else exponential backoff.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or(Duration::from_millis(
        250 * 2u64.pow(attempt.saturating_sub(1)),
    ))
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

/// Removes Markdown code fences from streamed text, across chunk boundaries: feed pieces in,
/// get the text to forward out; `finish` returns what is left.
#[derive(Default)]
pub struct FenceFilter {
    pending: String,
    at_line_start: bool,
    started: bool,
}

impl FenceFilter {
    pub fn new() -> FenceFilter {
        FenceFilter {
            pending: String::new(),
            at_line_start: true,
            started: false,
        }
    }

    pub fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        let mut out = String::new();
        // Work line by line; keep an unfinished line back unless it cannot be a fence.
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            self.emit_line(&line, &mut out);
        }
        if !self.pending.is_empty()
            && !"```".starts_with(self.pending.trim_start())
            && !self.pending.trim_start().starts_with("```")
        {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest, &mut out);
            self.at_line_start = false;
        }
        out
    }

    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        let mut out = String::new();
        if !rest.trim_start().starts_with("```") {
            self.emit(&rest, &mut out);
        }
        out
    }

    fn emit_line(&mut self, line: &str, out: &mut String) {
        let fence = self.at_line_start && line.trim_start().starts_with("```");
        if !fence {
            self.emit(line, out);
        }
        self.at_line_start = true;
    }

    fn emit(&mut self, text: &str, out: &mut String) {
        // Leading blank lines before the SQL are dropped.
        let text = if self.started {
            text
        } else {
            text.trim_start_matches(['\n', '\r'])
        };
        if !text.is_empty() {
            self.started = true;
            out.push_str(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pieces: &[&str]) -> String {
        let mut f = FenceFilter::new();
        let mut out: String = pieces.iter().map(|p| f.push(p)).collect();
        out.push_str(&f.finish());
        out
    }

    #[test]
    fn fences_are_stripped_across_chunk_boundaries() {
        assert_eq!(filter(&["```sql\nSELECT 1\n```"]), "SELECT 1\n");
        assert_eq!(
            filter(&["``", "`s", "ql\nSEL", "ECT a,\n b FROM t", "\n``", "`\n"]),
            "SELECT a,\n b FROM t\n"
        );
        assert_eq!(filter(&["SELECT 1"]), "SELECT 1");
        assert_eq!(filter(&["SELECT '```' FROM t"]), "SELECT '```' FROM t");
    }

    #[test]
    fn the_key_is_redacted() {
        let config = LlmConfig {
            base_url: "http://x".into(),
            model: "m".into(),
            api_key: ApiKey::new("sk-secret"),
            connect_timeout: Duration::from_secs(1),
            first_token_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(1),
            attempts: 1,
        };
        assert!(!format!("{config:?}").contains("sk-secret"));
    }
}
