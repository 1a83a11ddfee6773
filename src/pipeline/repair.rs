//! `fixingSql`: bounded repairs of SQL that failed. Each repair reads SQLite's error, changes
//! one thing and says what; the caller runs the result again, up to [`MAX_ATTEMPTS`] times.

use crate::datasets::QueryError;
use crate::model::Dataset;

pub const MAX_ATTEMPTS: usize = 3;

/// One repaired statement and what was changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    pub sql: String,
    pub change: String,
}

/// A repaired statement for `error`, if any repair applies.
pub fn repair(sql: &str, error: &QueryError, dataset: &Dataset) -> Option<Repair> {
    let message = match error {
        QueryError::Sql(message) => message.as_str(),
        _ => return None,
    };
    if let Some(missing) = message.strip_prefix("no such column: ") {
        let missing = missing.trim();
        let bare = missing.rsplit('.').next().unwrap_or(missing);
        let nearest = nearest_column(bare, dataset)?;
        return Some(Repair {
            sql: replace_identifier(sql, bare, nearest),
            change: format!("replaced unknown column {bare} with {nearest}"),
        });
    }
    if let Some(missing) = message.strip_prefix("no such table: ") {
        let missing = missing.trim().rsplit('.').next().unwrap_or("").to_string();
        if missing.is_empty() || missing.eq_ignore_ascii_case(&dataset.table) {
            return None;
        }
        return Some(Repair {
            sql: replace_identifier(sql, &missing, &dataset.table),
            change: format!("replaced unknown table {missing} with {}", dataset.table),
        });
    }
    if let Some(fixed) = rewrite_extract(sql) {
        return Some(Repair {
            sql: fixed,
            change: "rewrote EXTRACT(field FROM value) as date_part('field', value)".into(),
        });
    }
    if message.contains("unrecognized token: \":\"") || sql.contains("::") {
        let fixed = strip_casts(sql);
        if fixed != sql {
            return Some(Repair {
                sql: fixed,
                change: "removed PostgreSQL ::type casts, which SQLite does not have".into(),
            });
        }
    }
    if message.contains("ILIKE") || contains_word(sql, "ILIKE") {
        return Some(Repair {
            sql: replace_identifier(sql, "ILIKE", "LIKE"),
            change: "replaced ILIKE with LIKE (which ignores case in SQLite)".into(),
        });
    }
    if let Some(function) = message.strip_prefix("no such function: ") {
        let known = [
            "date_trunc",
            "to_char",
            "date_part",
            "now",
            "date",
            "strftime",
            "round",
            "abs",
            "coalesce",
            "lower",
            "upper",
            "length",
            "substr",
            "count",
            "sum",
            "avg",
            "min",
            "max",
        ];
        let nearest = nearest(&function.to_lowercase(), known.into_iter())?;
        return Some(Repair {
            sql: replace_identifier(sql, function.trim(), nearest),
            change: format!(
                "replaced unknown function {} with {nearest}",
                function.trim()
            ),
        });
    }
    None
}

/// The column whose name, name parts or synonyms come closest to `wanted`, if close enough.
fn nearest_column<'a>(wanted: &str, dataset: &'a Dataset) -> Option<&'a str> {
    let wanted = wanted.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for column in &dataset.columns {
        let parts = column
            .name
            .split('_')
            .filter(|p| p.len() >= 3)
            .map(str::to_string);
        let synonyms = column.synonyms.iter().map(|s| s.replace(' ', "_"));
        for candidate in std::iter::once(column.name.clone())
            .chain(parts)
            .chain(synonyms)
        {
            let distance = strsim::damerau_levenshtein(&wanted, &candidate.to_lowercase());
            if distance <= (candidate.len() / 4).max(1) && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, column.name.as_str()));
            }
        }
    }
    best.map(|(_, name)| name)
}

/// The closest name by edit distance, if it is close enough to be the intended one.
fn nearest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let (name, distance) = names
        .map(|name| {
            (
                name,
                strsim::damerau_levenshtein(&wanted_lower, &name.to_lowercase()),
            )
        })
        .min_by_key(|(_, distance)| *distance)?;
    let shared_word = wanted_lower
        .split('_')
        .any(|part| part.len() >= 3 && name.to_lowercase().split('_').any(|p| p == part));
    let close = distance <= (wanted.len().max(3) / 3).max(2);
    (close || shared_word).then_some(name)
}

/// Replaces `from` with `to` wherever it stands as a whole word outside string literals.
pub fn replace_identifier(sql: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let chars: Vec<char> = sql.chars().collect();
    let from_chars: Vec<char> = from.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !is_word(chars[i - 1]);
        let matches = starts_word
            && i + from_chars.len() <= chars.len()
            && chars[i..i + from_chars.len()]
                .iter()
                .zip(&from_chars)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
            && chars.get(i + from_chars.len()).is_none_or(|c| !is_word(*c));
        if matches {
            out.push_str(to);
            i += from_chars.len();
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn contains_word(sql: &str, word: &str) -> bool {
    replace_identifier(sql, word, "\u{0}") != sql
}

/// `EXTRACT(YEAR FROM order_date)` → `date_part('year', order_date)`, every occurrence.
fn rewrite_extract(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let start = upper.find("EXTRACT(").or_else(|| upper.find("EXTRACT ("))?;
    let open = start + upper[start..].find('(')?;
    // Find the matching parenthesis.
    let mut depth = 0;
    let mut close = None;
    for (offset, c) in sql[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + offset);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let inner = &sql[open + 1..close];
    let from = inner.to_ascii_uppercase().find(" FROM ")?;
    let field = inner[..from].trim().to_lowercase();
    let value = inner[from + 6..].trim();
    let rewritten = format!(
        "{}date_part('{field}', {value}){}",
        &sql[..start],
        &sql[close + 1..]
    );
    Some(rewrite_extract(&rewritten).unwrap_or(rewritten))
}

/// Drops `::type` casts outside string literals.
fn strip_casts(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if !in_string && c == ':' && chars.peek() == Some(&':') {
            chars.next();
            while chars
                .peek()
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::planner::tests::sample;
    use super::*;

    fn fix(sql: &str, message: &str) -> Option<Repair> {
        repair(sql, &QueryError::Sql(message.into()), &sample().0)
    }

    #[test]
    fn unknown_column_becomes_the_nearest() {
        let r = fix(
            "SELECT SUM(total_sale_amount) FROM sales_summary",
            "no such column: total_sale_amount",
        )
        .unwrap();
        assert_eq!(r.sql, "SELECT SUM(total_sales_amount) FROM sales_summary");
        let r = fix(
            "SELECT custmer FROM sales_summary WHERE x = 'custmer'",
            "no such column: custmer",
        );
        assert_eq!(
            r.unwrap().sql,
            "SELECT customer_name FROM sales_summary WHERE x = 'custmer'"
        );
        assert!(fix("SELECT zzz FROM sales_summary", "no such column: zzz").is_none());
    }

    #[test]
    fn postgres_idioms_become_sqlite() {
        let r = fix(
            "SELECT EXTRACT(YEAR FROM order_date) AS year FROM sales GROUP BY EXTRACT(YEAR FROM order_date)",
            "near \"FROM\": syntax error",
        )
        .unwrap();
        assert_eq!(r.sql, "SELECT date_part('year', order_date) AS year FROM sales GROUP BY date_part('year', order_date)");
        let r = fix(
            "SELECT order_date::date FROM sales_summary",
            "unrecognized token: \":\"",
        )
        .unwrap();
        assert_eq!(r.sql, "SELECT order_date FROM sales_summary");
        let r = fix(
            "SELECT 1 FROM sales WHERE region ILIKE 'west'",
            "near \"ILIKE\": syntax error",
        )
        .unwrap();
        assert_eq!(r.sql, "SELECT 1 FROM sales WHERE region LIKE 'west'");
        let r = fix("SELECT 1 FROM sales", "no such table: sales").unwrap();
        assert_eq!(r.sql, "SELECT 1 FROM sales_summary");
    }
}
