//! Every route of seed 000 (but search and the analysis steps), success and error paths,
//! checked field for field against the seed's shapes.

mod common;

use common::{create_thread, new_thread_id, Client, TestServer};
use serde_json::{json, Value};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

const THREAD_KEYS: &[&str] = &[
    "created_at",
    "created_by",
    "dashboard_id",
    "deleted_at",
    "folder_id",
    "id",
    "messages",
    "title",
    "updated_at",
    "updated_by",
];

const MESSAGE_KEYS: &[&str] = &[
    "chart_config",
    "chart_recommendations",
    "code",
    "column_metadata",
    "context",
    "created_at",
    "data_metadata",
    "dataset_id",
    "deleted_at",
    "feedback",
    "id",
    "message",
    "responses",
    "sent_by",
    "sent_by_name",
    "status",
    "thread_id",
    "time_frame",
    "title",
    "updated_at",
];

const LIST_KEYS: &[&str] = &[
    "created_by_email",
    "created_by_id",
    "created_by_name",
    "dataset_name",
    "dataset_uuid",
    "id",
    "last_edited",
    "status",
    "title",
];

#[tokio::test]
async fn post_creates_a_thread_with_the_seed_shape() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;

    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "show me my top customer", "dataset_id": null, "thread_id": null}),
        )
        .await;
    assert_eq!(reply["route"], "/threads/post");
    assert_eq!(reply["event"], "initializeThread");
    assert!(reply["error"].is_null());
    assert_eq!(reply["sent_by"], json!({"id": chad.id, "name": "Chad"}));
    let thread = &reply["payload"];
    assert!(
        thread.is_object(),
        "initializeThread payload is a single object"
    );
    assert_eq!(keys(thread), THREAD_KEYS);
    assert_eq!(thread["created_by"], chad.id);
    assert_eq!(thread["updated_by"], chad.id);
    assert!(thread["deleted_at"].is_null());
    assert_eq!(thread["title"], "show me my top customer");
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(keys(message), MESSAGE_KEYS);
    assert_eq!(message["message"], "show me my top customer");
    assert_eq!(message["sent_by"], chad.id);
    assert_eq!(message["sent_by_name"], "Chad");
    assert_eq!(message["thread_id"], thread["id"]);
    assert_eq!(message["status"], "notVerified");
    assert!(message["responses"].is_null(), "no analysis yet");

    let joined = client.expect("/threads/post", "joinedThread").await;
    assert_eq!(
        joined["payload"],
        json!({"email": "chad@example.com", "id": chad.id, "name": "Chad", "thread_id": thread["id"]})
    );

    // A follow-up appends to the same thread, oldest first.
    let id = thread["id"].as_str().unwrap();
    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "this is great, can you break that down week by week", "thread_id": id}),
        )
        .await;
    let messages = reply["payload"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["message"], "show me my top customer");
    assert_eq!(
        messages[1]["message"],
        "this is great, can you break that down week by week"
    );
}

#[tokio::test]
async fn get_returns_state_and_roster() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "total sales by month").await;
    let id = thread["id"].as_str().unwrap();

    let mut other = Client::connect(&server, &chad.token).await;
    let state = other.ok("/threads/get", json!({"id": id})).await;
    assert_eq!(state["route"], "/threads/get");
    assert_eq!(state["event"], "getThreadState");
    let payload = state["payload"]
        .as_array()
        .expect("getThreadState payload is an array");
    assert_eq!(payload.len(), 1);
    assert_eq!(keys(&payload[0]), THREAD_KEYS);
    assert_eq!(payload[0]["id"], id);
    assert_eq!(payload[0]["messages"][0]["message"], "total sales by month");

    let joined = other.expect("/threads/get", "joinedThread").await;
    assert_eq!(
        joined["payload"],
        json!([{"email": "chad@example.com", "id": chad.id, "name": "Chad", "thread_id": id}]),
        "one entry per user, however many of their connections are in the thread"
    );

    // Errors: unknown id, invalid id, missing id.
    let missing = uuid::Uuid::new_v4().to_string();
    let message = other
        .fails("/threads/get", json!({"id": missing}), "NOT_FOUND")
        .await;
    assert!(message.contains(&missing), "{message}");
    let message = other
        .fails("/threads/get", json!({"id": "not-a-uuid"}), "BAD_REQUEST")
        .await;
    assert!(message.contains("data.id"), "{message}");
    let message = other.fails("/threads/get", json!({}), "BAD_REQUEST").await;
    assert!(message.contains("missing field `id`"), "{message}");
}

#[tokio::test]
async fn list_pages_newest_first() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let thread = create_thread(&mut client, &format!("question {n}")).await;
        ids.push(thread["id"].as_str().unwrap().to_string());
    }
    ids.reverse(); // newest first

    let reply = client.ok("/threads/list", json!({})).await;
    assert_eq!(reply["event"], "getThreadsList");
    let items = reply["payload"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(keys(&items[0]), LIST_KEYS);
    let listed: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids);
    assert_eq!(items[0]["title"], "question 4");
    assert_eq!(items[0]["created_by_id"], chad.id);
    assert_eq!(items[0]["created_by_name"], "Chad");
    assert_eq!(items[0]["created_by_email"], "chad@example.com");
    assert_eq!(items[0]["status"], "notVerified");
    // The dataset the latest question was asked of, by id and name.
    assert!(items[0]["dataset_uuid"].is_string(), "{}", items[0]);
    assert_eq!(items[0]["dataset_name"], "Sales Dataset");

    let mut paged = Vec::new();
    for page in 0..3 {
        let reply = client
            .ok("/threads/list", json!({"page_size": 2, "page_token": page}))
            .await;
        for item in reply["payload"].as_array().unwrap() {
            paged.push(item["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(paged, ids, "pages of 2 cover every thread once, in order");
    let reply = client
        .ok("/threads/list", json!({"page_size": 2, "page_token": 9}))
        .await;
    assert_eq!(reply["payload"], json!([]));
    let reply = client
        .ok(
            "/threads/list",
            json!({"page_size": null, "page_token": null}),
        )
        .await;
    assert_eq!(
        reply["payload"].as_array().unwrap().len(),
        5,
        "nulls mean defaults"
    );

    client
        .fails("/threads/list", json!({"page_size": 0}), "BAD_REQUEST")
        .await;
    client
        .fails("/threads/list", json!({"page_size": 101}), "BAD_REQUEST")
        .await;
    let message = client
        .fails("/threads/list", json!({"page_size": "ten"}), "BAD_REQUEST")
        .await;
    assert!(message.contains("page_size"), "{message}");
    client
        .fails("/threads/list", json!({"page_token": -1}), "BAD_REQUEST")
        .await;
}

#[tokio::test]
async fn update_changes_title_code_feedback_status_and_chart() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "show me total sales on a bar chart by year").await;
    let id = thread["id"].as_str().unwrap();
    let first_message = thread["messages"][0]["id"].as_str().unwrap().to_string();
    let second = client
        .ok(
            "/threads/post",
            json!({"prompt": "now by month", "thread_id": id}),
        )
        .await;
    let second_message = second["payload"]["messages"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    common::answered(&mut client, &json!(id)).await;

    let reply = client
        .ok(
            "/threads/update",
            json!({
                "id": id,
                "title": "Total Sales by Year",
                "code": "SELECT 1",
                "feedback": "Positive",
                "status": "Verified",
                "chart_config": {"type": "line", "x": "date", "y": "sales"}
            }),
        )
        .await;
    assert_eq!(reply["route"], "/threads/update");
    assert_eq!(reply["event"], "updateThreadState");
    let state = &reply["payload"][0];
    assert_eq!(state["title"], "Total Sales by Year");
    assert!(state["updated_at"].is_string());
    let latest = &state["messages"][1];
    assert_eq!(
        latest["id"],
        second_message.as_str(),
        "without message_id the latest message changes"
    );
    assert_eq!(latest["code"], "SELECT 1");
    assert_eq!(latest["feedback"], "positive");
    assert_eq!(latest["status"], "verified");
    assert_eq!(
        latest["chart_config"],
        json!({"type": "line", "x": "date", "y": "sales"})
    );
    assert!(
        state["messages"][0]["code"]
            .as_str()
            .unwrap()
            .contains("SUM(total_sales_amount)"),
        "the first message keeps the SQL of its own answer"
    );

    // message_id targets an earlier message; statuses in any case come out camelCase.
    let reply = client
        .ok(
            "/threads/update",
            json!({"id": id, "message_id": first_message, "status": "notverified", "feedback": "NEGATIVE"}),
        )
        .await;
    let first = &reply["payload"][0]["messages"][0];
    assert_eq!(first["status"], "notVerified");
    assert_eq!(first["feedback"], "negative");
    let reply = client
        .ok(
            "/threads/update",
            json!({"id": id, "message_id": first_message, "status": "REJECTED", "feedback": null}),
        )
        .await;
    assert_eq!(reply["payload"][0]["messages"][0]["status"], "rejected");
    assert!(
        reply["payload"][0]["messages"][0]["feedback"].is_null(),
        "null clears feedback"
    );

    // The list shows the latest message's status.
    let list = client.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"][0]["status"], "verified");
    assert_eq!(list["payload"][0]["title"], "Total Sales by Year");
}

#[tokio::test]
async fn failed_updates_change_nothing() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "sales by region").await;
    let id = thread["id"].as_str().unwrap();
    let before = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();

    let long_title = "x".repeat(201);
    let cases = [
        (json!({"id": id, "title": long_title}), "BAD_REQUEST", "200"),
        (json!({"id": id, "title": "   "}), "BAD_REQUEST", "empty"),
        (
            json!({"id": id, "status": "approved"}),
            "BAD_REQUEST",
            "status",
        ),
        (
            json!({"id": id, "feedback": "meh"}),
            "BAD_REQUEST",
            "feedback",
        ),
        (
            json!({"id": id, "chart_config": [1, 2]}),
            "BAD_REQUEST",
            "chart_config",
        ),
        (json!({"id": id, "title": 5}), "BAD_REQUEST", "data.title"),
        (json!({"id": id}), "BAD_REQUEST", "nothing to update"),
        // A valid title with a bad status: neither applies.
        (
            json!({"id": id, "title": "New", "status": "nope"}),
            "BAD_REQUEST",
            "status",
        ),
        (
            json!({"id": id, "title": "New", "message_id": uuid::Uuid::new_v4()}),
            "NOT_FOUND",
            "message",
        ),
        (
            json!({"id": id, "share": [{"email": "nobody@example.com", "role": "viewer"}]}),
            "NOT_FOUND",
            "nobody@example.com",
        ),
        (
            json!({"id": id, "share": [{"email": "chad@example.com", "role": "viewer"}]}),
            "BAD_REQUEST",
            "owner",
        ),
        (
            json!({"id": id, "share": [{"role": "viewer"}]}),
            "BAD_REQUEST",
            "exactly one",
        ),
        (
            json!({"id": uuid::Uuid::new_v4(), "title": "x"}),
            "NOT_FOUND",
            "not found",
        ),
    ];
    for (data, code, needle) in cases {
        let message = client.fails("/threads/update", data.clone(), code).await;
        assert!(message.contains(needle), "{data}: {message}");
    }
    let after = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after, "no failed update changed anything");
}

#[tokio::test]
async fn delete_is_soft_all_or_nothing_and_accepts_every_id_form() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let a = new_thread_id(&mut client, "a").await;
    let b = new_thread_id(&mut client, "b").await;
    let c = new_thread_id(&mut client, "c").await;

    // One unknown id: nothing is deleted.
    let unknown = uuid::Uuid::new_v4().to_string();
    let message = client
        .fails("/threads/delete", json!({"id": [a, unknown]}), "NOT_FOUND")
        .await;
    assert!(message.contains(&unknown));
    client.ok("/threads/get", json!({"id": a})).await;

    let reply = client.ok("/threads/delete", json!({"id": [a, b]})).await;
    assert_eq!(reply["route"], "/threads/delete");
    assert_eq!(reply["event"], "deleteThreadState");
    assert_eq!(reply["payload"], json!([a, b]));
    let reply = client.ok("/threads/delete", json!({"ids": [c]})).await;
    assert_eq!(reply["payload"], json!([c]));

    for id in [&a, &b, &c] {
        client
            .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
            .await;
        client
            .fails(
                "/threads/post",
                json!({"prompt": "more", "thread_id": id}),
                "NOT_FOUND",
            )
            .await;
    }
    let list = client.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"], json!([]));
    client
        .fails("/threads/delete", json!({"id": a}), "NOT_FOUND")
        .await;
    client
        .fails("/threads/delete", json!({"id": []}), "BAD_REQUEST")
        .await;
    client
        .fails("/threads/delete", json!({}), "BAD_REQUEST")
        .await;
    client
        .fails("/threads/delete", json!({"id": ["nope"]}), "BAD_REQUEST")
        .await;
}

#[tokio::test]
async fn unsubscribe_one_or_all() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "q").await;
    let id = thread["id"].as_str().unwrap();

    let reply = client.ok("/threads/unsubscribe", json!({"id": id})).await;
    assert_eq!(reply["event"], "unsubscribed");
    assert_eq!(reply["payload"], json!([{"id": id}]));
    let reply = client.ok("/threads/unsubscribe", json!({"id": null})).await;
    assert_eq!(reply["payload"], json!([{"id": null}]));
    client.barrier().await; // what arrived before unsubscribing

    // After unsubscribing from everything, another tab's changes are not delivered.
    let mut other = Client::connect(&server, &chad.token).await;
    other
        .ok("/threads/update", json!({"id": id, "title": "renamed"}))
        .await;
    other.barrier().await;
    let seen = client.barrier().await;
    assert!(seen.is_empty(), "unsubscribed connection got {seen:?}");

    let missing = uuid::Uuid::new_v4();
    client
        .fails("/threads/unsubscribe", json!({"id": missing}), "NOT_FOUND")
        .await;
    client
        .fails("/threads/unsubscribe", json!({"id": 7}), "BAD_REQUEST")
        .await;
}

#[tokio::test]
async fn post_validates_its_input() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;

    let long_prompt = "y".repeat(10_001);
    let message = client
        .fails(
            "/threads/post",
            json!({"prompt": long_prompt}),
            "BAD_REQUEST",
        )
        .await;
    assert!(message.contains("10000"), "{message}");
    client
        .fails("/threads/post", json!({"prompt": "  "}), "BAD_REQUEST")
        .await;
    let message = client
        .fails("/threads/post", json!({}), "BAD_REQUEST")
        .await;
    assert!(message.contains("prompt"), "{message}");
    client
        .fails("/threads/post", json!({"prompt": 12}), "BAD_REQUEST")
        .await;
    client
        .fails(
            "/threads/post",
            json!({"prompt": "q", "thread_id": "x"}),
            "BAD_REQUEST",
        )
        .await;
    client
        .fails(
            "/threads/post",
            json!({"prompt": "q", "thread_id": uuid::Uuid::new_v4()}),
            "NOT_FOUND",
        )
        .await;
    client
        .fails(
            "/threads/post",
            json!({"prompt": "q", "dataset_id": uuid::Uuid::new_v4()}),
            "NOT_FOUND",
        )
        .await;
    // A prompt of exactly the limit is fine.
    create_thread(&mut client, &"z".repeat(10_000)).await;
    let list = client.ok("/threads/list", json!({})).await;
    assert_eq!(
        list["payload"].as_array().unwrap().len(),
        1,
        "only the valid post created a thread"
    );
}
