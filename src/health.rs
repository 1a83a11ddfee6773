//! Liveness and readiness, as `/healthz` and `/readyz` report them.
//!
//! Liveness is always 200: restarting frees no disk space, so `status` only says whether
//! writes and indexing work. Readiness is what a load balancer asks: 503 until the search
//! index covers everything the store held when the server started (a new or rebuilt index
//! catches up first), and while storage is failing.

use crate::services::Services;
use serde_json::{json, Value};

pub async fn liveness(services: &Services) -> Value {
    let search = &services.search;
    let storage = services.store.fault();
    let index_error = search.last_error();
    let degraded = storage.is_some() || index_error.is_some();
    json!({
        "status": if degraded { "degraded" } else { "ok" },
        "storage": storage_state(services),
        "search": {
            "state": if search.rebuilding() { "rebuilding" } else { "ready" },
            "error": index_error,
            "indexed_seq": search.indexed_seq(),
            "covered_seq": search.covered_seq(),
            "store_seq": services.store.last_seq().await.ok(),
            // Thread changes the index has not covered yet.
            "lag": services.store.changes_after(search.covered_seq()).await.ok(),
            "commits": search.commits(),
            "documents": search.num_docs(),
            "vectors": search.vector_status().await,
        },
    })
}

/// Whether the server should get traffic, and why.
pub fn readiness(services: &Services) -> (bool, Value) {
    let search = &services.search;
    let covered = search.covered_seq();
    let caught_up = covered >= services.started_seq && !search.rebuilding();
    let storage_ok = services.store.fault().is_none();
    let ready = caught_up && storage_ok;
    let body = json!({
        "ready": ready,
        "storage": storage_state(services),
        "search": {
            "caught_up": caught_up,
            "covered_seq": covered,
            "needed_seq": services.started_seq,
            "rebuilding": search.rebuilding(),
        },
    });
    (ready, body)
}

fn storage_state(services: &Services) -> Value {
    match services.store.fault() {
        Some(fault) => json!({ "state": "failing", "error": fault }),
        None => json!({ "state": "ok" }),
    }
}
