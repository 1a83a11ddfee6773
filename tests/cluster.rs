//! Several Skein nodes on one PostgreSQL and one NATS, behaving as one server to their clients.
//!
//! These need both services: `scripts/test` runs them under `scripts/with-postgres
//! scripts/with-nats`; without them (the embedded pass) there is no cluster to test and each
//! test returns at once.

mod common;

use common::answers::ask;
use common::cluster::{node_fails, Cluster};
use common::searching::{has_thread, search_until};
use common::PATIENCE;
use serde_json::{json, Value};

/// The ids of the users in a roster (`joinedThread`'s payload).
fn roster(event: &Value) -> Vec<String> {
    event["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_question_asked_on_one_node_streams_step_by_step_to_a_watcher_on_another() {
    let Some(cluster) = Cluster::start(2) else {
        return;
    };
    let mut on_b = cluster.client(1, &cluster.admin).await;
    let first = ask(&mut on_b, "total sales by region", None).await;
    assert!(first.failure().is_none(), "{:?}", first.state);
    let id = first.thread_id();

    let mut on_a = cluster.client(0, &cluster.admin).await;
    on_a.ok("/threads/get", json!({"id": id})).await;
    on_a.barrier().await;
    let follow_up = ask(&mut on_b, "total sales by month", Some(&id)).await;
    let message_id = follow_up.message()["id"].clone();

    // The watcher on A sees the analyst's steps as they happen on B, then the final state.
    let mut steps = Vec::new();
    let done = loop {
        let event = on_a.next().await;
        if event["event"] == "updateThreadState"
            && event["route"] == "/threads/post"
            && event["payload"][0]["id"] == json!(id)
        {
            break event;
        }
        let payload = &event["payload"];
        if event["route"] == "/threads/post" && payload["message_id"] == message_id {
            steps.push(format!("{}:{}", event["event"], payload["progress"]));
        }
    };
    for step in [
        "\"generatingSql\":\"completed\"",
        "\"fetchingData\":\"completed\"",
    ] {
        assert!(steps.iter().any(|s| s == step), "{step} in {steps:?}");
    }
    let messages = done["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1], follow_up.message().clone());
}

#[tokio::test]
async fn presence_spans_nodes_and_a_killed_nodes_users_leave() {
    let Some(mut cluster) = Cluster::start(2) else {
        return;
    };
    let bob = cluster.nodes[0].add_user("Bob", "bob@example.com");
    let mut admin_on_a = cluster.client(0, &cluster.admin).await;
    let thread = common::create_thread(&mut admin_on_a, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    common::share(&mut admin_on_a, &id, &bob, "viewer").await;

    // Bob joins on B: the roster he gets names the admin on A, and A's watcher sees him come.
    let mut bob_on_b = cluster.client(1, &bob.token).await;
    bob_on_b.ok("/threads/get", json!({"id": id})).await;
    let joined = bob_on_b.expect("/threads/get", "joinedThread").await;
    let admin_id = thread["created_by"].as_str().unwrap().to_string();
    let mut present = roster(&joined);
    present.sort();
    let mut expected = vec![admin_id, bob.id.clone()];
    expected.sort();
    assert_eq!(present, expected, "the roster spans both nodes");
    let seen = admin_on_a
        .take(|m| m["event"] == "joinedThread" && m["payload"][0]["id"] == json!(bob.id))
        .await;
    assert_eq!(roster(&seen), vec![bob.id.clone()]);

    // B dies without a word: within the stated time Bob leaves the thread on A.
    let killed = std::time::Instant::now();
    cluster.nodes[1].kill9();
    admin_on_a
        .take(|m| m["event"] == "leftThread" && m["payload"][0]["id"] == json!(bob.id))
        .await;
    assert!(killed.elapsed() < PATIENCE);
}

#[tokio::test]
async fn shares_lists_and_deletions_made_on_one_node_reach_clients_of_another() {
    let Some(cluster) = Cluster::start(2) else {
        return;
    };
    let bob = cluster.nodes[0].add_user("Bob", "bob@example.com");
    let carol = cluster.nodes[0].add_user("Carol", "carol@example.com");
    let mut bob_on_b = cluster.client(1, &bob.token).await;
    bob_on_b.ok("/threads/list", json!({})).await;
    bob_on_b.barrier().await;

    let mut admin_on_a = cluster.client(0, &cluster.admin).await;
    let thread = common::create_thread(&mut admin_on_a, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    // Not shared yet: Bob, on the other node, can neither see it nor search it.
    bob_on_b
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
    common::share(&mut admin_on_a, &id, &bob, "viewer").await;
    bob_on_b
        .take(|m| m["route"] == "/threads/list" && m.to_string().contains(&id))
        .await;
    bob_on_b.ok("/threads/get", json!({"id": id})).await;
    // Carol was never given it, on any node.
    for node in 0..2 {
        let mut carol_here = cluster.client(node, &carol.token).await;
        carol_here
            .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
            .await;
    }
    // Deleted on A: Bob's screen on B drops it.
    admin_on_a.ok("/threads/delete", json!({"ids": [id]})).await;
    bob_on_b
        .take(|m| m["event"] == "deleteThreadState" && m["payload"] == json!([id]))
        .await;
    bob_on_b
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}

#[tokio::test]
async fn nodes_join_a_bus_that_wants_tls_and_a_password() {
    let (Ok(bus), Ok(ca)) = (
        std::env::var("SKEIN_TEST_NATS_SECURE"),
        std::env::var("SKEIN_TEST_NATS_CA"),
    ) else {
        return;
    };
    let Some(cluster) = Cluster::start_on(&bus, 2, &["--bus-ca", &ca]) else {
        return;
    };
    // A rename on B reaches the list on A, over the bus.
    let mut on_a = cluster.client(0, &cluster.admin).await;
    on_a.ok("/threads/list", json!({})).await;
    on_a.barrier().await;
    let mut on_b = cluster.client(1, &cluster.admin).await;
    let id = common::new_thread_id(&mut on_b, "total sales by region").await;
    on_b.ok("/threads/update", json!({"id": id, "title": "Over TLS"}))
        .await;
    on_a.take(|m| m["route"] == "/threads/list" && m.to_string().contains("Over TLS"))
        .await;

    // Refused, saying why: a wrong password; a server whose certificate is not trusted.
    let wrong = bus.replace("bus-secret", "guess");
    let refused = node_fails(&cluster.database, &["--bus", &wrong, "--bus-ca", &ca]);
    assert!(
        refused.contains("cannot join the bus") && refused.contains("authorization"),
        "{refused}"
    );
    assert!(
        !refused.contains("guess"),
        "the password is not printed: {refused}"
    );
    let untrusted = node_fails(&cluster.database, &["--bus", &bus]);
    assert!(
        untrusted.contains("cannot join the bus") && untrusted.contains("certificate"),
        "{untrusted}"
    );
}

#[tokio::test]
async fn search_on_every_node_finds_what_another_node_wrote() {
    let Some(mut cluster) = Cluster::start(2) else {
        return;
    };
    let mut on_b = cluster.client(1, &cluster.admin).await;
    let id = common::new_thread_id(&mut on_b, "total sales by region").await;
    // Within PATIENCE (the stated bound is the index's poll and commit interval, well under it).
    let mut on_a = cluster.client(0, &cluster.admin).await;
    search_until(&mut on_a, "sales by region", |r| has_thread(r, &id)).await;
    // A node that joins later builds its index from the database.
    let third = cluster.add_node();
    let mut on_c = cluster.client(third, &cluster.admin).await;
    search_until(&mut on_c, "sales by region", |r| has_thread(r, &id)).await;
}

#[tokio::test]
async fn a_node_killed_mid_write_loses_nothing_it_acknowledged() {
    let Some(mut cluster) = Cluster::start(2) else {
        return;
    };
    // Threads created over B's REST API, one after another, until B is killed among them.
    let url = format!("http://{}/threads", cluster.nodes[1].addr);
    let token = cluster.admin.clone();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for n in 0..10_000 {
                let reply = http
                    .post(&url)
                    .header("x-api-key", &token)
                    .json(&json!({"metadata": {"n": n}}))
                    .send()
                    .await;
                let Ok(reply) = reply else { break };
                if !reply.status().is_success() {
                    break;
                }
                let Ok(body) = reply.json::<Value>().await else {
                    break;
                };
                let id = body["thread_id"].as_str().unwrap().to_string();
                acknowledged.lock().unwrap().push(id);
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    cluster.nodes[1].kill9();
    writer.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(!acknowledged.is_empty(), "some writes were acknowledged");
    // Every one of them is there, read through the other node.
    let http = reqwest::Client::new();
    for id in &acknowledged {
        let reply = http
            .get(format!("http://{}/threads/{id}", cluster.nodes[0].addr))
            .header("x-api-key", &cluster.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(
            reply.status(),
            200,
            "thread {id} was acknowledged, then lost"
        );
    }
}

#[tokio::test]
async fn the_access_matrix_holds_on_a_node_other_than_the_one_that_shared() {
    let Some(cluster) = Cluster::start(2) else {
        return;
    };
    let editor = cluster.nodes[0].add_user("Ed", "ed@example.com");
    let viewer = cluster.nodes[0].add_user("Vi", "vi@example.com");
    let stranger = cluster.nodes[0].add_user("St", "st@example.com");
    let mut owner = cluster.client(0, &cluster.admin).await;
    let id = common::new_thread_id(&mut owner, "total sales by region").await;
    common::share(&mut owner, &id, &editor, "editor").await;
    common::share(&mut owner, &id, &viewer, "viewer").await;
    // (user, get, rename, change shares), each asked on node B.
    let rows = [
        (&editor, None, None, Some("UNAUTHORIZED")),
        (&viewer, None, Some("UNAUTHORIZED"), Some("UNAUTHORIZED")),
        (
            &stranger,
            Some("NOT_FOUND"),
            Some("NOT_FOUND"),
            Some("NOT_FOUND"),
        ),
    ];
    for (user, get, rename, reshare) in rows {
        let mut client = cluster.client(1, &user.token).await;
        let asks = [
            ("/threads/get", json!({"id": id}), get),
            (
                "/threads/update",
                json!({"id": id, "title": format!("by {}", user.name)}),
                rename,
            ),
            (
                "/threads/update",
                json!({"id": id, "share": [{"user_id": stranger.id, "role": "viewer"}]}),
                reshare,
            ),
        ];
        for (route, data, expected) in asks {
            let reply = client.request(route, data.clone()).await;
            match expected {
                None => assert!(
                    reply["error"].is_null(),
                    "{}: {route} {data}: {reply}",
                    user.name
                ),
                Some(code) => assert_eq!(
                    reply["error"]["code"], code,
                    "{}: {route} {data}",
                    user.name
                ),
            }
        }
    }
}
