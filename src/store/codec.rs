//! Record encoding: bincode 2 (standard config) over the serde derives of `model`.

use serde::{de::DeserializeOwned, Serialize};

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding plain structs into a Vec cannot fail.
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("records always encode")
}

/// Decodes a record; a failure means the bytes on disk are not what this binary wrote.
pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, sled::Error> {
    bincode::serde::decode_from_slice(raw, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|err| sled::Error::Unsupported(format!("undecodable record: {err}")))
}

pub fn decode_u64(raw: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&raw[..8]);
    u64::from_be_bytes(buf)
}

pub fn decode_u32(raw: &[u8]) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&raw[..4]);
    u32::from_be_bytes(buf)
}

/// Concatenates two 16-byte ids into a composite key.
pub fn pair_key(a: &uuid::Uuid, b: &uuid::Uuid) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(a.as_bytes());
    key[16..].copy_from_slice(b.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};
    use crate::model::Json;
    use serde_json::json;

    #[test]
    fn a_record_keeps_its_text_and_reads_it_back() {
        let json = Json::new(json!({"a": [1, 2.5, "x"]}));
        let decoded: Json = decode(&encode(&json)).expect("decodes");
        assert_eq!(decoded.raw().get(), r#"{"a":[1,2.5,"x"]}"#);
        assert_eq!(decoded.value(), &json!({"a": [1, 2.5, "x"]}));
    }

    #[test]
    fn a_damaged_record_reads_as_null_and_renders_as_null() {
        // The store's records are not checked when read.
        let damaged: Json = decode(&encode(&"{\"a\":")).expect("decodes");
        assert_eq!(damaged.raw().get(), "null");
        assert_eq!(damaged.value(), &serde_json::Value::Null);
    }
}
