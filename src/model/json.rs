//! JSON kept in records as its text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::sync::OnceLock;

/// A JSON value kept as the text it is stored as (so records stay decodable by a
/// non-self-describing codec), parsed on first use. Reading a message does not parse its JSON
/// fields (an answer's step fields hold its rows); rendering one writes the text as it is.
#[derive(Clone)]
pub struct Json {
    raw: Box<RawValue>,
    parsed: OnceLock<serde_json::Value>,
}

impl Json {
    pub fn new(value: serde_json::Value) -> Json {
        Json {
            raw: serde_json::value::to_raw_value(&value).expect("JSON values always serialize"),
            parsed: OnceLock::from(value),
        }
    }

    /// The value. Text nested deeper than the parser allows (only a damaged record could
    /// hold it) reads as null rather than as something else.
    pub fn value(&self) -> &serde_json::Value {
        self.parsed.get_or_init(|| parse(&self.raw))
    }

    /// The text, to write out without parsing it.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The value, to change it and make a new `Json` of it.
    pub fn into_value(self) -> serde_json::Value {
        match self.parsed.into_inner() {
            Some(value) => value,
            None => parse(&self.raw),
        }
    }
}

fn parse(raw: &RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or_else(|err| {
        tracing::error!(%err, "a stored JSON field does not parse");
        serde_json::Value::Null
    })
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.value() == other.value()
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw.get())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.raw.get())
    }
}

/// Checked as JSON (not parsed into a tree) when the record is read.
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Json {
            raw: RawValue::from_string(text).map_err(serde::de::Error::custom)?,
            parsed: OnceLock::new(),
        })
    }
}
