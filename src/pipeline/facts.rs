//! The numbers a summary may state about a result: how many rows, their total, the highest and
//! lowest, the first and last, and the direction of the trend.
//!
//! They are always facts of the whole result. When the result was cut at the row cap, they are
//! computed by SQL over the same query instead of from the rows that were kept, so a summary
//! never reports a total or an end date of a part as if it were the whole.

use super::planner::Plan;
use super::sqlgen::ident;
use crate::datasets::QueryResult;
use serde_json::Value;

/// One row of a result: its label (the grouping values, joined) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// Rows of the whole result.
    pub rows: usize,
    /// Rows with a value (not NULL).
    pub known: usize,
    /// Sum of the values; meaningful only for additive measures (see `narrate`).
    pub total: f64,
    pub highest: Option<Point>,
    pub lowest: Option<Point>,
    /// The first and last rows with a value, in the result's order.
    pub first: Option<Point>,
    pub last: Option<Point>,
    /// Least-squares change across the span of rows, as a share of the mean value.
    pub relative_change: f64,
    /// Only of the rows kept under the cap: the whole result's could not be computed.
    pub partial: bool,
}

/// The columns of a result a summary reads: the labels, then the value.
pub struct Shape {
    pub labels: Vec<String>,
    pub value: String,
}

impl Shape {
    /// The plan's value column, labelled by its grouping columns.
    pub fn of_plan(result: &QueryResult, plan: &Plan) -> Option<Shape> {
        let has = |name: &str| result.columns.iter().any(|c| c.name == name);
        let value = plan.value_alias();
        if !has(&value) {
            return Shape::of(result, &value);
        }
        let labels = plan
            .label_columns()
            .into_iter()
            .filter(|l| has(l))
            .collect();
        Some(Shape { labels, value })
    }

    /// The value is the column named `value`, else the last column; every other column labels.
    pub fn of(result: &QueryResult, value: &str) -> Option<Shape> {
        let value = result
            .columns
            .iter()
            .find(|c| c.name == value)
            .or(result.columns.last())?
            .name
            .clone();
        let labels = result
            .columns
            .iter()
            .filter(|c| c.name != value)
            .map(|c| c.name.clone())
            .collect();
        Some(Shape { labels, value })
    }
}

/// The rows with a value, with their labels, in the result's order.
pub fn points(result: &QueryResult, shape: &Shape) -> Vec<Point> {
    indexed_points(result, shape)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

fn indexed_points(result: &QueryResult, shape: &Shape) -> Vec<(usize, Point)> {
    let index = |name: &str| result.columns.iter().position(|c| c.name == name);
    let Some(value_at) = index(&shape.value) else {
        return Vec::new();
    };
    let label_at: Vec<usize> = shape.labels.iter().filter_map(|l| index(l)).collect();
    result
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let value = row[value_at].as_f64()?;
            let label = label_at
                .iter()
                .map(|&at| display(&row[at]))
                .collect::<Vec<_>>()
                .join(" / ");
            Some((i, Point { label, value }))
        })
        .collect()
}

/// Facts from the rows themselves (the result is complete).
pub fn from_rows(result: &QueryResult, shape: &Shape) -> Facts {
    let mut facts = Facts {
        rows: result.rows.len(),
        ..Facts::default()
    };
    let mut sums = Sums::default();
    for (i, point) in indexed_points(result, shape) {
        sums.add(i as f64, point.value);
        facts.known += 1;
        facts.total += point.value;
        if facts.highest.as_ref().is_none_or(|h| point.value > h.value) {
            facts.highest = Some(point.clone());
        }
        if facts.lowest.as_ref().is_none_or(|l| point.value < l.value) {
            facts.lowest = Some(point.clone());
        }
        if facts.first.is_none() {
            facts.first = Some(point.clone());
        }
        facts.last = Some(point);
    }
    facts.relative_change = sums.relative_change();
    facts
}

/// SQL computing the facts of `query` (one statement, as run) over all its rows.
///
/// The result has one row: rows, known, total, the sums of the trend line, then label and value
/// of the highest, lowest, first and last rows.
pub fn sql(query: &str, shape: &Shape) -> String {
    let query = query.trim().trim_end_matches(';');
    let label = if shape.labels.is_empty() {
        "''".to_string()
    } else {
        shape
            .labels
            .iter()
            .map(|l| format!("COALESCE(CAST({} AS TEXT), '(none)')", ident(l)))
            .collect::<Vec<_>>()
            .join(" || ' / ' || ")
    };
    let value = ident(&shape.value);
    let pick = |order: &str| {
        format!(
            "(SELECT label FROM n WHERE v IS NOT NULL ORDER BY {order} LIMIT 1), \
             (SELECT v FROM n WHERE v IS NOT NULL ORDER BY {order} LIMIT 1)"
        )
    };
    format!(
        "WITH r AS ({query}),\n\
         n AS (SELECT ROW_NUMBER() OVER () - 1 AS i, {label} AS label, {value} AS v FROM r)\n\
         SELECT COUNT(*), COUNT(v), TOTAL(v), TOTAL(CASE WHEN v IS NOT NULL THEN i END), \
         TOTAL(i * v), TOTAL(CASE WHEN v IS NOT NULL THEN i * i END), \
         MIN(CASE WHEN v IS NOT NULL THEN i END), MAX(CASE WHEN v IS NOT NULL THEN i END),\n\
         {}, {}, {}, {}\nFROM n",
        pick("v DESC, i"),
        pick("v ASC, i"),
        pick("i"),
        pick("i DESC"),
    )
}

/// Reads the one row of [`sql`]'s result.
pub fn from_sql_result(result: &QueryResult) -> Option<Facts> {
    let row = result.rows.first()?;
    let number = |at: usize| row.get(at).and_then(Value::as_f64);
    let point = |at: usize| {
        Some(Point {
            label: display(row.get(at)?),
            value: number(at + 1)?,
        })
    };
    let known = number(1)? as usize;
    let y = number(2)?;
    let sums = Sums {
        n: known as f64,
        x: number(3)?,
        y,
        xy: number(4)?,
        xx: number(5)?,
        span: (number(6).unwrap_or(0.0), number(7).unwrap_or(0.0)),
    };
    Some(Facts {
        rows: number(0)? as usize,
        known,
        total: y,
        relative_change: sums.relative_change(),
        highest: point(8),
        lowest: point(10),
        first: point(12),
        last: point(14),
        partial: false,
    })
}

/// Running sums of a least-squares line through (row index, value).
#[derive(Default)]
struct Sums {
    n: f64,
    x: f64,
    y: f64,
    xy: f64,
    xx: f64,
    /// First and last row index with a value.
    span: (f64, f64),
}

impl Sums {
    fn add(&mut self, x: f64, y: f64) {
        if self.n == 0.0 {
            self.span.0 = x;
        }
        self.span.1 = x;
        self.n += 1.0;
        self.x += x;
        self.y += y;
        self.xy += x * y;
        self.xx += x * x;
    }

    fn relative_change(&self) -> f64 {
        let denominator = self.n * self.xx - self.x * self.x;
        let mean = if self.n > 0.0 { self.y / self.n } else { 0.0 };
        if denominator == 0.0 || mean == 0.0 {
            return 0.0;
        }
        let slope = (self.n * self.xy - self.x * self.y) / denominator;
        slope * (self.span.1 - self.span.0) / mean.abs()
    }
}

/// A cell as a label: text as it is, NULL as "(none)".
pub(super) fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::engine;
    use crate::datasets::QueryLimits;

    /// The same facts whether read from the rows or computed by SQL, and by SQL over all rows
    /// when the rows were cut at the cap.
    #[test]
    fn facts_by_sql_match_the_rows_and_cover_rows_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sqlite");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (day TEXT, v REAL);
             WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 29)
             INSERT INTO t SELECT printf('d%02d', i), CASE WHEN i = 7 THEN NULL ELSE i * 2 + 1 END FROM k;",
        )
        .unwrap();
        drop(conn);
        let query = "SELECT day, v AS value FROM t ORDER BY day;";
        let run = |sql: &str, row_cap| {
            let mut conn = engine::open_read_only(&path).unwrap();
            let limits = QueryLimits {
                row_cap,
                ..Default::default()
            };
            engine::run(&mut conn, sql, limits).unwrap()
        };
        let full = run(query, 1000);
        let shape = Shape::of(&full, "value").unwrap();
        let from_rows = from_rows(&full, &shape);
        let by_sql = from_sql_result(&run(&sql(query, &shape), 1000)).unwrap();
        assert_eq!(from_rows.rows, 30);
        assert_eq!(from_rows.known, 29);
        assert_eq!(
            from_rows.total,
            (0..30).filter(|i| *i != 7).map(|i| i * 2 + 1).sum::<i32>() as f64
        );
        assert_eq!(from_rows.last.as_ref().unwrap().label, "d29");
        assert_eq!(from_rows.lowest.as_ref().unwrap().label, "d00");
        assert!(from_rows.relative_change > 0.1);
        assert_eq!(by_sql.rows, from_rows.rows);
        assert_eq!(by_sql.total, from_rows.total);
        assert_eq!(by_sql.highest, from_rows.highest);
        assert_eq!(by_sql.first, from_rows.first);
        assert_eq!(by_sql.last, from_rows.last);
        assert!((by_sql.relative_change - from_rows.relative_change).abs() < 1e-9);

        let capped = run(query, 10);
        assert!(capped.truncated);
        let by_sql = from_sql_result(&run(&sql(query, &shape), 10)).unwrap();
        assert_eq!(by_sql, from_rows);
    }
}
