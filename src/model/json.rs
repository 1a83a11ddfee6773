//! JSON kept in records as its text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::sync::OnceLock;

/// A JSON value kept as the text it is stored as (so records stay decodable by a
/// non-self-describing codec), parsed on first use. Reading a message neither parses nor checks
/// its JSON fields (an answer's step fields hold its rows, and a thread's update renders only
/// the steps the change touched); rendering one checks the text and writes it as it is.
#[derive(Clone)]
pub struct Json {
    text: String,
    parsed: OnceLock<serde_json::Value>,
}

impl Json {
    pub fn new(value: serde_json::Value) -> Json {
        Json {
            text: serde_json::to_string(&value).expect("JSON values always serialize"),
            parsed: OnceLock::from(value),
        }
    }

    /// The value. Text that does not parse, or is nested deeper than the parser allows (only
    /// a damaged record could hold either), reads as null rather than as something else.
    pub fn value(&self) -> &serde_json::Value {
        self.parsed.get_or_init(|| parse(&self.text))
    }

    /// The text, checked, to write out without parsing it into a tree; null if it is not JSON.
    pub fn raw(&self) -> &RawValue {
        serde_json::from_str(&self.text).unwrap_or_else(|err| {
            tracing::error!(%err, "a stored JSON field is not JSON");
            serde_json::from_str("null").expect("null is JSON")
        })
    }

    /// The value, to change it and make a new `Json` of it.
    pub fn into_value(self) -> serde_json::Value {
        match self.parsed.into_inner() {
            Some(value) => value,
            None => parse(&self.text),
        }
    }
}

fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| {
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
        f.write_str(&self.text)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Text from outside (a human-readable format: an import's JSON) is checked here; the store's
/// own records (a binary codec) are neither parsed nor checked when read: see [`Json::raw`]
/// and [`Json::value`] (the store's codec tests read them back).
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let from_outside = d.is_human_readable();
        let text = String::deserialize(d)?;
        if from_outside {
            serde_json::from_str::<&RawValue>(&text).map_err(serde::de::Error::custom)?;
        }
        Ok(Json {
            text,
            parsed: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_from_outside_that_is_not_json_is_refused() {
        assert!(serde_json::from_str::<Json>(r#""{\"a\":""#).is_err());
        let ok: Json = serde_json::from_str(r#""[1,2]""#).expect("JSON text");
        assert_eq!(ok.value(), &json!([1, 2]));
    }
}
