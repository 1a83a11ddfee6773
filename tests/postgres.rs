//! What only the PostgreSQL backend does: nodes sharing one database, and what it leaves to
//! PostgreSQL. These run in the suite's PostgreSQL pass (`scripts/with-postgres`, which
//! `scripts/test` runs); on the embedded store there is nothing of this to test.

mod common;

use common::{binary, database_for, on_postgres, run_cli, TestServer};
use std::process::Command;

/// `skein serve` as a second node on `url` with a data dir of its own; it must fail.
fn second_node_fails(url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .args([
            "--database",
            url,
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a second node started");
    String::from_utf8(out.stderr).unwrap()
}

#[tokio::test]
async fn a_second_node_without_a_bus_is_refused_until_the_first_has_stopped() {
    if !on_postgres() {
        return;
    }
    let mut first = TestServer::start();
    let url = database_for(&first.dir).unwrap();
    let refused = second_node_fails(&url);
    assert!(
        refused.contains("another Skein node") && refused.contains("bus"),
        "{refused}"
    );
    // A clean stop leaves at once: the next node starts (here, the same one again).
    assert!(first.stop());
    first.restart();
    let users = run_cli(&first.dir, &["user", "list"]);
    assert!(users.status.success(), "{users:?}");
}

#[tokio::test]
async fn backups_are_left_to_postgresql_and_say_so() {
    if !on_postgres() {
        return;
    }
    let server = TestServer::start();
    let to = server.dir.parent().unwrap().join("backup.tar");
    let out = run_cli(&server.dir, &["backup", "--to", to.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!to.exists(), "nothing written");
}
