//! The search index is derived data: whatever happens to its files, the server starts, moves
//! the damage aside, rebuilds from the store, and search finds everything again; `skein
//! reindex` works on a damaged index too.

mod common;

use common::searching::{has_thread, search_until};
use common::{new_thread_id, Client, TestServer};
use std::path::{Path, PathBuf};

/// The index's files with this extension.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect()
}

/// Each kind of damage found by the adversarial test, applied to the index directory.
fn damage(kind: &str, text: &Path) {
    match kind {
        "deleted .idx" => {
            for file in files(text, "idx") {
                std::fs::remove_file(file).unwrap();
            }
        }
        "truncated .store" => {
            for file in files(text, "store") {
                let len = std::fs::metadata(&file).unwrap().len();
                let handle = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
                handle.set_len(len / 2).unwrap();
            }
        }
        "garbage meta.json" => std::fs::write(text.join("meta.json"), b"{ not json").unwrap(),
        "deleted meta.json" => std::fs::remove_file(text.join("meta.json")).unwrap(),
        "deleted index" => std::fs::remove_dir_all(text).unwrap(),
        other => unreachable!("{other}"),
    }
}

#[tokio::test]
async fn every_kind_of_index_damage_heals_on_start() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let id = new_thread_id(&mut client, "hypersonic inlet unstart").await;
    search_until(&mut client, "hypersonic inlet", |r| has_thread(r, &id)).await;
    drop(client);
    let text = server.dir.join("search").join("text");

    for kind in [
        "deleted .idx",
        "truncated .store",
        "garbage meta.json",
        "deleted meta.json",
        "deleted index",
    ] {
        assert!(server.stop(), "{kind}: the server stops cleanly");
        damage(kind, &text);
        server.restart();
        let mut client = Client::connect(&server, &bob.token).await;
        search_until(&mut client, "hypersonic inlet", |r| has_thread(r, &id)).await;
        let status = server.health().await;
        assert_eq!(status["status"], "ok", "{kind}: {status}");
        assert!(
            server.log().contains("search index"),
            "{kind}: the log says what happened"
        );
    }
    // Damage is kept aside for a post-mortem, never read again.
    let aside = std::fs::read_dir(server.dir.join("search"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("text.damaged-")
        })
        .count();
    assert!(aside >= 1, "damaged indexes were moved aside");

    // A thread written after the last rebuild is indexed as usual.
    let mut client = Client::connect(&server, &bob.token).await;
    let later = new_thread_id(&mut client, "scramjet combustor").await;
    search_until(&mut client, "scramjet combustor", |r| has_thread(r, &later)).await;
}

#[tokio::test]
async fn skein_reindex_works_on_a_damaged_index() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let id = new_thread_id(&mut client, "boundary layer transition").await;
    search_until(&mut client, "boundary layer", |r| has_thread(r, &id)).await;
    drop(client);
    assert!(server.stop());
    damage("garbage meta.json", &server.dir.join("search").join("text"));

    let out = server.cli(&["reindex"]);
    assert!(out.contains("reindexed"), "{out}");
    server.restart();
    let status = server.health().await;
    assert_eq!(status["search"]["state"], "ready", "{status}");
    let mut client = Client::connect(&server, &bob.token).await;
    let found = search_until(&mut client, "boundary layer", |r| has_thread(r, &id)).await;
    assert!(!found.is_empty());
}
