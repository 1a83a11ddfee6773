//! Request bodies and query strings of the Freddy API: typed field access with errors that
//! name the field.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// A JSON object body.
pub struct Body(Map<String, Value>);

impl Body {
    /// The body as an object; an empty body is `{}`.
    pub fn parse(bytes: &[u8]) -> Result<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(Error::malformed("the body must be a JSON object")),
            Err(err) => Err(Error::malformed(format!(
                "the body is not valid JSON: {err}"
            ))),
        }
    }

    /// A field that is present and not null.
    fn present(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub fn string(&self, field: &str) -> Result<Option<&str>> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(wrong_type(field, other, "a string")),
        }
    }

    pub fn bool(&self, field: &str) -> Result<Option<bool>> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(other) => Err(wrong_type(field, other, "true or false")),
        }
    }

    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(wrong_type(field, other, "an object")),
        }
    }

    pub fn array(&self, field: &str) -> Result<Option<&Vec<Value>>> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(wrong_type(field, other, "an array")),
        }
    }

    /// `assistantId`: absent (no change), null (none) or a string.
    pub fn nullable_string(&self, field: &str) -> Result<Option<Option<String>>> {
        match self.0.get(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
            Some(other) => Err(wrong_type(field, other, "a string or null")),
        }
    }
}

fn wrong_type(field: &str, value: &Value, expected: &str) -> Error {
    Error::invalid(format!("{field} must be {expected}, got {value}"))
}

/// The values of a query parameter.
pub fn query_value<'a>(query: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// A `true`/`false` query parameter.
pub fn query_bool(query: &str, name: &str) -> Result<Option<bool>> {
    match query_value(query, name).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(Error::invalid(format!(
            "{name} must be true or false, got {other:?}"
        ))),
    }
}

/// A list's page size: `limit`, 1 to 100, 20 if absent.
pub fn query_limit(query: &str) -> Result<usize> {
    const DEFAULT: usize = 20;
    const MAX: usize = 100;
    match query_value(query, "limit") {
        None => Ok(DEFAULT),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX).contains(n))
            .ok_or_else(|| {
                Error::invalid(format!("limit must be between 1 and {MAX}, got {text:?}"))
            }),
    }
}

/// Whether a list runs newest first: `order` `desc` or `asc`, else `default_desc`.
pub fn query_descending(query: &str, default_desc: bool) -> Result<bool> {
    match query_value(query, "order").as_deref() {
        None => Ok(default_desc),
        Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(other) => Err(Error::invalid(format!(
            "order must be asc or desc, got {other:?}"
        ))),
    }
}
