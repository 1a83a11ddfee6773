//! Answering a query: both legs' candidates within the user's scope, fused, at most
//! [`super::MAX_RESULTS`].

use super::legs::VectorLeg;
use super::{embed, fusion, Feedback, Legs, Scope, Search, SearchError};
use super::{CANDIDATES, MAX_RESULTS, QUERY_EMBED_TIMEOUT, RESULT_MARGIN};
use crate::model::User;
use std::collections::HashSet;
use uuid::Uuid;

impl Search {
    /// The best messages for `prompt` that `user` may see, best first: [`MAX_RESULTS`] plus a
    /// [`RESULT_MARGIN`] for the caller's final check against the store.
    pub async fn query(&self, user: &User, prompt: &str) -> Result<Vec<(Uuid, f32)>, SearchError> {
        let scope = if user.admin {
            Scope::Org(user.org_id)
        } else {
            Scope::Member {
                org: user.org_id,
                user: user.id,
            }
        };
        self.query_scoped(prompt, scope, Legs::Hybrid, MAX_RESULTS + RESULT_MARGIN)
            .await
    }

    /// A query with an explicit scope, legs and result count.
    pub async fn query_scoped(
        &self,
        prompt: &str,
        scope: Scope,
        legs: Legs,
        limit: usize,
    ) -> Result<Vec<(Uuid, f32)>, SearchError> {
        let started = std::time::Instant::now();
        let leg = match legs {
            Legs::Text => "text",
            Legs::Vector => "vector",
            Legs::Hybrid => "hybrid",
        };
        let hits = self.query_legs(prompt, scope, legs, limit).await;
        crate::metrics::METRICS
            .search_seconds
            .with_label_values(&[leg])
            .observe(started.elapsed().as_secs_f64());
        hits
    }

    async fn query_legs(
        &self,
        prompt: &str,
        scope: Scope,
        legs: Legs,
        limit: usize,
    ) -> Result<Vec<(Uuid, f32)>, SearchError> {
        // Alone, a leg ranks only the hits asked for (fewer to rank is faster).
        match legs {
            Legs::Text => {
                let terms = self.query_terms(prompt)?;
                if terms.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(self.text.search(&terms, scope, limit)?)
            }
            Legs::Vector => {
                require_words(prompt)?;
                let Some(query) = self.embed_query(prompt).await else {
                    return Ok(Vec::new());
                };
                Ok(self.vector_scan(query, scope, &[], None, limit))
            }
            Legs::Hybrid => {
                let (text_hits, vector_hits) =
                    self.candidates(prompt, scope, legs, self.feedback).await?;
                Ok(fusion::fuse(&text_hits, &vector_hits, self.fusion, limit))
            }
        }
    }

    /// The benchmarks' anchor: raw tantivy (its `TopDocs`, the OR of every term of the prompt,
    /// no access filter) over the same index.
    pub fn query_unscoped_text(
        &self,
        prompt: &str,
        limit: usize,
    ) -> Result<Vec<(Uuid, f32)>, SearchError> {
        Ok(self.text.search_unscoped(&self.text.terms(prompt), limit)?)
    }

    /// The benchmarks' anchor for the vector leg: the prompt embedded and the scan kernel run
    /// over every vector, without scope or ranking.
    pub async fn query_vector_kernel(&self, prompt: &str) -> Result<i32, SearchError> {
        let query = self.embed_query(prompt).await;
        let legs = self.legs.read().unwrap();
        let (Some(leg), Some(query)) = (legs.serving.as_ref(), query) else {
            return Err(no_vectors());
        };
        Ok(leg.index.kernel_only(&query.vector))
    }

    /// The benchmarks' check of the vector leg's one-bit shortlist: of the exact best
    /// [`CANDIDATES`] vectors for a prompt's hybrid query (feedback included), the share
    /// that its vector leg finds; and of the exact best [`MAX_RESULTS`], the share it ranks
    /// among its own best [`MAX_RESULTS`].
    pub async fn vector_recall(
        &self,
        prompt: &str,
        scope: Scope,
    ) -> Result<(f64, f64), SearchError> {
        let terms = self.query_terms(prompt)?;
        let text_hits = if terms.is_empty() {
            Vec::new()
        } else {
            self.text.search(&terms, scope, CANDIDATES)?
        };
        let query = self.embed_query(prompt).await.ok_or_else(no_vectors)?;
        let legs = self.legs.read().unwrap();
        let leg = (legs.serving.as_ref())
            .filter(|leg| leg.model() == query.model)
            .ok_or_else(no_vectors)?;
        let vector = with_feedback(leg, query.vector, &text_hits, self.feedback);
        let exact = leg.index.search_exact(&vector, scope, CANDIDATES);
        let found = leg.index.search(&vector, scope, CANDIDATES);
        let recall = |depth: usize| {
            let found: HashSet<Uuid> = found.iter().take(depth).map(|(id, _)| *id).collect();
            let wanted = &exact[..depth.min(exact.len())];
            let kept = wanted.iter().filter(|(id, _)| found.contains(id)).count();
            kept as f64 / wanted.len().max(1) as f64
        };
        Ok((recall(CANDIDATES), recall(MAX_RESULTS)))
    }

    /// Each leg's best [`CANDIDATES`] for a prompt; in hybrid queries the vector leg takes
    /// `feedback` from the text leg's best hits.
    pub async fn candidates(
        &self,
        prompt: &str,
        scope: Scope,
        legs: Legs,
        feedback: Option<Feedback>,
    ) -> Result<(Vec<(Uuid, f32)>, Vec<(Uuid, f32)>), SearchError> {
        let terms = self.query_terms(prompt)?;
        // The query is embedded (a remote model: a round trip) while the text leg runs; the
        // scan itself follows the text leg, whose best hits it takes as feedback.
        let embedding = async {
            match legs {
                Legs::Text => None,
                _ => self.embed_query(prompt).await,
            }
        };
        let text = async {
            if legs != Legs::Vector && !terms.is_empty() {
                self.text.search(&terms, scope, CANDIDATES)
            } else {
                Ok(Vec::new())
            }
        };
        let (query, text_hits) = tokio::join!(embedding, text);
        let text_hits = text_hits?;
        let vector_hits = match query {
            Some(query) => self.vector_scan(query, scope, &text_hits, feedback, CANDIDATES),
            None => Vec::new(),
        };
        Ok((text_hits, vector_hits))
    }

    /// The prompt's text terms; a prompt without a word or number is an error, one of stop
    /// words only has no terms (the vector leg may still answer it).
    fn query_terms(&self, prompt: &str) -> Result<Vec<String>, SearchError> {
        require_words(prompt)?;
        Ok(self.text.terms(prompt))
    }

    /// The prompt embedded by the serving leg's model; none (the text leg answers alone) when
    /// no vectors serve or the query cannot be embedded in time.
    async fn embed_query(&self, prompt: &str) -> Option<QueryVector> {
        let serving = self.legs.read().unwrap().serving.as_ref()?.embedder.clone();
        let texts = [prompt.to_string()];
        match tokio::time::timeout(QUERY_EMBED_TIMEOUT, serving.embed(&texts)).await {
            Ok(Ok(mut vectors)) if !vectors.is_empty() => Some(QueryVector {
                model: serving.model().to_string(),
                vector: vectors.swap_remove(0),
            }),
            Ok(Ok(_)) => None,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "query not embedded; answering from the text leg");
                None
            }
            Err(_) => {
                tracing::warn!("query embedding timed out; answering from the text leg");
                None
            }
        }
    }

    /// The best `limit` vectors for `query` within `scope`, moved toward the vectors of the
    /// text leg's best hits by `feedback`.
    fn vector_scan(
        &self,
        query: QueryVector,
        scope: Scope,
        text_hits: &[(Uuid, f32)],
        feedback: Option<Feedback>,
        limit: usize,
    ) -> Vec<(Uuid, f32)> {
        let QueryVector { model, vector } = query;
        let all_legs = self.legs.read().unwrap();
        // The serving leg may have been swapped while the query was embedded.
        let Some(leg) = all_legs.serving.as_ref().filter(|leg| leg.model() == model) else {
            return Vec::new();
        };
        let vector = with_feedback(leg, vector, text_hits, feedback);
        leg.index.search(&vector, scope, limit)
    }
}

/// The benchmarks' error when the vector leg cannot answer.
fn no_vectors() -> SearchError {
    embed::EmbedError("no vectors serve".into()).into()
}

/// The query's vector moved toward the vectors of the text leg's best hits by `feedback`.
fn with_feedback(
    leg: &VectorLeg,
    mut vector: Vec<f32>,
    text_hits: &[(Uuid, f32)],
    feedback: Option<Feedback>,
) -> Vec<f32> {
    let Some(feedback) = feedback else {
        return vector;
    };
    let best: Vec<Vec<f32>> = text_hits
        .iter()
        .take(feedback.docs)
        .filter_map(|(id, _)| leg.index.vector_of(*id))
        .collect();
    if !best.is_empty() {
        let share = feedback.weight / best.len() as f32;
        for other in &best {
            for (q, v) in vector.iter_mut().zip(other) {
                *q += share * v;
            }
        }
        embed::normalize(&mut vector);
    }
    vector
}

/// A query's vector and the model that made it.
struct QueryVector {
    model: String,
    vector: Vec<f32>,
}

/// A prompt without a word or number cannot be searched (terms are runs of letters and
/// digits, so such a prompt has none either).
fn require_words(prompt: &str) -> Result<(), SearchError> {
    if prompt.chars().any(char::is_alphanumeric) {
        Ok(())
    } else {
        Err(SearchError::EmptyQuery)
    }
}
