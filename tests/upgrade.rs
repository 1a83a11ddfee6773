//! A data dir written by an older release (store format 2, built by
//! `scripts/make-upgrade-fixture` with the binary of commit 8b4d0be and checked in under
//! `tests/data/format2`) opens with this binary and reads back field for field, over WebSocket
//! and REST, as the old server answered.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};
use std::path::Path;

fn fixture() -> (TestServer, Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format2");
    let expected = std::fs::read_to_string(root.join("expected.json")).unwrap();
    let server = TestServer::start_on_copy(&root.join("data"));
    (server, serde_json::from_str(&expected).unwrap())
}

/// Fields the old release always answered null by mistake, now filled in.
const FILLED_SINCE: [&str; 1] = [
    // Thread list items lacked their dataset's name (issue 13).
    "dataset_name",
];

/// Every field the old server answered is answered the same now; fields added since are
/// allowed, and so are values for fields the old release left null by mistake.
fn assert_reads_back(old: &Value, new: &Value, path: &str) {
    let field = path.rsplit('.').next().unwrap_or_default();
    if old.is_null() && FILLED_SINCE.contains(&field) {
        return;
    }
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in old {
                let field = format!("{path}.{key}");
                let now = new.get(key).unwrap_or_else(|| panic!("{field} is gone"));
                assert_reads_back(value, now, &field);
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            assert_eq!(old.len(), new.len(), "{path}: length");
            for (i, (old, new)) in old.iter().zip(new).enumerate() {
                assert_reads_back(old, new, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{path}"),
    }
}

/// The old state as this server shows it: thread states now carry the first rows of each
/// answer (its whole rows come from `/threads/data`, checked here against the old state's).
async fn with_previews(client: &mut Client, old_state: &Value) -> Value {
    let mut state = old_state.clone();
    for thread in state.as_array_mut().unwrap() {
        for message in thread["messages"].as_array_mut().unwrap() {
            let message_id = message["id"].clone();
            let Some(steps) = message["context"]["steps"].as_array_mut() else {
                continue;
            };
            for step in steps {
                let Some(fetched) = step.get_mut("fetchingData") else {
                    continue;
                };
                let Some(rows) = fetched["data"].as_array().cloned() else {
                    continue;
                };
                let page = client
                    .ok(
                        "/threads/data",
                        json!({"message_id": message_id, "limit": 1000}),
                    )
                    .await;
                assert_eq!(page["payload"]["rows"], json!(rows), "{message_id}: rows");
                fetched["data"] = json!(rows[..rows.len().min(10)]);
            }
        }
    }
    state
}

/// The state as a client sees it whole: a thread state leaves out the steps of finished
/// answers (`context: null`), which `/threads/message` returns.
async fn with_steps(client: &mut Client, state: &Value) -> Value {
    let mut state = state.clone();
    for thread in state.as_array_mut().unwrap() {
        for message in thread["messages"].as_array_mut().unwrap() {
            if message["context"].is_null() {
                let full = client
                    .ok("/threads/message", json!({"message_id": message["id"]}))
                    .await;
                message["context"] = full["payload"]["context"].clone();
            }
        }
    }
    state
}

async fn rest_get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("http://{}{path}", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_format_2_data_dir_reads_back_field_for_field() {
    if common::on_postgres() {
        return; // fixtures are embedded data dirs of older formats
    }
    let (server, expected) = fixture();
    let admin = expected["admin_token"].as_str().unwrap();
    let sales = &expected["sales_thread"];
    let mut client = Client::connect(&server, admin).await;

    let state = client.ok("/threads/get", json!({"id": sales})).await;
    let old_sales = with_previews(&mut client, &expected["ws"]["sales"]).await;
    let sales_now = with_steps(&mut client, &state["payload"]).await;
    assert_reads_back(&old_sales, &sales_now, "sales");
    let list = client.ok("/threads/list", json!({})).await;
    assert_reads_back(&expected["ws"]["list"], &list["payload"], "list");
    // The deleted thread stays deleted.
    client
        .fails(
            "/threads/get",
            json!({"id": expected["deleted_thread"]}),
            "NOT_FOUND",
        )
        .await;
    // The share still holds.
    let mut eve = Client::connect(&server, expected["eve_token"].as_str().unwrap()).await;
    let list = eve.ok("/threads/list", json!({})).await;
    assert_reads_back(&expected["ws"]["eve_list"], &list["payload"], "eve_list");

    let rest_thread = expected["rest_thread"].as_str().unwrap();
    for (name, path) in [
        ("thread", format!("/threads/{rest_thread}")),
        ("state", format!("/threads/{rest_thread}/state")),
        ("sales", format!("/threads/{}", sales.as_str().unwrap())),
    ] {
        let (status, body) = rest_get(&server, admin, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_reads_back(&expected["rest"][name], &body, &format!("rest.{name}"));
    }
}

#[tokio::test]
async fn an_upgraded_data_dir_takes_new_questions_and_stays_searchable() {
    if common::on_postgres() {
        return; // fixtures are embedded data dirs of older formats
    }
    let (server, expected) = fixture();
    let admin = expected["admin_token"].as_str().unwrap();
    let mut client = Client::connect(&server, admin).await;
    let follow_up = client
        .ok(
            "/threads/post",
            json!({"prompt": "total sales by region", "thread_id": expected["sales_thread"]}),
        )
        .await;
    let id = follow_up["payload"]["id"].clone();
    let state = common::answered(&mut client, &id).await;
    let messages = state["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert!(messages[2]["data_metadata"].is_object(), "{}", messages[2]);
    let new_message = &messages[2]["id"];
    // The index catches up on its own time: ask until the new message is in (or give up).
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let (found, ids) = loop {
        let found = client
            .ok("/threads/search", json!({"prompt": "sales by month"}))
            .await;
        let ids: Vec<Value> = found["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["id"].clone())
            .collect();
        if ids.contains(new_message) || std::time::Instant::now() > deadline {
            break (found, ids);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    // Old messages and the new one are found alike.
    assert!(ids.contains(new_message), "{found}");
    assert!(ids.contains(&messages[1]["id"]), "{found}");
    // The old release's index had other fields: it was rebuilt, not kept aside as damaged.
    let search = std::fs::read_dir(server.dir.join("search")).unwrap();
    let names: Vec<String> = search
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name.contains("damaged")),
        "{names:?}"
    );
}
