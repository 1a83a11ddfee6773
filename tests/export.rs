//! JSON Lines export and import through the real binary: threads with their messages and
//! analyses move to an empty server and read back the same; importing the file again changes
//! nothing; a bad line is reported by number and imports nothing.

mod common;

use common::answers::ask;
use common::{run_cli, Client, TestServer};
use serde_json::{json, Value};

/// Every thread of the user's list, with its full state, ids of `from` written as `to`.
async fn states(client: &mut Client, renames: &[(String, String)]) -> Vec<String> {
    let list = client.ok("/threads/list", json!({"page_size": 100})).await;
    let mut states = Vec::new();
    for item in list["payload"].as_array().unwrap() {
        let state = client.ok("/threads/get", json!({"id": item["id"]})).await;
        let mut text = state["payload"][0].to_string();
        for (from, to) in renames {
            text = text.replace(from.as_str(), to);
        }
        states.push(text);
    }
    states.sort();
    states
}

async fn my_id(client: &mut Client) -> String {
    let me = client.ok("/users/me", json!({})).await;
    me["payload"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn threads_move_to_an_empty_server_the_same_and_twice_change_nothing() {
    let source = TestServer::start();
    let mut admin = Client::connect(&source, source.admin_token.as_ref().unwrap()).await;
    let sales = ask(&mut admin, "total sales by region", None).await;
    ask(&mut admin, "now only for 2024", Some(&sales.thread_id())).await;
    let bob = source.add_user("Bob", "bob@example.com");
    common::share(&mut admin, &sales.thread_id(), &bob, "viewer").await;
    common::new_thread_id(&mut admin, "show me my top customer").await;
    let gone = common::new_thread_id(&mut admin, "how many orders in 2023").await;
    admin.ok("/threads/delete", json!({"id": [gone]})).await;

    let file = source.dir.parent().unwrap().join("threads.jsonl");
    let out = source.cli(&[
        "export",
        "--format",
        "jsonl",
        "--to",
        file.to_str().unwrap(),
    ]);
    assert!(out.contains("exported 2 threads (3 messages)"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "one thread per line; the deleted one left out"
    );
    for line in &lines {
        assert_eq!(line["skein_export"], 1);
        assert_eq!(line["org"]["name"], "Local");
        // JSON the store keeps as text is nested.
        assert!(line["messages"][0]["responses"].is_object(), "{line}");
    }
    // Filters: by user, and by day.
    let only_bob = source.dir.parent().unwrap().join("bob.jsonl");
    let out = source.cli(&[
        "export",
        "--to",
        only_bob.to_str().unwrap(),
        "--user",
        "bob@example.com",
    ]);
    assert!(out.contains("exported 1 threads (2 messages)"), "{out}");
    let later = source.dir.parent().unwrap().join("later.jsonl");
    let out = source.cli(&[
        "export",
        "--to",
        later.to_str().unwrap(),
        "--since",
        "2999-01-01",
    ]);
    assert!(out.contains("exported 0 threads"), "{out}");

    let target = TestServer::start();
    let mut target_admin = Client::connect(&target, target.admin_token.as_ref().unwrap()).await;

    // A bad line is named, and nothing is imported.
    let bad = target.dir.parent().unwrap().join("bad.jsonl");
    let mut broken = text.lines().map(String::from).collect::<Vec<_>>();
    broken[1] = broken[1].replacen("\"skein_export\":1", "\"skein_export\":1,\"extra\":true", 1);
    std::fs::write(&bad, broken.join("\n") + "\n").unwrap();
    let out = run_cli(&target.dir, &["import", "--from", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2") && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    assert_eq!(states(&mut target_admin, &[]).await, Vec::<String>::new());

    let out = target.cli(&["import", "--from", file.to_str().unwrap()]);
    assert!(
        out.contains(
            "imported 2 threads (3 messages); 0 were already there; created 0 orgs and 1 users"
        ),
        "{out}"
    );
    // The same threads, the admin matched by email (its id on each server differs).
    let renames = [(my_id(&mut admin).await, my_id(&mut target_admin).await)];
    let before = states(&mut admin, &renames).await;
    assert_eq!(states(&mut target_admin, &[]).await, before);

    // Again: nothing changes.
    let out = target.cli(&["import", "--from", file.to_str().unwrap()]);
    assert!(
        out.contains("imported 0 threads (0 messages); 2 were already there"),
        "{out}"
    );
    assert_eq!(states(&mut target_admin, &[]).await, before);

    // Bob came along without a token; once issued one, he sees what was shared with him.
    let issued = target.cli(&["user", "token", "--email", "bob@example.com"]);
    let token = issued
        .split("token: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let mut bob_there = Client::connect(&target, token).await;
    bob_there
        .ok("/threads/get", json!({"id": sales.thread_id()}))
        .await;
    // And the index takes the imported messages in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = target_admin
            .ok("/threads/search", json!({"prompt": "top customer"}))
            .await;
        if !found["payload"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
