//! From a [`Plan`] to SQL in the seed's style: SQLite with `date_trunc` and `to_char`, one
//! clause per line so it reads well as it streams in.

use super::compare::Op;
use super::planner::{Agg, Group, Plan};
use super::timeframe::{OPEN_END, OPEN_START};

pub fn sql(plan: &Plan) -> String {
    if plan.listing {
        return listing(plan);
    }
    let measure = measure_expression(plan);
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
            select.push(format!(
                "    to_char(date_trunc('{period}', {}), '{}') AS {period}",
                ident(column),
                grain.format().replace('\'', "''")
            ));
            group_by.push(period.to_string());
            order_by = vec![period.to_string()];
        }
        Some(Group::Cycle { column, cycle }) => {
            let (label, order) = cycle.formats();
            let alias = cycle.alias();
            select.push(format!(
                "    to_char({}, '{label}') AS {alias}",
                ident(column)
            ));
            group_by.push(alias.to_string());
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
    select.push(format!("    {measure} AS {alias}"));
    if let Some(ranking) = plan.ranking {
        let direction = if ranking.descending { "DESC" } else { "ASC" };
        order_by = vec![format!("{alias} {direction} NULLS LAST")];
        order_by.extend(group_by.iter().cloned());
    }

    let mut lines = vec![
        "SELECT".to_string(),
        select.join(",\n"),
        format!("FROM {}", ident(&plan.table)),
    ];
    let conditions = conditions(plan);
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

/// Whole rows ranked by the measure's column: "the 5 heaviest penguins".
fn listing(plan: &Plan) -> String {
    let column = ident(plan.measure.column.as_deref().unwrap_or("rowid"));
    let ranking = plan.ranking.unwrap_or(super::planner::Ranking {
        descending: true,
        limit: 1,
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
    lines.push(format!("ORDER BY {column} {direction} NULLS LAST"));
    lines.push(format!("LIMIT {};", ranking.limit));
    lines.join("\n")
}

fn measure_expression(plan: &Plan) -> String {
    let measure = &plan.measure;
    if let Some(term) = &measure.term_sql {
        return term.clone();
    }
    let column = measure.column.as_deref().map(ident);
    match (measure.agg, column) {
        (Agg::Count, Some(column)) => format!("COUNT(DISTINCT {column})"),
        (Agg::Count, None) => "COUNT(*)".to_string(),
        (Agg::Sum, Some(column)) => format!("SUM({column})"),
        (Agg::Avg, Some(column)) => format!("AVG({column})"),
        (Agg::Min, Some(column)) => format!("MIN({column})"),
        (Agg::Max, Some(column)) => format!("MAX({column})"),
        (Agg::Median, Some(column)) => format!("median({column})"),
        (Agg::Last, Some(column)) => match &plan.time_column {
            Some(time) => format!("latest({column}, {})", ident(time)),
            None => format!("AVG({column})"),
        },
        (_, None) => "COUNT(*)".to_string(),
    }
}

fn conditions(plan: &Plan) -> Vec<String> {
    let mut conditions = Vec::new();
    for filter in &plan.filters {
        let column = ident(&filter.column);
        if let [value] = filter.values.as_slice() {
            conditions.push(format!("{column} = {}", literal(value)));
        } else {
            let values: Vec<String> = filter.values.iter().map(|v| literal(v)).collect();
            conditions.push(format!("{column} IN ({})", values.join(", ")));
        }
    }
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
             WHERE order_date >= '2023-01-01'\n  AND order_date < '2024-01-01'\nGROUP BY month\nORDER BY month;"
        );
    }

    #[test]
    fn values_are_quoted() {
        assert_eq!(literal("Chef Anton's"), "'Chef Anton''s'");
        assert_eq!(ident("order"), "\"order\"");
    }
}
