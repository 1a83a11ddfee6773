//! Property: every REST body, whatever its bytes, is either accepted or refused with an error
//! from the table; no parser panics. (`PROPTEST_CASES=1000000` for a long run.)

use super::query::{parse_extract, parse_select, Filters, Sort};
use super::schema::Body;
use super::{create, state};
use crate::fuzz::json;
use proptest::prelude::*;

/// Runs every parser a REST endpoint applies to a body.
fn parse_everything(body: &Body) {
    let _ = Filters::parse(body);
    let _ = Sort::parse(body);
    let _ = parse_select(body);
    let _ = parse_extract(body);
    let _ = create::metadata(body);
    let _ = create::ttl(body);
    let _ = state::supersteps(body);
    if let Some(serde_json::Value::Object(values)) = body.get("values") {
        let _ = state::parse_values(values);
    }
    let _ = body.strings("thread_ids");
    let _ = body.integer("limit", 1, Some(1000));
    let _ = body.one_of("if_exists", &["raise", "do_nothing"]);
}

proptest! {
    #[test]
    fn any_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..512), empty_ok in any::<bool>()) {
        if let Ok(body) = Body::parse(&bytes, empty_ok) {
            parse_everything(&body);
        }
    }

    #[test]
    fn any_json_body_is_answered(value in json()) {
        match Body::parse(value.to_string().as_bytes(), false) {
            Ok(body) => parse_everything(&body),
            Err(error) => prop_assert!(!error.message.is_empty()),
        }
    }
}
