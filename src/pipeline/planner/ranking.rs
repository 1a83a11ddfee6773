//! Rankings: how many they keep, and whether they rank within each group of another grouping
//! ("the top 3 products in each region") or across all groups.

use super::Within;
use crate::pipeline::text::number_word;
use std::ops::Range;

/// How many a ranking keeps: "5", "three"; never a year ("the 2023 highest").
pub(super) fn ranking_count(word: &str) -> Option<usize> {
    number_word(word).filter(|n| *n < 1000)
}

/// Which grouping a ranking of two partitions: the one asked for "in each", "per", "every" or
/// "by" ("top 3 products by region"); a time grouping always ("top 3 products each year"),
/// `group_span` being `None` for it. Two groupings asked for alike ("top 5 product and region
/// pairs") are ranked together.
pub(super) fn within(
    tokens: &[String],
    group_span: Option<Range<usize>>,
    split_span: Option<Range<usize>>,
) -> Within {
    let asked_each = |span: &Range<usize>| asked_each(tokens, span);
    let Some(split_span) = split_span else {
        return Within::All;
    };
    match group_span {
        None => Within::EachGroup,
        Some(group_span) => match (asked_each(&group_span), asked_each(&split_span)) {
            (true, false) => Within::EachGroup,
            (false, true) => Within::EachSplit,
            _ => Within::All,
        },
    }
}

/// Whether the words at `span` are asked for "in each", "per", "every", "by" or "within".
pub(super) fn asked_each(tokens: &[String], span: &Range<usize>) -> bool {
    span.start > 0
        && matches!(
            tokens[span.start - 1].as_str(),
            "each" | "per" | "every" | "by" | "within"
        )
}
