//! Reading one question: which words say what (time frame, grain, comparisons, concepts,
//! aggregation, ranking), settled into an [`Intent`]. Every word used is marked; what is
//! left over, unless filler, makes the question unanswerable by the planner.

use super::concepts::{
    absorb_descriptions, entity_words, find_concepts, row_periods, rows_may_not_be,
    values_named_each, words_of_values, Concept,
};
use super::conditions::{attach, find_comparisons, number_text};
use super::counting::{counted_dimension, names_rows};
use super::derived::{self, Asked};
use super::grammar::{self, Grammar};
pub(super) use super::intent::Intent;
use super::measures::{
    aggregate_measure, count_measure, default_agg, default_measure, noun, rows_measure, snake,
};
use super::ranking::{self, ranking_count};
use super::rows;
use super::when::{self, When};
use super::{group_column, Agg, Condition, Derived, Filter, Group, Measure, Ranking, Within};
use crate::datasets::Profile;
use crate::model::{Column, ColumnRole, Dataset};
use crate::pipeline::coverage;
use crate::pipeline::text::{
    is_plural, is_size_superlative, number_word, quantity_superlative, superlative, title_case,
    word_match, words, words_as_written,
};
use crate::pipeline::timeframe::Grain;
use chrono::NaiveDate;

/// Reads what a question says about the dataset, marking every word it uses.
pub(super) fn read(
    question: &str,
    dataset: &Dataset,
    profile: &Profile,
    time_column: Option<&str>,
    anchor: NaiveDate,
) -> Intent {
    let tokens = words(question);
    let mut used = vec![false; tokens.len()];
    let mut intent = Intent::default();
    let mark = |used: &mut Vec<bool>, range: std::ops::Range<usize>, on: bool| {
        for i in range {
            if let Some(slot) = used.get_mut(i) {
                *slot = on;
            }
        }
    };

    let When {
        cycle,
        mut grain,
        grain_span,
    } = when::read(
        &tokens,
        &mut used,
        &mut intent,
        time_column,
        profile,
        anchor,
    );
    // The number of a ranking ("top 5", "the 3 heaviest") is neither a value nor a comparison.
    let ranks = |i: usize, before: &str| {
        superlative(&tokens[i]).is_some() || quantity_superlative(&tokens[i], before).is_some()
    };
    for i in 0..tokens.len().saturating_sub(1) {
        if matches!(tokens[i].as_str(), "top" | "bottom" | "best" | "worst")
            && number_word(&tokens[i + 1]).is_some()
        {
            used[i + 1] = true;
        }
        if !used[i] && ranking_count(&tokens[i]).is_some() && ranks(i + 1, &tokens[i]) {
            used[i] = true;
        }
    }
    let comparisons = find_comparisons(&tokens, &used, dataset);
    for comparison in &comparisons {
        mark(&mut used, comparison.span.clone(), true);
    }

    let written = words_as_written(question);
    let mut found = find_concepts(&tokens, &written, &mut used, dataset, profile);
    absorb_descriptions(&tokens, &mut used, &found);
    // "Ford cars": a word that only ever appears inside one column's values ("ford pinto").
    // Words naming the rows themselves: "penguins", "cars", "days" over daily data.
    let entities = entity_words(dataset, profile);
    for (at, column) in words_of_values(&tokens, &used, dataset, profile, &entities) {
        used[at] = true;
        intent
            .understood
            .push(format!("{} contains {:?}", column.name, tokens[at]));
        intent.filters.push(Filter {
            column: column.name.clone(),
            values: vec![tokens[at].clone()],
            contains: true,
        });
    }

    for comparison in comparisons {
        match attach(&tokens, &mut used, &mut found, dataset, &comparison) {
            Some(column) => {
                intent.understood.push(format!(
                    "{column} {} {}",
                    comparison.op.words(),
                    number_text(comparison.value)
                ));
                intent.conditions.push(Condition {
                    column,
                    op: comparison.op,
                    value: comparison.value,
                    upper: comparison.upper,
                });
            }
            // Unattached, its words stay unused and the question is refused naming them.
            None => mark(&mut used, comparison.span, false),
        }
    }

    // The rows themselves: "penguins" in "how many penguins", "cars" in "the most cars".
    let mut entity_named: Option<&str> = None;
    for i in 0..tokens.len() {
        if !used[i] && entities.iter().any(|e| word_match(&tokens[i], e) >= 2) {
            used[i] = true;
            entity_named = entity_named.or(Some(&tokens[i]));
        }
    }

    // Grammar of the rest: aggregation, ranking, counting, references to the last question.
    let Grammar {
        mut agg,
        asks_when,
        counting,
        mut ranking,
        adjective,
        mut derived_asked,
        refers_back,
        superlative_at,
    } = grammar::read(&tokens, &mut used, &found, time_column.is_some());
    intent.refers_back = refers_back;

    // "Biscoe or Dream": alternatives of one column, read as one filter.
    for (before, after) in found.iter().zip(found.iter().skip(1)) {
        if let (Concept::Value(a, _), Concept::Value(b, _)) = (&before.concept, &after.concept) {
            let between = before.span.end..after.span.start;
            if a.name == b.name && between.len() == 1 && tokens[between.start] == "or" {
                used[between.start] = true;
            }
        }
    }
    // Settle the concepts.
    let mut measure_column: Option<&Column> = None;
    let mut term: Option<usize> = None;
    let mut id_column: Option<&Column> = None;
    let mut dimensions: Vec<(&Column, String, std::ops::Range<usize>)> = Vec::new();
    for item in &found {
        match &item.concept {
            Concept::Term(index) => {
                term = Some(*index);
                intent
                    .understood
                    .push(format!("the term {:?}", dataset.terms[*index].name));
            }
            Concept::Value(column, value) => {
                intent
                    .understood
                    .push(format!("{} = {value:?}", column.name));
                match intent.filters.iter_mut().find(|f| f.column == column.name) {
                    Some(filter) if !filter.values.contains(value) => {
                        filter.values.push(value.clone())
                    }
                    Some(_) => {}
                    None => intent.filters.push(Filter {
                        column: column.name.clone(),
                        values: vec![value.clone()],
                        contains: false,
                    }),
                }
            }
            Concept::Column(column) => {
                intent
                    .understood
                    .push(format!("the column {}", column.name));
                let after_by = item.span.start > 0
                    && matches!(tokens[item.span.start - 1].as_str(), "by" | "per");
                match column.role {
                    // "Average displacement by cylinders": a number grouped on, like a category.
                    ColumnRole::Measure if after_by && measure_column.is_some() => {
                        dimensions.push((column, item.last_word.clone(), item.span.clone()))
                    }
                    ColumnRole::Measure if measure_column.is_none() => {
                        measure_column = Some(column)
                    }
                    ColumnRole::Measure => {
                        // A second measure: which one to compute is unclear.
                        mark(&mut used, item.span.clone(), false)
                    }
                    ColumnRole::Id => id_column = id_column.or(Some(column)),
                    ColumnRole::Dimension => {
                        dimensions.push((column, item.last_word.clone(), item.span.clone()))
                    }
                    ColumnRole::Time => {
                        // A time column called "year" groups by year.
                        let named = Grain::parse(&item.last_word).unwrap_or(Grain::Day);
                        if grain.is_none() {
                            grain = Some((column.name.clone(), named));
                        }
                    }
                }
            }
        }
    }
    // "Heaviest" is about the measure named, or else the one measure it can only mean.
    if let Some((at, quantities, descending)) = adjective {
        match rows::adjective_column(dataset, quantities, descending, measure_column) {
            Some(column) => measure_column = Some(column),
            None => used[at] = false,
        }
    }
    // "Average yearly generation": the measure per year, then the average of those values,
    // not the average of the rows grouped by year.
    let mut per_period: Option<(Grain, Agg)> = None;
    if let (Some(outer), Some(span), Some((_, inner_grain))) = (agg, &grain_span, &grain) {
        let rate = match span.len() {
            1 => matches!(
                tokens[span.start].as_str(),
                "daily" | "weekly" | "monthly" | "quarterly" | "yearly" | "annually" | "annual"
            ),
            _ => matches!(tokens[span.start].as_str(), "per" | "a" | "each" | "every"),
        };
        // Over one row per day, "average precipitation per day" is the average of the rows.
        let per_row = grain.as_ref().is_some_and(|(column, g)| {
            row_periods(profile).any(|(c, period)| c == column && period == *g)
        });
        if rate && per_row {
            grain = None;
        } else if rate {
            per_period = Some((*inner_grain, outer));
            grain = None;
            agg = None;
        }
    }
    // "When was …": the answer is a time, so group by the time column.
    if let (true, None, None, Some(column)) = (asks_when, &grain, &cycle, time_column) {
        grain = Some((column.to_string(), Grain::Day));
    }
    // A dimension named together with one of its values is a filter, not a grouping.
    dimensions.retain(|(column, _, _)| !intent.filters.iter().any(|f| f.column == column.name));
    // "Sales for West and East by year" shows each region, not their sum (which it would be
    // easy to take for one of them); "West or East" is one group.
    if ranking.is_none() {
        if let Some(each) = values_named_each(&tokens, &found, &intent.filters) {
            dimensions.push(each);
        }
    }
    // "How many days had …" over one row per day counts rows, though a column is called
    // "day"; distinct values of a day-of-month (or month-of-year) column are never what is
    // meant. Years do not repeat, so "how many years" counts distinct years.
    if counting && entity_named.is_none() {
        if let Some(at) = dimensions.iter().position(|(column, _, _)| {
            Grain::parse(&column.name.to_lowercase()).is_some_and(|g| g != Grain::Year)
        }) {
            let (_, word, span) = dimensions.remove(at);
            if entities.iter().any(|e| word_match(&word, e) >= 2) {
                entity_named = Some(&tokens[span.end - 1]);
            } else {
                mark(&mut used, span, false);
            }
        }
    }
    // "Deaths by day", "the most deaths" where a row's type is "Death": a value named in the
    // plural names the rows, which are counted when nothing else is measured.
    let mut rows_named_by_value = false;
    if entity_named.is_none() && measure_column.is_none() && term.is_none() && agg.is_none() {
        entity_named = found.iter().find_map(|f| match &f.concept {
            Concept::Value(_, value) if names_rows(&f.last_word, value) => {
                Some(tokens[f.span.end - 1].as_str())
            }
            _ => None,
        });
        rows_named_by_value = entity_named.is_some();
    }
    // "How many species": distinct values of a dimension; "how many penguins per species":
    // rows (the entity was named), grouped by the dimension; "number of orders": the id. A
    // dimension asked "by" or "per" groups; it is never the thing counted.
    let count_dimension = if counting && id_column.is_none() && entity_named.is_none() {
        let spans: Vec<_> = dimensions.iter().map(|(_, _, span)| span.clone()).collect();
        counted_dimension(&tokens, &spans).map(|at| dimensions.remove(at).0)
    } else {
        None
    };
    let mut dimensions = dimensions.into_iter();
    // "Which island has the most penguins": a ranking of the rows themselves counts them.
    // "Days with more than 30 mm of precipitation": the column of a condition on the rows
    // named is not the measure; the rows are counted.
    if let (Some(column), Some(_), None) = (measure_column, entity_named, agg) {
        if intent.conditions.iter().any(|c| c.column == column.name) {
            measure_column = None;
        }
    }
    // A ranking counts rows only of groups ("which island has the most penguins"); "the
    // largest diamond" ranks by something the question does not name. Rows named, grouped or
    // narrowed, with nothing measured are counted ("penguins by island and species", "days
    // with more than 30 mm of rain").
    let grouped = !dimensions.as_slice().is_empty() || grain.is_some() || cycle.is_some();
    let narrowed = !intent.conditions.is_empty() || !intent.filters.is_empty();
    let implied = measure_column.is_none() && agg.is_none() && (grouped || narrowed);
    let count_rows = entity_named.is_some()
        && (counting || rows_named_by_value || implied)
        && term.is_none()
        && id_column.is_none();
    // "The largest diamond": largest by what the question does not say; not a guess. (An
    // order, named by its id column, is sized by the dataset's main measure: "smallest order".)
    if let (Some(at), None, None, None, None, false) = (
        superlative_at,
        measure_column,
        term,
        adjective,
        id_column,
        grouped || count_rows || counting,
    ) {
        used[at] = false;
    }
    // "How many stocks" over monthly prices of a few stocks: the dataset is called "stocks" but
    // a row is a stock in a month, so counting rows would not count stocks. (Rows with a value
    // named are just those rows.)
    let rows_uncertain = !rows_named_by_value
        && entity_named.is_some_and(|word| rows_may_not_be(dataset, profile, word));
    if (count_rows || (counting && entity_named.is_some())) && rows_uncertain {
        if let Some(at) = tokens.iter().position(|t| Some(t.as_str()) == entity_named) {
            used[at] = false;
        }
    }

    intent.measure = if let Some(index) = term {
        let term = &dataset.terms[index];
        Some(Measure {
            agg: Agg::Sum,
            column: None,
            term_sql: Some(term.sql.clone()),
            label: title_case(&term.name),
            alias: snake(&term.name),
            unit: term.unit.clone(),
        })
    } else if let (true, Some(entity)) = (count_rows, entity_named) {
        // Only implied by naming the rows: a follow-up keeps the measure it had.
        intent.implied_count = !counting && !rows_named_by_value;
        Some(rows_measure(entity))
    } else if counting
        || (measure_column.is_none() && id_column.is_some() && agg.is_none() && ranking.is_none())
    {
        Some(count_measure(count_dimension.or(id_column)))
    } else {
        let agg = agg.or(match ranking {
            Some((descending, _, true)) if dimensions.len() == 0 && grain.is_none() => {
                Some(if descending { Agg::Max } else { Agg::Min })
            }
            _ => None,
        });
        match (measure_column, agg) {
            (Some(column), agg) => Some(aggregate_measure(
                dataset,
                &column.name,
                agg.unwrap_or_else(|| default_agg(column)),
            )),
            (None, Some(agg)) => {
                let default = default_measure(dataset);
                default
                    .column
                    .as_deref()
                    .map(|c| aggregate_measure(dataset, c, agg))
                    .or(Some(default))
            }
            (None, None) => None,
        }
    };

    // "Lowest city mpg by manufacturer": the extreme within each group, not a ranking of groups
    // (that is asked "which manufacturer has the lowest city mpg").
    if let (Some((descending, None, true)), Some(measure)) = (ranking, &intent.measure) {
        let asks_which = tokens
            .iter()
            .any(|t| matches!(t.as_str(), "which" | "what" | "who"));
        let modifies_measure = found.iter().any(|f| {
            matches!(&f.concept, Concept::Column(c) if Some(&c.name) == measure.column.as_ref())
                && f.span.start > 0
                && is_size_superlative(&tokens[f.span.start - 1])
        });
        if !asks_which && modifies_measure && agg.is_none() && measure.term_sql.is_none() {
            if let Some(column) = measure.column.clone() {
                let agg = if descending { Agg::Max } else { Agg::Min };
                intent.measure = Some(aggregate_measure(dataset, &column, agg));
                ranking = None;
            }
        }
    }
    // "Average quantity per order" where an order spans several rows: the id named but not
    // counted would be dropped. (Where every row is one order, the rows are the orders.)
    if let Some(id) = id_column {
        let counted = intent.measure.as_ref().is_some_and(|m| {
            m.agg == Agg::Count
                && (m.column.as_deref() == Some(id.name.as_str()) || m.column.is_none())
        });
        if !counted && !profile.unique_ids.contains(&id.name) {
            for f in found
                .iter()
                .filter(|f| matches!(&f.concept, Concept::Column(c) if c.name == id.name))
            {
                mark(&mut used, f.span.clone(), false);
            }
        }
    }
    // A measure named but not what is computed ("rainy days" read as the rain column, when
    // counting days) would be silently dropped: leave its words unaccounted for.
    if let Some(column) = measure_column {
        let computed =
            intent.measure.as_ref().and_then(|m| m.column.as_ref()) == Some(&column.name);
        if !computed {
            for f in found
                .iter()
                .filter(|f| matches!(&f.concept, Concept::Column(c) if c.name == column.name))
            {
                mark(&mut used, f.span.clone(), false);
            }
        }
    }
    if let (Some(_), Some(span)) = (&cycle, &grain_span) {
        // "By year and month of the year" is two time groupings; one answer shows one.
        mark(&mut used, span.clone(), false);
    }
    // The grouping, the words that named it (none for time), and the split.
    let (group, group_span, split) = match (cycle, grain, dimensions.next()) {
        (Some((column, cycle)), _, split) => (Some(Group::Cycle { column, cycle }), None, split),
        (None, Some((column, grain)), split) => (Some(Group::Time { column, grain }), None, split),
        (None, None, Some((column, _, span))) => (
            Some(Group::Dimension {
                column: column.name.clone(),
                noun: noun(column),
            }),
            Some(span),
            dimensions.next(),
        ),
        (None, None, None) => (None, None, None),
    };
    intent.group = group;
    let group_asked_each = group_span
        .as_ref()
        .is_some_and(|span| ranking::asked_each(&tokens, span));
    let within = ranking::within(&tokens, group_span, split.as_ref().map(|s| s.2.clone()));
    intent.split = split.map(|(column, _, _)| column.name.clone());
    // A third grouping is more than one answer can show: its words stay unaccounted for.
    for (_, _, span) in dimensions {
        mark(&mut used, span, false);
    }
    // "The heaviest penguin", "top 5 penguins by body mass": the rows themselves; "the 2
    // priciest cars in each type": the rows, within each group.
    let plain_measure = intent
        .measure
        .as_ref()
        .is_some_and(|m| m.term_sql.is_none() && m.column.is_some() && m.agg != Agg::Count);
    let rows_within_groups = matches!(intent.group, Some(Group::Dimension { .. }))
        && intent.split.is_none()
        && group_asked_each;
    intent.listing = ranking.is_some()
        && (intent.group.is_none() || rows_within_groups)
        && entity_named.is_some()
        && measure_column.is_some()
        && plain_measure
        && (agg.is_none() || adjective.is_some())
        && !counting;
    if let Some((grain, of)) = per_period {
        // A share or change of per-period values is more than one answer says.
        if let Some((at, _)) = derived_asked.take() {
            used[at] = false;
        }
        // Grouped by a dimension at most: the periods are already one grouping.
        if intent.split.is_some()
            || matches!(intent.group, Some(Group::Time { .. } | Group::Cycle { .. }))
        {
            if let Some(span) = &grain_span {
                mark(&mut used, span.clone(), false);
            }
        }
        intent.derived = Some(Derived::OfPeriods { grain, of });
    }
    if let Some((at, asked)) = derived_asked {
        // "What share of penguins are Gentoo": of the rows named; "which region grew the
        // most": of the measure people most likely mean (the restatement names it).
        if intent.measure.is_none() {
            intent.measure = Some(match (asked, entity_named) {
                (Asked::Share, Some(entity)) => rows_measure(entity),
                _ => default_measure(dataset),
            });
        }
        intent.derived = derived::settle(asked, &intent, &tokens, anchor);
        used[at] = intent.derived.is_some();
    }
    let settled = ranking.and_then(|(descending, n, superlative)| {
        let (limit, within) = if intent.listing {
            let plural = entity_named.is_some_and(is_plural);
            let within = if intent.group.is_some() {
                Within::EachGroup
            } else {
                Within::All
            };
            (n.unwrap_or(if plural { 5 } else { 1 }), within)
        } else if superlative && intent.group.is_none() {
            // A superlative of nothing grouped became the measure's extreme above.
            return None;
        } else {
            // "Which species has the longest …" asks for one, though "species" is plural.
            let plural_asked = found.iter().any(|f| {
                matches!(&f.concept, Concept::Column(c) if Some(&c.name) == group_column(&intent.group))
                    && is_plural(&f.last_word)
                    && !matches!(
                        tokens.get(f.span.end).map(String::as_str),
                        Some("has" | "is" | "was" | "had" | "does" | "did")
                    )
            });
            let within = if intent.split.is_some() {
                within
            } else {
                Within::All
            };
            (n.unwrap_or(if plural_asked { 5 } else { 1 }), within)
        };
        Some(Ranking {
            descending,
            limit: limit.max(1),
            within,
        })
    });
    intent.ranking = settled;
    intent.leftover = coverage::leftover(&tokens, &used);
    intent
}
