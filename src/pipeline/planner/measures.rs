//! Measures: the one people most likely mean, how a column combines, row and distinct
//! counts, their labels, and example questions in the dataset's own words.

use super::concepts::ROW_NOUNS;
use super::{Agg, Measure};
use crate::model::{Aggregate, Column, ColumnRole, Dataset};
use crate::pipeline::text::{is_plural, singular, title_case, words};

/// The measure people most likely mean: money first, then any measure with a unit, then the first.
pub(super) fn default_measure(dataset: &Dataset) -> Measure {
    let measures: Vec<&Column> = dataset
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Measure)
        .collect();
    let is_money = |c: &&&Column| {
        c.unit.as_deref().is_some_and(|u| {
            u == "$"
                || u == "€"
                || u == "£"
                || (u.len() == 3 && u.chars().all(|ch| ch.is_ascii_uppercase()))
        })
    };
    let choice = measures
        .iter()
        .find(is_money)
        .or_else(|| measures.iter().find(|c| c.unit.is_some()))
        .or(measures.first());
    match choice {
        Some(column) => aggregate_measure(dataset, &column.name, default_agg(column)),
        None => count_measure(dataset.columns.iter().find(|c| c.role == ColumnRole::Id)),
    }
}

/// How a measure combines when the question names no aggregation (see `datasets::roles`).
pub(super) fn default_agg(column: &Column) -> Agg {
    match column.aggregate {
        Some(Aggregate::Sum) => Agg::Sum,
        Some(Aggregate::Min) => Agg::Min,
        Some(Aggregate::Max) => Agg::Max,
        Some(Aggregate::Last) => Agg::Last,
        Some(Aggregate::Avg) | None => Agg::Avg,
    }
}

pub(super) fn aggregate_measure(dataset: &Dataset, column: &str, agg: Agg) -> Measure {
    let found = dataset.columns.iter().find(|c| c.name == column);
    let noun = found.map(noun).unwrap_or_else(|| column.replace('_', " "));
    let prefix = agg.prefix();
    let label = title_case(&format!("{prefix} {noun}"));
    Measure {
        agg,
        column: Some(column.to_string()),
        term_sql: None,
        alias: snake(&label),
        label,
        unit: found.and_then(|c| c.unit.clone()),
    }
}

/// The number of rows, named as the question named them ("how many penguins": "Number of
/// Penguins"); generic names ("rows", "records") give "Number of Rows".
pub(super) fn rows_measure(entity: &str) -> Measure {
    if ROW_NOUNS.contains(&singular(entity)) {
        return count_measure(None);
    }
    let plural = if is_plural(entity) {
        entity.to_string()
    } else {
        format!("{entity}s")
    };
    Measure {
        agg: Agg::Count,
        column: None,
        term_sql: None,
        label: title_case(&format!("number of {plural}")),
        alias: "row_count".into(),
        unit: None,
    }
}

pub(super) fn count_measure(column: Option<&Column>) -> Measure {
    let plural = column
        .map(plural_noun)
        .unwrap_or_else(|| "rows".to_string());
    let singular = column.map(noun).unwrap_or_else(|| "row".to_string());
    Measure {
        agg: Agg::Count,
        column: column.map(|c| c.name.clone()),
        term_sql: None,
        label: title_case(&format!("number of {plural}")),
        alias: format!("{}_count", snake(&singular)),
        unit: None,
    }
}

/// A one-word name for a column: a one-word column name as it is ("region"), else its first
/// one-word synonym, singular for categories ("customer") and as written for measures ("sales").
pub fn noun(column: &Column) -> String {
    if !column.name.contains('_') && column.role != ColumnRole::Measure {
        return column.name.clone();
    }
    let one_word = |s: &&String| !s.contains(' ');
    let synonym = if column.role == ColumnRole::Measure {
        column.synonyms.iter().find(one_word)
    } else {
        column
            .synonyms
            .iter()
            .filter(one_word)
            .find(|s| !is_plural(s))
            .or_else(|| column.synonyms.iter().find(one_word))
    };
    synonym
        .cloned()
        .unwrap_or_else(|| column.name.replace('_', " "))
}

pub fn plural_noun(column: &Column) -> String {
    if let Some(plural) = column
        .synonyms
        .iter()
        .find(|s| !s.contains(' ') && is_plural(s))
    {
        return plural.clone();
    }
    let singular = noun(column);
    if is_plural(&singular) {
        singular
    } else if let Some(stem) = singular.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{singular}s")
    }
}

/// "Total Sales" → "total_sales"; a name SQL can take unquoted, so never starting with a digit
/// ("90th Percentile Price" → "p90th_percentile_price").
pub(super) fn snake(text: &str) -> String {
    let name = words(text).join("_");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p{name}")
    } else {
        name
    }
}

/// Example questions phrased in this dataset's own words.
pub(super) fn examples(dataset: &Dataset) -> Vec<String> {
    let default = default_measure(dataset);
    let measure = default
        .column
        .as_ref()
        .and_then(|name| dataset.columns.iter().find(|c| &c.name == name))
        .map(noun)
        .unwrap_or_else(|| "rows".into());
    let dimensions: Vec<&Column> = dataset
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Dimension)
        .collect();
    let mut examples = vec![format!("total {measure} by month")];
    if let Some(first) = dimensions.first() {
        examples.push(format!("top 5 {} by {measure}", plural_noun(first)));
    }
    if let Some(last) = dimensions.last() {
        examples.push(format!("{measure} by {}", noun(last)));
    }
    if let Some(id) = dataset.columns.iter().find(|c| c.role == ColumnRole::Id) {
        examples.push(format!("how many {} last year", plural_noun(id)));
    }
    examples.push(format!("average {measure} in the last 30 days"));
    examples
}

/// Whether adding the measure's values across groups gives a meaningful total.
pub fn additive(measure: &Measure) -> bool {
    match (&measure.term_sql, measure.agg, &measure.column) {
        (Some(sql), _, _) => single_call(sql, "SUM") || single_call(sql, "COUNT"),
        (None, Agg::Sum, _) | (None, Agg::Count, None) => true,
        _ => false,
    }
}

/// `SUM(...)` as the whole expression, not `SUM(a) / COUNT(b)`.
fn single_call(sql: &str, function: &str) -> bool {
    let sql = sql.trim();
    let Some(args) = sql
        .get(..function.len() + 1)
        .filter(|head| head.eq_ignore_ascii_case(&format!("{function}(")))
        .map(|_| &sql[function.len() + 1..])
    else {
        return false;
    };
    let mut depth = 1;
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return i == args.len() - 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_sums_and_row_counts_add_up() {
        assert!(single_call("SUM(total_sales_amount)", "SUM"));
        assert!(single_call("sum(a * b)", "SUM"));
        assert!(!single_call("SUM(a) / COUNT(DISTINCT b)", "SUM"));
        assert!(!single_call("AVG(a)", "SUM"));
    }
}
