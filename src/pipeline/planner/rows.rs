//! Row-level questions: "the heaviest penguin", "top 5 most expensive diamonds". The adjective
//! names a quantity ("heaviest": weight or mass); the column it ranks by is the measure the
//! question names, or else the one measure named by that quantity.

use super::concepts::column_words;
use crate::model::{Column, ColumnRole, Dataset};

/// The column an adjective such as "heaviest" ranks by, or `None` when it is not clear: the
/// named measure must be about the adjective's quantity; without one, the only measure that
/// is, or among several the one that keeps maxima when ranking down ("hottest": temp_max).
pub(super) fn adjective_column<'a>(
    dataset: &'a Dataset,
    quantities: &[&str],
    descending: bool,
    named: Option<&'a Column>,
) -> Option<&'a Column> {
    let about = |column: &Column| {
        column.role == ColumnRole::Measure
            && column_words(column).any(|w| quantities.contains(&w.as_str()))
    };
    if let Some(named) = named {
        return about(named).then_some(named);
    }
    let candidates: Vec<&Column> = dataset.columns.iter().filter(|c| about(c)).collect();
    if let [only] = candidates.as_slice() {
        return Some(*only);
    }
    // "price" itself, over "min_price" and "max_price".
    let mut plain = candidates.iter().filter(|c| {
        let name: Vec<String> = column_words(c).take(words_in_name(c)).collect();
        matches!(name.as_slice(), [one] if quantities.contains(&one.as_str()))
    });
    if let (Some(one), None) = (plain.next(), plain.next()) {
        return Some(*one);
    }
    let extreme = if descending { "max" } else { "min" };
    let mut keeping = candidates
        .iter()
        .filter(|c| column_words(c).any(|w| w == extreme || w == format!("{extreme}imum")));
    match (keeping.next(), keeping.next()) {
        (Some(one), None) => Some(*one),
        _ => None,
    }
}

/// How many of a column's words are its name's ("min_price": two), before its synonyms.
fn words_in_name(column: &Column) -> usize {
    crate::pipeline::text::words(&column.name.replace('_', " ")).len()
}
