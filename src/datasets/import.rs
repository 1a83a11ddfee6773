//! CSV import into a dataset's own SQLite file: column names made SQL-safe, types inferred from
//! every value (or enforced where the describe file declares them), all rows or none.

use super::sqlfns::parse_moment;
use crate::model::ColumnType;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    BadRow { line: u64, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("could not write the dataset: {0}")]
    Write(String),
}

/// Reads a CSV and writes it as table `table` of a new SQLite file at `target`.
///
/// The file is built beside `target` and renamed into place only once complete, so a failed
/// import leaves nothing behind. Returns the table's columns and types.
pub fn import_csv(
    csv: impl Read,
    table: &str,
    declared: &BTreeMap<String, ColumnType>,
    target: &Path,
) -> Result<Vec<(String, ColumnType)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(csv);
    let headers = reader.headers().map_err(|err| row_error(&err))?.clone();
    let names = column_names(headers.iter())?;
    let mut records = Vec::new();
    for record in reader.records() {
        records.push(record.map_err(|err| row_error(&err))?);
    }
    if records.is_empty() {
        return Err(ImportError::Invalid(
            "the CSV has a header but no data rows".into(),
        ));
    }

    let mut types = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let kind = match declared.get(name) {
            Some(kind) => *kind,
            None => infer(records.iter().map(|record| &record[index])),
        };
        types.push(kind);
    }
    for name in declared.keys() {
        if !names.contains(name) {
            return Err(ImportError::Invalid(format!(
                "the describe file declares a type for {name:?}, which the CSV does not have"
            )));
        }
    }

    // Convert every value before writing anything, so a bad value fails the whole import.
    let mut rows = Vec::with_capacity(records.len());
    for record in &records {
        let line = record.position().map_or(0, |p| p.line());
        let mut row = Vec::with_capacity(names.len());
        for ((value, kind), name) in record.iter().zip(&types).zip(&names) {
            row.push(convert(value, *kind).ok_or_else(|| ImportError::BadRow {
                line,
                message: format!("column {name}: {value:?} is not {}", type_phrase(*kind)),
            })?);
        }
        rows.push(row);
    }

    write_table(target, table, &names, &types, &rows)
        .map_err(|e| ImportError::Write(e.to_string()))?;
    Ok(names.into_iter().zip(types).collect())
}

fn write_table(
    target: &Path,
    table: &str,
    names: &[String],
    types: &[ColumnType],
    rows: &[Vec<SqlValue>],
) -> Result<(), Box<dyn std::error::Error>> {
    let partial = target.with_extension("sqlite.partial");
    let _ = std::fs::remove_file(&partial);
    {
        let mut conn = Connection::open(&partial)?;
        let columns: Vec<String> = names
            .iter()
            .zip(types)
            .map(|(name, kind)| format!("\"{name}\" {}", sql_type(*kind)))
            .collect();
        let tx = conn.transaction()?;
        tx.execute(
            &format!("CREATE TABLE \"{table}\" ({})", columns.join(", ")),
            [],
        )?;
        {
            let placeholders = vec!["?"; names.len()].join(", ");
            let mut insert =
                tx.prepare(&format!("INSERT INTO \"{table}\" VALUES ({placeholders})"))?;
            for row in rows {
                insert.execute(rusqlite::params_from_iter(row.iter()))?;
            }
        }
        tx.commit()?;
    }
    std::fs::rename(&partial, target)?;
    Ok(())
}

fn row_error(err: &csv::Error) -> ImportError {
    let line = err.position().map_or(0, |p| p.line());
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        _ => err.to_string(),
    };
    ImportError::BadRow { line, message }
}

/// SQL-safe, unique, lower-case column names.
fn column_names<'a>(headers: impl Iterator<Item = &'a str>) -> Result<Vec<String>, ImportError> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for (index, header) in headers.enumerate() {
        let mut name = sql_identifier(header);
        if name.is_empty() {
            name = format!("column_{}", index + 1);
        }
        let base = name.clone();
        let mut n = 2;
        while !seen.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err(ImportError::Invalid("the CSV has no columns".into()));
    }
    Ok(names)
}

/// Lower-case letters, digits and underscores, not starting with a digit.
pub fn sql_identifier(text: &str) -> String {
    let mut out = String::new();
    for ch in text.trim().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// The narrowest type every non-empty value fits.
fn infer<'a>(values: impl Iterator<Item = &'a str>) -> ColumnType {
    let candidates = [
        ColumnType::Integer,
        ColumnType::Real,
        ColumnType::Date,
        ColumnType::Timestamp,
    ];
    let mut alive = [true; 4];
    let mut any = false;
    for value in values.filter(|v| !v.trim().is_empty()) {
        any = true;
        for (i, kind) in candidates.iter().enumerate() {
            if alive[i] && convert(value, *kind).is_none() {
                alive[i] = false;
            }
        }
        if !alive.contains(&true) {
            return ColumnType::Text;
        }
    }
    if !any {
        return ColumnType::Text;
    }
    candidates
        .iter()
        .zip(alive)
        .find(|(_, alive)| *alive)
        .map_or(ColumnType::Text, |(kind, _)| *kind)
}

/// The SQL value of one CSV field as `kind`; empty fields are NULL.
fn convert(value: &str, kind: ColumnType) -> Option<SqlValue> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Some(SqlValue::Null);
    }
    match kind {
        ColumnType::Integer => trimmed.parse::<i64>().ok().map(SqlValue::Integer),
        ColumnType::Real => trimmed
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(SqlValue::Real),
        ColumnType::Date => parse_moment(trimmed)
            .filter(|m| m.date_only && trimmed.len() == 10)
            .map(|m| SqlValue::Text(m.render())),
        ColumnType::Timestamp => parse_moment(trimmed)
            .filter(|m| !m.date_only)
            .map(|m| SqlValue::Text(m.render())),
        ColumnType::Text => Some(SqlValue::Text(value.to_string())),
    }
}

fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::Text => "TEXT",
    }
}

fn type_phrase(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Integer => "an integer",
        ColumnType::Real => "a number",
        ColumnType::Date => "a date (YYYY-MM-DD)",
        ColumnType::Timestamp => "a timestamp (YYYY-MM-DD HH:MM:SS)",
        ColumnType::Text => "text",
    }
}
