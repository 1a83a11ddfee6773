//! SQL edited by hand through `/threads/update`: repaired as `fixingSql` when it can be, refused
//! without changing anything when it cannot, and bounded by the query time limit.

mod common;

use common::answers::{ask, assert_rows, single};
use common::{Client, TestServer};
use serde_json::json;

#[tokio::test]
async fn bad_sql_is_repaired_as_fixing_sql_or_refused_without_changes() {
    let server = TestServer::start_with(&["--query-timeout-secs", "1"]);
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "total sales by year", None).await;
    let id = answer.thread_id();
    let before = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();

    // An unknown column is replaced by the nearest one; the fixed SQL is what is stored.
    let reply = client
        .ok(
            "/threads/update",
            json!({"id": id, "code": "SELECT SUM(total_sale_amount) AS total FROM sales_summary"}),
        )
        .await;
    let message = &reply["payload"][0]["messages"][0];
    assert_eq!(
        message["code"],
        "SELECT SUM(total_sales_amount) AS total FROM sales_summary"
    );
    assert_eq!(message["data_metadata"]["row_count"], 1);
    let fixing = client
        .take(|m| m["event"] == "fixingSql" && m["payload"]["progress"] == "completed")
        .await;
    assert_eq!(fixing["payload"]["sql"], message["code"]);
    let steps = message["context"]["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["fixingSql"]["progress"] == "completed"));

    // The seed's PostgreSQL-style update runs after EXTRACT is rewritten.
    let seed_sql = "\nWITH yearly_sales AS (\n    SELECT \n        DISTINCT EXTRACT(YEAR FROM order_date) AS year,\n        SUM(total_sales_amount) AS total_sales\n    FROM \n        sales_summary\n    GROUP BY \n        EXTRACT(YEAR FROM order_date)\n)\nSELECT \n    year,\n    total_sales\nFROM \n    yearly_sales\nORDER BY \n    year;";
    let reply = client
        .ok("/threads/update", json!({"id": id, "code": seed_sql}))
        .await;
    let message = &reply["payload"][0]["messages"][0];
    assert!(message["code"]
        .as_str()
        .unwrap()
        .contains("date_part('year', order_date)"));
    assert_eq!(message["data_metadata"]["row_count"], 3);
    assert_eq!(
        message["data_metadata"]["column_metadata"][0]["type"],
        "float8"
    );
    let after_seed = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();

    // Unfixable, writing, or runaway SQL: a clear error, and nothing changes.
    for (code, needle) in [
        ("SELECT nothing_like_this FROM sales_summary", "no such column"),
        ("DELETE FROM sales_summary", "read-only"),
        ("SELECT 1; SELECT 2", "single"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "read-only"),
        (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            "longer than 1 s",
        ),
    ] {
        let message = client
            .fails("/threads/update", json!({"id": id, "code": code}), "BAD_REQUEST")
            .await;
        assert!(message.contains(needle), "{code}: {message}");
        assert!(message.contains("Nothing was changed"), "{message}");
    }
    let after = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(after, after_seed);
    assert_ne!(after, before);

    // The data itself is untouched by the DELETE attempt.
    let again = ask(&mut client, "how many orders", None).await;
    assert_rows("how many orders", &again.rows(), &single(4000.0));

    // A row cap applies to big results, and data_metadata says so.
    let reply = client
        .ok(
            "/threads/update",
            json!({"id": id, "code": "SELECT * FROM sales_summary"}),
        )
        .await;
    let meta = &reply["payload"][0]["messages"][0]["data_metadata"];
    assert_eq!(meta["row_count"], 1000);
    assert_eq!(meta["row_cap"], 1000);
    assert_eq!(meta["truncated"], true);
}

/// The server's resident memory, from /proc.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test]
async fn sql_that_would_exhaust_memory_or_disk_is_stopped_with_a_clear_error() {
    // A short time limit keeps the test quick; the bounds on memory do not depend on it.
    let server = TestServer::start_with(&["--query-timeout-secs", "2"]);
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let answer = ask(&mut client, "total sales by year", None).await;
    let id = answer.thread_id();
    let before = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    let many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) \
                SELECT x FROM c";
    let bombs = [
        "SELECT randomblob(1000000000) AS b".to_string(),
        "SELECT zeroblob(1000000000) AS b".to_string(),
        format!("SELECT length(group_concat(randomblob(100000))) AS n FROM ({many})"),
        // About 12 GB to sort: once a temp file, now memory bounded by the heap limit.
        format!("SELECT x FROM (SELECT x, zeroblob(4000000) AS z FROM ({many})) ORDER BY random(), z"),
        format!("SELECT count(*) AS n FROM (SELECT a.x, zeroblob(1000) FROM ({many}) a, ({many}) b ORDER BY random())"),
    ];
    for sql in &bombs {
        let reply = client
            .request("/threads/update", json!({"id": id, "code": sql}))
            .await;
        assert_eq!(reply["error"]["code"], "BAD_REQUEST", "{sql}: {reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("more than the server allows") || message.contains("longer than"),
            "{sql}: {message}"
        );
    }
    // Nothing changed, the server still answers, and its memory came back down.
    let after = client.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after);
    let rss = rss_mib(server.pid());
    assert!(rss < 256, "resident memory after the bombs: {rss} MiB");
}
