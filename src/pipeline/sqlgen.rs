//! From a [`Plan`] to SQL in the seed's style: SQLite with `date_trunc` and `to_char`, one
//! clause per line so it reads well as it streams in.

use super::compare::Op;
use super::planner::{Agg, Derived, Group, Plan, Ranking, Within};
use super::timeframe::{Grain, TimeRange, OPEN_END, OPEN_START};

pub fn sql(plan: &Plan) -> String {
    if plan.listing {
        return listing(plan);
    }
    if let Some(Derived::OfPeriods { grain, of }) = &plan.derived {
        return of_periods(plan, *grain, *of);
    }
    if let (Some(ranking), Some(_)) = (plan.ranking, &plan.split) {
        if ranking.within != Within::All {
            return ranked_within(plan, ranking);
        }
    }
    let measure = measure_of(plan, None);
    let alias = &plan.measure.alias;
    let mut select = Vec::new();
    let mut group_by = Vec::new();
    // Rankings put missing values last, whichever the direction.
    let mut order_by = vec![format!("{alias} DESC NULLS LAST")];
    match &plan.group {
        Some(Group::Dimension { column, .. }) => {
            select.push(format!("    {}", ident(column)));
            group_by.push(ident(column));
            order_by.push(ident(column));
        }
        Some(Group::Time { column, grain }) => {
            let period = grain.unit();
            let expression = format!(
                "to_char(date_trunc('{period}', {}), '{}')",
                ident(column),
                grain.format().replace('\'', "''")
            );
            select.push(format!("    {expression} AS {period}"));
            // By the expression: in GROUP BY, SQLite takes a table column named like the
            // alias ("day", "year") over the alias, which would group by that column instead.
            group_by.push(expression);
            order_by = vec![period.to_string()];
        }
        Some(Group::Cycle { column, cycle }) => {
            let (label, order) = cycle.formats();
            let expression = format!("to_char({}, '{label}')", ident(column));
            select.push(format!("    {expression} AS {}", cycle.alias()));
            group_by.push(expression);
            // January before February, Monday before Tuesday, not alphabetically.
            order_by = vec![format!("MIN(to_char({}, '{order}'))", ident(column))];
        }
        None => {}
    }
    if let Some(split) = &plan.split {
        select.push(format!("    {}", ident(split)));
        group_by.push(ident(split));
        order_by.push(ident(split));
    }
    let mut conditions = conditions(plan);
    match &plan.derived {
        None | Some(Derived::OfPeriods { .. }) => select.push(format!("    {measure} AS {alias}")),
        Some(Derived::Share) if plan.group.is_some() => {
            select.push(format!("    {measure} AS {alias}"));
            select.push(format!(
                "    100.0 * {measure} / SUM({measure}) OVER () AS {}",
                plan.value_alias()
            ));
        }
        Some(Derived::Share) => {
            // The values named pick the part; every other condition bounds the whole.
            let part = filter_conditions(plan).join(" AND ");
            conditions.retain(|c| !filter_conditions(plan).contains(c));
            let part_measure = measure_of(plan, Some(&part));
            select.push(format!("    {part_measure} AS {alias}"));
            select.push(format!("    {measure} AS all_{alias}"));
            select.push(format!(
                "    100.0 * {part_measure} / {measure} AS {}",
                plan.value_alias()
            ));
        }
        Some(Derived::Change { from, to }) => {
            let time = ident(plan.time_column.as_deref().unwrap_or("rowid"));
            let within = |range: &TimeRange| {
                format!("{time} >= '{}' AND {time} < '{}'", range.start, range.end)
            };
            let first = measure_of(plan, Some(&within(from)));
            let last = measure_of(plan, Some(&within(to)));
            select.push(format!("    {first} AS {}", period_alias(alias, from)));
            select.push(format!("    {last} AS {}", period_alias(alias, to)));
            select.push(format!("    {last} - {first} AS change"));
            select.push(format!(
                "    100.0 * ({last} - {first}) / {first} AS change_pct"
            ));
            order_by = vec!["change DESC NULLS LAST".to_string()];
            order_by.extend(group_by.iter().cloned());
        }
    }
    if let Some(ranking) = plan.ranking {
        let direction = if ranking.descending { "DESC" } else { "ASC" };
        order_by = vec![format!("{} {direction} NULLS LAST", plan.value_alias())];
        order_by.extend(group_by.iter().cloned());
    }

    let mut lines = vec![
        "SELECT".to_string(),
        select.join(",\n"),
        format!("FROM {}", ident(&plan.table)),
    ];
    if !conditions.is_empty() {
        lines.push(format!("WHERE {}", conditions.join("\n  AND ")));
    }
    if !group_by.is_empty() {
        lines.push(format!("GROUP BY {}", group_by.join(", ")));
        lines.push(format!("ORDER BY {}", order_by.join(", ")));
    }
    if let Some(ranking) = plan.ranking {
        lines.push(format!("LIMIT {}", ranking.limit));
    }
    let mut text = lines.join("\n");
    text.push(';');
    text
}

/// The measure per period, then aggregated across the periods: "average yearly generation
/// by source" is, for each source, the average of its yearly totals.
fn of_periods(plan: &Plan, grain: Grain, of: Agg) -> String {
    let dimension = match &plan.group {
        Some(Group::Dimension { column, .. }) => Some(column.clone()),
        _ => None,
    };
    let inner = Plan {
        group: plan
            .time_column
            .clone()
            .map(|column| Group::Time { column, grain }),
        split: dimension.clone(),
        ranking: None,
        derived: None,
        ..plan.clone()
    };
    let inner_sql = sql(&inner);
    let inner_sql = inner_sql.trim_end_matches(';');
    let value = &plan.measure.alias;
    let outer = match of {
        Agg::Sum => format!("SUM({value})"),
        Agg::Min => format!("MIN({value})"),
        Agg::Max => format!("MAX({value})"),
        Agg::Median => format!("median({value})"),
        Agg::Percentile(p) => format!("percentile({value}, {p})"),
        Agg::Count => format!("COUNT({value})"),
        Agg::Avg | Agg::Last => format!("AVG({value})"),
    };
    let alias = plan.value_alias();
    let mut select = Vec::new();
    if let Some(dimension) = &dimension {
        select.push(format!("    {}", ident(dimension)));
    }
    select.push(format!("    {outer} AS {alias}"));
    let indented: Vec<String> = inner_sql.lines().map(|l| format!("    {l}")).collect();
    let mut lines = vec![
        "SELECT".to_string(),
        select.join(",\n"),
        format!("FROM (\n{}\n) AS per_{}", indented.join("\n"), grain.unit()),
    ];
    if let Some(dimension) = &dimension {
        let direction = match plan.ranking {
            Some(ranking) if !ranking.descending => "ASC",
            _ => "DESC",
        };
        lines.push(format!("GROUP BY {}", ident(dimension)));
        lines.push(format!(
            "ORDER BY {alias} {direction} NULLS LAST, {}",
            ident(dimension)
        ));
        if let Some(ranking) = plan.ranking {
            lines.push(format!("LIMIT {}", ranking.limit));
        }
    }
    let mut text = lines.join("\n");
    text.push(';');
    text
}

/// The top N of one grouping within each group of the other: every group, then a numbering
/// within each partition, then the first N of each.
fn ranked_within(plan: &Plan, ranking: Ranking) -> String {
    let all = Plan {
        ranking: None,
        ..plan.clone()
    };
    let grouped = sql(&all);
    let labels = plan.label_columns();
    let (Some(group), Some(split)) = (labels.first(), labels.get(1)) else {
        return grouped;
    };
    let partition = match ranking.within {
        Within::EachGroup => group,
        _ => split,
    };
    let value = plan.value_alias();
    let direction = if ranking.descending { "DESC" } else { "ASC" };
    let indented: Vec<String> = grouped
        .trim_end_matches(';')
        .lines()
        .map(|l| format!("        {l}"))
        .collect();
    [
        format!("SELECT {}, {}, {value}", ident(group), ident(split)),
        "FROM (".to_string(),
        format!(
            "    SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {value} {direction} NULLS LAST) AS rank",
            ident(partition)
        ),
        "    FROM (".to_string(),
        indented.join("\n"),
        "    ) AS grouped".to_string(),
        ") AS ranked".to_string(),
        format!("WHERE rank <= {}", ranking.limit),
        format!("ORDER BY {}, rank;", ident(partition)),
    ]
    .join("\n")
}

/// Whole rows ranked by the measure's column: "the 5 heaviest penguins".
fn listing(plan: &Plan) -> String {
    let column = ident(plan.measure.column.as_deref().unwrap_or("rowid"));
    let ranking = plan.ranking.unwrap_or(super::planner::Ranking {
        descending: true,
        limit: 1,
        within: Within::All,
    });
    let direction = if ranking.descending { "DESC" } else { "ASC" };
    let mut lines = vec![
        "SELECT *".to_string(),
        format!("FROM {}", ident(&plan.table)),
    ];
    let conditions = conditions(plan);
    if !conditions.is_empty() {
        lines.push(format!("WHERE {}", conditions.join("\n  AND ")));
    }
    // The first rows of each group: numbered within the group, then cut.
    if let Some(Group::Dimension { column: group, .. }) = &plan.group {
        let group = ident(group);
        let rows: Vec<String> = lines.iter().map(|l| format!("        {l}")).collect();
        return [
            "SELECT *".to_string(),
            "FROM (".to_string(),
            format!(
                "    SELECT *, ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY {column} {direction} NULLS LAST) AS rank"
            ),
            "    FROM (".to_string(),
            rows.join("\n"),
            "    ) AS chosen".to_string(),
            ") AS ranked".to_string(),
            format!("WHERE rank <= {}", ranking.limit),
            format!("ORDER BY {group}, rank;"),
        ]
        .join("\n");
    }
    lines.push(format!("ORDER BY {column} {direction} NULLS LAST"));
    lines.push(format!("LIMIT {};", ranking.limit));
    lines.join("\n")
}

/// The measure's aggregate, over the rows meeting `when` if given (the others give NULL, which
/// every aggregate skips).
fn measure_of(plan: &Plan, when: Option<&str>) -> String {
    let measure = &plan.measure;
    if let Some(term) = &measure.term_sql {
        return term.clone();
    }
    let value = |column: String| match when {
        Some(condition) => format!("CASE WHEN {condition} THEN {column} END"),
        None => column,
    };
    // Without a column the measure counts rows: all of them, or those meeting `when`.
    let Some(column) = measure.column.as_deref().map(ident) else {
        return match when {
            Some(condition) => format!("COUNT(CASE WHEN {condition} THEN 1 END)"),
            None => "COUNT(*)".to_string(),
        };
    };
    match measure.agg {
        Agg::Count => format!("COUNT(DISTINCT {})", value(column)),
        Agg::Sum => format!("SUM({})", value(column)),
        Agg::Avg => format!("AVG({})", value(column)),
        Agg::Min => format!("MIN({})", value(column)),
        Agg::Max => format!("MAX({})", value(column)),
        Agg::Median => format!("median({})", value(column)),
        Agg::Percentile(p) => format!("percentile({}, {p})", value(column)),
        Agg::Last => match &plan.time_column {
            Some(time) => format!("latest({}, {})", value(column), ident(time)),
            None => format!("AVG({})", value(column)),
        },
    }
}

/// "total_net_generation_2001": a measure in one period.
fn period_alias(alias: &str, range: &TimeRange) -> String {
    let label: Vec<String> = super::text::words(&range.label);
    format!("{alias}_{}", label.join("_").replace('-', "_"))
}

/// Conditions on the values named ("region = 'West'").
fn filter_conditions(plan: &Plan) -> Vec<String> {
    plan.filters
        .iter()
        .map(|filter| {
            let column = ident(&filter.column);
            if filter.contains {
                // A whole word, in any case: "ford" matches "Ford Pinto", not "Stanford".
                let words: Vec<String> = filter
                    .values
                    .iter()
                    .map(|word| {
                        let pattern = format!("% {} %", word.to_lowercase());
                        format!("(' ' || LOWER({column}) || ' ') LIKE {}", literal(&pattern))
                    })
                    .collect();
                return words.join(" OR ");
            }
            if let [value] = filter.values.as_slice() {
                format!("{column} = {}", literal(value))
            } else {
                let values: Vec<String> = filter.values.iter().map(|v| literal(v)).collect();
                format!("{column} IN ({})", values.join(", "))
            }
        })
        .collect()
}

fn conditions(plan: &Plan) -> Vec<String> {
    let mut conditions = filter_conditions(plan);
    for condition in &plan.conditions {
        let column = ident(&condition.column);
        let value = condition.value;
        conditions.push(match (condition.op, condition.upper) {
            (Op::Gt, _) => format!("{column} > {value}"),
            (Op::Ge, _) => format!("{column} >= {value}"),
            (Op::Lt, _) => format!("{column} < {value}"),
            (Op::Le, _) => format!("{column} <= {value}"),
            (Op::Eq, _) => format!("{column} = {value}"),
            (Op::Between, upper) => {
                format!("{column} BETWEEN {value} AND {}", upper.unwrap_or(value))
            }
        });
    }
    if let (Some(range), Some(column)) = (&plan.range, &plan.time_column) {
        let column = ident(column);
        if range.start != OPEN_START {
            conditions.push(format!("{column} >= '{}'", range.start));
        }
        if range.end != OPEN_END {
            conditions.push(format!("{column} < '{}'", range.end));
        }
    }
    conditions
}

/// A column or table name, quoted only when it has to be.
pub fn ident(name: &str) -> String {
    let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !is_keyword(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn is_keyword(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "select", "from", "where", "group", "order", "by", "limit", "and", "or", "not", "as", "in",
        "is", "null", "table", "index", "values", "case", "when", "then", "else", "end", "join",
    ];
    KEYWORDS.contains(&name.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::super::planner::{plan, tests::sample};
    use super::*;

    fn sql_for(question: &str) -> String {
        let (dataset, profile) = sample();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        sql(&plan(question, &dataset, &profile, None, today).unwrap())
    }

    #[test]
    fn seed_style_sql() {
        assert_eq!(
            sql_for("show me my top customer"),
            "SELECT\n    customer_name,\n    SUM(total_sales_amount) AS total_sales\nFROM sales_summary\n\
             GROUP BY customer_name\nORDER BY total_sales DESC NULLS LAST, customer_name\nLIMIT 1;"
        );
        assert_eq!(
            sql_for("total sales by month in 2023"),
            "SELECT\n    to_char(date_trunc('month', order_date), 'YYYY-MM') AS month,\n    \
             SUM(total_sales_amount) AS total_sales\nFROM sales_summary\n\
             WHERE order_date >= '2023-01-01'\n  AND order_date < '2024-01-01'\n\
             GROUP BY to_char(date_trunc('month', order_date), 'YYYY-MM')\nORDER BY month;"
        );
    }

    #[test]
    fn values_are_quoted() {
        assert_eq!(literal("Chef Anton's"), "'Chef Anton''s'");
        assert_eq!(ident("order"), "\"order\"");
    }
}
