//! Answering a query: both legs' candidates within the user's scope, fused, at most
//! [`super::MAX_RESULTS`].

use super::{embed, fusion, Feedback, Legs, Scope, Search, SearchError};
use super::{CANDIDATES, MAX_RESULTS, QUERY_EMBED_TIMEOUT, RESULT_MARGIN};
use crate::model::User;
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
        if legs == Legs::Text {
            // Alone, the text leg needs only the hits asked for (fewer to rank is faster).
            let terms = self.query_terms(prompt)?;
            if terms.is_empty() {
                return Ok(Vec::new());
            }
            return Ok(self.text.search(&terms, scope, limit)?);
        }
        let (text_hits, vector_hits) = self.candidates(prompt, scope, legs, self.feedback).await?;
        Ok(match legs {
            Legs::Text => truncate(text_hits, limit),
            Legs::Vector => truncate(vector_hits, limit),
            Legs::Hybrid => fusion::fuse(&text_hits, &vector_hits, self.fusion, limit),
        })
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
        let text_hits = if legs != Legs::Vector && !terms.is_empty() {
            self.text.search(&terms, scope, CANDIDATES)?
        } else {
            Vec::new()
        };
        let vector_hits = if legs != Legs::Text {
            self.vector_candidates(prompt, scope, &text_hits, legs, feedback)
                .await
        } else {
            Vec::new()
        };
        Ok((text_hits, vector_hits))
    }

    /// The prompt's text terms; a prompt without a word or number is an error, one of stop
    /// words only has no terms (the vector leg may still answer it).
    fn query_terms(&self, prompt: &str) -> Result<Vec<String>, SearchError> {
        let terms = self.text.terms(prompt);
        if terms.is_empty() && !prompt.chars().any(char::is_alphanumeric) {
            return Err(SearchError::EmptyQuery);
        }
        Ok(terms)
    }

    /// The vector leg's candidates; none (the text leg answers alone) when no vectors serve or
    /// the query cannot be embedded in time.
    pub(super) async fn vector_candidates(
        &self,
        prompt: &str,
        scope: Scope,
        text_hits: &[(Uuid, f32)],
        legs: Legs,
        feedback: Option<Feedback>,
    ) -> Vec<(Uuid, f32)> {
        let serving = self
            .legs
            .read()
            .unwrap()
            .serving
            .as_ref()
            .map(|leg| leg.embedder.clone());
        let Some(embedder) = serving else {
            return Vec::new();
        };
        let texts = [prompt.to_string()];
        let mut query =
            match tokio::time::timeout(QUERY_EMBED_TIMEOUT, embedder.embed(&texts)).await {
                Ok(Ok(mut vectors)) if !vectors.is_empty() => vectors.swap_remove(0),
                Ok(Ok(_)) => return Vec::new(),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "query not embedded; answering from the text leg");
                    return Vec::new();
                }
                Err(_) => {
                    tracing::warn!("query embedding timed out; answering from the text leg");
                    return Vec::new();
                }
            };
        let all_legs = self.legs.read().unwrap();
        // The serving leg may have been swapped while the query was embedded.
        let Some(leg) = all_legs
            .serving
            .as_ref()
            .filter(|leg| leg.model() == embedder.model())
        else {
            return Vec::new();
        };
        if let (Legs::Hybrid, Some(feedback)) = (legs, feedback) {
            let best: Vec<Vec<f32>> = text_hits
                .iter()
                .take(feedback.docs)
                .filter_map(|(id, _)| leg.index.vector_of(*id))
                .collect();
            if !best.is_empty() {
                let share = feedback.weight / best.len() as f32;
                for vector in &best {
                    for (q, v) in query.iter_mut().zip(vector) {
                        *q += share * v;
                    }
                }
                embed::normalize(&mut query);
            }
        }
        leg.index.search(&query, scope, CANDIDATES)
    }
}

fn truncate(mut hits: Vec<(Uuid, f32)>, limit: usize) -> Vec<(Uuid, f32)> {
    hits.truncate(limit);
    hits
}
