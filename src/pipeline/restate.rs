//! The plan said back in plain words, with the dataset's own column names: "Average of
//! horsepower over rows where origin is Europe, for each model_year." Shown above every answer
//! so a misreading is visible at a glance, before anyone reads a number.

use super::compare::Op;
use super::planner::{Agg, Derived, Group, Plan, Within};
use super::timeframe::{TimeRange, OPEN_END, OPEN_START};

/// What the built-in planner computed.
pub fn restate(plan: &Plan) -> String {
    if plan.listing {
        return listing(plan);
    }
    let mut text = measure(plan);
    let conditions = conditions(plan);
    if !conditions.is_empty() {
        text.push_str(" over rows where ");
        text.push_str(&conditions.join(" and "));
    }
    match &plan.group {
        Some(Group::Dimension { column, .. }) => text.push_str(&format!(", for each {column}")),
        Some(Group::Time { column, grain }) => {
            text.push_str(&format!(", for each {} of {column}", grain.unit()))
        }
        Some(Group::Cycle { column, cycle }) => text.push_str(&format!(
            ", for each {} of {column} (all years together)",
            cycle.name()
        )),
        None => {}
    }
    if let Some(split) = &plan.split {
        text.push_str(&format!(" and each {split}"));
    }
    match &plan.derived {
        Some(Derived::Share) if plan.group.is_some() => {
            text.push_str(", as each one's percentage of the total of them all")
        }
        Some(Derived::Share) => {
            // The values named (listed first) are the part; the other conditions bound the whole.
            let part: Vec<String> = conditions
                .iter()
                .take(plan.filters.len())
                .cloned()
                .collect();
            let whole: Vec<String> = conditions
                .iter()
                .skip(plan.filters.len())
                .cloned()
                .collect();
            text = format!(
                "{} over rows where {}, as a percentage of {} over {}",
                measure(plan),
                part.join(" and "),
                measure(plan).to_lowercase(),
                if whole.is_empty() {
                    "all rows".to_string()
                } else {
                    format!("rows where {}", whole.join(" and "))
                }
            );
        }
        Some(Derived::Change { from, to }) => text.push_str(&format!(
            ", in {} and in {}, and the change from the first to the second (also in percent)",
            from.label, to.label
        )),
        Some(Derived::OfPeriods { grain, of }) => {
            let time = plan.time_column.as_deref().unwrap_or("time");
            let inner = text.clone();
            text = format!(
                "{} of the {} values, one for each {} of {time}, of: {}",
                of.prefix(),
                grain.adjective().to_lowercase(),
                grain.unit(),
                lower_first(&inner)
            );
        }
        None => {}
    }
    if let Some(ranking) = plan.ranking {
        let side = if ranking.descending {
            "highest"
        } else {
            "lowest"
        };
        if ranking.limit == 1 {
            text.push_str(&format!(", keeping the {side} one"));
        } else {
            text.push_str(&format!(", keeping the {} {side}", ranking.limit));
        }
        if let Some(partition) = partition(plan) {
            text.push_str(&format!(" in each {partition}"));
        }
    }
    text.push('.');
    text
}

/// "The 5 rows with the largest body_mass_g, among rows where species is Adelie."
fn listing(plan: &Plan) -> String {
    let column = plan.measure.column.as_deref().unwrap_or("rowid");
    let (descending, limit) = plan.ranking.map_or((true, 1), |r| (r.descending, r.limit));
    let side = if descending { "largest" } else { "smallest" };
    let mut text = if limit == 1 {
        format!("The row with the {side} {column}")
    } else {
        format!("The {limit} rows with the {side} {column}")
    };
    if let Some(Group::Dimension { column: group, .. }) = &plan.group {
        text.push_str(&format!(" in each {group}"));
    }
    let conditions = conditions(plan);
    if !conditions.is_empty() {
        text.push_str(", among rows where ");
        text.push_str(&conditions.join(" and "));
    }
    text.push('.');
    text
}

/// Said when the model wrote the SQL: the restatement is the SQL itself.
pub const BY_MODEL: &str = "The language model wrote the SQL below for the question as asked; \
     the built-in analyst could not place every word of it, so check the SQL.";

/// Said when a person edited the SQL.
pub const BY_HAND: &str = "The SQL below, as edited by hand.";

fn measure(plan: &Plan) -> String {
    let measure = &plan.measure;
    if let Some(sql) = &measure.term_sql {
        return format!("{} (defined as {sql})", measure.label);
    }
    let Some(column) = &measure.column else {
        return "Number of rows".to_string();
    };
    match measure.agg {
        Agg::Count => format!("Number of distinct values of {column}"),
        Agg::Sum => format!("Total of {column}"),
        Agg::Avg => format!("Average of {column}"),
        Agg::Min => format!("Smallest {column}"),
        Agg::Max => format!("Largest {column}"),
        Agg::Median => format!("Median of {column}"),
        Agg::Percentile(p) => format!("{} percentile of {column}", super::planner::ordinal(p)),
        Agg::Last => match &plan.time_column {
            Some(time) => format!("Latest {column} (at the latest {time})"),
            None => format!("Average of {column}"),
        },
    }
}

/// The conditions rows must meet, in words.
pub(super) fn conditions(plan: &Plan) -> Vec<String> {
    let mut said = Vec::new();
    for filter in &plan.filters {
        if filter.contains {
            said.push(format!(
                "{} contains the word {}",
                filter.column,
                filter.values.join(" or ")
            ));
            continue;
        }
        said.push(match filter.values.as_slice() {
            [one] => format!("{} is {one}", filter.column),
            many => format!("{} is one of {}", filter.column, many.join(", ")),
        });
    }
    for condition in &plan.conditions {
        let (column, value) = (&condition.column, condition.value);
        said.push(match condition.op {
            Op::Gt => format!("{column} is over {value}"),
            Op::Ge => format!("{column} is at least {value}"),
            Op::Lt => format!("{column} is under {value}"),
            Op::Le => format!("{column} is at most {value}"),
            Op::Eq => format!("{column} is {value}"),
            Op::Between => format!(
                "{column} is between {value} and {}",
                condition.upper.unwrap_or(value)
            ),
        });
    }
    if let (Some(range), Some(column)) = (&plan.range, &plan.time_column) {
        said.push(range_condition(column, range));
    }
    said
}

/// "order_date is from 2024-01-01 to 2024-03-31", "year is before 1990-01-01".
pub fn range_condition(column: &str, range: &TimeRange) -> String {
    let last = range.end.pred_opt().unwrap_or(range.end);
    if range.start == OPEN_START {
        format!("{column} is before {}", range.end)
    } else if range.end == OPEN_END {
        format!("{column} is on or after {}", range.start)
    } else if range.start == last {
        format!("{column} is {}", range.start)
    } else {
        format!("{column} is from {} to {last}", range.start)
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The grouping a ranking ranks within ("region" in "the top 3 products in each region").
pub(super) fn partition(plan: &Plan) -> Option<String> {
    let ranking = plan.ranking?;
    let labels = plan.label_columns();
    match ranking.within {
        Within::All => None,
        Within::EachGroup => match &plan.group {
            Some(Group::Time { column, grain }) => Some(format!("{} of {column}", grain.unit())),
            Some(Group::Cycle { column, cycle }) => Some(format!("{} of {column}", cycle.name())),
            _ => labels.first().cloned(),
        },
        Within::EachSplit => plan.split.clone(),
    }
}
