//! REST threads are the WebSocket API's threads: one thread two faces, busy while the analyst
//! runs, access rules the same, and TTL deletions reaching everyone.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;
#[path = "common/rest_api.rs"]
mod rest_api;

use common::{answered, create_thread, Client, TestServer};
use rest_api::{detail, uuid_like, Api};
use serde_json::json;

#[tokio::test]
async fn one_thread_two_faces() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut ws = Client::connect(&server, &token).await;

    // A thread made over WebSockets: its messages are the state's values.
    let thread = create_thread(&mut ws, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    let got = api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    let messages = got["values"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{got}");
    assert_eq!(messages[0]["type"], "human");
    assert_eq!(messages[0]["content"], "total sales by region");
    assert_eq!(messages[1]["type"], "ai");
    assert!(!messages[1]["content"].as_str().unwrap().is_empty());
    assert!(got["values"]["analysis"]["sql"]
        .as_str()
        .unwrap()
        .contains("SELECT"));
    assert_eq!(got["status"], "idle");
    let found = api
        .search(json!({"ids": [id], "extract": {"last": "values.messages[-1]"}}))
        .await;
    assert_eq!(found[0]["extracted"]["last"], messages[1]);

    // State written over REST shows in the WebSocket view and reaches its watchers.
    let mut watcher = Client::connect(&server, &token).await;
    watcher.ok("/threads/get", json!({"id": id})).await;
    let written = api
        .expect(200, "POST", &format!("/threads/{id}/state"), Some(json!({"values": {
            "messages": [{"type": "human", "content": "a note from the SDK"}, {"type": "ai", "content": "noted"}],
            "priority": "high"}})))
        .await;
    let checkpoint = written["checkpoint"]["checkpoint_id"]
        .as_str()
        .unwrap()
        .to_string();
    let update = watcher.expect("/threads/get", "updateThreadState").await;
    let ws_messages = update["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(
        ws_messages.last().unwrap()["message"],
        "a note from the SDK"
    );
    assert_eq!(ws_messages.last().unwrap()["id"], checkpoint);
    let state = api
        .expect(200, "GET", &format!("/threads/{id}/state"), None)
        .await;
    assert_eq!(state["values"]["priority"], "high");
    assert_eq!(state["values"]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(state["checkpoint"]["checkpoint_id"], checkpoint);

    // An existing message replaced by id (add_messages), not appended.
    let ai_id = state["values"]["messages"][3]["id"].clone();
    api.expect(200, "POST", &format!("/threads/{id}/state"),
        Some(json!({"values": {"messages": [{"type": "ai", "content": "noted, twice", "id": ai_id}]}}))).await;
    let state = api
        .expect(200, "GET", &format!("/threads/{id}/state"), None)
        .await;
    assert_eq!(state["values"]["messages"].as_array().unwrap().len(), 4);
    assert_eq!(state["values"]["messages"][3]["content"], "noted, twice");

    // History: one checkpoint per message, newest first, `before` and `limit` page back.
    let history = api
        .expect(
            200,
            "POST",
            &format!("/threads/{id}/history"),
            Some(json!({"limit": 5})),
        )
        .await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["checkpoint"]["checkpoint_id"], checkpoint);
    assert_eq!(
        history[1]["values"]["messages"].as_array().unwrap().len(),
        2
    );
    assert_eq!(history[0]["parent_checkpoint"], history[1]["checkpoint"]);
    let older = api
        .expect(
            200,
            "GET",
            &format!("/threads/{id}/history?limit=1&before={checkpoint}"),
            None,
        )
        .await;
    assert_eq!(older[0]["checkpoint"], history[1]["checkpoint"]);
    api.expect(422, "GET", &format!("/threads/{id}/history?limit=0"), None)
        .await;
    api.expect(
        422,
        "POST",
        &format!("/threads/{id}/state"),
        Some(json!({"values": {"messages": [{"type": "tool", "content": "x"}]}})),
    )
    .await;
    api.expect(
        422,
        "POST",
        &format!("/threads/{id}/state"),
        Some(json!({"values": 3})),
    )
    .await;

    // Copy: a new thread with the messages and values; the source is untouched.
    let copy = api
        .expect(200, "POST", &format!("/threads/{id}/copy"), None)
        .await;
    assert_ne!(copy["thread_id"], json!(id));
    assert_eq!(copy["values"]["priority"], "high");
    assert_eq!(copy["values"]["messages"].as_array().unwrap().len(), 4);
    api.expect(
        404,
        "POST",
        &format!("/threads/{}/copy", uuid_like(9)),
        None,
    )
    .await;

    // Deleting over REST tells the WebSocket watcher.
    let deleted = api.call("DELETE", &format!("/threads/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    let gone = watcher.expect("/threads/get", "deleteThreadState").await;
    assert_eq!(gone["payload"], json!([id]));
    ws.fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;

    // Prune: listed threads go, unknown ones are skipped; bad ids are 422.
    let keep = api.create(json!({})).await;
    let drop = api.create(json!({})).await;
    let pruned = api
        .expect(
            200,
            "POST",
            "/threads/prune",
            Some(json!({"thread_ids": [drop["thread_id"], copy["thread_id"], uuid_like(3)]})),
        )
        .await;
    assert_eq!(pruned, json!({"pruned_count": 2}));
    api.expect(
        200,
        "GET",
        &format!("/threads/{}", keep["thread_id"].as_str().unwrap()),
        None,
    )
    .await;
    api.expect(
        422,
        "POST",
        "/threads/prune",
        Some(json!({"thread_ids": ["x"]})),
    )
    .await;
    let missing = api
        .expect(422, "POST", "/threads/prune", Some(json!({})))
        .await;
    assert!(detail(&missing).contains("\"thread_ids\" is a required property"));
}

#[tokio::test]
async fn status_is_busy_while_the_analyst_runs_and_error_after_it_fails() {
    let fake = fake_llm::FakeLlm::start().await;
    fake.script([fake_llm::Reply::Stall]);
    let server = TestServer::start_with(&fake.server_args("3"));
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut ws = Client::connect(&server, &token).await;
    let reply = ws
        .ok(
            "/threads/post",
            json!({"prompt": "what is the meaning of life", "thread_id": null}),
        )
        .await;
    let id = reply["payload"]["id"].clone();
    let path = format!("/threads/{}", id.as_str().unwrap());
    assert_eq!(api.expect(200, "GET", &path, None).await["status"], "busy");
    assert_eq!(api.search(json!({"status": "busy"})).await.len(), 1);
    let refused = api
        .expect(
            409,
            "POST",
            &format!("{path}/state"),
            Some(json!({"values": {"x": 1}})),
        )
        .await;
    assert!(detail(&refused).contains("busy"));
    answered(&mut ws, &id).await;
    assert_eq!(api.expect(200, "GET", &path, None).await["status"], "error");
    assert_eq!(
        api.expect(
            200,
            "POST",
            "/threads/count",
            Some(json!({"status": "error"}))
        )
        .await,
        json!(1)
    );
}

#[tokio::test]
async fn users_see_only_their_threads_and_roles_hold() {
    let server = TestServer::start();
    let owner = server.add_user("Owner", "owner@local.test");
    let viewer = server.add_user("Viewer", "viewer@local.test");
    let stranger = server.add_user("Stranger", "stranger@local.test");
    let owner_api = Api::new(&server, &owner.token);
    let thread = owner_api
        .create(json!({"metadata": {"secret": true}}))
        .await;
    let id = thread["thread_id"].as_str().unwrap().to_string();
    let mut ws = Client::connect(&server, &owner.token).await;
    common::share(&mut ws, &id, &viewer, "viewer").await;

    let stranger_api = Api::new(&server, &stranger.token);
    stranger_api
        .expect(404, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(stranger_api.search(json!({})).await.len(), 0);
    assert_eq!(
        stranger_api
            .expect(200, "POST", "/threads/count", None)
            .await,
        json!(0)
    );
    stranger_api
        .expect(
            404,
            "PATCH",
            &format!("/threads/{id}"),
            Some(json!({"metadata": {"x": 1}})),
        )
        .await;
    stranger_api
        .expect(404, "DELETE", &format!("/threads/{id}"), None)
        .await;
    stranger_api
        .expect(404, "POST", &format!("/threads/{id}/copy"), None)
        .await;
    // Taking the id of someone else's thread is refused, not a way to read it.
    stranger_api
        .expect(
            409,
            "POST",
            "/threads",
            Some(json!({"thread_id": id, "if_exists": "do_nothing"})),
        )
        .await;
    let pruned = stranger_api
        .expect(
            200,
            "POST",
            "/threads/prune",
            Some(json!({"thread_ids": [id]})),
        )
        .await;
    assert_eq!(pruned["pruned_count"], 0);

    let viewer_api = Api::new(&server, &viewer.token);
    assert_eq!(
        viewer_api
            .expect(200, "GET", &format!("/threads/{id}"), None)
            .await["metadata"]["secret"],
        true
    );
    viewer_api
        .expect(
            403,
            "PATCH",
            &format!("/threads/{id}"),
            Some(json!({"metadata": {"x": 1}})),
        )
        .await;
    viewer_api
        .expect(
            403,
            "POST",
            &format!("/threads/{id}/state"),
            Some(json!({"values": {"x": 1}})),
        )
        .await;
    viewer_api
        .expect(403, "DELETE", &format!("/threads/{id}"), None)
        .await;
    let after = owner_api
        .expect(200, "GET", &format!("/threads/{id}"), None)
        .await;
    assert_eq!(after["metadata"], json!({"secret": true}));
}

#[tokio::test]
async fn threads_whose_ttl_runs_out_are_deleted_for_everyone() {
    let server = TestServer::start_with(&["--ttl-sweep-secs", "1"]);
    let token = server.admin_token.clone().unwrap();
    let api = Api::new(&server, &token);
    let mut lists = Client::connect(&server, &token).await;
    lists.ok("/threads/list", json!({})).await;
    let short = api.create(json!({"ttl": {"ttl": 0.01}})).await;
    let long = api.create(json!({"ttl": {"ttl": 600}})).await;
    let forever = api.create(json!({})).await;
    let short_id = short["thread_id"].as_str().unwrap().to_string();
    let gone = lists
        .take(|m| m["event"] == "deleteThreadState" && m["payload"] == json!([short_id]))
        .await;
    assert_eq!(gone["route"], "/threads/list");
    api.expect(404, "GET", &format!("/threads/{short_id}"), None)
        .await;
    for kept in [&long, &forever] {
        api.expect(
            200,
            "GET",
            &format!("/threads/{}", kept["thread_id"].as_str().unwrap()),
            None,
        )
        .await;
    }
    // A TTL set by PATCH counts from the change.
    let patched = api
        .expect(
            200,
            "PATCH",
            &format!("/threads/{}", forever["thread_id"].as_str().unwrap()),
            Some(json!({"ttl": {"ttl": 0.01}})),
        )
        .await;
    let patched_id = patched["thread_id"].as_str().unwrap().to_string();
    lists
        .take(|m| m["event"] == "deleteThreadState" && m["payload"] == json!([patched_id]))
        .await;
    server
        .metric_reaches("skein_ttl_deletions_total", 2.0)
        .await;
}
