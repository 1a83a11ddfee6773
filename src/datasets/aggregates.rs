//! Aggregate functions SQLite lacks, registered on every query connection:
//! `median(x)`, `percentile(x, p)` (p in 0–100, linear interpolation as pandas and
//! PostgreSQL's `percentile_cont`), and `latest(x, t)`, the value of `x` at the greatest `t`.
//! NULLs are skipped, as the built-in aggregates skip them.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::Value;
use rusqlite::Connection;

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("median", 1, flags, Percentile { fixed: Some(50.0) })?;
    conn.create_aggregate_function("percentile", 2, flags, Percentile { fixed: None })?;
    conn.create_aggregate_function("latest", 2, flags, Latest)?;
    Ok(())
}

struct Percentile {
    /// The percentile of `median`; `percentile` reads it from its second argument.
    fixed: Option<f64>,
}

#[derive(Default)]
struct Values {
    values: Vec<f64>,
    percentile: f64,
}

impl Aggregate<Values, Option<f64>> for Percentile {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Values> {
        Ok(Values::default())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Values) -> rusqlite::Result<()> {
        acc.percentile = match self.fixed {
            Some(p) => p,
            None => ctx.get::<f64>(1)?,
        };
        if !(0.0..=100.0).contains(&acc.percentile) {
            return Err(rusqlite::Error::UserFunctionError(
                "percentile must be between 0 and 100".into(),
            ));
        }
        if let Some(value) = ctx.get::<Option<f64>>(0)? {
            acc.values.push(value);
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Values>) -> rusqlite::Result<Option<f64>> {
        let Some(mut acc) = acc else { return Ok(None) };
        if acc.values.is_empty() {
            return Ok(None);
        }
        acc.values.sort_by(f64::total_cmp);
        let rank = acc.percentile / 100.0 * (acc.values.len() - 1) as f64;
        let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
        let fraction = rank - low as f64;
        Ok(Some(
            acc.values[low] + (acc.values[high] - acc.values[low]) * fraction,
        ))
    }
}

struct Latest;

/// The value at the greatest time seen so far.
type LatestSoFar = Option<(Value, Value)>;

impl Aggregate<LatestSoFar, Value> for Latest {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<LatestSoFar> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut LatestSoFar) -> rusqlite::Result<()> {
        let value: Value = ctx.get(0)?;
        let time: Value = ctx.get(1)?;
        if matches!(value, Value::Null) || matches!(time, Value::Null) {
            return Ok(());
        }
        let later = match acc {
            None => true,
            Some((_, best)) => compare(&time, best) == std::cmp::Ordering::Greater,
        };
        if later {
            *acc = Some((value, time));
        }
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<LatestSoFar>) -> rusqlite::Result<Value> {
        Ok(acc.flatten().map(|(value, _)| value).unwrap_or(Value::Null))
    }
}

/// Orders times as SQLite does within one type: numbers by value, text (ISO dates) by bytes.
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    };
    match (number(a), number(b), a, b) {
        (Some(x), Some(y), _, _) => x.total_cmp(&y),
        (_, _, Value::Text(x), Value::Text(y)) => x.cmp(y),
        // Numbers sort before text in SQLite.
        (Some(_), None, _, _) => std::cmp::Ordering::Less,
        (None, Some(_), _, _) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Value {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (x REAL, t TEXT);
             INSERT INTO t VALUES (3, '2024-01-03'), (1, '2024-01-01'), (NULL, '2024-01-09'),
                                  (10, '2024-01-02'), (4, NULL);",
        )
        .unwrap();
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn median_percentile_and_latest() {
        // Values 1, 3, 4, 10: pandas' median is 3.5 and its 90th percentile 8.2.
        assert_eq!(one("SELECT median(x) FROM t"), Value::Real(3.5));
        let Value::Real(p90) = one("SELECT percentile(x, 90) FROM t") else {
            panic!()
        };
        assert!((p90 - 8.2).abs() < 1e-9);
        assert_eq!(one("SELECT latest(x, t) FROM t"), Value::Real(3.0));
        assert_eq!(one("SELECT median(x) FROM t WHERE x > 100"), Value::Null);
    }
}
