//! Measures turned into something else once computed: a share of the total ("what share of
//! penguins are Gentoo", "share of sales by region") or a change between two periods ("by how
//! much did generation change between 2001 and 2017").

use super::read::Intent;
use super::{additive, Derived, Group};
use crate::pipeline::timeframe::find_span;
use chrono::NaiveDate;

pub(super) const SHARE_WORDS: &[&str] =
    &["share", "percentage", "percent", "proportion", "fraction"];

pub(super) const CHANGE_WORDS: &[&str] = &[
    "change",
    "changed",
    "grow",
    "grew",
    "growth",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "difference",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Share,
    Change,
}

impl Asked {
    pub(super) fn of(word: &str) -> Option<Asked> {
        if SHARE_WORDS.contains(&word) {
            Some(Asked::Share)
        } else if CHANGE_WORDS.contains(&word) {
            Some(Asked::Change)
        } else {
            None
        }
    }
}

/// The derived measure asked for, when the rest of the question lets it be computed: shares
/// only of what adds up, and of something named (a grouping, or values); changes only between
/// two periods the question names, of a measure that is not itself split by time.
pub(super) fn settle(
    asked: Asked,
    intent: &Intent,
    tokens: &[String],
    anchor: NaiveDate,
) -> Option<Derived> {
    let measure = intent.measure.as_ref()?;
    if intent.listing {
        return None;
    }
    match asked {
        Asked::Share => {
            let of_groups = intent.group.is_some() && additive(measure);
            let of_values = intent.group.is_none()
                && !intent.filters.is_empty()
                && measure.term_sql.is_none()
                && additive(measure);
            (of_groups || of_values).then_some(Derived::Share)
        }
        Asked::Change => {
            let over_time = matches!(intent.group, Some(Group::Time { .. } | Group::Cycle { .. }));
            if measure.term_sql.is_some() || over_time || intent.split.is_some() {
                return None;
            }
            let (from, to) = find_span(tokens, anchor)?;
            // The span must be the range the rows were limited to, not another one.
            let range = intent.range.as_ref()?;
            (range.start == from.start && range.end == to.end)
                .then_some(Derived::Change { from, to })
        }
    }
}
