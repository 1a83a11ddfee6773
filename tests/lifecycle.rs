//! Start-up, accounts through the CLI, authentication, clean shutdown, restart persistence and
//! durability across `kill -9`.

mod common;

use common::{create_thread, run_cli, Client, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn first_start_creates_an_admin_whose_login_token_works() {
    let mut server = TestServer::start();
    let token = server
        .admin_token
        .clone()
        .expect("login URL with a token on first start");
    let mut admin = Client::connect(&server, &token).await;
    let list = admin.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"], json!([]));
    let users = server.cli(&["user", "list"]);
    assert!(
        users.contains("admin@localhost") && users.contains("Local") && users.contains("yes"),
        "{users}"
    );

    // A restart does not create another admin or print a token.
    assert!(server.stop());
    server.admin_token = None;
    server.restart();
    assert!(server.admin_token.is_none());
    assert_eq!(
        server.cli(&["user", "list"]).lines().count(),
        2,
        "header and one admin"
    );
}

#[tokio::test]
async fn user_commands_work_with_and_without_a_running_server() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    client.ok("/threads/list", json!({})).await;

    let duplicate = run_cli(
        &server.dir,
        &["user", "add", "--name", "B", "--email", "BOB@example.com"],
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let bad = run_cli(
        &server.dir,
        &["user", "add", "--name", "C", "--email", "nope"],
    );
    assert!(!bad.status.success());
    let no_org = run_cli(
        &server.dir,
        &[
            "user", "add", "--name", "C", "--email", "c@x.io", "--org", "Nope",
        ],
    );
    assert!(String::from_utf8_lossy(&no_org.stderr).contains("skein org add"));

    drop(client);
    assert!(server.stop());
    // No server: the CLI opens the store itself.
    let carol = server.add_user("Carol", "carol@example.com");
    let fresh = server.cli(&["user", "token", "--email", "bob@example.com"]);
    let new_token = fresh
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_string();
    assert!(server.cli(&["user", "list"]).contains("carol@example.com"));

    server.restart();
    for token in [&bob.token, &new_token, &carol.token] {
        let mut client = Client::connect(&server, token).await;
        client.ok("/threads/list", json!({})).await;
    }
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_token() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");

    for (header, query) in [
        (None, ""),
        (Some("Bearer skn_wrong"), ""),
        (Some("skn_no_scheme"), ""),
        (None, "?token=skn_wrong"),
    ] {
        let url = format!("{}{query}", server.ws_url());
        let mut request = url.into_client_request().unwrap();
        if let Some(header) = header {
            request
                .headers_mut()
                .insert("Authorization", header.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{header:?} {query}");
            }
            other => panic!("{header:?} {query}: expected 401, got {other:?}"),
        }
    }

    // ?token= works for browsers, which cannot set headers.
    let url = format!("{}?token={}", server.ws_url(), bob.token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("query token");
    use futures_util::{SinkExt, StreamExt};
    ws.send(
        json!({"route": "/threads/list", "data": {}})
            .to_string()
            .into(),
    )
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("getThreadsList"));
}

/// A plain HTTP request where a WebSocket is expected gets a plain reason, never the web
/// framework's internal Debug text.
#[tokio::test]
async fn a_plain_request_to_the_socket_gets_a_plain_reason() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let url = format!("http://{}/ws?token={}", server.addr, bob.token);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    // Errors outside the REST API take the same shape and table as REST errors.
    assert_eq!(body["code"], "malformed_request", "{body}");
    let message = body["detail"].as_str().unwrap();
    assert_eq!(
        message,
        "this address speaks WebSocket only: connect with a WebSocket client"
    );
    assert!(
        !message.contains("Rejection") && !message.contains('{'),
        "{message}"
    );
}

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_data_survives_restart() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let thread = create_thread(&mut client, "persist me").await;
    let id = thread["id"].as_str().unwrap().to_string();
    client
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Persisted", "status": "verified"}),
        )
        .await;
    let before = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    client.barrier().await;

    let pid = server.pid();
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let (code, reason) = client.closed().await;
    assert_eq!(code, 1001);
    assert!(reason.contains("shutting down"), "{reason}");
    assert!(server.stop(), "clean exit");
    assert!(
        !server.dir.join("admin.sock").exists(),
        "admin socket removed"
    );

    server.restart();
    let mut client = Client::connect(&server, &bob.token).await;
    let after = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after);
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    const N: usize = 40;
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;

    let mut ids = Vec::new();
    for n in 0..N {
        let thread = create_thread(&mut client, &format!("durable question {n}")).await;
        ids.push(thread["id"].as_str().unwrap().to_string());
    }
    // Follow-ups and updates are acknowledged only once on disk, too.
    for (n, id) in ids.iter().enumerate().take(10) {
        client
            .ok(
                "/threads/post",
                json!({"prompt": format!("follow-up {n}"), "thread_id": id}),
            )
            .await;
        client
            .ok(
                "/threads/update",
                json!({"id": id, "title": format!("Title {n}")}),
            )
            .await;
    }
    // The last acknowledgement has arrived; kill without any chance to flush.
    server.kill9();
    server.restart();

    let mut client = Client::connect(&server, &bob.token).await;
    let list = client.ok("/threads/list", json!({"page_size": 100})).await;
    let listed: Vec<String> = list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "thread {id} lost");
    }
    for (n, id) in ids.iter().enumerate().take(10) {
        let state = client.ok("/threads/get", json!({"id": id})).await;
        let thread = &state["payload"][0];
        assert_eq!(thread["title"], format!("Title {n}"));
        assert_eq!(thread["messages"][1]["message"], format!("follow-up {n}"));
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let server = TestServer::start();
    assert!(common::serve_fails(&server.dir).contains("already running"));
}

#[tokio::test]
async fn ctrl_c_shuts_down_cleanly_too() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    create_thread(&mut client, "before ctrl-c").await;
    unsafe { libc::kill(server.pid() as i32, libc::SIGINT) };
    let (code, _) = client.closed().await;
    assert_eq!(code, 1001);
    assert!(server.stop(), "clean exit after SIGINT");
    server.restart();
    let mut client = Client::connect(&server, &bob.token).await;
    let list = client.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"][0]["title"], "before ctrl-c");
}

#[tokio::test]
async fn a_data_dir_of_a_newer_format_is_refused_untouched() {
    let mut server = TestServer::start();
    assert!(server.stop());
    if let Some(url) = common::database_for(&server.dir) {
        let set = std::process::Command::new("psql")
            .args([url.as_str(), "-q", "-c"])
            .arg("UPDATE meta SET value = 99 WHERE key = 'record_format'")
            .output()
            .unwrap();
        assert!(set.status.success(), "{set:?}");
    } else {
        let db = sled::open(server.dir.join("db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("format_version", &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let stderr = common::serve_fails(&server.dir);
    assert!(stderr.contains("newer Skein (format 99)"), "{stderr}");
    let users = run_cli(&server.dir, &["user", "list"]);
    assert!(!users.status.success(), "the CLI refuses it too");
}
