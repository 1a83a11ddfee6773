//! What a count counts: the dimension right after "number of" or "how many", and values said
//! in the plural that name the rows ("deaths" for rows whose type is Death).

use super::ranking::asked_each;
use crate::pipeline::text::is_plural;
use std::ops::Range;

/// Which of the dimensions (by the words that named them) a count counts the distinct values
/// of: the one right after "number of" / "how many" / "count of", else the first not asked "by"
/// ("top 3 manufacturers by number of models" counts models).
pub(super) fn counted_dimension(tokens: &[String], spans: &[Range<usize>]) -> Option<usize> {
    let counted_at = tokens.windows(2).position(|pair| {
        matches!(
            (pair[0].as_str(), pair[1].as_str()),
            ("number" | "count", "of") | ("how", "many")
        )
    });
    counted_at
        .and_then(|at| spans.iter().position(|span| span.start == at + 2))
        .or_else(|| spans.iter().position(|span| !asked_each(tokens, span)))
}

/// Whether `word` is a value said in the plural ("deaths" for "Death"), naming rows that have it.
pub(super) fn names_rows(word: &str, value: &str) -> bool {
    let value = value.to_lowercase();
    is_plural(word) && !is_plural(&value) && !value.contains(' ') && word != value
}
