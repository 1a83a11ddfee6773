//! Words from a plan and its rows: how the data was pulled, the time frame, the metric title
//! (the summary is `summary`'s, the chart `chart`'s).

use super::planner::{Agg, Derived, Group, Plan};
use super::text::title_case;

pub fn time_frame(plan: &Plan) -> String {
    match &plan.range {
        Some(range) => range.label.clone(),
        None => "All time".to_string(),
    }
}

pub fn metric_title(plan: &Plan) -> String {
    if plan.listing {
        let column = plan.measure.column.as_deref().unwrap_or("rowid");
        let (descending, limit) = plan.ranking.map_or((true, 1), |r| (r.descending, r.limit));
        let side = if descending { "Largest" } else { "Smallest" };
        let rows = if limit == 1 {
            "Row".to_string()
        } else {
            format!("{limit} Rows")
        };
        let each = match &plan.group {
            Some(Group::Dimension { column: group, .. }) => format!(" in Each {group}"),
            _ => String::new(),
        };
        return format!(
            "{rows} with the {side} {column}{each}{}",
            filter_phrase(plan)
        );
    }
    let label = &plan.measure.label;
    let measure = &match &plan.derived {
        None => label.clone(),
        Some(Derived::Share) => format!("Share of {label}"),
        Some(Derived::Change { from, to }) => {
            format!("Change in {label}, {} to {}", from.label, to.label)
        }
        Some(Derived::OfPeriods { grain, of }) => {
            Derived::periods_label(*grain, *of, &plan.measure)
        }
    };
    let filters = filter_phrase(plan);
    match (&plan.group, plan.ranking) {
        (Some(Group::Dimension { noun, .. }), Some(ranking)) => {
            let side = if ranking.descending { "Top" } else { "Bottom" };
            if ranking.limit == 1 {
                format!("{side} {}{filters} by {measure}", title_case(noun))
            } else {
                format!(
                    "{side} {} {}{filters} by {measure}",
                    ranking.limit,
                    title_case(&plural(noun))
                )
            }
        }
        (Some(Group::Time { grain, .. }), Some(ranking)) => {
            let side = if ranking.descending { "Best" } else { "Worst" };
            let unit = title_case(grain.unit());
            if ranking.limit == 1 {
                format!("{side} {unit} by {measure}{filters}")
            } else {
                format!("{side} {} {}s by {measure}{filters}", ranking.limit, unit)
            }
        }
        (Some(Group::Dimension { noun, .. }), None) => {
            format!("{measure}{filters} by {}", title_case(noun))
        }
        (Some(Group::Time { grain, .. }), None) => {
            format!("{measure}{filters} by {}", title_case(grain.unit()))
        }
        (Some(Group::Cycle { cycle, .. }), Some(ranking)) => {
            let side = if ranking.descending { "Best" } else { "Worst" };
            format!(
                "{side} {} of the Year by {measure}{filters}",
                title_case(cycle.unit())
            )
            .replace("Weekday of the Year", "Weekday")
        }
        (Some(Group::Cycle { cycle, .. }), None) => {
            format!("{measure}{filters} by {}", title_case(cycle.name()))
        }
        (None, _) => format!("{measure}{filters}"),
    }
}

/// " in 2023", " over the last 30 days", " this month", or nothing for all time.
pub(super) fn frame_phrase(plan: &Plan) -> String {
    let Some(range) = &plan.range else {
        return String::new();
    };
    let label = &range.label;
    if !range.relative {
        return format!(" in {label}");
    }
    let lower = label.to_lowercase();
    if lower.starts_with("last ") && lower.chars().any(|c| c.is_ascii_digit())
        || lower.starts_with("past ")
    {
        format!(" over the {lower}")
    } else {
        format!(" {lower}")
    }
}

pub(super) fn filter_phrase(plan: &Plan) -> String {
    if plan.filters.is_empty() {
        return String::new();
    }
    let values: Vec<String> = plan
        .filters
        .iter()
        .map(|f| f.values.join(" and "))
        .collect();
    format!(" for {}", values.join(", "))
}

pub(super) fn plural(noun: &str) -> String {
    if noun.ends_with('s') {
        noun.to_string()
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{noun}s")
    }
}

/// How the data was pulled, in plain words.
pub fn explanation(plan: &Plan, dataset_name: &str) -> String {
    if plan.listing {
        let column = plan.measure.column.as_deref().unwrap_or("rowid");
        let (descending, limit) = plan.ranking.map_or((true, 1), |r| (r.descending, r.limit));
        let order = if descending {
            "largest to smallest"
        } else {
            "smallest to largest"
        };
        let conditions = super::restate::conditions(plan);
        let kept = if conditions.is_empty() {
            String::new()
        } else {
            format!(", keeping only rows where {}", conditions.join(" and "))
        };
        let each = match &plan.group {
            Some(Group::Dimension { column: group, .. }) => format!(" of each {group}"),
            _ => String::new(),
        };
        return format!(
            "I used the {dataset_name} (table {}){kept}, sorted the rows by {column} from \
             {order}, and kept the first {limit}{each}, with all their columns.",
            plan.table
        );
    }
    let measure = &plan.measure;
    let what = match (&measure.term_sql, measure.agg, &measure.column) {
        (Some(sql), _, _) => format!("calculated {} as {sql}", measure.label.to_lowercase()),
        (None, Agg::Count, Some(column)) => format!("counted the distinct values of {column}"),
        (None, Agg::Count, None) => "counted the rows".to_string(),
        (None, Agg::Sum, Some(column)) => format!("added up {column}"),
        (None, Agg::Avg, Some(column)) => format!("averaged {column}"),
        (None, Agg::Min, Some(column)) => format!("took the smallest {column}"),
        (None, Agg::Max, Some(column)) => format!("took the largest {column}"),
        (None, Agg::Median, Some(column)) => format!("took the median of {column}"),
        (None, Agg::Last, Some(column)) => format!("took the latest {column}"),
        (None, Agg::Percentile(p), Some(column)) => {
            format!(
                "took the {} percentile of {column}",
                super::planner::ordinal(p)
            )
        }
        (None, _, None) => "counted the rows".to_string(),
    };
    let mut text = format!(
        "I used the {dataset_name} (table {}) and {what}",
        plan.table
    );
    match &plan.group {
        Some(Group::Dimension { column, .. }) => text.push_str(&format!(" for each {column}")),
        Some(Group::Time { column, grain }) => {
            text.push_str(&format!(" for each {} of {column}", grain.unit()))
        }
        Some(Group::Cycle { column, cycle }) => text.push_str(&format!(
            " for each {} of {column}, across all years",
            cycle.name()
        )),
        None => {}
    }
    if let Some(split) = &plan.split {
        text.push_str(&format!(" and each {split}"));
    }
    let mut conditions: Vec<String> = plan
        .filters
        .iter()
        .map(|f| match f.values.as_slice() {
            [one] => format!("{} is {one}", f.column),
            many => format!("{} is one of {}", f.column, many.join(", ")),
        })
        .collect();
    if let (Some(range), Some(column)) = (&plan.range, &plan.time_column) {
        conditions.push(super::restate::range_condition(column, range));
    }
    if !conditions.is_empty() {
        text.push_str(", keeping only rows where ");
        text.push_str(&conditions.join(" and "));
    }
    text.push('.');
    match (&plan.group, plan.ranking) {
        (Some(_), Some(ranking)) => {
            let order = if ranking.descending {
                "highest to lowest"
            } else {
                "lowest to highest"
            };
            let kept = if ranking.limit == 1 {
                "the first".to_string()
            } else {
                format!("the first {}", ranking.limit)
            };
            text.push_str(&format!(
                " Then I sorted the results from {order} and kept {kept}."
            ));
        }
        (Some(Group::Time { .. } | Group::Cycle { .. }), None) => {
            text.push_str(" Then I put the periods in order.")
        }
        (Some(Group::Dimension { .. }), None) => {
            text.push_str(" Then I sorted them from highest to lowest.")
        }
        (None, _) => {}
    }
    match &plan.derived {
        Some(Derived::Share) if plan.group.is_some() => {
            text.push_str(" Each value is also shown as a percentage of the total of all of them.")
        }
        Some(Derived::Share) => text.push_str(
            " I computed it for the rows with the values named and for all rows, and divided \
             the first by the second.",
        ),
        Some(Derived::Change { from, to }) => text.push_str(&format!(
            " I computed it for {} and for {} separately, then the change between them.",
            from.label, to.label
        )),
        Some(Derived::OfPeriods { grain, of }) => text.push_str(&format!(
            " I computed it for each {} first, then took the {} of those values.",
            grain.unit(),
            of.prefix().to_lowercase()
        )),
        None => {}
    }
    if let Some(last) = plan.data_ends {
        text.push_str(&format!(
            " The data runs to {last}, so \"{}\" is counted back from that day.",
            plan.range
                .as_ref()
                .map_or("", |r| r.label.as_str())
                .to_lowercase()
        ));
    }
    text
}

/// A value in the measure's unit: "$1,234.56", "1,234 units", "1,234".
pub fn format_value(value: f64, measure: &super::planner::Measure) -> String {
    let whole = value.fract() == 0.0 && value.abs() < 1e15;
    match measure.unit.as_deref() {
        Some("USD") => format!("${}", group_digits(value, 2)),
        Some(unit) => format!("{} {unit}", group_digits(value, if whole { 0 } else { 2 })),
        None => group_digits(value, if whole { 0 } else { 2 }),
    }
}

/// 1234567.891 → "1,234,567.89".
pub fn group_digits(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int.to_string(), Some(frac.to_string())),
        None => (text.clone(), None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c != '0' && c != '.') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(group_digits(1234567.891, 2), "1,234,567.89");
        assert_eq!(group_digits(999.0, 0), "999");
        assert_eq!(group_digits(-1000.5, 2), "-1,000.50");
        assert_eq!(group_digits(0.0, 2), "0.00");
    }
}
