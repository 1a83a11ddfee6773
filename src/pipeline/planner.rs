//! The built-in analyst's planner: a question, read against a dataset's columns, notes, values
//! and terms, becomes a [`Plan`]: one measure, at most one grouping (a dimension or a time
//! grain), filters, a time range and an optional top/bottom ranking. A follow-up in the same
//! thread changes the previous plan instead of starting over.

use super::compare::{self, Op};
use super::coverage;
use super::text::{is_plural, number_word, phrase_score, singular, title_case, word_match, words};
use super::timeframe::{find_grain, find_range, Grain, TimeRange};
use crate::datasets::Profile;
use crate::model::{Aggregate, Column, ColumnRole, ColumnType, Dataset};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Agg {
    Sum,
    Avg,
    Min,
    Max,
    /// Distinct values of `column`, or rows when there is none.
    Count,
    Median,
    /// The value at the latest time of the period (levels such as a population).
    Last,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    pub agg: Agg,
    pub column: Option<String>,
    /// A business term's SQL expression, used as is (its aggregation is inside).
    pub term_sql: Option<String>,
    /// "Total Sales", "Number of Orders", "Average Order Value".
    pub label: String,
    /// SQL alias of the measure's result column.
    pub alias: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Group {
    Dimension { column: String, noun: String },
    Time { column: String, grain: Grain },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub column: String,
    pub values: Vec<String>,
}

/// A numeric condition on a column: "body mass over 5000".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub value: f64,
    /// The upper bound of `Op::Between`.
    pub upper: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub descending: bool,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub table: String,
    pub measure: Measure,
    pub group: Option<Group>,
    pub filters: Vec<Filter>,
    /// The time column ranges filter on.
    pub time_column: Option<String>,
    pub range: Option<TimeRange>,
    pub ranking: Option<Ranking>,
    /// The day relative ranges were resolved against, when it is the end of the data.
    pub data_ends: Option<NaiveDate>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// A second dimension each group is split by ("by class and year").
    #[serde(default)]
    pub split: Option<String>,
}

/// A question the planner could not turn into a query, with what it did understand.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    pub understood: Vec<String>,
    /// Words of the question the planner could not place: answering without them would
    /// answer a different question.
    pub leftover: Vec<String>,
    pub examples: Vec<String>,
}

impl PlanError {
    pub fn explain(&self) -> String {
        let mut text = String::from("I couldn't turn this question into a query.");
        if !self.leftover.is_empty() {
            let quoted: Vec<String> = self.leftover.iter().map(|w| format!("\"{w}\"")).collect();
            text.push_str(&format!(
                " I did not understand {}, and answering without {} would answer a different question.",
                quoted.join(", "),
                if self.leftover.len() == 1 { "it" } else { "them" }
            ));
            if !self.understood.is_empty() {
                text.push_str(&format!(" I understood {}.", self.understood.join(", ")));
            }
        } else if self.understood.is_empty() {
            text.push_str(" I didn't recognize any column, value, measure or time period of the dataset in it.");
        } else {
            text.push_str(&format!(
                " I understood {}, but not what to calculate.",
                self.understood.join(", ")
            ));
        }
        text.push_str(" Questions that work look like: ");
        let quoted: Vec<String> = self.examples.iter().map(|e| format!("\"{e}\"")).collect();
        text.push_str(&quoted.join(", "));
        text.push('.');
        text
    }
}

/// What one question says, before it is settled into a plan.
#[derive(Debug, Default)]
struct Intent {
    measure: Option<Measure>,
    group: Option<Group>,
    filters: Vec<Filter>,
    range: Option<TimeRange>,
    ranking: Option<Ranking>,
    /// "that", "now", "instead", "only": the question refers to the previous one.
    refers_back: bool,
    conditions: Vec<Condition>,
    split: Option<String>,
    understood: Vec<String>,
    /// Words not accounted for: any makes the question unanswerable by the planner.
    leftover: Vec<String>,
}

/// Something of the dataset a run of question words named.
#[derive(Debug, Clone)]
enum Concept<'a> {
    Column(&'a Column),
    Value(&'a Column, String),
    Term(usize),
}

struct Found<'a> {
    concept: Concept<'a>,
    /// The question's last word of the match ("customers" in "top customers").
    last_word: String,
    /// Token positions of the match.
    span: std::ops::Range<usize>,
}

/// Plans `question` over `dataset`; `previous` is the plan of the thread's last answer.
pub fn plan(
    question: &str,
    dataset: &Dataset,
    profile: &Profile,
    previous: Option<&Plan>,
    today: NaiveDate,
) -> Result<Plan, PlanError> {
    let time_column = dataset
        .columns
        .iter()
        .find(|c| c.role == ColumnRole::Time)
        .map(|c| c.name.clone());
    let data_end = time_column
        .as_ref()
        .and_then(|c| profile.time_range.get(c))
        .map(|(_, last)| *last);
    let anchor = match data_end {
        Some(last) if last < today => last,
        _ => today,
    };
    let intent = read(question, dataset, profile, time_column.as_deref(), anchor);
    if !intent.leftover.is_empty() {
        return Err(PlanError {
            understood: intent.understood,
            leftover: intent.leftover,
            examples: examples(dataset),
        });
    }

    let says_something = intent.group.is_some()
        || !intent.filters.is_empty()
        || !intent.conditions.is_empty()
        || intent.range.is_some()
        || intent.ranking.is_some();
    let follows_up =
        previous.is_some() && (intent.refers_back || (intent.measure.is_none() && says_something));
    let mut plan = match previous {
        Some(previous) if follows_up => merge(previous.clone(), intent),
        _ => {
            if intent.measure.is_none() && !says_something {
                return Err(PlanError {
                    understood: intent.understood,
                    leftover: Vec::new(),
                    examples: examples(dataset),
                });
            }
            Plan {
                table: dataset.table.clone(),
                measure: intent.measure.unwrap_or_else(|| default_measure(dataset)),
                group: intent.group,
                filters: intent.filters,
                time_column: time_column.clone(),
                range: intent.range,
                ranking: intent.ranking,
                data_ends: None,
                conditions: intent.conditions,
                split: intent.split,
            }
        }
    };
    plan.data_ends = match (&plan.range, data_end) {
        (Some(range), Some(last)) if range.relative && last < today => Some(last),
        _ => None,
    };
    // Ranking a time series means "the best N periods"; ranking nothing means a single extreme.
    if plan.group.is_none() {
        if let Some(ranking) = plan.ranking.take() {
            if plan.measure.term_sql.is_none() && plan.measure.agg != Agg::Count {
                if let Some(column) = plan.measure.column.clone() {
                    let agg = if ranking.descending {
                        Agg::Max
                    } else {
                        Agg::Min
                    };
                    plan.measure = aggregate_measure(dataset, &column, agg);
                }
            }
        }
    }
    // The latest value needs a time to order by; without one, average.
    if plan.measure.agg == Agg::Last && plan.time_column.is_none() {
        if let Some(column) = plan.measure.column.clone() {
            plan.measure = aggregate_measure(dataset, &column, Agg::Avg);
        }
    }
    Ok(plan)
}

fn merge(mut plan: Plan, intent: Intent) -> Plan {
    if let Some(measure) = intent.measure {
        plan.measure = measure;
    }
    if let Some(group) = intent.group {
        // A new grouping replaces the old one; a ranking of the old grouping no longer applies.
        if Some(&group) != plan.group.as_ref() && intent.ranking.is_none() {
            plan.ranking = None;
        }
        plan.group = Some(group);
        plan.split = intent.split;
    }
    for filter in intent.filters {
        plan.filters.retain(|f| f.column != filter.column);
        // Filtering on the grouped dimension leaves nothing to group.
        if matches!(&plan.group, Some(Group::Dimension { column, .. }) if *column == filter.column)
        {
            plan.group = None;
            plan.ranking = None;
        }
        if plan.split.as_ref() == Some(&filter.column) {
            plan.split = None;
        }
        plan.filters.push(filter);
    }
    for condition in intent.conditions {
        plan.conditions.retain(|c| c.column != condition.column);
        plan.conditions.push(condition);
    }
    if intent.range.is_some() {
        plan.range = intent.range;
    }
    if intent.ranking.is_some() {
        plan.ranking = intent.ranking;
    }
    plan
}

/// Words that may stand between a column and its comparison ("flipper length of at least").
const LINKS: &[&str] = &[
    "of", "is", "was", "are", "were", "a", "an", "with", "has", "have", "had", "that", "its",
    "their", "where", "whose", "the",
];

/// Generic names of a table's rows, counted when asked "how many".
const ROW_NOUNS: &[&str] = &["row", "record", "entry", "entries", "observation", "item"];

/// Reads what a question says about the dataset, marking every word it uses.
fn read(
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

    if time_column.is_some() {
        if let Some((range, span)) = find_range(&tokens, anchor) {
            intent
                .understood
                .push(format!("the time frame {}", range.label));
            intent.range = Some(range);
            mark(&mut used, span, true);
        }
    }
    let mut grain = None;
    let mut grain_span = None;
    if let Some(column) = time_column {
        if let Some((found, span)) = find_grain(&tokens, &used) {
            grain_span = Some(span.clone());
            intent
                .understood
                .push(format!("{} by {}", column, found.unit()));
            grain = Some((column.to_string(), found));
            mark(&mut used, span, true);
        }
    }
    // The number of a ranking ("top 5") is neither a value nor a comparison.
    for i in 0..tokens.len().saturating_sub(1) {
        if matches!(tokens[i].as_str(), "top" | "bottom" | "best" | "worst")
            && number_word(&tokens[i + 1]).is_some()
        {
            used[i + 1] = true;
        }
    }
    let mut comparisons = compare::find(&tokens, &used);
    // "cars with 4 cylinders": a bare number naming a numeric column is an equality.
    for i in 0..tokens.len().saturating_sub(1) {
        let taken = comparisons.iter().any(|c| c.span.contains(&i));
        let names_numeric_column = || {
            dataset.columns.iter().any(|c| {
                matches!(c.kind, ColumnType::Integer | ColumnType::Real)
                    && c.role != ColumnRole::Id
                    && column_words(c).any(|w| word_match(&tokens[i + 1], &w) >= 2)
            })
        };
        if !used[i] && !taken && names_numeric_column() {
            if let Some(value) = super::text::number_value(&tokens[i]) {
                comparisons.push(compare::Comparison {
                    op: Op::Eq,
                    value,
                    upper: None,
                    span: i..i + 1,
                });
            }
        }
    }
    for comparison in &comparisons {
        mark(&mut used, comparison.span.clone(), true);
    }

    let mut found = find_concepts(&tokens, &mut used, dataset, profile);
    absorb_descriptions(&tokens, &mut used, &found);

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
    let entities = entity_words(dataset, profile);
    let mut entity_named: Option<&str> = None;
    for i in 0..tokens.len() {
        if !used[i] && entities.iter().any(|e| word_match(&tokens[i], e) >= 2) {
            used[i] = true;
            entity_named = entity_named.or(Some(&tokens[i]));
        }
    }

    // Grammar of the rest: aggregation, ranking, counting, references to the last question.
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let mut agg: Option<Agg> = None;
    let mut asks_when = false;
    let mut counting = false;
    // Two different aggregations ("maximum median …") leave the second one unread.
    let set_agg = |agg: &mut Option<Agg>, new: Agg| match agg {
        Some(old) if *old != new => false,
        _ => {
            *agg = Some(new);
            true
        }
    };
    let measure_at = |i: usize| {
        found.iter().any(|f| {
            f.span.start == i
                && matches!(&f.concept, Concept::Column(c) if c.role == ColumnRole::Measure)
        })
    };
    let mut ranking: Option<(bool, Option<usize>, bool)> = None; // (descending, n, superlative only)
    for (i, slot) in used.iter_mut().enumerate() {
        if *slot {
            continue;
        }
        let recognized = match word(i) {
            "average" | "avg" | "mean" => set_agg(&mut agg, Agg::Avg),
            "median" => set_agg(&mut agg, Agg::Median),
            // "Total" only says to add up what adds up; it never overrides another aggregation.
            "total" | "sum" => {
                agg = agg.or(Some(Agg::Sum));
                true
            }
            "count" | "many" => {
                counting = true;
                true
            }
            // "Number of unemployed" names a measure holding a number; "number of cars" counts.
            "number" if word(i + 1) == "of" => {
                counting = !measure_at(i + 2);
                true
            }
            "minimum" | "min" => set_agg(&mut agg, Agg::Min),
            "maximum" | "max" => set_agg(&mut agg, Agg::Max),
            "when" if time_column.is_some() => {
                asks_when = true;
                true
            }
            w @ ("top" | "best" | "bottom" | "worst") => {
                let n = number_word(word(i + 1));
                ranking = Some((matches!(w, "top" | "best"), n, false));
                true
            }
            w @ ("highest" | "largest" | "biggest" | "most" | "lowest" | "smallest" | "least"
            | "fewest")
                if ranking.is_none() =>
            {
                let descending = matches!(w, "highest" | "largest" | "biggest" | "most");
                ranking = Some((descending, number_word(word(i + 1)), true));
                true
            }
            "that" | "it" | "those" | "them" | "now" | "instead" | "only" | "same" | "also" => {
                intent.refers_back = true;
                true
            }
            _ => false,
        };
        *slot = recognized;
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
    // "Average yearly generation" is one number: an aggregate of per-period totals, which
    // the planner does not build. Grouping by year instead would answer another question.
    if let (Some(_), Some(span)) = (agg, &grain_span) {
        let rate = match span.len() {
            1 => tokens[span.start] != "trend",
            _ => matches!(tokens[span.start].as_str(), "per" | "a" | "each" | "every"),
        };
        if rate && dimensions_named(&found) == 0 {
            mark(&mut used, span.clone(), false);
        }
    }
    // "When was …": the answer is a time, so group by the time column.
    if let (true, None, Some(column)) = (asks_when, &grain, time_column) {
        grain = Some((column.to_string(), Grain::Day));
    }
    // A dimension named together with one of its values is a filter, not a grouping.
    dimensions.retain(|(column, _, _)| !intent.filters.iter().any(|f| f.column == column.name));
    let mut dimensions = dimensions.into_iter();
    // "How many species": distinct values of a dimension; "how many penguins per species":
    // rows (the entity was named), grouped by the dimension; "number of orders": the id.
    let count_dimension = if counting && id_column.is_none() && entity_named.is_none() {
        dimensions.next().map(|(column, _, _)| column)
    } else {
        None
    };
    // "Which island has the most penguins": a ranking of the rows themselves counts them.
    let count_rows = entity_named.is_some()
        && (counting || (ranking.is_some() && measure_column.is_none() && agg.is_none()))
        && term.is_none()
        && id_column.is_none();

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
                && matches!(
                    tokens[f.span.start - 1].as_str(),
                    "highest" | "largest" | "biggest" | "lowest" | "smallest"
                )
        });
        if !asks_which && modifies_measure && agg.is_none() && measure.term_sql.is_none() {
            if let Some(column) = measure.column.clone() {
                let agg = if descending { Agg::Max } else { Agg::Min };
                intent.measure = Some(aggregate_measure(dataset, &column, agg));
                ranking = None;
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
    let (group, split) = match (grain, dimensions.next()) {
        (Some((column, grain)), split) => (Some(Group::Time { column, grain }), split),
        (None, Some((column, _, _))) => (
            Some(Group::Dimension {
                column: column.name.clone(),
                noun: noun(column),
            }),
            dimensions.next(),
        ),
        (None, None) => (None, None),
    };
    intent.group = group;
    intent.split = split.map(|(column, _, _)| column.name.clone());
    // A third grouping is more than one answer can show: its words stay unaccounted for.
    for (_, _, span) in dimensions {
        mark(&mut used, span, false);
    }
    intent.ranking = match (ranking, &intent.group) {
        (Some((descending, n, superlative)), group) => {
            if superlative && group.is_none() {
                None
            } else {
                let plural_asked = found.iter().any(|f| {
                    matches!(&f.concept, Concept::Column(c) if Some(&c.name) == group_column(&intent.group))
                        && is_plural(&f.last_word)
                });
                let limit = n.unwrap_or(if plural_asked { 5 } else { 1 }).max(1);
                Some(Ranking { descending, limit })
            }
        }
        (None, _) => None,
    };
    intent.leftover = coverage::leftover(&tokens, &used);
    intent
}

/// The column a comparison is about: named right after its number (past unit words and
/// "of": "over 20 mm of precipitation"), right before it ("body mass over 5000"), or by a
/// unit only one numeric column has ("over 5000 g"). Takes that column out of `found`.
fn attach(
    tokens: &[String],
    used: &mut [bool],
    found: &mut Vec<Found<'_>>,
    dataset: &Dataset,
    comparison: &compare::Comparison,
) -> Option<String> {
    let numeric = |c: &Column| matches!(c.kind, ColumnType::Integer | ColumnType::Real);
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
            .filter(|c| numeric(c) && is_unit(&tokens[after], c))
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
    let is_numeric_column = |f: &Found<'_>| matches!(&f.concept, Concept::Column(c) if numeric(c) && c.role != ColumnRole::Id);
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
            let item = found.remove(index);
            let Concept::Column(column) = item.concept else {
                unreachable!("checked above")
            };
            if item.span.start == after && after > units.end {
                used[units.end] = true; // the "of"
            }
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

/// The words of a column's name and synonyms.
fn column_words(column: &Column) -> impl Iterator<Item = String> + '_ {
    words(&column.name.replace('_', " "))
        .into_iter()
        .chain(column.synonyms.iter().flat_map(|s| words(s)))
}

/// Words of a column's meaning next to where the column is named only describe it further
/// ("engine" in "engine displacement" when the meaning is "Engine displacement").
fn absorb_descriptions(tokens: &[String], used: &mut [bool], found: &[Found<'_>]) {
    for item in found {
        let Concept::Column(column) = &item.concept else {
            continue;
        };
        let described: Vec<String> = column
            .meaning
            .iter()
            .flat_map(|m| words(m))
            // Grammar words ("Highest temperature of the day") keep their meaning.
            .filter(|w| !coverage::is_filler(w) && !super::text::is_protected(w))
            .collect();
        let mut absorb = |i: usize| {
            if !used[i] && described.iter().any(|w| word_match(&tokens[i], w) >= 2) {
                used[i] = true;
                true
            } else {
                false
            }
        };
        let mut before = item.span.start;
        while before > 0 && absorb(before - 1) {
            before -= 1;
        }
        let mut after = item.span.end;
        while after < tokens.len() && absorb(after) {
            after += 1;
        }
    }
}

fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Words naming the dataset's rows: its name and table ("penguins"), what its description
/// says a row is ("one row per car"), and generic ones ("rows", "records").
fn entity_words(dataset: &Dataset, profile: &Profile) -> Vec<String> {
    let mut entities: Vec<String> = words(&dataset.name);
    // One row per day (or month…): the rows are those periods.
    for (column, rows) in &profile.one_row_per_time {
        if let Some((first, last)) = profile.time_range.get(column) {
            let spacing = (*last - *first).num_days() as f64 / (*rows - 1).max(1) as f64;
            let period = match spacing {
                s if (0.9..=1.1).contains(&s) => "day",
                s if (6.5..=7.5).contains(&s) => "week",
                s if (27.0..=32.0).contains(&s) => "month",
                s if (88.0..=93.0).contains(&s) => "quarter",
                s if (360.0..=370.0).contains(&s) => "year",
                _ => continue,
            };
            entities.push(period.to_string());
        }
    }
    entities.extend(words(&dataset.table.replace('_', " ")));
    if let Some(description) = &dataset.description {
        let tokens = words(description);
        for pair in tokens.windows(3) {
            if pair[0] == "row" && pair[1] == "per" {
                entities.push(pair[2].clone());
            }
        }
    }
    entities.extend(ROW_NOUNS.iter().map(|w| w.to_string()));
    entities.retain(|w| !coverage::is_filler(w) && w.chars().any(char::is_alphabetic));
    entities
}

fn dimensions_named(found: &[Found<'_>]) -> usize {
    found
        .iter()
        .filter(|f| matches!(&f.concept, Concept::Column(c) if c.role == ColumnRole::Dimension))
        .count()
}

fn group_column(group: &Option<Group>) -> Option<&String> {
    match group {
        Some(Group::Dimension { column, .. }) => Some(column),
        _ => None,
    }
}

/// How much of `question` names things of this dataset (for choosing among datasets): words
/// naming its columns, values and terms count most, then words naming its rows.
pub fn relevance(question: &str, dataset: &Dataset, profile: &Profile) -> usize {
    let tokens = words(question);
    let mut used = vec![false; tokens.len()];
    let found = find_concepts(&tokens, &mut used, dataset, profile);
    // "year" or "day" fits any dataset with a time column; a measure, a value or a term does not.
    let weight = |f: &Found<'_>| match &f.concept {
        Concept::Column(_) if Grain::parse(&f.last_word).is_some() => 1,
        _ => 3 * f.span.len(),
    };
    let mut score: usize = found.iter().map(weight).sum();
    let entities = entity_words(dataset, profile);
    score += tokens
        .iter()
        .zip(&used)
        .filter(|(t, used)| !**used && entities.iter().any(|e| word_match(t, e) >= 2))
        .count();
    score
}

/// Longest, best-scoring runs of unused words that name a term, a column or a value.
fn find_concepts<'a>(
    tokens: &[String],
    used: &mut [bool],
    dataset: &'a Dataset,
    profile: &'a Profile,
) -> Vec<Found<'a>> {
    // (phrase words, concept, minimum words that must match: a prefix of long values counts).
    let mut phrases: Vec<(Vec<String>, Concept<'a>)> = Vec::new();
    for (index, term) in dataset.terms.iter().enumerate() {
        phrases.push((words(&term.name), Concept::Term(index)));
    }
    for column in &dataset.columns {
        phrases.push((
            words(&column.name.replace('_', " ")),
            Concept::Column(column),
        ));
        for synonym in &column.synonyms {
            phrases.push((words(synonym), Concept::Column(column)));
        }
        if let Some(values) = profile.values.get(&column.name) {
            for value in values {
                let value_words = words(value);
                if value_words.is_empty() {
                    continue;
                }
                // Long names may be given by their first two words ("Great Lakes").
                if value_words.len() > 2 {
                    phrases.push((
                        value_words[..2].to_vec(),
                        Concept::Value(column, value.clone()),
                    ));
                }
                phrases.push((value_words, Concept::Value(column, value.clone())));
            }
        }
    }

    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if used[i] {
            i += 1;
            continue;
        }
        let mut best: Option<(usize, u32, &Concept<'a>)> = None;
        for (phrase, concept) in &phrases {
            let len = phrase.len();
            if i + len > tokens.len() || used[i..i + len].iter().any(|u| *u) {
                continue;
            }
            let score = phrase_score(tokens, i, phrase);
            if score == 0 {
                continue;
            }
            let better = match best {
                None => true,
                Some((best_len, best_score, _)) => (len, score) > (best_len, best_score),
            };
            if better {
                best = Some((len, score, concept));
            }
        }
        match best {
            Some((len, _, concept)) => {
                for slot in &mut used[i..i + len] {
                    *slot = true;
                }
                found.push(Found {
                    concept: concept.clone(),
                    last_word: tokens[i + len - 1].clone(),
                    span: i..i + len,
                });
                i += len;
            }
            None => i += 1,
        }
    }
    found
}

/// The measure people most likely mean: money first, then any measure with a unit, then the first.
fn default_measure(dataset: &Dataset) -> Measure {
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
fn default_agg(column: &Column) -> Agg {
    match column.aggregate {
        Some(Aggregate::Sum) => Agg::Sum,
        Some(Aggregate::Min) => Agg::Min,
        Some(Aggregate::Max) => Agg::Max,
        Some(Aggregate::Last) => Agg::Last,
        Some(Aggregate::Avg) | None => Agg::Avg,
    }
}

fn aggregate_measure(dataset: &Dataset, column: &str, agg: Agg) -> Measure {
    let found = dataset.columns.iter().find(|c| c.name == column);
    let noun = found.map(noun).unwrap_or_else(|| column.replace('_', " "));
    let prefix = match agg {
        Agg::Sum => "Total",
        Agg::Avg => "Average",
        Agg::Min => "Minimum",
        Agg::Max => "Maximum",
        Agg::Count => "Number of",
        Agg::Median => "Median",
        Agg::Last => "Latest",
    };
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
fn rows_measure(entity: &str) -> Measure {
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

fn count_measure(column: Option<&Column>) -> Measure {
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

fn snake(text: &str) -> String {
    words(text).join("_")
}

/// Example questions phrased in this dataset's own words.
fn examples(dataset: &Dataset) -> Vec<String> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::datasets::Describe;
    use crate::model::{ColumnType, DatasetSource};
    use std::collections::HashMap;

    pub fn sample() -> (Dataset, Profile) {
        let describe =
            Describe::parse(include_str!("../../assets/sample/sales_summary.toml")).unwrap();
        let columns = [
            ("order_id", ColumnType::Integer),
            ("order_date", ColumnType::Date),
            ("customer_name", ColumnType::Text),
            ("product", ColumnType::Text),
            ("region", ColumnType::Text),
            ("quantity", ColumnType::Integer),
            ("total_sales_amount", ColumnType::Real),
        ]
        .map(|(n, t)| (n.to_string(), t));
        let dataset = Dataset {
            id: uuid::Uuid::nil(),
            org_id: uuid::Uuid::nil(),
            name: "Sales Dataset".into(),
            table: "sales_summary".into(),
            description: None,
            source: DatasetSource::Imported,
            columns: describe.columns(&columns).unwrap(),
            terms: describe.terms(),
            created_at: chrono::Utc::now(),
        };
        let mut values = HashMap::new();
        values.insert(
            "region".to_string(),
            ["North", "South", "East", "West", "Central"]
                .map(String::from)
                .to_vec(),
        );
        values.insert(
            "customer_name".to_string(),
            [
                "QUICK-Stop",
                "Ernst Handel",
                "Great Lakes Food Market",
                "Save-a-lot Markets",
            ]
            .map(String::from)
            .to_vec(),
        );
        values.insert(
            "product".to_string(),
            ["Chai", "Chang", "Tofu"].map(String::from).to_vec(),
        );
        let mut time_range = HashMap::new();
        time_range.insert(
            "order_date".to_string(),
            (
                NaiveDate::from_ymd_opt(2022, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
            ),
        );
        (
            dataset,
            Profile {
                values,
                time_range,
                one_row_per_time: HashMap::new(),
            },
        )
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    fn ask(question: &str) -> Plan {
        let (dataset, profile) = sample();
        plan(question, &dataset, &profile, None, today())
            .unwrap_or_else(|e| panic!("{question}: {}", e.explain()))
    }

    #[test]
    fn top_customer() {
        let plan = ask("show me my top customer");
        assert_eq!(
            plan.group,
            Some(Group::Dimension {
                column: "customer_name".into(),
                noun: "customer".into()
            })
        );
        assert_eq!(
            plan.ranking,
            Some(Ranking {
                descending: true,
                limit: 1
            })
        );
        assert_eq!(plan.measure.column.as_deref(), Some("total_sales_amount"));
        assert_eq!(plan.measure.label, "Total Sales");
    }

    #[test]
    fn bottom_regions_by_quantity() {
        let plan = ask("bottom 3 regions by quantity");
        assert_eq!(
            plan.ranking,
            Some(Ranking {
                descending: false,
                limit: 3
            })
        );
        assert_eq!(plan.measure.column.as_deref(), Some("quantity"));
    }

    #[test]
    fn terms_counts_filters_and_typos() {
        assert_eq!(
            ask("average order value last year").measure.label,
            "Average Order Value"
        );
        let plan = ask("how many orders in 2023");
        assert_eq!(plan.measure.agg, Agg::Count);
        assert_eq!(plan.measure.column.as_deref(), Some("order_id"));
        let plan = ask("sales for QUICK-Stop by quarter");
        assert_eq!(
            plan.filters,
            vec![Filter {
                column: "customer_name".into(),
                values: vec!["QUICK-Stop".into()]
            }]
        );
        assert!(matches!(
            plan.group,
            Some(Group::Time {
                grain: Grain::Quarter,
                ..
            })
        ));
        let plan = ask("revenu by regoins");
        assert!(
            matches!(plan.group, Some(Group::Dimension { ref column, .. }) if column == "region")
        );
        let plan = ask("sales for great lakes");
        assert_eq!(
            plan.filters[0].values,
            vec!["Great Lakes Food Market".to_string()]
        );
    }

    #[test]
    fn follow_ups_change_the_previous_plan() {
        let (dataset, profile) = sample();
        let first = plan("total sales last month", &dataset, &profile, None, today()).unwrap();
        let weekly = plan(
            "this is great, can you break that down week by week",
            &dataset,
            &profile,
            Some(&first),
            today(),
        )
        .unwrap();
        assert!(matches!(
            weekly.group,
            Some(Group::Time {
                grain: Grain::Week,
                ..
            })
        ));
        assert_eq!(weekly.range, first.range);
        let west = plan(
            "now only for the West region",
            &dataset,
            &profile,
            Some(&weekly),
            today(),
        )
        .unwrap();
        assert_eq!(
            west.filters,
            vec![Filter {
                column: "region".into(),
                values: vec!["West".into()]
            }]
        );
        assert_eq!(west.group, weekly.group);
    }

    #[test]
    fn nonsense_is_refused_with_examples() {
        let (dataset, profile) = sample();
        let err = plan(
            "what is the meaning of life",
            &dataset,
            &profile,
            None,
            today(),
        )
        .unwrap_err();
        let text = err.explain();
        assert!(text.contains("top 5 customers by sales"), "{text}");
    }
}
