//! Freddy's limits on thread metadata: at most 16 pairs, keys of at most 64 characters,
//! values of at most 512 (a value that is not a string counts by its JSON text).

use crate::error::{Error, Result};
use serde_json::{Map, Value};

pub const MAX_METADATA_PAIRS: usize = 16;
pub const MAX_METADATA_KEY_CHARS: usize = 64;
pub const MAX_METADATA_VALUE_CHARS: usize = 512;

/// Checks metadata as it will be stored (after any merge).
pub fn metadata(map: &Map<String, Value>) -> Result<()> {
    if map.len() > MAX_METADATA_PAIRS {
        return Err(Error::invalid(format!(
            "metadata has {} pairs; the limit is {MAX_METADATA_PAIRS}",
            map.len()
        )));
    }
    for (key, value) in map {
        let key_chars = key.chars().count();
        if key_chars > MAX_METADATA_KEY_CHARS {
            return Err(Error::invalid(format!(
                "metadata key {key:?} is {key_chars} characters; the limit is {MAX_METADATA_KEY_CHARS}"
            )));
        }
        let value_chars = match value {
            Value::String(text) => text.chars().count(),
            other => other.to_string().chars().count(),
        };
        if value_chars > MAX_METADATA_VALUE_CHARS {
            return Err(Error::invalid(format!(
                "metadata value of {key:?} is {value_chars} characters; the limit is {MAX_METADATA_VALUE_CHARS}"
            )));
        }
    }
    Ok(())
}

/// `metadata` merged into `current` (shallowly), checked.
pub fn merged(current: &Value, metadata: &Map<String, Value>) -> Result<()> {
    let mut all = current.as_object().cloned().unwrap_or_default();
    for (key, value) in metadata {
        all.insert(key.clone(), value.clone());
    }
    self::metadata(&all)
}
