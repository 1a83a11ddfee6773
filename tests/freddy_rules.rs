//! The Freddy API keeps the core's rules: the access matrix, lock and archive on every
//! interface (Freddy, WebSocket, LangGraph REST), `status: streaming` while the analyst runs,
//! and threads made over Freddy seen live by a WebSocket watcher and found by search.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;
#[path = "common/rest_api.rs"]
mod rest_api;

use common::freddy_api::{org_of, uuid_of, Freddy};
use common::searching::{has_thread, search_until};
use common::{Client, TestServer, TestUser};
use fake_llm::{FakeLlm, Reply};
use serde_json::{json, Value};

#[tokio::test]
async fn the_access_matrix() {
    let server = TestServer::start();
    server.cli(&["org", "add", "Acme"]);
    let owner = server.add_user("Owner", "owner@local.test");
    let editor = server.add_user("Editor", "editor@local.test");
    let viewer = server.add_user("Viewer", "viewer@local.test");
    let stranger = server.add_user("Stranger", "stranger@local.test");
    let admin = server.add_user_with("Admin", "admin@local.test", &["--admin"]);
    let outsider =
        server.add_user_with("Outsider", "boss@acme.test", &["--admin", "--org", "Acme"]);
    let org = org_of(&server, &owner).await;
    let thread = Freddy::new(&server, &owner.token)
        .create(&org, json!({"title": "shared"}))
        .await;
    let id = thread["id"].as_str().unwrap().to_string();
    let mut ws = Client::connect(&server, &owner.token).await;
    ws.ok(
        "/threads/update",
        json!({"id": uuid_of(&id), "share": [
            {"user_id": editor.id, "role": "editor"}, {"user_id": viewer.id, "role": "viewer"}]}),
    )
    .await;

    // (user, listed, get, modify, delete): delete is tried last, by the owner only at the end.
    let rows: [(&TestUser, bool, u16, u16, u16); 6] = [
        (&editor, true, 200, 200, 403),
        (&viewer, true, 200, 403, 403),
        (&stranger, false, 404, 404, 404),
        (&admin, true, 200, 200, 0),
        (&outsider, false, 404, 404, 404),
        (&owner, true, 200, 200, 200),
    ];
    for (user, listed, get, modify, delete) in rows {
        let api = Freddy::new(&server, &user.token);
        let who = &user.name;
        let (ids, _) = api.ids("?limit=100").await;
        assert_eq!(ids.contains(&id), listed, "{who} list");
        let path = format!("/threads/{id}");
        assert_eq!(api.call("GET", &path, None).await.0, get, "{who} get");
        let (status, body) = api
            .call("POST", &path, Some(json!({"title": format!("by {who}")})))
            .await;
        assert_eq!(status, modify, "{who} modify: {body}");
        if status == 403 {
            assert_eq!(body["error"]["code"], "INSUFFICIENT_PERMISSIONS");
        }
        if status == 404 {
            assert_eq!(body["error"]["code"], "RESOURCE_NOT_FOUND");
        }
        if delete != 0 {
            assert_eq!(
                api.call("DELETE", &path, None).await.0,
                delete,
                "{who} delete"
            );
        }
    }
}

#[tokio::test]
async fn lock_and_archive_hold_on_every_interface() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let api = Freddy::new(&server, &bob.token);
    let mut ws = Client::connect(&server, &bob.token).await;
    let uuid = common::new_thread_id(&mut ws, "total revenue by region").await;
    let id = format!("thread_{}", uuid.replace('-', ""));
    let path = format!("/threads/{id}");
    let rest = rest_api::Api::new(&server, &bob.token);
    let mut watcher = Client::connect(&server, &bob.token).await;
    watcher.ok("/threads/list", json!({})).await;

    let locked = api.expect(200, "POST", &format!("{path}/lock"), None).await;
    assert_eq!(locked["state"], "locked");
    // Locking again is not an error.
    api.expect(200, "POST", &format!("{path}/lock"), None).await;
    // No new messages, title or content changes, on any interface, with one machine code.
    let refused = ws
        .request(
            "/threads/post",
            json!({"prompt": "and by month?", "thread_id": uuid}),
        )
        .await;
    assert_eq!(refused["error"]["error_code"], "thread_locked", "{refused}");
    let refused = ws
        .request("/threads/update", json!({"id": uuid, "title": "new title"}))
        .await;
    assert_eq!(refused["error"]["error_code"], "thread_locked", "{refused}");
    let state = rest
        .call(
            "POST",
            &format!("/threads/{uuid}/state"),
            Some(json!({"values": {"messages": [{"type": "human", "content": "hi"}]}})),
        )
        .await;
    assert_eq!(
        (state.status, state.body["code"].as_str()),
        (409, Some("thread_locked"))
    );
    api.fails(
        409,
        "THREAD_LOCKED",
        "PUT",
        &format!("{path}/rename"),
        Some(json!({"title": "x"})),
    )
    .await;
    api.fails(
        409,
        "THREAD_LOCKED",
        "POST",
        &path,
        Some(json!({"title": "x", "metadata": {"a": 1}})),
    )
    .await;
    // Metadata and visibility still change, over Freddy and LangGraph alike.
    api.expect(
        200,
        "PATCH",
        &format!("{path}/metadata"),
        Some(json!({"metadata": {"a": 1}})),
    )
    .await;
    let patched = rest
        .call(
            "PATCH",
            &format!("/threads/{uuid}"),
            Some(json!({"metadata": {"b": 2}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let thread = api.expect(200, "GET", &path, None).await;
    assert_eq!(thread["metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(
        thread["messageCount"], 2,
        "the question and its answer, nothing more"
    );

    // Archived: out of lists unless asked for, and no change at all.
    api.expect(200, "POST", &format!("{path}/archive"), None)
        .await;
    let gone = watcher.expect("/threads/list", "deleteThreadState").await;
    assert_eq!(gone["payload"], json!([uuid]));
    let list = ws.ok("/threads/list", json!({})).await;
    assert!(!list["payload"].to_string().contains(&uuid), "{list}");
    let list = ws
        .ok("/threads/list", json!({"include_archived": true}))
        .await;
    assert!(list["payload"].to_string().contains(&uuid), "{list}");
    let (ids, _) = api.ids("").await;
    assert!(!ids.contains(&id));
    api.fails(
        409,
        "THREAD_ARCHIVED",
        "PATCH",
        &format!("{path}/metadata"),
        Some(json!({"metadata": {"a": 2}})),
    )
    .await;
    api.fails(
        409,
        "THREAD_ARCHIVED",
        "POST",
        &format!("{path}/lock"),
        None,
    )
    .await;
    let patched = rest
        .call(
            "PATCH",
            &format!("/threads/{uuid}"),
            Some(json!({"metadata": {"b": 3}})),
        )
        .await;
    assert_eq!(
        (patched.status, patched.body["code"].as_str()),
        (409, Some("thread_archived"))
    );
    let refused = ws
        .request(
            "/threads/post",
            json!({"prompt": "and by month?", "thread_id": uuid}),
        )
        .await;
    assert_eq!(
        refused["error"]["error_code"], "thread_archived",
        "{refused}"
    );

    // Unarchived (back to open) and unlocked, it takes questions again.
    let open = api
        .expect(200, "POST", &format!("{path}/unarchive"), None)
        .await;
    assert_eq!(open["state"], "open");
    let back = watcher.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(back["payload"][0]["id"], uuid);
    ws.ok(
        "/threads/post",
        json!({"prompt": "and by month?", "thread_id": uuid}),
    )
    .await;
}

#[tokio::test]
async fn a_freddy_thread_is_live_over_websocket_and_found_by_search() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let org = org_of(&server, &bob).await;
    let mut watcher = Client::connect(&server, &bob.token).await;
    watcher.ok("/threads/list", json!({})).await;
    let thread = Freddy::new(&server, &bob.token)
        .create(
            &org,
            json!({"title": "Turbine blades",
            "messages": [{"role": "user", "content": "which turbine blade alloys crept most"}]}),
        )
        .await;
    let uuid = uuid_of(thread["id"].as_str().unwrap());
    let update = watcher.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["id"], uuid);
    assert_eq!(update["payload"][0]["title"], "Turbine blades");
    search_until(&mut watcher, "turbine blade alloys", |r| {
        has_thread(r, &uuid)
    })
    .await;
    // A thread hidden from the UI stays out of the WebSocket list.
    let hidden = Freddy::new(&server, &bob.token)
        .create(&org, json!({"visibleInUi": false}))
        .await;
    let list = watcher.ok("/threads/list", json!({})).await;
    let hidden_uuid = uuid_of(hidden["id"].as_str().unwrap());
    assert!(
        !list["payload"].to_string().contains(&hidden_uuid),
        "{list}"
    );
}

#[tokio::test]
async fn status_is_streaming_while_the_analyst_works() {
    let fake = FakeLlm::start().await;
    fake.script(std::iter::repeat_n(Reply::Stall, 5));
    let server = TestServer::start_with(&fake.server_args("600"));
    let admin = server.admin_token.clone().unwrap();
    let mut ws = Client::connect(&server, &admin).await;
    let reply = ws
        .ok(
            "/threads/post",
            json!({"prompt": "what is the meaning of life"}),
        )
        .await;
    let uuid = reply["payload"]["id"].as_str().unwrap().replace('-', "");
    while fake.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let api = Freddy::new(&server, &admin);
    let thread: Value = api
        .expect(200, "GET", &format!("/threads/thread_{uuid}"), None)
        .await;
    assert_eq!(thread["status"], "streaming", "{thread}");
    assert_eq!(thread["messageCount"], 1);
}
