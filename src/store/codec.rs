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
