//! What `POST /threads/search` and `/threads/count` share: filters (Postgres-style JSON
//! containment), sorting with a deterministic tie-break, `select` and `extract`.

use super::schema::{check_enum, invalid, type_error, Body};
use super::view::{ThreadView, THREAD_FIELDS};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub const STATUSES: [&str; 4] = ["idle", "busy", "interrupted", "error"];
pub const SORT_FIELDS: [&str; 5] = [
    "thread_id",
    "status",
    "created_at",
    "updated_at",
    "state_updated_at",
];
const EXTRACT_ROOTS: [&str; 4] = ["config", "interrupts", "metadata", "values"];
const MAX_EXTRACT: usize = 10;

/// Whether `container` contains `wanted` as Postgres's `jsonb @>` decides: objects by their
/// keys recursively, arrays as subsets (each wanted element contained in some element),
/// scalars by equal value and type.
pub fn contains(container: &Value, wanted: &Value) -> bool {
    match (container, wanted) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(key, w)| have.get(key).is_some_and(|h| contains(h, w))),
        (Value::Array(have), Value::Array(want)) => {
            want.iter().all(|w| have.iter().any(|h| contains(h, w)))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// The filters of a search or count, ANDed.
pub struct Filters {
    pub metadata: Option<Value>,
    pub values: Option<Value>,
    pub status: Option<String>,
}

impl Filters {
    pub fn parse(body: &Body) -> Result<Filters> {
        Ok(Filters {
            metadata: body.object("metadata")?.map(|m| Value::Object(m.clone())),
            values: body.object("values")?.map(|m| Value::Object(m.clone())),
            status: body.one_of("status", &STATUSES)?.map(str::to_string),
        })
    }

    /// The filters a thread record decides alone (so messages are read only for threads that
    /// pass them).
    pub fn matches_thread(&self, thread: &crate::model::Thread) -> bool {
        self.metadata
            .as_ref()
            .is_none_or(|metadata| contains(thread.api.metadata.value(), metadata))
    }

    pub fn matches(&self, view: &ThreadView) -> bool {
        if !self.matches_thread(&view.thread) {
            return false;
        }
        if let Some(status) = &self.status {
            if view.status() != status {
                return false;
            }
        }
        if let Some(values) = &self.values {
            if !contains(&view.values(), values) {
                return false;
            }
        }
        true
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum SortBy {
    ThreadId,
    Status,
    CreatedAt,
    UpdatedAt,
    StateUpdatedAt,
}

pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

impl Sort {
    /// Default: the most recently changed first (like the WebSocket thread list).
    pub fn parse(body: &Body) -> Result<Sort> {
        let by = match body.one_of("sort_by", &SORT_FIELDS)? {
            Some("thread_id") => SortBy::ThreadId,
            Some("status") => SortBy::Status,
            Some("created_at") => SortBy::CreatedAt,
            Some("state_updated_at") => SortBy::StateUpdatedAt,
            _ => SortBy::UpdatedAt,
        };
        let descending = body.one_of("sort_order", &["asc", "desc"])? != Some("asc");
        Ok(Sort { by, descending })
    }

    /// Orders threads; equal keys are ordered by `thread_id` (ascending), so pages are stable.
    /// Each thread's key is computed once (status and state time read its messages).
    pub fn apply(&self, views: &mut Vec<ThreadView>) {
        let key = |view: &ThreadView| match self.by {
            SortBy::ThreadId => SortKey::None,
            SortBy::Status => SortKey::Status(view.status()),
            SortBy::CreatedAt => SortKey::Time(view.thread.created_at),
            SortBy::UpdatedAt => SortKey::Time(view.thread.last_edited),
            SortBy::StateUpdatedAt => SortKey::Time(view.state_updated_at()),
        };
        let mut keyed: Vec<(SortKey, ThreadView)> = views.drain(..).map(|v| (key(&v), v)).collect();
        keyed.sort_by(|(key_a, a), (key_b, b)| {
            let key = key_a.cmp(key_b);
            let key = if self.descending { key.reverse() } else { key };
            let id = a.thread.id.cmp(&b.thread.id);
            let id = if self.by == SortBy::ThreadId && self.descending {
                id.reverse()
            } else {
                id
            };
            key.then(id)
        });
        views.extend(keyed.into_iter().map(|(_, view)| view));
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    None,
    Status(&'static str),
    Time(crate::model::Timestamp),
}

/// `select`: the fields to return (all when absent or empty).
pub fn parse_select(body: &Body) -> Result<Option<Vec<String>>> {
    let Some(fields) = body.strings("select")? else {
        return Ok(None);
    };
    for field in &fields {
        check_enum("select", field, &THREAD_FIELDS)?;
    }
    Ok((!fields.is_empty()).then(|| fields.iter().map(|f| f.to_string()).collect()))
}

/// One `extract` entry: an alias and its path, split into steps.
pub struct Extract {
    pub alias: String,
    pub steps: Vec<Step>,
}

pub enum Step {
    Key(String),
    Index(i64),
}

/// Validates `extract` as the reference server does, in its order.
pub fn parse_extract(body: &Body) -> Result<Vec<Extract>> {
    let Some(map) = body.object("extract")? else {
        return Ok(Vec::new());
    };
    if map.len() > MAX_EXTRACT {
        return Err(invalid(
            &Value::Object(map.clone()),
            "maxProperties",
            "extract",
            &format!(
                "{} has more than {MAX_EXTRACT} properties",
                Value::Object(map.clone())
            ),
        ));
    }
    for value in map.values() {
        if !value.is_string() {
            return Err(type_error("extract", value, "string"));
        }
    }
    let mut out = Vec::new();
    for (alias, path) in map {
        let path = path.as_str().unwrap_or_default();
        if !is_identifier(alias) {
            return Err(Error::invalid(format!(
                "Extract key '{alias}' must be a valid identifier (letters, digits, underscores)"
            )));
        }
        let mut reserved: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| THREAD_FIELDS.contains(k) || *k == "ttl" || *k == "extracted")
            .collect();
        if !reserved.is_empty() {
            reserved.sort();
            return Err(Error::invalid(
                format!("Extract keys cannot use reserved field names: {reserved:?}")
                    .replace('"', "'"),
            ));
        }
        if path.is_empty() {
            return Err(Error::invalid(format!(
                "Extract path for '{alias}' must be a non-empty string"
            )));
        }
        let root = path.split(['.', '[']).next().unwrap_or_default();
        if !EXTRACT_ROOTS.contains(&root) {
            return Err(Error::invalid(format!(
                "Extract path '{path}' must start with one of: {}",
                EXTRACT_ROOTS.join(", ")
            )));
        }
        out.push(Extract {
            alias: alias.clone(),
            steps: steps(path),
        });
    }
    Ok(out)
}

fn is_identifier(alias: &str) -> bool {
    let mut chars = alias.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a path on `.` and `[`: a part ending in `]` is an index (negative counts from the
/// end), any other part a key.
fn steps(path: &str) -> Vec<Step> {
    path.split(['.', '['])
        .map(|part| match part.strip_suffix(']').map(str::parse::<i64>) {
            Some(Ok(index)) => Step::Index(index),
            _ => Step::Key(part.to_string()),
        })
        .collect()
}

/// Follows a path through a thread's JSON; anything that does not resolve is `null`.
pub fn extract(thread: &Value, steps: &[Step]) -> Value {
    let mut current = thread;
    for step in steps {
        let next = match step {
            Step::Key(key) if key.starts_with('_') => None,
            Step::Key(key) => current.as_object().and_then(|o| o.get(key)),
            Step::Index(index) => current.as_array().and_then(|items| {
                let at = if *index < 0 {
                    items.len() as i64 + index
                } else {
                    *index
                };
                usize::try_from(at).ok().and_then(|at| items.get(at))
            }),
        };
        match next {
            Some(value) => current = value,
            None => return Value::Null,
        }
    }
    current.clone()
}

/// Applies `select` and `extract` to a thread's JSON.
pub fn project(mut thread: Value, select: Option<&[String]>, extracts: &[Extract]) -> Value {
    let extracted: Option<Map<String, Value>> = (!extracts.is_empty()).then(|| {
        extracts
            .iter()
            .map(|e| (e.alias.clone(), extract(&thread, &e.steps)))
            .collect()
    });
    if let (Some(fields), Value::Object(all)) = (select, &mut thread) {
        let mut kept = Map::new();
        for field in fields {
            if let Some(value) = all.get(field) {
                kept.insert(field.clone(), value.clone());
            }
        }
        *all = kept;
    }
    if let Some(extracted) = extracted {
        thread["extracted"] = Value::Object(extracted);
    }
    thread
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_follows_postgres() {
        let doc = json!({"a": 1, "tags": ["p", "q"], "n": {"x": [1, 2], "y": null}});
        assert!(contains(&doc, &json!({})));
        assert!(contains(&doc, &json!({"tags": ["q"]})));
        assert!(contains(&doc, &json!({"n": {"x": [2]}})));
        assert!(contains(&doc, &json!({"n": {"y": null}})));
        assert!(contains(&doc, &json!({"a": 1.0})));
        assert!(!contains(&doc, &json!({"a": "1"})));
        assert!(!contains(&doc, &json!({"tags": ["r"]})));
        assert!(!contains(&doc, &json!({"missing": null})));
        assert!(!contains(&doc, &json!({"tags": "p"})));
    }

    #[test]
    fn extract_paths_resolve_or_give_null() {
        let thread = json!({"values": {"messages": [{"content": "a"}, {"content": "b"}], "_x": 1},
                            "metadata": {"m": [[1, 2], [3]]}});
        let get = |path: &str| extract(&thread, &steps(path));
        assert_eq!(get("values.messages[-1].content"), json!("b"));
        assert_eq!(get("values.messages[0].content"), json!("a"));
        assert_eq!(get("values.messages[5]"), Value::Null);
        assert_eq!(get("values.messages[-3]"), Value::Null);
        assert_eq!(get("metadata.m[0][1]"), json!(2));
        assert_eq!(get("metadata.m.x"), Value::Null);
        assert_eq!(get("values._x"), Value::Null);
        assert_eq!(get("metadata"), thread["metadata"]);
    }
}
