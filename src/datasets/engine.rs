//! Running SQL against a dataset: a fresh read-only connection per query, the date functions,
//! an authorizer that allows nothing but reading, a time limit, a row cap, and bounds on what
//! one statement may build (a value's length, memory, temporary storage), so that no query
//! can take the machine down.

use super::sqlfns;
use crate::model::ColumnType;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub time_limit: Duration,
    pub row_cap: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            time_limit: Duration::from_secs(10),
            row_cap: 1000,
        }
    }
}

/// The longest string or blob a statement may build (`randomblob(1e9)`, a huge
/// `group_concat`): past it SQLite stops with "too big".
pub const MAX_VALUE_BYTES: i32 = 8 * 1024 * 1024;
/// The longest SQL text accepted.
const MAX_SQL_BYTES: i32 = 1024 * 1024;
/// Memory all of this process's SQLite work may hold at once. Temporary tables and sorts are
/// kept in memory (never in unbounded temp files), so this bounds them too.
pub const MAX_SQLITE_MEMORY: i64 = 512 * 1024 * 1024;

/// Gives the memory a stopped runaway query held back to the system (the allocator keeps
/// freed memory otherwise, and the process would stay as large as its worst query).
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps SQLite's memory for the whole process; run once, before the first query.
pub fn cap_memory() {
    // SAFETY: plain calls into SQLite's C API with integer arguments; both are thread-safe.
    unsafe {
        rusqlite::ffi::sqlite3_hard_heap_limit64(MAX_SQLITE_MEMORY);
        rusqlite::ffi::sqlite3_soft_heap_limit64(MAX_SQLITE_MEMORY / 2);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub kind: ColumnType,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<ResultColumn>,
    /// Row values in column order, at most `row_cap` rows.
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than the cap allowed.
    pub truncated: bool,
    pub row_cap: usize,
}

impl QueryResult {
    /// How many distinct values the rows kept have in `column`; `None` without that column.
    pub fn distinct(&self, column: &str) -> Option<usize> {
        let at = self.columns.iter().position(|c| c.name == column)?;
        let values: std::collections::HashSet<String> =
            self.rows.iter().map(|row| row[at].to_string()).collect();
        Some(values.len())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// SQLite rejected or failed the statement; the text is SQLite's own message.
    #[error("{0}")]
    Sql(String),
    #[error("the query ran longer than {} s and was stopped", .0.as_secs())]
    TimedOut(Duration),
    #[error("only a single read-only SELECT statement can be run")]
    NotReadOnly,
    #[error("the dataset's data could not be opened: {0}")]
    Open(String),
    /// The statement built a value, or needed memory, past the server's bounds.
    #[error("the query needs more than the server allows ({0}); narrow it down or aggregate")]
    TooBig(String),
}

/// Opens a dataset file for reading only, with the date functions registered.
pub fn open_read_only(path: &Path) -> Result<Connection, QueryError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(path, flags).map_err(|e| QueryError::Open(e.to_string()))?;
    sqlfns::register(&conn).map_err(|e| QueryError::Open(e.to_string()))?;
    super::aggregates::register(&conn).map_err(|e| QueryError::Open(e.to_string()))?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        .map_err(|e| QueryError::Open(e.to_string()))?;
    conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
        .map_err(|e| QueryError::Open(e.to_string()))?;
    // Sorts and temporary tables in memory, where the heap limit bounds them.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| QueryError::Open(e.to_string()))?;
    conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Select
        | AuthAction::Read { .. }
        | AuthAction::Function { .. }
        | AuthAction::Recursive => Authorization::Allow,
        _ => Authorization::Deny,
    }))
    .map_err(|e| QueryError::Open(e.to_string()))?;
    Ok(conn)
}

/// Runs one SELECT statement within the limits.
pub fn run(
    conn: &mut Connection,
    sql: &str,
    limits: QueryLimits,
) -> Result<QueryResult, QueryError> {
    let deadline = Instant::now() + limits.time_limit;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline))
        .map_err(|e| QueryError::Open(e.to_string()))?;
    // The progress handler only runs between VM steps; a watchdog interrupts phases that run
    // long inside one step (a big sort) as well.
    let interrupt = conn.get_interrupt_handle();
    let (finished, watched) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            watched.recv_timeout(limits.time_limit)
        {
            interrupt.interrupt();
        }
    });
    let result = run_statement(conn, sql, limits);
    drop(finished);
    let _ = watchdog.join();
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    result.map_err(|err| classify(err, limits))
}

fn run_statement(
    conn: &Connection,
    sql: &str,
    limits: QueryLimits,
) -> Result<QueryResult, rusqlite::Error> {
    let mut stmt = conn.prepare(sql)?;
    if !stmt.readonly() {
        return Err(rusqlite::Error::InvalidQuery);
    }
    let declared: Vec<(String, Option<ColumnType>)> = stmt
        .columns()
        .map(|column| {
            (
                column.name().to_string(),
                column.decl_type().map(declared_type),
            )
        })
        .collect();
    let width = declared.len();
    let mut rows = Vec::new();
    let mut truncated = false;
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        if rows.len() == limits.row_cap {
            truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(width);
        for index in 0..width {
            values.push(json_value(row.get_ref(index)?));
        }
        rows.push(values);
    }
    let columns = declared
        .into_iter()
        .enumerate()
        .map(|(index, (name, declared))| ResultColumn {
            kind: declared.unwrap_or_else(|| infer_type(rows.iter().map(|row| &row[index]))),
            name,
        })
        .collect();
    Ok(QueryResult {
        columns,
        rows,
        truncated,
        row_cap: limits.row_cap,
    })
}

fn classify(err: rusqlite::Error, limits: QueryLimits) -> QueryError {
    match &err {
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            QueryError::TimedOut(limits.time_limit)
        }
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            QueryError::NotReadOnly
        }
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::TooBig => {
            QueryError::TooBig(format!(
                "a value would exceed {} MiB",
                MAX_VALUE_BYTES / (1024 * 1024)
            ))
        }
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::OutOfMemory =>
        {
            QueryError::TooBig(format!(
                "it would need more than {} MiB of memory",
                MAX_SQLITE_MEMORY / (1024 * 1024)
            ))
        }
        rusqlite::Error::InvalidQuery | rusqlite::Error::MultipleStatement => {
            QueryError::NotReadOnly
        }
        rusqlite::Error::SqliteFailure(_, Some(message)) => QueryError::Sql(message.clone()),
        rusqlite::Error::SqlInputError { msg, .. } => QueryError::Sql(msg.clone()),
        other => QueryError::Sql(other.to_string()),
    }
}

/// Maps a declared SQLite column type to ours, by SQLite's affinity rules plus dates.
pub fn declared_type(declared: &str) -> ColumnType {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        ColumnType::Integer
    } else if upper.contains("TIMESTAMP") || upper.contains("DATETIME") {
        ColumnType::Timestamp
    } else if upper.contains("DATE") {
        ColumnType::Date
    } else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"]
        .iter()
        .any(|t| upper.contains(t))
    {
        ColumnType::Real
    } else {
        ColumnType::Text
    }
}

/// The type of a computed column, from its values.
fn infer_type<'a>(values: impl Iterator<Item = &'a Value>) -> ColumnType {
    let mut kind: Option<ColumnType> = None;
    for value in values {
        let this = match value {
            Value::Null => continue,
            Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Integer,
            Value::Number(_) => ColumnType::Real,
            Value::String(text) => match sqlfns::parse_moment(text) {
                Some(moment) if moment.date_only && text.len() == 10 => ColumnType::Date,
                Some(moment) if !moment.date_only => ColumnType::Timestamp,
                _ => ColumnType::Text,
            },
            _ => ColumnType::Text,
        };
        kind = Some(match (kind, this) {
            (None, this) => this,
            (Some(a), b) if a == b => a,
            (Some(ColumnType::Integer), ColumnType::Real)
            | (Some(ColumnType::Real), ColumnType::Integer) => ColumnType::Real,
            _ => return ColumnType::Text,
        });
    }
    kind.unwrap_or(ColumnType::Text)
}

fn json_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => Value::String(format!("<{} bytes of binary data>", bytes.len())),
    }
}
