//! A full disk: writes (threads' and accounts') are refused with `disk_full` (nothing
//! half-written, reads keep working, `/healthz` says why), and once space is freed they are
//! taken again without a restart, the search index catches up, and nothing acknowledged is
//! lost.
//!
//! The data dir is a small tmpfs, so the test needs root (CI runs as root). Elsewhere it is
//! skipped with a note, unless `SKEIN_REQUIRE_ROOT_TESTS` is set (`scripts/test` sets it when it
//! runs as root), which turns the skip into a failure.

mod common;

use common::searching::{has_thread, search_until};
use common::{Client, TestServer, PATIENCE};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for the length of a test.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount a tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Whether this test can mount file systems; panics if it must and cannot.
fn can_mount() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("SKEIN_REQUIRE_ROOT_TESTS").is_none(),
            "SKEIN_REQUIRE_ROOT_TESTS is set but this test does not run as root"
        );
        eprintln!("skipped: mounting a small tmpfs needs root");
    }
    root
}

/// Writes zeros into `path` until the file system is full; returns the file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 1] {
        let zeros = vec![0u8; chunk];
        while file.write_all(&zeros).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

/// Posts a question; `Ok(thread id)` if it was acknowledged, `Err(reply)` if refused.
async fn post(client: &mut Client, prompt: &str) -> Result<String, Value> {
    let reply = client
        .request(
            "/threads/post",
            json!({"prompt": prompt, "thread_id": null, "dataset_id": null}),
        )
        .await;
    match reply["payload"]["id"].as_str() {
        Some(id) if reply["error"].is_null() => Ok(id.to_string()),
        _ => Err(reply),
    }
}

/// Waits until the thread's first question has its answer (or the note that it was
/// interrupted).
async fn settled(client: &mut Client, id: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let state = client.ok("/threads/get", json!({"id": id})).await;
        let responses = &state["payload"][0]["messages"][0]["responses"];
        if !responses.is_null() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} stays unanswered: {state}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn writes_refused_on_a_full_disk_resume_once_space_is_freed() {
    if common::on_postgres() {
        return; // the embedded store's own full disk; PostgreSQL reports its own
    }
    if !can_mount() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let _mount = Tmpfs::mount(&data, "64m");
    let mut server = TestServer::start_in(temp, &[]);
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;

    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let prompt = format!("before the disk filled, note {n} about supersonic flutter");
        acknowledged.push(post(&mut client, &prompt).await.expect("room to write"));
    }
    let filler = fill(&data);

    // Writes may land in pages the store already has; the first that needs more is refused.
    let mut refusal = None;
    for n in 0..500 {
        match post(&mut client, &format!("while the disk is full, note {n}")).await {
            Ok(id) => acknowledged.push(id),
            Err(reply) => {
                refusal = Some(reply);
                break;
            }
        }
    }
    let refusal = refusal.expect("a write is refused once the disk is full");
    assert_eq!(refusal["error"]["error_code"], "disk_full", "{refusal}");
    assert_eq!(
        refusal["error"]["code"], "INSUFFICIENT_STORAGE",
        "{refusal}"
    );
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(message.contains("out of disk space"), "{message}");

    let health = server
        .health_until("storage failing", |h| h["storage"]["state"] == "failing")
        .await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["storage"]["error"]["code"], "disk_full", "{health}");

    // REST writes get the same code; reads keep working.
    let api = reqwest::Client::new();
    let created = api
        .post(format!("http://{}/threads", server.addr))
        .header("x-api-key", &bob.token)
        .json(&json!({"metadata": {"k": "v"}}))
        .send()
        .await
        .unwrap();
    let status = created.status().as_u16();
    let body: Value = created.json().await.unwrap();
    assert!(
        status == 507 && body["code"] == "disk_full"
            || status == 503 && body["code"] == "storage_unavailable",
        "{status} {body}"
    );
    // So is an account's: every write is refused before sled is asked to take it (see the
    // store's `repair`), and the reads below still work.
    let carol = [
        "user",
        "add",
        "--name",
        "Carol",
        "--email",
        "carol@example.com",
    ];
    let added = server.try_cli(&carol);
    let said = String::from_utf8_lossy(&added.stderr);
    assert!(!added.status.success(), "{said}");
    assert!(said.contains("No space left on device"), "{said}");
    let listed = client.ok("/threads/list", json!({})).await;
    let listed = listed["payload"].to_string();
    for id in &acknowledged[..5] {
        assert!(
            listed.contains(id.as_str()),
            "{id} listed while the disk is full"
        );
    }

    // Space comes back: writes are taken again without a restart.
    std::fs::remove_file(filler).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let recovered = loop {
        match post(
            &mut client,
            "after space was freed, about hypersonic inlets",
        )
        .await
        {
            Ok(id) => break id,
            Err(reply) => {
                let code = reply["error"]["error_code"].as_str().unwrap_or_default();
                assert!(
                    ["disk_full", "storage_unavailable"].contains(&code),
                    "{reply}"
                );
                assert!(
                    std::time::Instant::now() < deadline,
                    "writes did not resume: {reply}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    acknowledged.push(recovered.clone());
    server
        .health_until("healthy again", |h| {
            h["status"] == "ok" && h["storage"]["state"] == "ok" && h["search"]["error"].is_null()
        })
        .await;
    // The index writer works again: a message written after the recovery is found.
    search_until(&mut client, "hypersonic inlets", |r| {
        has_thread(r, &recovered)
    })
    .await;
    search_until(&mut client, "supersonic flutter", |r| {
        acknowledged[..5].iter().all(|id| has_thread(r, id))
    })
    .await;

    // Every acknowledged question ends answered or marked interrupted (an analysis whose
    // outcome could not be written while the disk was full), none left pending.
    for id in &acknowledged {
        settled(&mut client, id).await;
    }
    let log = server.log();
    assert!(log.contains("storage reopened"), "{log}");
    let carol = server.add_user("Carol", "carol@example.com");
    Client::connect(&server, &carol.token).await;

    // Nothing acknowledged was lost, across a restart too.
    drop(client);
    assert!(server.stop(), "clean stop");
    server.restart();
    let mut client = Client::connect(&server, &bob.token).await;
    for id in &acknowledged {
        let reply = client.request("/threads/get", json!({"id": id})).await;
        assert!(
            reply["error"].is_null(),
            "acknowledged thread {id}: {reply}"
        );
    }
}
