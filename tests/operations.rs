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

async fn scrape(server: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{}/metrics", server.addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_are_for_admins_and_the_scraper_and_count_what_happens() {
    let server = TestServer::start_with(&["--metrics-token", "scrape-secret"]);
    let admin_token = server.admin_token.clone().unwrap();
    let member = server.add_user("Mo", "mo@example.com");
    assert_eq!(scrape(&server, None).await.0, 401);
    assert_eq!(scrape(&server, Some("not-a-token")).await.0, 401);
    let (status, body) = scrape(&server, Some(&member.token)).await;
    assert_eq!(status, 403, "{body}");
    let (status, before) = scrape(&server, Some("scrape-secret")).await;
    assert_eq!(status, 200);
    assert_eq!(scrape(&server, Some(&admin_token)).await.0, 200);

    let mut client = common::Client::connect(&server, &admin_token).await;
    client.ok("/threads/list", serde_json::json!({})).await;
    client
        .fails(
            "/threads/list",
            serde_json::json!({"page_size": 0}),
            "BAD_REQUEST",
        )
        .await;
    common::answers::ask(&mut client, "total sales by region", None).await;
    client
        .ok("/threads/search", serde_json::json!({"prompt": "sales"}))
        .await;
    // The REST face counts too, one series per route whatever the thread.
    for _ in 0..2 {
        let missing = uuid::Uuid::new_v4();
        let response = reqwest::Client::new()
            .get(format!("http://{}/threads/{missing}", server.addr))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    let (_, after) = scrape(&server, Some("scrape-secret")).await;
    let rest = r#"skein_requests_total{face="rest",route="/threads/{id}"}"#;
    assert_eq!(common::metric_in(&after, rest), 2.0, "{after}");
    let rest_error =
        r#"skein_errors_total{code="thread_not_found",face="rest",route="/threads/{id}"}"#;
    assert_eq!(common::metric_in(&after, rest_error), 2.0, "{after}");

    let list = r#"skein_requests_total{face="websocket",route="/threads/list"}"#;
    assert_eq!(
        common::metric_in(&after, list) - common::metric_in(&before, list),
        2.0,
        "{after}"
    );
    let error =
        r#"skein_errors_total{code="invalid_request",face="websocket",route="/threads/list"}"#;
    assert_eq!(common::metric_in(&after, error), 1.0, "{after}");
    for series in [
        r#"skein_analysis_step_seconds_count{outcome="completed",step="generatingSql"}"#,
        r#"skein_search_seconds_count{leg="hybrid"}"#,
        "skein_store_flush_seconds_count",
        "skein_websocket_connections",
        "skein_messages_sent_total",
        "skein_list_subscriptions",
        "skein_thread_subscriptions",
    ] {
        assert!(
            common::metric_in(&after, series) >= 1.0,
            "{series}: {after}"
        );
    }
    assert!(after.contains("skein_index_lag "), "{after}");
}
