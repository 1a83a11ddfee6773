//! Backups through the real binary: `skein backup` of a server under concurrent writes, then
//! `skein restore` into a new data dir, serves the same threads (over the WebSocket and REST),
//! the same tokens and datasets, and a rebuilt search index; a truncated or corrupted backup,
//! or a data dir that is not empty, is refused with nothing written.

mod common;

use common::answers::{ask, post};
use common::{run_cli, Client, TestServer};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const VISITS: &str = "city,visits\nOslo,3\nLima,4\nRome,5\n";

/// Every thread of the admin's list with its full state.
async fn threads(client: &mut Client) -> Vec<Value> {
    let list = client.ok("/threads/list", json!({"page_size": 100})).await;
    let mut states = Vec::new();
    for item in list["payload"].as_array().unwrap() {
        let state = client.ok("/threads/get", json!({"id": item["id"]})).await;
        states.push(state["payload"][0].clone());
    }
    states
}

async fn rest_thread(server: &TestServer, token: &str, id: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://{}/threads/{id}", server.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn restore(from: &Path, data_dir: &Path) -> std::process::Output {
    run_cli(data_dir, &["restore", "--from", from.to_str().unwrap()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_restores_the_same_threads_tokens_and_datasets() {
    if common::on_postgres() {
        return; // `skein backup` copies the embedded store; PostgreSQL is backed up with its own tools
    }
    let server = TestServer::start();
    let admin_token = server.admin_token.clone().unwrap();
    let mut admin = Client::connect(&server, &admin_token).await;
    let sales = ask(&mut admin, "total sales by region", None).await;
    ask(&mut admin, "now only for 2024", Some(&sales.thread_id())).await;
    let added = admin
        .ok("/datasets/add", json!({"name": "visits", "csv": VISITS}))
        .await;
    let visits = post(
        &mut admin,
        json!({"prompt": "total visits", "dataset_id": added["payload"]["id"]}),
    )
    .await;
    let bob = server.add_user("Bob", "bob@example.com");
    common::share(&mut admin, &sales.thread_id(), &bob, "viewer").await;
    let renamed = common::new_thread_id(&mut admin, "show me my top customer").await;

    // A writer renames one thread over and over while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        let mut client = Client::connect(&server, &admin_token).await;
        let id = renamed.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let title = format!("rename {n}");
                client
                    .ok("/threads/update", json!({"id": id, "title": title}))
                    .await;
                acknowledged.store(n, Ordering::SeqCst);
            }
        })
    };
    while acknowledged.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let backup = server.dir.parent().unwrap().join("skein.backup");
    let before = acknowledged.load(Ordering::SeqCst);
    let out = server.cli(&["backup", "--to", backup.to_str().unwrap()]);
    let after = acknowledged.load(Ordering::SeqCst);
    // Writes waited for the snapshot, never failed, and go on after it.
    while acknowledged.load(Ordering::SeqCst) < after + 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(out.contains("3 threads, 4 messages"), "{out}");

    let temp = tempfile::tempdir().unwrap();
    let out = restore(&backup, &temp.path().join("data"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = TestServer::start_in(temp, &[]);
    assert!(
        restored.admin_token.is_none(),
        "no new admin: the old one came back"
    );
    let mut again = Client::connect(&restored, &admin_token).await;

    // Every thread reads back the same, but for the one being renamed, whose title is one
    // the writer had (a write is in a backup whole or not at all).
    let mut original = threads(&mut admin).await;
    let mut copy = threads(&mut again).await;
    let title = |states: &mut Vec<Value>| {
        let at = states
            .iter()
            .position(|t| t["id"] == json!(renamed))
            .unwrap();
        states.remove(at)
    };
    let (now, then) = (title(&mut original), title(&mut copy));
    let n: u64 = then["title"].as_str().unwrap()["rename ".len()..]
        .parse()
        .unwrap();
    assert!(
        n >= before && n <= after.max(before) + 1,
        "{n} not in {before}..={after}"
    );
    assert_eq!(now["messages"], then["messages"]);
    assert_eq!(original, copy);
    assert_eq!(
        rest_thread(&server, &admin_token, &sales.thread_id()).await,
        rest_thread(&restored, &admin_token, &sales.thread_id()).await
    );

    // Tokens as stored: Bob still signs in and sees what was shared with him.
    let mut bob_again = Client::connect(&restored, &bob.token).await;
    bob_again
        .ok("/threads/get", json!({"id": sales.thread_id()}))
        .await;
    // The imported dataset's file came along: the same question, the same number.
    let answer = post(
        &mut again,
        json!({"prompt": "total visits", "dataset_id": added["payload"]["id"]}),
    )
    .await;
    assert_eq!(answer.rows(), visits.rows());
    // The search index is rebuilt from the restored records.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = again
            .ok("/threads/search", json!({"prompt": "top customer"}))
            .await;
        if found["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["thread_id"] == json!(renamed))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_damaged_backup_or_a_used_data_dir_is_refused_and_nothing_is_written() {
    if common::on_postgres() {
        return; // `skein backup` copies the embedded store; PostgreSQL is backed up with its own tools
    }
    let mut server = TestServer::start();
    let mut admin = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    ask(&mut admin, "total sales by month", None).await;
    server.stop();
    // With no server running, the CLI reads the data dir itself.
    let dir = server.dir.parent().unwrap().to_path_buf();
    let backup = dir.join("skein.backup");
    let out = server.cli(&["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.contains("1 threads"), "{out}");
    let bytes = std::fs::read(&backup).unwrap();

    let truncated = dir.join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupted = dir.join("corrupted.backup");
    let mut flipped = bytes.clone();
    // A byte of the records: past their tar header (the last mention of their name; the
    // manifest's comes first).
    let at = flipped
        .windows(RECORDS_MARK.len())
        .rposition(|w| w == RECORDS_MARK)
        .unwrap()
        + 512
        + 100;
    flipped[at] ^= 0xff;
    std::fs::write(&corrupted, &flipped).unwrap();
    let garbage = dir.join("garbage.backup");
    std::fs::write(&garbage, b"not a backup at all").unwrap();

    for (file, needle) in [
        (&truncated, "not a usable Skein backup"),
        (&corrupted, "does not match its checksum"),
        (&garbage, "not a usable Skein backup"),
    ] {
        let target = dir.join("restored");
        let out = restore(file, &target);
        assert_eq!(out.status.code(), Some(2), "{file:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{file:?}: {stderr}");
        assert!(!target.exists(), "{file:?}: nothing written");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".skein-restore")
            })
            .collect();
        assert!(leftovers.is_empty(), "no scratch dir left");
    }
    // Only into an empty data dir.
    let out = restore(&backup, &server.dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    // The good one restores.
    let out = restore(&backup, &dir.join("restored"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The name of the records' entry in the archive's header.
const RECORDS_MARK: &[u8] = b"store.records";
