//! Fusing the two legs' ranked lists into one.
//!
//! Both methods are kept so `skein eval` can compare them; the default was chosen by measuring
//! nDCG@10 on the odd-numbered Cranfield queries (see `eval` and the README).

use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal rank fusion: Σ weight / (k + rank), ranks from 1.
    Rrf { k: f32, vector_weight: f32 },
    /// Scores divided by each leg's best score, then (1 - w)·text + w·vector.
    Weighted { vector_weight: f32 },
}

/// Merges `text` and `vector` hits (each best first) and keeps the best `limit`.
pub fn fuse(
    text: &[(Uuid, f32)],
    vector: &[(Uuid, f32)],
    fusion: Fusion,
    limit: usize,
) -> Vec<(Uuid, f32)> {
    let mut scores: HashMap<Uuid, f32> = HashMap::with_capacity(text.len() + vector.len());
    match fusion {
        Fusion::Rrf { k, vector_weight } => {
            for (rank, (id, _)) in text.iter().enumerate() {
                *scores.entry(*id).or_default() += (1.0 - vector_weight) / (k + rank as f32 + 1.0);
            }
            for (rank, (id, _)) in vector.iter().enumerate() {
                *scores.entry(*id).or_default() += vector_weight / (k + rank as f32 + 1.0);
            }
        }
        Fusion::Weighted { vector_weight } => {
            let best =
                |hits: &[(Uuid, f32)]| hits.first().map_or(1.0, |h| h.1.max(f32::MIN_POSITIVE));
            let (text_best, vector_best) = (best(text), best(vector));
            for (id, score) in text {
                *scores.entry(*id).or_default() += (1.0 - vector_weight) * score / text_best;
            }
            for (id, score) in vector {
                *scores.entry(*id).or_default() += vector_weight * score.max(0.0) / vector_best;
            }
        }
    }
    let mut fused: Vec<(Uuid, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused.truncate(limit);
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_found_by_both_legs_rise() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let text = [(a, 10.0), (b, 9.0)];
        let vector = [(b, 0.9), (c, 0.8)];
        for fusion in [
            Fusion::Rrf {
                k: 60.0,
                vector_weight: 0.5,
            },
            Fusion::Weighted { vector_weight: 0.5 },
        ] {
            let fused = fuse(&text, &vector, fusion, 2);
            assert_eq!(fused[0].0, b, "{fusion:?}");
            assert_eq!(fused.len(), 2);
        }
    }
}
