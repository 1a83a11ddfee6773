//! The built-in analyst's planner: a question, read against a dataset's columns, notes, values
//! and terms, becomes a [`Plan`]: one measure, at most one grouping (a dimension or a time
//! grain), filters, a time range and an optional top/bottom ranking. A follow-up in the same
//! thread changes the previous plan instead of starting over.

use super::text::{is_plural, number_word, phrase_score, title_case, words};
use super::timeframe::{find_grain, find_range, Grain, TimeRange};
use crate::datasets::Profile;
use crate::model::{Column, ColumnRole, Dataset};
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
}

/// A question the planner could not turn into a query, with what it did understand.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    pub understood: Vec<String>,
    pub examples: Vec<String>,
}

impl PlanError {
    pub fn explain(&self) -> String {
        let mut text = String::from("I couldn't turn this question into a query.");
        if self.understood.is_empty() {
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
    understood: Vec<String>,
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

    let follows_up = previous.is_some()
        && (intent.refers_back
            || (intent.measure.is_none()
                && (intent.group.is_some()
                    || !intent.filters.is_empty()
                    || intent.range.is_some()
                    || intent.ranking.is_some())));
    let mut plan = match previous {
        Some(previous) if follows_up => merge(previous.clone(), intent),
        _ => {
            let understood_something = intent.measure.is_some()
                || intent.group.is_some()
                || !intent.filters.is_empty()
                || intent.range.is_some()
                || intent.ranking.is_some();
            if !understood_something {
                return Err(PlanError {
                    understood: intent.understood,
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
            if plan.measure.term_sql.is_none() && plan.measure.column.is_some() {
                plan.measure = aggregate_measure(
                    dataset,
                    plan.measure.column.as_deref().unwrap(),
                    if ranking.descending {
                        Agg::Max
                    } else {
                        Agg::Min
                    },
                );
            }
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
    }
    for filter in intent.filters {
        plan.filters.retain(|f| f.column != filter.column);
        // Filtering on the grouped dimension leaves nothing to group.
        if matches!(&plan.group, Some(Group::Dimension { column, .. }) if *column == filter.column)
        {
            plan.group = None;
            plan.ranking = None;
        }
        plan.filters.push(filter);
    }
    if intent.range.is_some() {
        plan.range = intent.range;
    }
    if intent.ranking.is_some() {
        plan.ranking = intent.ranking;
    }
    plan
}

/// Reads what a question says about the dataset.
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
    let mark = |used: &mut Vec<bool>, range: std::ops::Range<usize>| {
        for i in range {
            if let Some(slot) = used.get_mut(i) {
                *slot = true;
            }
        }
    };

    if time_column.is_some() {
        if let Some((range, span)) = find_range(&tokens, anchor) {
            intent
                .understood
                .push(format!("the time frame {}", range.label));
            intent.range = Some(range);
            mark(&mut used, span);
        }
    }
    let mut grain = None;
    if let Some(column) = time_column {
        if let Some((found, span)) = find_grain(&tokens, &used) {
            intent
                .understood
                .push(format!("{} by {}", column, found.unit()));
            grain = Some((column.to_string(), found));
            mark(&mut used, span);
        }
    }

    let found = find_concepts(&tokens, &mut used, dataset, profile);

    // Grammar of the rest: aggregation, ranking, counting, references to the last question.
    let word = |i: usize| tokens.get(i).map(String::as_str).unwrap_or("");
    let mut agg = None;
    let mut counting = false;
    let mut ranking: Option<(bool, Option<usize>, bool)> = None; // (descending, n, superlative only)
    for i in (0..tokens.len()).filter(|i| !used[*i]) {
        match word(i) {
            "average" | "avg" | "mean" => agg = Some(Agg::Avg),
            "total" | "sum" => agg = agg.or(Some(Agg::Sum)),
            "count" | "many" => counting = true,
            "number" if word(i + 1) == "of" => counting = true,
            "minimum" | "min" => agg = Some(Agg::Min),
            "maximum" | "max" => agg = Some(Agg::Max),
            w @ ("top" | "best" | "bottom" | "worst") => {
                let n = number_word(word(i + 1));
                ranking = Some((matches!(w, "top" | "best"), n, false));
            }
            w @ ("highest" | "largest" | "biggest" | "most" | "lowest" | "smallest" | "least"
            | "fewest")
                if ranking.is_none() =>
            {
                let descending = matches!(w, "highest" | "largest" | "biggest" | "most");
                ranking = Some((descending, number_word(word(i + 1)), true));
            }
            "that" | "it" | "those" | "them" | "now" | "instead" | "only" | "same" | "also" => {
                intent.refers_back = true
            }
            _ => {}
        }
    }

    // Settle the concepts.
    let mut measure_column: Option<&Column> = None;
    let mut term: Option<usize> = None;
    let mut id_column: Option<&Column> = None;
    let mut dimensions: Vec<(&Column, String)> = Vec::new();
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
                match column.role {
                    ColumnRole::Measure => measure_column = measure_column.or(Some(column)),
                    ColumnRole::Id => id_column = id_column.or(Some(column)),
                    ColumnRole::Dimension => dimensions.push((column, item.last_word.clone())),
                    ColumnRole::Time => {
                        if grain.is_none() {
                            grain = Some((column.name.clone(), Grain::Day));
                        }
                    }
                }
            }
        }
    }
    // A dimension named together with one of its values is a filter, not a grouping.
    dimensions.retain(|(column, _)| !intent.filters.iter().any(|f| f.column == column.name));
    // "How many customers by region": the first dimension is counted, the next one groups;
    // with an id named ("number of orders by region") the id is counted and the dimension groups.
    let mut dimensions = dimensions.into_iter();
    let count_dimension = if counting && id_column.is_none() {
        dimensions.next().map(|(column, _)| column)
    } else {
        None
    };
    let dimension = dimensions.next();

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
    } else if counting
        || (measure_column.is_none() && id_column.is_some() && agg.is_none() && ranking.is_none())
    {
        let counted = count_dimension.or(id_column);
        Some(count_measure(counted))
    } else {
        let agg = agg.or(match ranking {
            Some((descending, _, true)) if dimension.is_none() && grain.is_none() => {
                Some(if descending { Agg::Max } else { Agg::Min })
            }
            _ => None,
        });
        match (measure_column, agg) {
            (Some(column), agg) => Some(aggregate_measure(
                dataset,
                &column.name,
                agg.unwrap_or(Agg::Sum),
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

    intent.group = match (grain, dimension) {
        (Some((column, grain)), _) => Some(Group::Time { column, grain }),
        (None, Some((column, _))) => Some(Group::Dimension {
            column: column.name.clone(),
            noun: noun(column),
        }),
        (None, None) => None,
    };
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
    intent
}

fn group_column(group: &Option<Group>) -> Option<&String> {
    match group {
        Some(Group::Dimension { column, .. }) => Some(column),
        _ => None,
    }
}

/// How much of `question` names things of this dataset (for choosing among datasets).
pub fn relevance(question: &str, dataset: &Dataset, profile: &Profile) -> usize {
    let tokens = words(question);
    let mut used = vec![false; tokens.len()];
    let mut score = find_concepts(&tokens, &mut used, dataset, profile).len() * 2;
    let name_words = words(&dataset.name);
    score += tokens.iter().filter(|t| name_words.contains(t)).count();
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
        Some(column) => aggregate_measure(dataset, &column.name, Agg::Sum),
        None => count_measure(dataset.columns.iter().find(|c| c.role == ColumnRole::Id)),
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
        (dataset, Profile { values, time_range })
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
