//! Running Skein for real: readiness for load balancers (`/readyz` waits for the search index
//! to catch up), liveness (`/healthz`) all along, and logs as JSON lines for log shippers.

mod common;

use common::TestServer;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    common::json_reply(reqwest::Client::new().get(format!("http://{}{path}", server.addr))).await
}

#[tokio::test]
async fn readiness_waits_for_the_index_to_catch_up_while_liveness_holds() {
    // Messages the index has never seen: seeded while no server ran.
    let mut server = TestServer::start();
    server.stop();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cranfield");
    server.cli(&["bench", "seed", "--corpus", corpus, "--messages", "3000"]);
    server.restart();

    let mut not_ready = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready = loop {
        let (status, body) = get(&server, "/readyz").await;
        if status == 503 {
            assert_eq!(body["ready"], false, "{body}");
            assert_eq!(body["search"]["caught_up"], false, "{body}");
            let (live, health) = get(&server, "/healthz").await;
            assert_eq!(live, 200, "alive while catching up: {health}");
            not_ready.get_or_insert(body);
        } else {
            assert_eq!(status, 200, "{body}");
            break body;
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let not_ready = not_ready.expect("not ready during the catch-up");
    assert!(not_ready["search"]["needed_seq"].as_u64().unwrap() > 0);
    assert_eq!(ready["ready"], true);
    assert!(
        ready["search"]["covered_seq"].as_u64() >= ready["search"]["needed_seq"].as_u64(),
        "{ready}"
    );
    assert_eq!(ready["storage"]["state"], "ok");
}

#[tokio::test]
async fn logs_can_be_written_as_json_lines() {
    let server = TestServer::start_with(&["--log-format", "json"]);
    let (status, _) = get(&server, "/readyz").await;
    assert!(status == 200 || status == 503);
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logged nothing at info");
    for line in lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
        assert!(entry["level"].is_string(), "{line}");
        assert!(entry["fields"]["message"].is_string(), "{line}");
    }
    let human = TestServer::start();
    assert!(
        human.log().lines().all(|l| !l.starts_with('{')),
        "the default is for people"
    );
}
