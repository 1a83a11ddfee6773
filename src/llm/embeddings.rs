//! An OpenAI-compatible embeddings endpoint as a search [`Embedder`]: `POST {base}/embeddings`
//! with `{"model", "input": [texts]}`, in batches of at most `batch_size` texts.
//!
//! 429 and 5xx are retried with backoff, honouring `Retry-After`; every request has a time
//! limit. The answer is checked: one finite vector per input, all of one dimension. The API key
//! goes only into the `Authorization` header.

use super::{backoff, ApiKey, HttpFailure};
use crate::search::embed::{normalize, EmbedError, EmbedFuture, Embedder};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EmbedConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Texts per request.
    pub batch_size: usize,
    pub connect_timeout: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Attempts for one batch when the server answers 429 or 5xx.
    pub attempts: u32,
}

pub struct RemoteEmbedder {
    http: reqwest::Client,
    config: EmbedConfig,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl RemoteEmbedder {
    pub fn new(config: EmbedConfig) -> Result<RemoteEmbedder, EmbedError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|err| EmbedError(format!("HTTP client: {err}")))?;
        Ok(RemoteEmbedder { http, config })
    }

    async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size.max(1)) {
            let mut attempt = 0;
            let embedded = loop {
                attempt += 1;
                match self.request(batch).await {
                    Err((error, Some(after))) if attempt < self.config.attempts => {
                        let wait = backoff(attempt, after);
                        tracing::warn!(%error, attempt, wait_ms = wait.as_millis() as u64, "retrying the embeddings provider");
                        tokio::time::sleep(wait).await;
                    }
                    Err((error, _)) => return Err(error),
                    Ok(embedded) => break embedded,
                }
            };
            if let (Some(first), Some(vector)) = (vectors.first(), embedded.first()) {
                check_dim(first, vector)?;
            }
            vectors.extend(embedded);
        }
        Ok(vectors)
    }

    /// One request; a retryable failure comes with its `Retry-After` (itself optional).
    #[allow(clippy::type_complexity)]
    async fn request(
        &self,
        batch: &[String],
    ) -> Result<Vec<Vec<f32>>, (EmbedError, Option<Option<Duration>>)> {
        let url = format!("{}/embeddings", self.config.base_url.trim_end_matches('/'));
        let body = json!({"model": self.config.model, "input": batch});
        let request = ApiKey::authorize(&self.config.api_key, self.http.post(&url).json(&body));
        let response = request.send().await.map_err(|err| {
            let what = if err.is_timeout() {
                "timed out"
            } else {
                "could not be reached"
            };
            let error = EmbedError(format!(
                "the embeddings provider at {} {what}",
                self.config.base_url
            ));
            // A provider that is down may be back in a moment; a timeout will not be faster.
            (error, (!err.is_timeout()).then_some(None))
        })?;
        if !response.status().is_success() {
            let failure = HttpFailure::read(response).await;
            let error = EmbedError(format!(
                "the embeddings provider answered HTTP {}: {}",
                failure.status, failure.message
            ));
            let retry = failure.retryable().then_some(failure.retry_after);
            return Err((error, retry));
        }
        let garbage = |why: String| {
            (
                EmbedError(format!(
                    "the embeddings provider sent an answer that is not embeddings: {why}"
                )),
                None,
            )
        };
        let body: Response = response
            .json()
            .await
            .map_err(|err| garbage(err.to_string()))?;
        if body.data.len() != batch.len() {
            return Err(garbage(format!(
                "{} vectors for {} texts",
                body.data.len(),
                batch.len()
            )));
        }
        let mut items = body.data;
        // The API returns `index` per item; order by it when present.
        if items.iter().all(|item| item.index.is_some()) {
            items.sort_by_key(|item| item.index);
        }
        let mut vectors: Vec<Vec<f32>> = items.into_iter().map(|item| item.embedding).collect();
        for vector in &mut vectors {
            if vector.is_empty() || vector.iter().any(|x| !x.is_finite()) {
                return Err(garbage("an empty or non-finite vector".into()));
            }
            // Scores are cosines; not every provider's vectors come normalized.
            normalize(vector);
        }
        if let Some(odd) = vectors.iter().find(|v| v.len() != vectors[0].len()) {
            return Err((check_dim(&vectors[0], odd).unwrap_err(), None));
        }
        Ok(vectors)
    }
}

fn check_dim(first: &[f32], other: &[f32]) -> Result<(), EmbedError> {
    if first.len() == other.len() {
        Ok(())
    } else {
        Err(EmbedError(format!(
            "the embeddings provider returned vectors of {} and of {} dimensions",
            first.len(),
            other.len()
        )))
    }
}

impl Embedder for RemoteEmbedder {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(self.embed_all(texts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_redacted() {
        let config = EmbedConfig {
            base_url: "http://x".into(),
            model: "m".into(),
            api_key: ApiKey::new("sk-secret"),
            batch_size: 8,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            attempts: 1,
        };
        assert!(!format!("{config:?}").contains("sk-secret"));
    }
}
