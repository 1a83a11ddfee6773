//! The summary of an answer: its real numbers in a few sentences.
//!
//! Every figure comes from [`Facts`] of the whole result (see `facts`), never from rows cut at
//! the cap, and a total is stated only for measures whose values add up: a sum of averages,
//! maxima or distinct counts is not a number anyone asked for.

use super::facts::{display, Facts, Point};
use super::narrate::{filter_phrase, format_value, frame_phrase, plural};
use super::planner::{additive, Agg, Derived, Group, Plan, Ranking, Within};
use super::timeframe::{Grain, TimeRange};
use crate::datasets::QueryResult;
use chrono::NaiveDate;

/// Rows of a ranking listed by name; the rest are counted.
const LISTED: usize = 10;

pub fn summary(plan: &Plan, result: &QueryResult, facts: &Facts) -> String {
    let measure = &plan.measure;
    let lower = value_label(plan);
    let filters = filter_phrase(plan);
    let frame = match &plan.range {
        Some(range) => format!(" ({})", range.label),
        None => String::new(),
    };
    if facts.rows == 0 {
        return format!("There is no data for {lower}{filters}{frame}: no rows matched.");
    }
    let fmt = |x: f64| formatted(plan, x);
    if facts.known == 0 {
        return format!("No row had a value for {lower}{filters}{frame}.");
    }
    if plan.listing {
        return listing(plan, result);
    }
    if plan.group.is_none() {
        match &plan.derived {
            Some(Derived::Share) => return share_of_values(plan, result),
            Some(Derived::Change { from, to }) => return change_between(plan, result, from, to),
            Some(Derived::OfPeriods { .. }) | None => {}
        }
    }
    // Shares and changes of groups are compared, never added up.
    let additive = additive(measure) && plan.derived.is_none();
    let mut text = match &plan.group {
        None => single(plan, facts),
        Some(group) if plan.ranking.is_some() => ranked(plan, group, result, facts),
        Some(group @ (Group::Dimension { .. } | Group::Cycle { .. })) => {
            let unit = group.unit();
            let rows = groups_counted(plan, result, facts, &unit, &plural(&unit));
            let (high, low) = extremes(facts);
            let mut text = if additive {
                let mut text = format!(
                    "Across {rows}{filters}{frame}, {lower} came to {}. {} is highest with {}",
                    fmt(facts.total),
                    high.label,
                    fmt(high.value)
                );
                if facts.total > 0.0 && low.value >= 0.0 {
                    text.push_str(&format!(
                        " ({:.1}% of the total)",
                        high.value / facts.total * 100.0
                    ));
                }
                text.push('.');
                text
            } else {
                format!(
                    "Across {rows}{filters}{frame}, {lower} is highest for {} with {}.",
                    high.label,
                    fmt(high.value)
                )
            };
            if facts.known > 1 {
                text.push_str(&format!(
                    " {} is lowest with {}.",
                    low.label,
                    fmt(low.value)
                ));
            }
            text
        }
        Some(Group::Time { grain, .. }) => {
            let unit = grain.unit();
            let rows = groups_counted(plan, result, facts, unit, &format!("{unit}s"));
            let mut text = if additive {
                format!(
                    "Over {rows}{filters}{frame}, {lower} came to {}.",
                    fmt(facts.total)
                )
            } else {
                format!("{lower} over {rows}{filters}{frame}.")
            };
            if facts.known >= 2 {
                let (high, low) = extremes(facts);
                // An end period the data covers only in part says so wherever it is named.
                let partial = partial_edges(plan, *grain, facts);
                let named = |label: &str| match partial.iter().any(|p| p == label) {
                    true => format!("{label} (only partly in the data)"),
                    false => label.to_string(),
                };
                text.push_str(&format!(
                    " The highest was {} with {}, the lowest {} with {}.",
                    named(&high.label),
                    fmt(high.value),
                    named(&low.label),
                    fmt(low.value)
                ));
                // A first-to-last change only reads as a trend along one series, and between
                // whole periods.
                if plan.split.is_none() {
                    match partial.as_slice() {
                        [] => text.push_str(&change(facts, &fmt)),
                        [one] => text.push_str(&format!(
                            " The data covers the {unit} {one} only in part, so the first and last {unit}s are not compared."
                        )),
                        [first, last, ..] => text.push_str(&format!(
                            " The data covers the {unit}s {first} and {last} only in part, so they are not compared."
                        )),
                    }
                }
            }
            capitalize(text)
        }
    };
    if result.truncated && facts.partial {
        text.push_str(&format!(
            " These figures cover only the first {} rows, which the table shows; the result had more.",
            count(result.rows.len())
        ));
    } else if result.truncated {
        text.push_str(&format!(
            " The table shows the first {} of {} rows; these figures cover all of them.",
            count(result.rows.len()),
            count(facts.rows)
        ));
    }
    text
}

/// One number: "There were 152 penguins in 2008." / "Total sales in 2023 was $1,234."
fn single(plan: &Plan, facts: &Facts) -> String {
    let measure = &plan.measure;
    let value = facts.first.as_ref().map_or(0.0, |p| p.value);
    let filters = filter_phrase(plan);
    let when = frame_phrase(plan);
    let shown = format_value(value, measure);
    if plan.derived.is_some() {
        format!(
            "{}{filters}{when} was {shown}.",
            capitalize(value_label(plan))
        )
    } else if measure.agg == Agg::Count && measure.term_sql.is_none() {
        let noun = measure
            .label
            .trim_start_matches("Number of ")
            .to_lowercase();
        let verb = if value == 1.0 { "was" } else { "were" };
        format!("There {verb} {shown} {noun}{filters}{when}.")
    } else {
        format!("{}{filters}{when} was {shown}.", measure.label)
    }
}

/// A ranking lists its rows, which the question limited.
fn ranked(plan: &Plan, group: &Group, result: &QueryResult, facts: &Facts) -> String {
    let measure = &plan.measure;
    let ranking = plan.ranking.expect("a ranked plan");
    if ranking.within != Within::All {
        return ranked_within(plan, ranking, result);
    }
    let lower = value_label(plan);
    let filters = filter_phrase(plan);
    let frame = match &plan.range {
        Some(range) => format!(" ({})", range.label),
        None => String::new(),
    };
    let fmt = |x: f64| formatted(plan, x);
    let shape = super::facts::Shape::of_plan(result, plan);
    let points = shape
        .map(|shape| super::facts::points(result, &shape))
        .unwrap_or_default();
    let (side, noun) = match group {
        Group::Dimension { noun, .. } => {
            let side = if ranking.descending { "top" } else { "bottom" };
            (side, noun.clone())
        }
        Group::Time { .. } | Group::Cycle { .. } => {
            let side = if ranking.descending { "best" } else { "worst" };
            (side, group.unit())
        }
    };
    if let [only] = points.as_slice() {
        return format!(
            "{} is the {side} {noun}{filters} by {lower}{frame}, with {}.",
            only.label,
            fmt(only.value)
        );
    }
    let mut listed: Vec<String> = points
        .iter()
        .take(LISTED)
        .map(|p| format!("{} ({})", p.label, fmt(p.value)))
        .collect();
    if points.len() > LISTED {
        listed.push(format!("{} more", points.len() - LISTED));
    }
    let mut text = format!(
        "The {side} {} {}{filters} by {lower}{frame} are {}.",
        count(facts.known),
        groups_noun(plan, &plural(&noun)),
        join_list(&listed)
    );
    if additive(measure) && plan.derived.is_none() {
        text.push_str(&format!(" Together they account for {}.", fmt(facts.total)));
    }
    text
}

/// Whole rows: the one row with its other columns, or the values of several.
fn listing(plan: &Plan, result: &QueryResult) -> String {
    let measure = &plan.measure;
    let column = measure.column.as_deref().unwrap_or("rowid");
    let descending = plan.ranking.is_none_or(|r| r.descending);
    let side = if descending { "largest" } else { "smallest" };
    let filters = format!("{}{}", filter_phrase(plan), frame_phrase(plan));
    let at = result.columns.iter().position(|c| c.name == column);
    let value_of = |row: &Vec<serde_json::Value>| {
        at.and_then(|at| row[at].as_f64())
            .map_or("(none)".to_string(), |v| format_value(v, measure))
    };
    match result.rows.as_slice() {
        [] => format!("No row{filters} has a value for {column}."),
        [row] => {
            let others: Vec<String> = result
                .columns
                .iter()
                .zip(row)
                .filter(|(c, _)| c.name != column)
                .take(LISTED)
                .map(|(c, v)| format!("{} {}", c.name, display(v)))
                .collect();
            format!(
                "The row with the {side} {column}{filters} has {column} {}: {}.",
                value_of(row),
                others.join(", ")
            )
        }
        rows => {
            let group = match &plan.group {
                Some(Group::Dimension { column: group, .. }) => Some(group),
                _ => None,
            };
            let group_at = group.and_then(|g| result.columns.iter().position(|c| &c.name == g));
            match (group, group_at) {
                (Some(group), Some(at)) => {
                    // "Compact: 31.9, 26.7; Large: …", in the order of the rows.
                    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
                    for row in rows {
                        let name = display(&row[at]);
                        match parts.last_mut() {
                            Some((last, values)) if *last == name => values.push(value_of(row)),
                            _ => parts.push((name, vec![value_of(row)])),
                        }
                    }
                    let listed: Vec<String> = parts
                        .iter()
                        .take(LISTED)
                        .map(|(name, values)| format!("{name}: {}", values.join(", ")))
                        .collect();
                    format!(
                        "The rows with the {side} {column}{filters} in each {group} have {column} {}.",
                        listed.join("; ")
                    )
                }
                _ => {
                    let values: Vec<String> = rows.iter().map(value_of).collect();
                    format!(
                        "The {} rows with the {side} {column}{filters} have {column} {}.",
                        rows.len(),
                        join_list(&values)
                    )
                }
            }
        }
    }
}

/// What the summarized values are, in words: "total sales", "share of total sales",
/// "change in total sales from 2022 to 2023".
fn value_label(plan: &Plan) -> String {
    let lower = plan.measure.label.to_lowercase();
    match &plan.derived {
        None => lower,
        Some(Derived::Share) => format!("share of {lower}"),
        Some(Derived::Change { from, to }) => {
            format!("change in {lower} from {} to {}", from.label, to.label)
        }
        Some(Derived::OfPeriods { grain, of }) => {
            Derived::periods_label(*grain, *of, &plan.measure).to_lowercase()
        }
    }
}

/// A value as the summary states it: shares in percent, everything else in the measure's unit.
fn formatted(plan: &Plan, value: f64) -> String {
    match plan.derived {
        Some(Derived::Share) => format!("{value:.1}%"),
        _ => format_value(value, &plan.measure),
    }
}

/// "Gentoo make up 36.0% of the number of penguins: 124 of 344."
fn share_of_values(plan: &Plan, result: &QueryResult) -> String {
    let row = result.rows.first();
    let number = |at: usize| {
        row.and_then(|r| r.get(at))
            .and_then(serde_json::Value::as_f64)
    };
    let values: Vec<String> = plan.filters.iter().map(|f| f.values.join(" or ")).collect();
    let lower = plan.measure.label.to_lowercase();
    let frame = frame_phrase(plan);
    match (number(0), number(1), number(2)) {
        (Some(part), Some(whole), Some(share)) => format!(
            "{} make up {share:.1}% of the {lower}{frame}: {} of {}.",
            values.join(", "),
            format_value(part, &plan.measure),
            format_value(whole, &plan.measure)
        ),
        _ => format!("There is nothing to take a share of: {lower}{frame} is empty or zero."),
    }
}

/// "Total generation for Renewables went from 1,234 in 2001 to 5,678 in 2017, a change of
/// 4,444 (+360.1%)."
fn change_between(plan: &Plan, result: &QueryResult, from: &TimeRange, to: &TimeRange) -> String {
    let row = result.rows.first();
    let number = |at: usize| {
        row.and_then(|r| r.get(at))
            .and_then(serde_json::Value::as_f64)
    };
    let fmt = |x: f64| format_value(x, &plan.measure);
    let what = format!("{}{}", plan.measure.label, filter_phrase(plan));
    match (number(0), number(1), number(2)) {
        (Some(first), Some(last), Some(change)) => {
            let percent = number(3).map_or(String::new(), |p| format!(" ({p:+.1}%)"));
            format!(
                "{what} went from {} in {} to {} in {}, a change of {}{percent}.",
                fmt(first),
                from.label,
                fmt(last),
                to.label,
                fmt(change)
            )
        }
        _ => format!(
            "{what} has no value in {} or in {}, so there is no change to state.",
            from.label, to.label
        ),
    }
}

/// "The top 3 by total sales in each region: East: Chai ($1,234), …; West: …."
fn ranked_within(plan: &Plan, ranking: Ranking, result: &QueryResult) -> String {
    let (partition_at, ranked_at) = match ranking.within {
        Within::EachGroup => (0, 1),
        _ => (1, 0),
    };
    let value_at = result.columns.len().saturating_sub(1);
    let mut parts: Vec<(String, Vec<String>)> = Vec::new();
    for row in &result.rows {
        let (Some(partition), Some(ranked)) = (row.get(partition_at), row.get(ranked_at)) else {
            continue;
        };
        let value = row
            .get(value_at)
            .and_then(serde_json::Value::as_f64)
            .map_or("(none)".to_string(), |v| formatted(plan, v));
        let entry = format!("{} ({value})", display(ranked));
        match parts.last_mut() {
            Some((name, entries)) if *name == display(partition) => entries.push(entry),
            _ => parts.push((display(partition), vec![entry])),
        }
    }
    let side = if ranking.descending { "top" } else { "bottom" };
    let each = super::restate::partition(plan).unwrap_or_default();
    let listed: Vec<String> = parts
        .iter()
        .take(LISTED)
        .map(|(name, entries)| format!("{name}: {}", entries.join(", ")))
        .collect();
    let mut text = format!(
        "The {side} {} by {}{}{} in each {each}: {}.",
        ranking.limit,
        value_label(plan),
        filter_phrase(plan),
        frame_phrase(plan),
        listed.join("; ")
    );
    if parts.len() > LISTED {
        text.push_str(&format!(
            " The table shows the other {}.",
            parts.len() - LISTED
        ));
    }
    text
}

/// "species", or "species and island pairs" when each group is split by a second column.
/// How many groups: "12 months"; with a split, each grouping counted on its own ("12 months
/// and 2 cities"), or the pairs when rows were cut at the cap ("1,500 month and city pairs"),
/// never pairs counted as if they were months.
fn groups_counted(
    plan: &Plan,
    result: &QueryResult,
    facts: &Facts,
    noun: &str,
    nouns: &str,
) -> String {
    let one_or_many = |n: usize, one: &str, many: &str| {
        format!(
            "{} {}",
            count(n),
            if n == 1 { one } else { many }.to_owned()
        )
    };
    let Some(split) = &plan.split else {
        return one_or_many(facts.known, noun, nouns);
    };
    let split_noun = split.replace('_', " ");
    let labels = plan.label_columns();
    match (
        result.truncated,
        result.distinct(&labels[0]),
        result.distinct(split),
    ) {
        (false, Some(groups), Some(parts)) => format!(
            "{} and {}",
            one_or_many(groups, noun, nouns),
            one_or_many(parts, &split_noun, &plural(&split_noun))
        ),
        _ => format!("{} {noun} and {split_noun} pairs", count(facts.known)),
    }
}

fn groups_noun(plan: &Plan, noun: &str) -> String {
    match &plan.split {
        Some(split) => format!("{noun} by {}", split.replace('_', " ")),
        None => noun.to_string(),
    }
}

fn extremes(facts: &Facts) -> (&Point, &Point) {
    let high = facts.highest.as_ref().expect("a known value");
    let low = facts.lowest.as_ref().expect("a known value");
    (high, low)
}

/// " From 2020 to 2024 it rose from 10 to 12 (+20.0%); the overall trend is upward."
fn change(facts: &Facts, fmt: &dyn Fn(f64) -> String) -> String {
    let (Some(first), Some(last)) = (&facts.first, &facts.last) else {
        return String::new();
    };
    let percent = if first.value != 0.0 {
        format!(
            " ({:+.1}%)",
            (last.value - first.value) / first.value.abs() * 100.0
        )
    } else {
        String::new()
    };
    let direction = if last.value > first.value {
        "rose"
    } else if last.value < first.value {
        "fell"
    } else {
        "held"
    };
    let trend = if facts.relative_change > 0.1 {
        "upward"
    } else if facts.relative_change < -0.1 {
        "downward"
    } else {
        "roughly flat"
    };
    format!(
        " From {} to {} it {direction} from {} to {}{percent}; the overall trend is {trend}.",
        first.label,
        last.label,
        fmt(first.value),
        fmt(last.value)
    )
}

/// The labels of a time series' end periods that the data covers only in part (the first
/// starts before the data does, the last ends after it).
fn partial_edges(plan: &Plan, grain: Grain, facts: &Facts) -> Vec<String> {
    let (Some((first_day, last_day)), Some(first), Some(last)) =
        (plan.data_span, &facts.first, &facts.last)
    else {
        return Vec::new();
    };
    let mut partial = Vec::new();
    if period_start(grain, &first.label).is_some_and(|start| start < first_day) {
        partial.push(first.label.clone());
    }
    let last_end = period_start(grain, &last.label).and_then(|start| period_end(grain, start));
    if last_end.is_some_and(|end| end > last_day) && !partial.contains(&last.label) {
        partial.push(last.label.clone());
    }
    partial
}

/// The first day of a period from its label ("2024", "2024-03", "2024-Q2", "2024-03-04").
fn period_start(grain: Grain, label: &str) -> Option<NaiveDate> {
    let year: i32 = label.get(..4)?.parse().ok()?;
    match grain {
        Grain::Year => NaiveDate::from_ymd_opt(year, 1, 1),
        Grain::Quarter => {
            let quarter: u32 = label.get(6..7)?.parse().ok()?;
            NaiveDate::from_ymd_opt(year, 3 * quarter - 2, 1)
        }
        Grain::Month => NaiveDate::from_ymd_opt(year, label.get(5..7)?.parse().ok()?, 1),
        Grain::Week | Grain::Day => NaiveDate::parse_from_str(label.get(..10)?, "%Y-%m-%d").ok(),
    }
}

/// The last day of the period starting on `start`.
fn period_end(grain: Grain, start: NaiveDate) -> Option<NaiveDate> {
    let next = match grain {
        Grain::Day => start.succ_opt()?,
        Grain::Week => start + chrono::Duration::days(7),
        Grain::Month => start.checked_add_months(chrono::Months::new(1))?,
        Grain::Quarter => start.checked_add_months(chrono::Months::new(3))?,
        Grain::Year => start.checked_add_months(chrono::Months::new(12))?,
    };
    next.pred_opt()
}

fn count(n: usize) -> String {
    super::narrate::group_digits(n as f64, 0)
}

fn capitalize(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
