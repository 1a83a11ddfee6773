//! Retrieval quality on a test collection (Cranfield: docs.jsonl, queries.jsonl, qrels.tsv).
//!
//! Documents go through the same path as messages: each becomes a thread with one message in a
//! temporary store, indexed by [`Search::reindex`]. Fusion is tuned on the odd-numbered queries
//! and reported on the even-numbered ones, so the held-out figure is honest.

use super::{Embedder, Feedback, Fusion, Legs, Scope, Search};
use crate::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

// The collection's files are read in `corpus`, which also stores it as threads.
pub use super::corpus::{load, Collection};

/// The collection indexed through a temporary store, ready to be queried.
pub struct Indexed {
    pub search: Search,
    pub org: Uuid,
    doc_of: HashMap<Uuid, String>,
    _dir: tempfile::TempDir,
}

/// Stores every document as a one-message thread and indexes them all.
pub async fn index(
    collection: &Collection,
    embedder: Arc<dyn Embedder>,
) -> Result<Indexed, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open(dir.path()).map_err(|e| e.to_string())?;
    let org = Uuid::new_v4();
    let texts: Vec<(String, String)> = collection
        .docs
        .iter()
        .map(|(_, title, text)| (title.clone(), text.clone()))
        .collect();
    let ids = super::corpus::store_messages(&store, &texts, org, Uuid::new_v4())
        .await
        .map_err(|e| e.to_string())?;
    let doc_of = ids
        .into_iter()
        .zip(collection.docs.iter().map(|d| d.0.clone()))
        .collect();
    let search = Search::open(store, Some(dir.path()), embedder)
        .await
        .map_err(|e| e.to_string())?;
    search.reindex().await.map_err(|e| e.to_string())?;
    Ok(Indexed {
        search,
        org,
        doc_of,
        _dir: dir,
    })
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    pub ndcg: f64,
    pub recall: f64,
    pub queries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Odd,
    Even,
    All,
}

impl Half {
    fn keeps(self, query_id: &str) -> bool {
        let number: u64 = query_id.parse().unwrap_or(0);
        match self {
            Half::Odd => !number.is_multiple_of(2),
            Half::Even => number.is_multiple_of(2),
            Half::All => true,
        }
    }
}

/// Ranked (message, score) hits of one leg.
type Hits = Vec<(Uuid, f32)>;

/// Each judged query's candidates from both legs, computed once.
pub struct Runs {
    runs: Vec<(String, Hits, Hits)>,
}

/// How a ranking is made from the two candidate lists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ranking {
    Text,
    Vector,
    Fused(Fusion),
}

impl Indexed {
    /// Runs every judged query through both legs (the vector leg with `feedback`).
    pub async fn run(
        &self,
        collection: &Collection,
        feedback: Option<Feedback>,
    ) -> Result<Runs, String> {
        let mut runs = Vec::new();
        for (id, text) in &collection.queries {
            if collection.qrels.get(id).is_none_or(|r| r.is_empty()) {
                continue;
            }
            let (text_hits, vector_hits) = self
                .search
                .candidates(text, Scope::Org(self.org), Legs::Hybrid, feedback)
                .await
                .map_err(|e| e.to_string())?;
            runs.push((id.clone(), text_hits, vector_hits));
        }
        Ok(Runs { runs })
    }

    /// nDCG@10 and recall@10 of a ranking over one half of the queries.
    pub fn score(
        &self,
        collection: &Collection,
        runs: &Runs,
        ranking: Ranking,
        half: Half,
    ) -> Scores {
        let mut total = Scores::default();
        for (id, text_hits, vector_hits) in runs.runs.iter().filter(|(id, ..)| half.keeps(id)) {
            let hits = match ranking {
                Ranking::Text => text_hits.clone(),
                Ranking::Vector => vector_hits.clone(),
                Ranking::Fused(fusion) => super::fusion::fuse(text_hits, vector_hits, fusion, 10),
            };
            let ranked: Vec<&str> = hits
                .iter()
                .take(10)
                .filter_map(|(m, _)| self.doc_of.get(m).map(String::as_str))
                .collect();
            let relevant = &collection.qrels[id];
            total.ndcg += ndcg_at_10(&ranked, relevant);
            total.recall += recall_at_10(&ranked, relevant);
            total.queries += 1;
        }
        if total.queries > 0 {
            total.ndcg /= total.queries as f64;
            total.recall /= total.queries as f64;
        }
        total
    }
}

pub fn ndcg_at_10(ranked: &[&str], relevant: &HashMap<String, f64>) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, doc)| relevant.get(*doc).copied().unwrap_or(0.0) / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<f64> = relevant.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, gain)| gain / (i as f64 + 2.0).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

pub fn recall_at_10(ranked: &[&str], relevant: &HashMap<String, f64>) -> f64 {
    let found = ranked
        .iter()
        .take(10)
        .filter(|doc| relevant.contains_key(**doc))
        .count();
    found as f64 / relevant.len() as f64
}

/// The feedback settings `skein eval` tries on the odd queries.
pub fn feedback_candidates() -> Vec<Option<Feedback>> {
    let mut all = vec![None];
    for docs in [3, 5, 10] {
        for weight in [1.0, 2.0, 4.0, 8.0] {
            all.push(Some(Feedback { docs, weight }));
        }
    }
    all
}

/// The fusions `skein eval` tries on the odd queries.
pub fn candidates() -> Vec<Fusion> {
    let mut all = Vec::new();
    for k in [5.0, 10.0, 20.0, 40.0, 60.0] {
        for w in [0.2, 0.3, 0.4, 0.5] {
            all.push(Fusion::Rrf {
                k,
                vector_weight: w,
            });
        }
    }
    for w in [0.1, 0.2, 0.3, 0.4, 0.5] {
        all.push(Fusion::Weighted { vector_weight: w });
    }
    all
}

/// Indexes the collection in `dir` and reports nDCG@10 and recall@10 per leg, with the fusion
/// chosen on the odd queries and measured on the even ones.
pub async fn report(dir: &Path, embedder: Arc<dyn Embedder>) -> Result<String, String> {
    let collection = load(dir)?;
    let started = std::time::Instant::now();
    let indexed = index(&collection, embedder.clone()).await?;
    let index_time = started.elapsed();
    // Pure legs: no feedback. Hybrid: tune feedback and fusion together on the odd half only.
    let plain = indexed.run(&collection, None).await?;
    let mut tuned: Vec<(Option<Feedback>, Fusion, f64)> = Vec::new();
    let mut feedback_runs = Vec::new();
    for feedback in feedback_candidates() {
        let runs = indexed.run(&collection, feedback).await?;
        for fusion in candidates() {
            let ndcg = indexed
                .score(&collection, &runs, Ranking::Fused(fusion), Half::Odd)
                .ndcg;
            tuned.push((feedback, fusion, ndcg));
        }
        feedback_runs.push((feedback, runs));
    }
    tuned.sort_by(|a, b| b.2.total_cmp(&a.2));
    let (chosen_feedback, chosen, _) = tuned[0];
    let runs_for = |feedback: Option<Feedback>| {
        &feedback_runs
            .iter()
            .find(|(f, _)| *f == feedback)
            .expect("tried")
            .1
    };

    let mut out = String::new();
    let judged = collection.qrels.len();
    out.push_str(&format!(
        "collection: {} documents, {} queries ({judged} judged); embedder {}; indexed in {:.2} s\n\n",
        collection.docs.len(),
        collection.queries.len(),
        embedder.model(),
        index_time.as_secs_f64()
    ));
    out.push_str("                 nDCG@10                  recall@10\n");
    out.push_str("leg              odd     even    all      odd     even    all\n");
    let rows = [
        ("BM25", &plain, Ranking::Text),
        ("vector", &plain, Ranking::Vector),
        (
            "hybrid (tuned)",
            runs_for(chosen_feedback),
            Ranking::Fused(chosen),
        ),
        (
            "hybrid (default)",
            runs_for(super::DEFAULT_FEEDBACK),
            Ranking::Fused(super::DEFAULT_FUSION),
        ),
    ];
    for (name, runs, ranking) in rows {
        let [odd, even, all] = [Half::Odd, Half::Even, Half::All]
            .map(|half| indexed.score(&collection, runs, ranking, half));
        out.push_str(&format!(
            "{name:<16} {:.4}  {:.4}  {:.4}   {:.4}  {:.4}  {:.4}\n",
            odd.ndcg, even.ndcg, all.ndcg, odd.recall, even.recall, all.recall
        ));
    }
    out.push_str(&format!("\ntuned on odd queries: {chosen:?}, feedback {chosen_feedback:?}\nbest five on odd queries:\n"));
    for (feedback, fusion, ndcg) in tuned.iter().take(5) {
        out.push_str(&format!("  {ndcg:.4}  {fusion:?}, feedback {feedback:?}\n"));
    }
    out.push_str(&format!(
        "default: {:?}, feedback {:?}\n",
        super::DEFAULT_FUSION,
        super::DEFAULT_FEEDBACK
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        let relevant: HashMap<String, f64> =
            [("a".to_string(), 1.0), ("b".to_string(), 1.0)].into();
        assert!((ndcg_at_10(&["a", "b", "c"], &relevant) - 1.0).abs() < 1e-9);
        assert!(ndcg_at_10(&["c", "a"], &relevant) < 1.0);
        assert_eq!(recall_at_10(&["c", "a"], &relevant), 0.5);
        assert_eq!(ndcg_at_10(&[], &relevant), 0.0);
    }
}
