//! Searching through the real server while the index catches up in the background.

use super::Client;
use serde_json::{json, Value};

/// Searches until `done` holds for the results (the index commits in the background).
pub async fn search_until(
    client: &mut Client,
    prompt: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + super::PATIENCE;
    loop {
        let reply = client
            .ok("/threads/search", json!({"prompt": prompt}))
            .await;
        assert_eq!(reply["event"], "searchThreads");
        let results = reply["payload"].as_array().unwrap().clone();
        if done(&results) {
            return results;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "search for {prompt:?} never got there: {results:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub fn threads_of(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["thread_id"].as_str().unwrap().to_string())
        .collect()
}

pub fn has_thread(results: &[Value], id: &str) -> bool {
    results.iter().any(|r| r["thread_id"] == id)
}
