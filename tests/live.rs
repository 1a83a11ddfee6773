//! Live channels: two users watching one thread (presence and updates), and live thread lists.

mod common;

use common::{create_thread, new_thread_id, share, Client, TestServer};
use serde_json::json;

#[tokio::test]
async fn two_users_watching_one_thread_see_presence_and_changes() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let blake = server.add_user("Blake", "blake@example.com");
    let mut chad_ws = Client::connect(&server, &chad.token).await;
    let mut blake_ws = Client::connect(&server, &blake.token).await;

    let thread = create_thread(&mut chad_ws, "total sales by month").await;
    let id = thread["id"].as_str().unwrap().to_string();
    share(&mut chad_ws, &id, &blake, "editor").await;

    // Blake joins: he gets the roster (Chad and himself), Chad gets Blake.
    blake_ws.ok("/threads/get", json!({"id": id})).await;
    let roster = blake_ws.expect("/threads/get", "joinedThread").await;
    let mut names: Vec<&str> = roster["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Blake", "Chad"]);
    let joined = chad_ws.expect("/threads/get", "joinedThread").await;
    assert_eq!(
        joined["payload"],
        json!([{"email": "blake@example.com", "id": blake.id, "name": "Blake", "thread_id": id}])
    );

    // Blake renames: Chad receives the new state; Blake gets his own reply once.
    blake_ws
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Monthly sales"}),
        )
        .await;
    let update = chad_ws.expect("/threads/get", "updateThreadState").await;
    assert_eq!(update["payload"][0]["title"], "Monthly sales");
    assert_eq!(update["sent_by"]["id"], blake.id.as_str());

    // Blake posts a follow-up: Chad sees the new message in the thread state.
    blake_ws
        .ok(
            "/threads/post",
            json!({"prompt": "now by week", "thread_id": id}),
        )
        .await;
    let update = chad_ws.expect("/threads/get", "updateThreadState").await;
    let messages = update["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["sent_by_name"], "Blake");

    // Unsubscribing sends leftThread to the others.
    blake_ws.ok("/threads/unsubscribe", json!({"id": id})).await;
    let left = chad_ws.expect("/threads/get", "leftThread").await;
    assert_eq!(left["payload"][0]["id"], blake.id.as_str());
    assert_eq!(left["payload"][0]["thread_id"], id.as_str());

    // Blake comes back, then disconnects: leftThread again.
    blake_ws.ok("/threads/get", json!({"id": id})).await;
    chad_ws.expect("/threads/get", "joinedThread").await;
    drop(blake_ws);
    let left = chad_ws.expect("/threads/get", "leftThread").await;
    assert_eq!(left["payload"][0]["email"], "blake@example.com");

    // A second tab of the same user does not announce a second arrival or a departure.
    let mut chad_tab = Client::connect(&server, &chad.token).await;
    chad_tab.ok("/threads/get", json!({"id": id})).await;
    drop(chad_tab);
    let mut probe = Client::connect(&server, &chad.token).await;
    probe.barrier().await;
    let seen = chad_ws.barrier().await;
    assert!(
        seen.iter()
            .all(|m| m["event"] != "joinedThread" && m["event"] != "leftThread"),
        "Chad was already present: {seen:?}"
    );
}

#[tokio::test]
async fn lists_update_live_for_every_change() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let blake = server.add_user("Blake", "blake@example.com");
    let mut chad_list = Client::connect(&server, &chad.token).await;
    let mut blake_list = Client::connect(&server, &blake.token).await;
    chad_list.ok("/threads/list", json!({})).await;
    blake_list.ok("/threads/list", json!({})).await;

    // Created (in another tab).
    let mut chad_tab = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut chad_tab, "sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    let update = chad_list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["id"], id.as_str());
    assert_eq!(update["payload"][0]["title"], "sales by region");
    // Answered: the untitled thread takes the metric title.
    let update = chad_list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["title"], "Total Sales by Region");

    // Renamed.
    chad_tab
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Regional sales"}),
        )
        .await;
    let update = chad_list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["title"], "Regional sales");

    // Re-verified.
    chad_tab
        .ok("/threads/update", json!({"id": id, "status": "verified"}))
        .await;
    let update = chad_list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["status"], "verified");

    // New message: the list item moves (last_edited) and shows the new latest status.
    let before = update["payload"][0]["last_edited"]
        .as_str()
        .unwrap()
        .to_string();
    chad_tab
        .ok(
            "/threads/post",
            json!({"prompt": "only West", "thread_id": id}),
        )
        .await;
    let update = chad_list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["status"], "notVerified");
    assert!(update["payload"][0]["last_edited"].as_str().unwrap() > before.as_str());

    // Blake saw none of it: the thread is not his.
    chad_tab.barrier().await;
    assert!(!common::mentions(&blake_list.barrier().await, &id));

    // Shared with Blake: it appears in his list.
    share(&mut chad_tab, &id, &blake, "viewer").await;
    let update = blake_list
        .expect("/threads/list", "updateThreadsList")
        .await;
    assert_eq!(update["payload"][0]["id"], id.as_str());

    // Unshared: it leaves his list.
    share(&mut chad_tab, &id, &blake, "none").await;
    let gone = blake_list
        .expect("/threads/list", "deleteThreadState")
        .await;
    assert_eq!(gone["payload"], json!([id]));

    // Deleted: list subscribers get deleteThreadState.
    chad_tab.ok("/threads/delete", json!({"id": [id]})).await;
    let gone = chad_list.expect("/threads/list", "deleteThreadState").await;
    assert_eq!(gone["payload"], json!([id]));
}

/// A change nobody watches is not rendered at all; whoever subscribes later must still get the
/// next change, however list subscribers came and went before.
#[tokio::test]
async fn a_list_subscriber_arriving_after_unwatched_changes_gets_the_next_one() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let mut tab = Client::connect(&server, &chad.token).await;
    let thread = create_thread(&mut tab, "sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();

    // One subscriber asks twice, then leaves by closing; another leaves by unsubscribing
    // from everything, then closes.
    let mut twice = Client::connect(&server, &chad.token).await;
    twice.ok("/threads/list", json!({})).await;
    twice.ok("/threads/list", json!({})).await;
    drop(twice);
    let mut unsubscribed = Client::connect(&server, &chad.token).await;
    unsubscribed.ok("/threads/list", json!({})).await;
    unsubscribed
        .ok("/threads/unsubscribe", json!({"id": null}))
        .await;
    drop(unsubscribed);
    tab.barrier().await;

    // Unwatched: renamed once with no list subscriber (the creator's tab watches the thread
    // itself, and its own changes are answered, not broadcast to it).
    tab.ok("/threads/update", json!({"id": id, "title": "Unwatched"}))
        .await;

    let mut list = Client::connect(&server, &chad.token).await;
    list.ok("/threads/list", json!({})).await;
    tab.ok("/threads/update", json!({"id": id, "title": "Watched"}))
        .await;
    let update = list.expect("/threads/list", "updateThreadsList").await;
    assert_eq!(update["payload"][0]["title"], "Watched");
}

#[tokio::test]
async fn deleting_a_thread_tells_its_watchers_and_ends_their_subscription() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let blake = server.add_user("Blake", "blake@example.com");
    let mut chad_ws = Client::connect(&server, &chad.token).await;
    let mut blake_ws = Client::connect(&server, &blake.token).await;
    let id = new_thread_id(&mut chad_ws, "to delete").await;
    share(&mut chad_ws, &id, &blake, "viewer").await;
    blake_ws.ok("/threads/get", json!({"id": id})).await;

    chad_ws.ok("/threads/delete", json!({"id": [id]})).await;
    let gone = blake_ws.expect("/threads/get", "deleteThreadState").await;
    assert_eq!(gone["payload"], json!([id]));
    blake_ws
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}

#[tokio::test]
async fn revoking_a_share_removes_the_watcher_from_the_thread() {
    let server = TestServer::start();
    let chad = server.add_user("Chad", "chad@example.com");
    let blake = server.add_user("Blake", "blake@example.com");
    let mut chad_ws = Client::connect(&server, &chad.token).await;
    let mut blake_ws = Client::connect(&server, &blake.token).await;
    let id = new_thread_id(&mut chad_ws, "secret plans").await;
    share(&mut chad_ws, &id, &blake, "viewer").await;
    blake_ws.ok("/threads/get", json!({"id": id})).await;
    chad_ws.expect("/threads/get", "joinedThread").await;

    share(&mut chad_ws, &id, &blake, "none").await;
    let left = chad_ws.expect("/threads/get", "leftThread").await;
    assert_eq!(left["payload"][0]["id"], blake.id.as_str());

    // Later changes do not reach Blake.
    chad_ws
        .ok("/threads/update", json!({"id": id, "title": "more secret"}))
        .await;
    chad_ws.barrier().await;
    let seen = blake_ws.barrier().await;
    assert!(!common::mentions(&seen, "more secret"), "{seen:?}");
    blake_ws
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}
