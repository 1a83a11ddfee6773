//! The best `k` of a stream of scored items, for both legs' top-k.
//!
//! Items are appended to a buffer of up to `2k`; when it fills, a selection
//! (`select_nth_unstable`, linear) keeps the best `k` and raises the threshold to the k-th best
//! score. Each item costs an append instead of a heap's logarithmic sift, which mattered when
//! the vector leg shortlists a thousand rows out of 100k.

/// The best `k` items so far, ordered by score, then by the item itself among equal scores.
pub struct BestK<T> {
    k: usize,
    items: Vec<(Ordered, T)>,
    /// The k-th best score once k items were seen (until then, any score enters): most items
    /// score below it, and one float comparison turns them away.
    threshold: f32,
}

impl<T: Ord> BestK<T> {
    pub fn new(k: usize) -> BestK<T> {
        BestK {
            k,
            items: Vec::with_capacity(2 * k),
            threshold: if k == 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            },
        }
    }

    /// The best `k` among items scoring at least `floor` (a bound known beforehand; if fewer
    /// than `k` reach it, the others are missing: see [`len`](Self::len)).
    pub fn above(k: usize, floor: f32) -> BestK<T> {
        let mut best = BestK::new(k);
        best.threshold = best.threshold.max(floor);
        best
    }

    /// How many items are kept (at most `k` once ranked).
    pub fn len(&self) -> usize {
        self.items.len().min(self.k)
    }

    /// The score an item needs to be looked at (ties are settled by the item's order).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Whether an item of `score` could enter.
    pub fn accepts(&self, score: f32) -> bool {
        self.k > 0 && score >= self.threshold
    }

    pub fn push(&mut self, score: f32, item: T) {
        if !self.accepts(score) {
            return;
        }
        self.items.push((Ordered(score), item));
        if self.items.len() == 2 * self.k {
            self.keep_best();
        }
    }

    /// Drops all but the best `k` and raises the threshold to the k-th best score.
    fn keep_best(&mut self) {
        let k = self.k;
        self.items.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
        self.items.truncate(k);
        self.threshold = self.items[k - 1].0 .0;
    }

    /// The best `k`, best first.
    pub fn into_sorted(mut self) -> Vec<(f32, T)> {
        self.items.sort_unstable_by(|a, b| b.cmp(a));
        self.items.truncate(self.k);
        self.into_pairs()
    }

    /// The best `k` in no order, for a caller that ranks them again anyway.
    pub fn into_unordered(mut self) -> Vec<(f32, T)> {
        if self.items.len() > self.k {
            self.keep_best();
        }
        self.into_pairs()
    }

    fn into_pairs(self) -> Vec<(f32, T)> {
        self.items
            .into_iter()
            .map(|(score, item)| (score.0, item))
            .collect()
    }
}

/// A score with a total order.
#[derive(Clone, Copy, PartialEq)]
struct Ordered(f32);
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;

    #[test]
    fn keeps_the_best_k_in_order_with_ties_settled_by_the_item() {
        let scores: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 101) as f32).collect();
        for k in [0, 1, 3, 10, 100, 2000] {
            let (mut best, mut unordered) = (BestK::new(k), BestK::new(k));
            for (i, score) in scores.iter().enumerate() {
                best.push(*score, Reverse(i));
                unordered.push(*score, Reverse(i));
            }
            let mut expected: Vec<(f32, Reverse<usize>)> = scores
                .iter()
                .enumerate()
                .map(|(i, s)| (*s, Reverse(i)))
                .collect();
            expected.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            expected.truncate(k);
            assert_eq!(best.into_sorted(), expected, "k = {k}");
            let mut unordered = unordered.into_unordered();
            unordered.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            assert_eq!(unordered, expected, "k = {k}, unordered");
        }
    }
}
