//! Bad input never crashes or hangs anything: each bad frame gets the error envelope, the
//! connection stays usable, and nothing stored changes.

mod common;

use common::{create_thread, Client, TestServer};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn error_reply(client: &mut Client) -> Value {
    let reply = client.take(|m| !m["error"].is_null()).await;
    assert!(reply["payload"].is_null(), "{reply}");
    assert!(!reply["error"]["message"].as_str().unwrap().is_empty());
    reply
}

#[tokio::test]
async fn every_kind_of_bad_frame_gets_a_clear_error_and_the_connection_survives() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "keep me").await;
    let id = thread["id"].as_str().unwrap().to_string();
    let before = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    client.barrier().await;

    let oversize =
        json!({"route": "/threads/post", "data": {"prompt": "a".repeat(1024 * 1024 + 10)}})
            .to_string();
    let text_cases: Vec<(String, &str, &str)> = vec![
        ("{not json".into(), "BAD_REQUEST", "not valid JSON"),
        ("[1,2,3]".into(), "BAD_REQUEST", "JSON object"),
        ("\"just a string\"".into(), "BAD_REQUEST", "JSON object"),
        (json!({"data": {}}).to_string(), "BAD_REQUEST", "missing \"route\""),
        (json!({"route": 42}).to_string(), "BAD_REQUEST", "route"),
        (json!({"route": "/threads/nope", "data": {}}).to_string(), "BAD_REQUEST", "unknown route"),
        (json!({"route": "/threads/get", "data": [1]}).to_string(), "BAD_REQUEST", "JSON object"),
        (json!({"route": "/threads/get", "data": {"id": 5}}).to_string(), "BAD_REQUEST", "data.id"),
        (json!({"route": "/threads/get", "data": {"id": "zzz"}}).to_string(), "BAD_REQUEST", "data.id"),
        (json!({"route": "/threads/update", "data": {"id": id, "title": "t".repeat(201)}}).to_string(), "BAD_REQUEST", "200"),
        (json!({"route": "/threads/post", "data": {"prompt": "p".repeat(10_001), "thread_id": id}}).to_string(), "BAD_REQUEST", "10000"),
        (json!({"route": "/threads/update", "data": {"id": id, "title": "x", "status": 3}}).to_string(), "BAD_REQUEST", "data.status"),
        (oversize, "PAYLOAD_TOO_LARGE", "limit"),
    ];
    for (frame, code, needle) in text_cases {
        client.send_text(frame.clone()).await;
        let reply = error_reply(&mut client).await;
        assert_eq!(
            reply["error"]["code"],
            code,
            "{}: {reply}",
            &frame[..frame.len().min(80)]
        );
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    }

    client
        .ws
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .unwrap();
    let reply = error_reply(&mut client).await;
    assert_eq!(reply["event"], "error");
    assert_eq!(reply["error"]["code"], "BAD_REQUEST");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("binary"));

    // Unknown routes and unparseable frames echo what they can so a client can match them.
    client
        .send_text(json!({"route": "/threads/nope", "request_id": 77}).to_string())
        .await;
    let reply = error_reply(&mut client).await;
    assert_eq!(reply["route"], "/threads/nope");
    assert_eq!(reply["event"], "error");
    assert_eq!(reply["request_id"], 77);

    // The connection still works and nothing changed.
    let after = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after);
    let list = client.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_seed_request_forms_are_all_accepted() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut client, "forms").await;
    let id = thread["id"].as_str().unwrap();

    // {"Threads": route} and "payload" instead of "data".
    client
        .send_text(
            json!({"route": {"Threads": "/threads/get"}, "payload": {"id": id}, "request_id": "x"})
                .to_string(),
        )
        .await;
    let reply = client.take(|m| m["request_id"] == "x").await;
    assert_eq!(reply["event"], "getThreadState");
    assert_eq!(
        reply["route"], "/threads/get",
        "routes are emitted as flat strings"
    );

    client
        .send_text(json!({"route": "/threads/get", "data": {"id": id}, "payload": {"id": id}, "request_id": "y"}).to_string())
        .await;
    let reply = client.take(|m| m["request_id"] == "y").await;
    assert_eq!(reply["error"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn a_frame_over_the_hard_limit_closes_the_connection_with_1009() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut client = Client::connect(&server, &chad.token).await;
    let huge = "x".repeat(17 * 1024 * 1024);
    // The server may close while the frame is still being written.
    let _ = client.ws.send(Message::text(huge)).await;
    let (code, reason) = client.closed().await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("16 MiB"), "{reason}");
}
