//! Property: every frame is either a request or an `Unparseable` with a clear error; the
//! decoder never panics, whatever the bytes. (`PROPTEST_CASES=1000000` for a long run.)

use super::envelope::{decode_data, parse_request};
use crate::fuzz::json;
use proptest::prelude::*;
use serde_json::Value;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Shaped {
    id: uuid::Uuid,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    share: Option<Vec<Value>>,
}

proptest! {
    #[test]
    fn any_text_frame_is_answered(text in any::<String>()) {
        if let Err(unparseable) = parse_request(&text) {
            prop_assert!(!unparseable.error.message.is_empty());
        }
    }

    #[test]
    fn any_json_frame_is_answered(frame in json()) {
        match parse_request(&frame.to_string()) {
            Ok(request) => {
                prop_assert!(request.data.is_object());
                // Decoding the data into a route's shape fails with a message, or succeeds.
                if let Err(error) = decode_data::<Shaped>(request.data) {
                    prop_assert!(!error.message.is_empty());
                }
            }
            Err(unparseable) => prop_assert!(!unparseable.error.message.is_empty()),
        }
    }
}
