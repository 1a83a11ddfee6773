//! Input generators for the property tests of the request decoders (`ws::decoder_fuzz`,
//! `rest::body_fuzz`): JSON shaped like requests, with the field names the decoders look for,
//! so the properties reach past the first check. Run long with `PROPTEST_CASES=1000000`.

use proptest::prelude::*;
use serde_json::Value;

/// Field names the decoders read, and some they do not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "route",
            "data",
            "payload",
            "request_id",
            "Threads",
            "prompt",
            "thread_id",
            "dataset_id",
            "id",
            "ids",
            "title",
            "code",
            "feedback",
            "status",
            "chart_config",
            "message_id",
            "share",
            "role",
            "email",
            "user_id",
            "page_size",
            "page_token",
            "values",
            "messages",
            "type",
            "role",
            "content",
            "text",
            "metadata",
            "ttl",
            "strategy",
            "if_exists",
            "supersteps",
            "updates",
            "as_node",
            "limit",
            "offset",
            "sort_by",
            "sort_order",
            "select",
            "extract",
            "thread_ids",
            "before",
            "checkpoint",
        ])
        .prop_map(String::from),
        "[a-z_]{0,10}",
    ]
}

/// Strings the decoders treat specially, and any others.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "/threads/post",
            "/threads/get",
            "/threads/update",
            "/threads/list",
            "/threads/delete",
            "/threads/search",
            "/threads/unsubscribe",
            "/users/me",
            "human",
            "ai",
            "user",
            "assistant",
            "delete",
            "keep_latest",
            "raise",
            "do_nothing",
            "asc",
            "desc",
            "created_at",
            "viewer",
            "editor",
            "none",
            "verified",
            "notVerified",
            "positive",
            "0193a2b4-0000-7000-8000-000000000000",
            "values.messages[-1].content",
            "metadata.a.b",
            "",
        ])
        .prop_map(String::from),
        any::<String>(),
    ]
}

/// Any JSON value, nested a few levels.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}
