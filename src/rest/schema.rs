//! Request validation with the reference server's messages: it validates bodies against its
//! OpenAPI schemas, so a failure names the value, the rule and the field, e.g.
//! `1001 is greater than the maximum of 1000` … `On instance["limit"]`.

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A request body: a JSON object.
pub struct Body(pub Map<String, Value>);

impl Body {
    /// Parses a body; an empty body is `{}` where `empty_ok` (endpoints whose fields are all
    /// optional), else invalid.
    pub fn parse(bytes: &[u8], empty_ok: bool) -> Result<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) && empty_ok {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(other) => Err(invalid(
                &other,
                "type",
                "",
                &format!("{} is not of type \"object\"", other),
            )),
            Err(_) => Err(Error::invalid("Invalid JSON in request body")),
        }
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// An optional object field; `null` is a type error like any other.
    pub fn object(&self, field: &str) -> Result<Option<&Map<String, Value>>> {
        match self.0.get(field) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(type_error(field, other, "object")),
        }
    }

    pub fn string(&self, field: &str) -> Result<Option<&str>> {
        match self.0.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(field, other, "string")),
        }
    }

    /// An optional string that must be one of `allowed`.
    pub fn one_of(&self, field: &str, allowed: &[&str]) -> Result<Option<&str>> {
        let Some(value) = self.string(field)? else {
            return Ok(None);
        };
        check_enum(field, value, allowed)?;
        Ok(Some(value))
    }

    /// An optional integer within `min..=max`.
    pub fn integer(&self, field: &str, min: i64, max: Option<i64>) -> Result<Option<i64>> {
        let Some(value) = self.0.get(field) else {
            return Ok(None);
        };
        let Some(n) = value.as_i64().filter(|_| value.is_i64() || value.is_u64()) else {
            return Err(type_error(field, value, "integer"));
        };
        if n < min {
            return Err(invalid(
                value,
                "minimum",
                field,
                &format!("{n} is less than the minimum of {min}"),
            ));
        }
        if let Some(max) = max.filter(|max| n > *max) {
            return Err(invalid(
                value,
                "maximum",
                field,
                &format!("{n} is greater than the maximum of {max}"),
            ));
        }
        Ok(Some(n))
    }

    /// An optional array of strings.
    pub fn strings(&self, field: &str) -> Result<Option<Vec<&str>>> {
        let Some(value) = self.0.get(field) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(type_error(field, value, "array"));
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.as_str()),
                other => Err(type_error(field, other, "string")),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

pub fn check_enum(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    let list = match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(invalid(
        &Value::String(value.into()),
        "enum",
        field,
        &format!("\"{value}\" is not one of {list}"),
    ))
}

pub fn type_error(field: &str, value: &Value, expected: &str) -> Error {
    invalid(
        value,
        "type",
        field,
        &format!("{} is not of type \"{expected}\"", value),
    )
}

pub fn required(field: &str) -> Error {
    Error::invalid(format!(
        "\"{field}\" is a required property\n\nFailed validating \"required\" in schema"
    ))
}

/// The reference server's jsonschema message: what failed, the rule, and where.
pub fn invalid(value: &Value, rule: &str, field: &str, message: &str) -> Error {
    let (schema, instance) = if field.is_empty() {
        ("schema".to_string(), "instance".to_string())
    } else {
        (
            format!("schema[\"properties\"][\"{field}\"]"),
            format!("instance[\"{field}\"]"),
        )
    };
    Error::invalid(format!(
        "{message}\n\nFailed validating \"{rule}\" in {schema}\n\nOn {instance}:\n    {}",
        value
    ))
}

/// A thread id as the reference server reads it: any form Python's `uuid.UUID` takes
/// (hyphens or not, any case, braces, `urn:uuid:`), always answered in canonical form.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text.trim()).ok()
}
