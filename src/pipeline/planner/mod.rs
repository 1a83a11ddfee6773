//! The built-in analyst's planner: a question, read against a dataset's columns, notes, values
//! and terms, becomes a [`Plan`]: one measure, at most two groupings (a dimension, a time grain
//! or a calendar cycle, then a dimension to split by), filters, numeric conditions, a time
//! range, an optional top/bottom ranking (across groups or within each), whole rows instead of
//! groups, and what the measure becomes ([`Derived`]: a share, a change, an aggregate of
//! per-period values). A follow-up in the same thread changes the previous plan instead of
//! starting over.
//!
//! - `read`: the question's words into an [`read::Intent`], every word accounted for.
//! - `when`: its time range and time groupings; `counting`: what a count counts.
//! - `concepts`: which runs of words name columns, values, terms or the rows themselves.
//! - `grammar`: aggregation, counting, ranking and reference words.
//! - `conditions`: numeric comparisons and the column each is about.
//! - `measures`: measures, their aggregations and labels, and example questions.
//! - `rows`: the column an adjective such as "heaviest" ranks rows by.
//! - `ranking`: how many a ranking keeps, and within which grouping.
//! - `derived`: shares of the total and changes between periods.

mod concepts;
mod conditions;
mod counting;
mod derived;
mod grammar;
mod intent;
mod measures;
mod ranking;
mod read;
mod rows;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod understanding_tests;
#[cfg(test)]
mod unseen_data_tests;
mod when;

pub use concepts::relevance;
pub use measures::{additive, noun, plural_noun};

use super::compare::Op;
use super::timeframe::{Cycle, Grain, TimeRange};
use crate::datasets::Profile;
use crate::model::{ColumnRole, Dataset};
use chrono::NaiveDate;
use measures::{aggregate_measure, default_measure, examples};
use read::{read, Intent};
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
    /// The value below which this percentage of values fall (linear interpolation).
    Percentile(u8),
}

impl Agg {
    /// How a label says it: "Total", "Average", "Number of".
    pub fn word(self) -> &'static str {
        match self {
            Agg::Sum => "Total",
            Agg::Avg => "Average",
            Agg::Min => "Minimum",
            Agg::Max => "Maximum",
            Agg::Count => "Number of",
            Agg::Median => "Median",
            Agg::Last => "Latest",
            Agg::Percentile(_) => "Percentile of",
        }
    }

    /// The label's words before the measure: "Total", "90th Percentile".
    pub fn prefix(self) -> String {
        match self {
            Agg::Percentile(p) => format!("{} Percentile", ordinal(p)),
            other => other.word().to_string(),
        }
    }
}

/// 1st, 2nd, 3rd, 4th, 11th, 21st, 90th.
pub fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
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
    Dimension {
        column: String,
        noun: String,
    },
    Time {
        column: String,
        grain: Grain,
    },
    /// Every January together: a recurring part of the calendar.
    Cycle {
        column: String,
        cycle: Cycle,
    },
}

impl Group {
    /// One group, in words: "species", "month", "weekday".
    pub fn unit(&self) -> String {
        match self {
            Group::Dimension { noun, .. } => noun.clone(),
            Group::Time { grain, .. } => grain.unit().to_string(),
            Group::Cycle { cycle, .. } => cycle.unit().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub column: String,
    pub values: Vec<String>,
    /// The values are words the column's text contains ("ford" of "ford pinto"), not whole
    /// values.
    #[serde(default)]
    pub contains: bool,
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
    /// With two groupings: rank within each group of one of them, or across all.
    #[serde(default)]
    pub within: Within,
}

/// Where a ranking of two groupings ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Within {
    /// Across every pair ("the top 5 product and region pairs").
    #[default]
    All,
    /// The split, within each group ("the top 3 products each year").
    EachGroup,
    /// The grouping, within each value of the split ("the top 3 products in each region").
    EachSplit,
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
    /// Whole rows ranked by the measure's column, not groups: "the 5 heaviest penguins".
    #[serde(default)]
    pub listing: bool,
    /// What the measure becomes once computed: a share of the total, a change between periods.
    #[serde(default)]
    pub derived: Option<Derived>,
    /// The one value the answer named ("the top customer" was Ernst Handel), set once the
    /// rows are in, so "break that down by year" keeps to it.
    #[serde(default)]
    pub named: Option<String>,
    /// First and last day the grouped time column's data covers (within the range asked
    /// for): a period reaching past them is only partly in the data.
    #[serde(default)]
    pub data_span: Option<(NaiveDate, NaiveDate)>,
}

/// What a measure becomes once computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Derived {
    /// Each group's percentage of the total; without groups, the percentage the rows with the
    /// values named make of all rows ("what share of penguins are Gentoo").
    Share,
    /// The measure in two periods and the change between them ("between 2001 and 2017").
    Change { from: TimeRange, to: TimeRange },
    /// The measure per period, then `of` across the periods: "average yearly generation".
    OfPeriods { grain: Grain, of: Agg },
}

impl Derived {
    /// "Average Yearly Total Net Generation": the label of a measure of periods.
    pub fn periods_label(grain: Grain, of: Agg, measure: &Measure) -> String {
        format!("{} {} {}", of.prefix(), grain.adjective(), measure.label)
    }
}

impl Plan {
    /// Remembers the one value a ranking of one answered with, for follow-ups.
    pub fn remember_named(&mut self, result: &crate::datasets::QueryResult) {
        let one = self.ranking.is_some_and(|r| r.limit == 1) && !self.listing;
        if let (true, Some(Group::Dimension { column, .. })) = (one, &self.group) {
            let at = result.columns.iter().position(|c| &c.name == column);
            self.named = at.and_then(|at| result.rows.first()?.get(at)?.as_str().map(String::from));
        }
    }

    /// The result column a summary and a chart read.
    pub fn value_alias(&self) -> String {
        match &self.derived {
            Some(Derived::Share) => format!("{}_share_pct", self.measure.alias),
            Some(Derived::Change { .. }) => "change".to_string(),
            Some(Derived::OfPeriods { grain, of }) => {
                measures::snake(&Derived::periods_label(*grain, *of, &self.measure))
            }
            None => self.measure.alias.clone(),
        }
    }

    /// The result columns that name a row: the grouping, then the split.
    pub fn label_columns(&self) -> Vec<String> {
        let mut labels = Vec::new();
        match &self.group {
            Some(Group::Dimension { column, .. }) => labels.push(column.clone()),
            Some(Group::Time { grain, .. }) => labels.push(grain.unit().to_string()),
            Some(Group::Cycle { cycle, .. }) => labels.push(cycle.alias().to_string()),
            None => {}
        }
        labels.extend(self.split.clone());
        labels
    }
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

/// Plans `question` over `dataset`; `previous` is the plan of the thread's last answer. A
/// refusal suggests example questions that plan.
pub fn plan(
    question: &str,
    dataset: &Dataset,
    profile: &Profile,
    previous: Option<&Plan>,
    today: NaiveDate,
) -> Result<Plan, PlanError> {
    plan_question(question, dataset, profile, previous, today).map_err(|mut err| {
        err.examples = example_questions(dataset, profile, today);
        err
    })
}

/// Example questions in the dataset's own words, only those the planner answers: a refusal
/// and a client's first screen never suggest a question that would be refused.
pub fn example_questions(dataset: &Dataset, profile: &Profile, today: NaiveDate) -> Vec<String> {
    examples(dataset)
        .into_iter()
        .filter(|question| plan_question(question, dataset, profile, None, today).is_ok())
        .collect()
}

/// [`plan`], with no examples in a refusal.
fn plan_question(
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
            examples: Vec::new(),
        });
    }

    let says_something = intent.group.is_some()
        || !intent.filters.is_empty()
        || !intent.conditions.is_empty()
        || intent.range.is_some()
        || intent.ranking.is_some();
    let measure_asked = intent.measure.is_some() && !intent.implied_count;
    let follows_up =
        previous.is_some() && (intent.refers_back || (!measure_asked && says_something));
    let measure_named = intent.measure.is_some();
    let mut plan = match previous {
        Some(previous) if follows_up => merge(previous.clone(), intent),
        _ => {
            if intent.measure.is_none() && !says_something {
                return Err(PlanError {
                    understood: intent.understood,
                    leftover: Vec::new(),
                    examples: Vec::new(),
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
                listing: intent.listing,
                derived: intent.derived,
                named: None,
                data_span: None,
            }
        }
    };
    plan.data_ends = match (&plan.range, data_end) {
        (Some(range), Some(last)) if range.relative && last < today => Some(last),
        _ => None,
    };
    plan.data_span = match &plan.group {
        Some(Group::Time { column, .. }) => {
            profile
                .time_range
                .get(column)
                .map(|&(first, last)| match &plan.range {
                    Some(range) => (first.max(range.start), last.min(range.end)),
                    None => (first, last),
                })
        }
        _ => None,
    };
    // Ranking a time series means "the best N periods"; ranking nothing means a single extreme.
    if plan.group.is_none() && !plan.listing {
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
    // "Top 5 counties by density" where some counties share a name: grouping by the name would
    // merge different counties into one number, so the rows themselves are ranked.
    if let (Some(Group::Dimension { column, .. }), Some(_), None, None) =
        (&plan.group, plan.ranking, &plan.split, &plan.derived)
    {
        let distinct = profile.values.get(column).map(|v| v.len() as u64);
        let names_collide = match (distinct, profile.rows) {
            (Some(distinct), Some(rows)) => distinct * 2 > rows && distinct < rows,
            _ => false,
        };
        let plain = plan.measure.term_sql.is_none()
            && plan.measure.column.is_some()
            && plan.measure.agg != Agg::Count;
        if names_collide && plain && measure_named && !plan.listing {
            plan.group = None;
            plan.listing = true;
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
    if let (Some(measure), false) = (intent.measure, intent.implied_count) {
        plan.measure = measure;
    }
    // Grouping a listing, or listing rows after a grouping, asks a new kind of question.
    if intent.group.is_some() || intent.listing {
        plan.listing = intent.listing;
    }
    // "Show me my top customer", then "break that down by year": that customer, by year.
    if let (Some(Group::Dimension { column, .. }), Some(named), Some(new)) =
        (&plan.group, plan.named.take(), &intent.group)
    {
        let regrouped = Some(new) != plan.group.as_ref();
        let one_named = plan.ranking.is_some_and(|r| r.limit == 1);
        let refiltered = intent.filters.iter().any(|f| &f.column == column);
        if regrouped && one_named && !refiltered {
            plan.filters.retain(|f| &f.column != column);
            plan.filters.push(Filter {
                column: column.clone(),
                values: vec![named],
                contains: false,
            });
        }
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
    if intent.derived.is_some() {
        plan.derived = intent.derived;
    }
    if intent.ranking.is_some() {
        plan.ranking = intent.ranking;
    }
    plan
}

fn group_column(group: &Option<Group>) -> Option<&String> {
    match group {
        Some(Group::Dimension { column, .. }) => Some(column),
        _ => None,
    }
}
