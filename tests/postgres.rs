//! What only the PostgreSQL backend does: nodes sharing one database, and what it leaves to
//! PostgreSQL. These run in the suite's PostgreSQL pass (`scripts/with-postgres`, which
//! `scripts/test` runs); on the embedded store there is nothing of this to test.

mod common;

use common::answers::ask;
use common::cluster::node_fails;
use common::searching::{has_thread, search_until};
use common::{binary, database_for, on_postgres, run_cli, Client, TestServer};
use serde_json::json;
use std::process::Command;

#[tokio::test]
async fn a_second_node_without_a_bus_is_refused_until_the_first_has_stopped() {
    if !on_postgres() {
        return;
    }
    let mut first = TestServer::start();
    let url = database_for(&first.dir).unwrap();
    let refused = node_fails(&url, &[]);
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
async fn a_node_reaches_postgresql_over_tls_only_after_verifying_its_certificate() {
    let (Some(admin), Ok(ca)) = (
        std::env::var("SKEIN_TEST_POSTGRES").ok(),
        std::env::var("SKEIN_TEST_POSTGRES_CA"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = database_for(dir.path()).unwrap();
    let name = url.rsplit('/').next().unwrap().to_string();

    // The test cluster's CA is not among the system's roots: `require` verifies, so it refuses.
    let untrusted = node_fails(&format!("{url}?sslmode=require"), &[]);
    assert!(untrusted.contains("certificate"), "{untrusted}");
    // The certificate is for 127.0.0.1: reached as localhost, its name does not match.
    let misnamed = node_fails(
        &format!(
            "{}?sslmode=verify-full&sslrootcert={ca}",
            url.replace("127.0.0.1", "localhost")
        ),
        &[],
    );
    assert!(misnamed.contains("certificate"), "{misnamed}");
    // A root file without TLS is a mistake said as such.
    let plain = node_fails(&format!("{url}?sslmode=disable&sslrootcert={ca}"), &[]);
    assert!(plain.contains("sslrootcert"), "{plain}");

    // Trusting the CA, the node serves, and every connection it holds is encrypted.
    let server =
        TestServer::start_node(&format!("{url}?sslmode=verify-full&sslrootcert={ca}"), &[]);
    let mut client = Client::connect(&server, server.admin_token.as_ref().unwrap()).await;
    let answer = ask(&mut client, "total sales by region", None).await;
    assert!(answer.failure().is_none());
    let sessions = |ssl: bool| {
        let out = Command::new("psql")
            .args([admin.as_str(), "-tA", "-c"])
            .arg(format!(
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                 WHERE datname = '{name}' AND ssl = {ssl}"
            ))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    assert!(sessions(true) > 0);
    assert_eq!(sessions(false), 0, "no connection in plain text");
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

/// `skein migrate` and what it printed.
fn migrate(from: &std::path::Path, to: &str) -> String {
    let out = Command::new(binary())
        .args(["migrate", "--from"])
        .arg(from)
        .args(["--to", to])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A table's line of the report: (rows, new rows, checksum, verdict).
fn line<'a>(report: &'a str, table: &str) -> Vec<&'a str> {
    report
        .lines()
        .find(|line| line.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no {table} in {report}"))
        .split_whitespace()
        .skip(1)
        .collect()
}

#[tokio::test]
async fn a_migrated_data_dir_reads_back_the_same_and_migrating_again_changes_nothing() {
    if !on_postgres() {
        return;
    }
    let mut embedded = TestServer::start_embedded();
    let admin = embedded.admin_token.clone().unwrap();
    let bob = embedded.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&embedded, &admin).await;
    let answer = ask(&mut client, "total sales by region", None).await;
    let id = answer.thread_id();
    common::share(&mut client, &id, &bob, "viewer").await;
    let before = client.ok("/threads/get", json!({"id": id})).await;
    drop(client);
    assert!(embedded.stop());

    let scratch = tempfile::tempdir().unwrap();
    let url = database_for(scratch.path()).unwrap();
    let first = migrate(&embedded.dir, &url);
    for table in ["orgs", "users", "tokens", "threads", "messages", "datasets"] {
        let row = line(&first, table);
        assert_eq!(row[0], row[1], "every row is new the first time: {first}");
        assert_eq!(row[3], "ok", "{first}");
    }
    assert_eq!(line(&first, "users")[0], "2", "{first}");
    assert_eq!(line(&first, "messages")[0], "1", "{first}");
    let again = migrate(&embedded.dir, &url);
    for table in ["orgs", "users", "threads", "messages"] {
        let (one, two) = (line(&first, table), line(&again, table));
        assert_eq!(two[1], "0", "nothing new the second time: {again}");
        assert_eq!(one[2], two[2], "same checksum: {again}");
    }

    // The nodes on the database (two, with a bus, when the run has NATS; their datasets' files
    // where the data dir had them) serve the same.
    let datasets = embedded.dir.join("datasets");
    let mut flags = vec!["--datasets-dir".to_string(), datasets.display().to_string()];
    let mut size = 1;
    if let Ok(nats) = std::env::var("SKEIN_TEST_NATS") {
        flags.extend(["--bus".to_string(), nats]);
        size = 2;
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let nodes: Vec<TestServer> = (0..size)
        .map(|_| TestServer::start_node(&url, &flags))
        .collect();
    for node in &nodes {
        let mut client = Client::connect(node, &admin).await;
        let after = client.ok("/threads/get", json!({"id": id})).await;
        assert_eq!(after["payload"], before["payload"]);
        let mut bob_client = Client::connect(node, &bob.token).await;
        bob_client.ok("/threads/get", json!({"id": id})).await;
        search_until(&mut client, "sales by region", |r| has_thread(r, &id)).await;
    }
    let mut client = Client::connect(&nodes[0], &admin).await;
    // And it goes on answering there.
    let next = ask(&mut client, "total sales by month", Some(&id)).await;
    assert!(next.failure().is_none(), "{:?}", next.state);
}
