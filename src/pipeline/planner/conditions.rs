//! Numeric conditions of a question tied to their columns: the comparisons `compare` finds,
//! plus "4 cylinders" (a number naming a numeric column is an equality).

use super::concepts::{column_words, Concept, Found};
use crate::model::{Column, ColumnRole, Dataset};
use crate::pipeline::compare::{self, Comparison, Op};
use crate::pipeline::text::{number_value, word_match, words};

/// The question's numeric comparisons: those `compare::find` reads, and a bare number right
/// before a word naming a numeric column ("cars with 4 cylinders"), an equality.
pub(super) fn find_comparisons(
    tokens: &[String],
    used: &[bool],
    dataset: &Dataset,
) -> Vec<Comparison> {
    let mut comparisons = compare::find(tokens, used);
    for i in 0..tokens.len().saturating_sub(1) {
        let taken = comparisons.iter().any(|c| c.span.contains(&i));
        let names_numeric_column = || {
            dataset.columns.iter().any(|c| {
                c.kind.is_numeric()
                    && c.role != ColumnRole::Id
                    && column_words(c).any(|w| word_match(&tokens[i + 1], &w) >= 2)
            })
        };
        if !used[i] && !taken && names_numeric_column() {
            if let Some(value) = number_value(&tokens[i]) {
                comparisons.push(Comparison {
                    op: Op::Eq,
                    value,
                    upper: None,
                    span: i..i + 1,
                });
            }
        }
    }
    comparisons
}

/// Words that may stand between a column and its comparison ("flipper length of at least").
const LINKS: &[&str] = &[
    "of", "is", "was", "are", "were", "a", "an", "with", "has", "have", "had", "that", "its",
    "their", "where", "whose", "the",
];

/// The column a comparison is about: named right after its number (past unit words and
/// "of": "over 20 mm of precipitation"), right before it ("body mass over 5000"), or by a
/// unit only one numeric column has ("over 5000 g"). Takes that column out of `found`.
pub(super) fn attach(
    tokens: &[String],
    used: &mut [bool],
    found: &mut Vec<Found<'_>>,
    dataset: &Dataset,
    comparison: &Comparison,
) -> Option<String> {
    let is_unit = |token: &str, column: &Column| {
        column
            .unit
            .as_deref()
            .is_some_and(|unit| words(unit).iter().any(|w| word_match(token, w) >= 2))
    };
    let mut after = comparison.span.end;
    let mut unit_columns: Vec<&Column> = Vec::new();
    while after < tokens.len() && !used[after] {
        let with_unit: Vec<&Column> = dataset
            .columns
            .iter()
            .filter(|c| c.kind.is_numeric() && is_unit(&tokens[after], c))
            .collect();
        if with_unit.is_empty() {
            break;
        }
        unit_columns = with_unit;
        after += 1;
    }
    let units = comparison.span.end..after;
    if tokens.get(after).map(String::as_str) == Some("of") {
        after += 1;
    }
    let mut before = comparison.span.start;
    while before > 0 && !used[before - 1] && LINKS.contains(&tokens[before - 1].as_str()) {
        before -= 1;
    }
    let is_numeric_column = |f: &Found<'_>| matches!(&f.concept, Concept::Column(c) if c.kind.is_numeric() && c.role != ColumnRole::Id);
    let position = found
        .iter()
        .position(|f| f.span.start == after && is_numeric_column(f))
        .or_else(|| {
            found
                .iter()
                .position(|f| f.span.end == before && is_numeric_column(f))
        });
    let column = match position {
        Some(index) => {
            let Concept::Column(column) = found.remove(index).concept else {
                unreachable!("checked above")
            };
            column.name.clone()
        }
        None => match unit_columns.as_slice() {
            [only] => only.name.clone(),
            _ => return None,
        },
    };
    for i in units {
        used[i] = true;
    }
    Some(column)
}

pub(super) fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}
