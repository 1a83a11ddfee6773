//! `/threads/search` through the real server: hybrid results scoped to what the user may see,
//! never deleted threads, at most ten, clear errors for prompts with nothing to search, and an
//! index that catches up after a crash and rebuilds to the same results.

mod common;

use common::answers::ask;
use common::searching::{has_thread, search_until, threads_of};
use common::{create_thread, new_thread_id, share, Client, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn results_are_scoped_to_what_each_user_may_see() {
    let server = TestServer::start();
    server.cli(&["org", "add", "Acme"]);
    let owner = server.add_user("Owner", "owner@local.test");
    let viewer = server.add_user("Viewer", "viewer@local.test");
    let stranger = server.add_user("Stranger", "stranger@local.test");
    let admin = server.add_user_with("Admin", "admin@local.test", &["--admin"]);
    let outsider =
        server.add_user_with("Outsider", "boss@acme.test", &["--admin", "--org", "Acme"]);

    let mut owner_ws = Client::connect(&server, &owner.token).await;
    let private = new_thread_id(&mut owner_ws, "hypersonic wind tunnel calibration notes").await;
    let shared = new_thread_id(&mut owner_ws, "hypersonic nozzle design review").await;
    share(&mut owner_ws, &shared, &viewer, "viewer").await;
    // The outsider's org has its own thread on the same topic.
    let mut outsider_ws = Client::connect(&server, &outsider.token).await;
    let theirs = new_thread_id(&mut outsider_ws, "hypersonic flight test plan").await;

    let results = search_until(&mut owner_ws, "hypersonic", |r| r.len() >= 2).await;
    let mut found = threads_of(&results);
    found.sort();
    let mut mine = vec![private.clone(), shared.clone()];
    mine.sort();
    assert_eq!(
        found, mine,
        "the owner sees both of their threads and nothing else"
    );

    let mut viewer_ws = Client::connect(&server, &viewer.token).await;
    let results = search_until(&mut viewer_ws, "hypersonic", |r| !r.is_empty()).await;
    assert_eq!(
        threads_of(&results),
        vec![shared.clone()],
        "a viewer sees what was shared"
    );

    let mut admin_ws = Client::connect(&server, &admin.token).await;
    let results = search_until(&mut admin_ws, "hypersonic", |r| r.len() >= 2).await;
    assert!(has_thread(&results, &private) && has_thread(&results, &shared));
    assert!(
        !has_thread(&results, &theirs),
        "an admin sees only their own org"
    );

    let mut stranger_ws = Client::connect(&server, &stranger.token).await;
    let reply = stranger_ws
        .ok("/threads/search", json!({"prompt": "hypersonic"}))
        .await;
    assert_eq!(
        reply["payload"],
        json!([]),
        "a stranger in the same org sees nothing"
    );

    let results = search_until(&mut outsider_ws, "hypersonic", |r| !r.is_empty()).await;
    assert_eq!(threads_of(&results), vec![theirs.clone()]);

    // Taking the share back takes the thread out of the viewer's results.
    share(&mut owner_ws, &shared, &viewer, "none").await;
    search_until(&mut viewer_ws, "hypersonic", |r| r.is_empty()).await;
}

#[tokio::test]
async fn result_shape_cap_deletion_and_bad_prompts() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let mut ids = Vec::new();
    for n in 0..14 {
        ids.push(new_thread_id(&mut client, &format!("supersonic inlet study number {n}")).await);
    }
    // Indexing follows the writes: wait until the last thread is in before counting.
    let last = ids[13].clone();
    search_until(&mut client, "supersonic inlet study number 13", |r| {
        has_thread(r, &last)
    })
    .await;
    let results = search_until(&mut client, "supersonic inlet", |r| r.len() == 10).await;
    assert_eq!(results.len(), 10, "never more than ten results");

    // The seed's shape: a message object, plus the thread's title and a score.
    let first = &results[0];
    for key in [
        "id",
        "message",
        "thread_id",
        "sent_by",
        "status",
        "created_at",
        "responses",
        "context",
        "code",
    ] {
        assert!(first.get(key).is_some(), "result lacks {key}: {first}");
    }
    assert!(first["message"]
        .as_str()
        .unwrap()
        .contains("supersonic inlet study"));
    assert!(first["thread_title"].is_string());
    assert!(first["score"].as_f64().unwrap() > 0.0);
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    // The seed's request form uses "payload".
    client
        .send_text(json!({"route": "/threads/search", "payload": {"prompt": "supersonic"}, "request_id": "p"}).to_string())
        .await;
    let reply = client.take(|m| m["request_id"] == "p").await;
    assert_eq!(reply["payload"].as_array().unwrap().len(), 10);

    // Deleted threads disappear.
    let target = ids[3].clone();
    let exact = "supersonic inlet study number 3";
    let results = search_until(&mut client, exact, |r| has_thread(r, &target)).await;
    assert!(!results.is_empty());
    client.ok("/threads/delete", json!({"id": [target]})).await;
    search_until(&mut client, exact, |r| !has_thread(r, &target)).await;

    // Prompts with nothing to search for, and one over the limit: a clear error.
    for prompt in ["", "   ", "?!... ---", "🙂🙂"] {
        let message = client
            .fails("/threads/search", json!({"prompt": prompt}), "BAD_REQUEST")
            .await;
        assert!(message.contains("prompt"), "{prompt:?}: {message}");
    }
    let long = "wing ".repeat(2_001);
    let message = client
        .fails("/threads/search", json!({"prompt": long}), "BAD_REQUEST")
        .await;
    assert!(message.contains("10000"), "{message}");
    client
        .fails("/threads/search", json!({}), "BAD_REQUEST")
        .await;
    client
        .fails("/threads/search", json!({"prompt": 5}), "BAD_REQUEST")
        .await;
    // A long prompt within the limit is fine (its terms are capped).
    let long_ok = "supersonic inlet ".repeat(500);
    let results = search_until(&mut client, &long_ok, |r| r.len() == 10).await;
    assert!(
        !has_thread(&results, &ids[3]),
        "the deleted thread stays out"
    );
}

#[tokio::test]
async fn unicode_text_is_found() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let german = new_thread_id(&mut client, "Umsatz für Königlich Essen im Frühling").await;
    let cyrillic = new_thread_id(&mut client, "продажи по регионам за квартал").await;
    let results = search_until(&mut client, "königlich", |r| has_thread(r, &german)).await;
    assert_eq!(results[0]["thread_id"], german.as_str());
    let results = search_until(&mut client, "регионам", |r| {
        has_thread(r, &cyrillic)
    })
    .await;
    assert_eq!(results[0]["thread_id"], cyrillic.as_str());
}

#[tokio::test]
async fn answers_are_searchable_too() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let thread = create_thread(&mut client, "show me my top customer").await;
    let id = thread["id"].as_str().unwrap().to_string();
    // "QUICK-Stop" appears only in the analyst's summary, not in the question.
    let results = search_until(&mut client, "QUICK-Stop", |r| has_thread(r, &id)).await;
    let steps = results[0]["context"]["steps"].as_array().unwrap();
    let fetched = steps.iter().find_map(|s| s.get("fetchingData")).unwrap();
    assert!(
        fetched["data"].is_null(),
        "results carry no rows, as in the seed"
    );
    assert!(results[0]["responses"]["messages"][0]
        .as_str()
        .unwrap()
        .contains("QUICK-Stop"));
    // A rename re-ranks every message of the thread under its new title.
    client
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Whale accounts"}),
        )
        .await;
    search_until(&mut client, "whale accounts", |r| has_thread(r, &id)).await;
}

#[tokio::test]
async fn writes_the_index_never_saw_are_caught_up_on_start() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let before = new_thread_id(&mut client, "transonic buffet onset measurements").await;
    search_until(&mut client, "transonic buffet", |r| has_thread(r, &before)).await;
    drop(client);
    assert!(server.stop());

    // Written to the store while no server (and so no indexer) runs: exactly the state a crash
    // between a store write and the index commit leaves.
    let corpus = server.dir.parent().unwrap().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(
        corpus.join("docs.jsonl"),
        "{\"id\": \"1\", \"title\": \"slipstream\", \"text\": \"a wing in a propeller slipstream . lift increase\"}\n\
         {\"id\": \"2\", \"title\": \"panels\", \"text\": \"panel flutter at high mach numbers . damping\"}\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("queries.jsonl"),
        "{\"id\": \"1\", \"text\": \"slipstream\"}\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("qrels.tsv"),
        "query_id\tdoc_id\trelevance\n1\t1\t1\n",
    )
    .unwrap();
    let out = server.cli(&[
        "bench",
        "seed",
        "--corpus",
        corpus.to_str().unwrap(),
        "--messages",
        "300",
    ]);
    assert!(out.contains("stored 300 messages"), "{out}");
    server.restart();
    // The seeded threads belong to the first admin, whose token the first start printed.
    let admin_token = server.cli(&["user", "token", "--email", "admin@localhost"]);
    let admin_token = admin_token
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap()
        .to_string();
    let mut admin = Client::connect(&server, &admin_token).await;
    let found = search_until(&mut admin, "propeller slipstream", |r| r.len() == 10).await;
    assert!(found
        .iter()
        .all(|r| r["message"].as_str().unwrap().contains("slipstream")));

    // And a kill -9 right after acknowledged posts: they are found after the restart.
    let mut client = Client::connect(&server, &bob.token).await;
    let mut posted = Vec::new();
    for n in 0..5 {
        let reply = client
            .ok(
                "/threads/post",
                json!({"prompt": format!("ramjet combustor sample {n}")}),
            )
            .await;
        posted.push(reply["payload"]["id"].as_str().unwrap().to_string());
    }
    server.kill9();
    server.restart();
    let mut client = Client::connect(&server, &bob.token).await;
    let results = search_until(&mut client, "ramjet combustor sample", |r| {
        posted.iter().all(|id| has_thread(r, id))
    })
    .await;
    assert!(has_thread(&results, &posted[4]));
    search_until(&mut client, "transonic buffet", |r| has_thread(r, &before)).await;
}

/// The same documents come back. Their order may differ slightly: BM25 statistics count deleted
/// documents until tantivy merges their segments, and incremental indexing deletes and re-adds
/// a thread's messages on every change, where a rebuilt index has no deleted documents.
#[tokio::test]
async fn reindex_gives_the_same_results_as_incremental_indexing() {
    let server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let mut client = Client::connect(&server, &bob.token).await;
    let topics = [
        "boundary layer transition on swept wings",
        "heat transfer in laminar boundary layers",
        "shock wave interaction with turbulent boundary layer",
        "flutter of panels in supersonic flow",
        "buckling of thin cylindrical shells",
        "lift distribution of a wing in a slipstream",
    ];
    let mut last = String::new();
    for topic in topics {
        last = new_thread_id(&mut client, topic).await;
    }
    let prompts = [
        "boundary layer",
        "supersonic panel flutter",
        "wing lift",
        "shells buckling",
    ];
    search_until(&mut client, "lift distribution slipstream", |r| {
        has_thread(r, &last)
    })
    .await;
    let before = found(&mut client, &prompts).await;
    let out = server.cli(&["reindex"]);
    assert!(out.contains("reindexed"), "{out}");
    for (prompt, expected) in prompts.iter().zip(&before) {
        let reply = client
            .ok("/threads/search", json!({"prompt": prompt}))
            .await;
        let results = &reply["payload"];
        assert_eq!(&sorted(ids(results)), expected, "{prompt}");
        assert!(!expected.is_empty());
        // Each prompt's best match is a thread about it either way.
        let first_word = prompt.split(' ').next().unwrap();
        assert!(
            results[0]["message"].as_str().unwrap().contains(first_word),
            "{prompt}: {results}"
        );
    }
}

/// The ids each prompt finds, sorted.
async fn found(client: &mut Client, prompts: &[&str]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for prompt in prompts {
        let reply = client
            .ok("/threads/search", json!({"prompt": prompt}))
            .await;
        found.push(sorted(ids(&reply["payload"])));
    }
    found
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn ids(results: &Value) -> Vec<String> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until the indexer has looked at every write so far; returns `/healthz`.
async fn caught_up(server: &TestServer) -> Value {
    server
        .health_until("the indexer to catch up", |h| h["search"]["lag"] == 0)
        .await
}

#[tokio::test]
async fn writes_that_change_no_document_cost_no_index_commit() {
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let id = new_thread_id(&mut client, "boundary layer transition on swept wings").await;
    search_until(&mut client, "swept wings", |r| has_thread(r, &id)).await;
    let before = caught_up(&server).await;

    // Metadata, TTL and lifecycle changes leave every indexed document as it was.
    let http = reqwest::Client::new();
    for n in 0..5 {
        let patched = http
            .patch(format!("http://{}/threads/{id}", server.addr))
            .header("x-api-key", &admin)
            .json(&json!({"metadata": {"n": n}}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        let after = caught_up(&server).await;
        assert_eq!(
            after["search"]["commits"], before["search"]["commits"],
            "a metadata change committed the index: {after}"
        );
    }
    // A new title is searchable text: it is indexed, in one commit.
    client
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Crossflow instability"}),
        )
        .await;
    search_until(&mut client, "crossflow instability", |r| has_thread(r, &id)).await;
    let after = caught_up(&server).await;
    let commits = |h: &Value| h["search"]["commits"].as_u64().unwrap();
    assert_eq!(commits(&after), commits(&before) + 1, "{after}");
    assert_eq!(after["search"]["lag"], 0, "{after}");
}

/// A change to one message of a thread re-indexes that message alone (`search::prints`):
/// an edited answer is found by its new text, its old document is gone, the others stay
/// found, and every search answers as after a full rebuild.
#[tokio::test]
async fn a_changed_message_is_reindexed_alone_and_found_as_after_a_rebuild() {
    let server = TestServer::start();
    let mut client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    let first = ask(&mut client, "total sales by month", None).await;
    let id = first.thread_id();
    ask(&mut client, "now only for the West region", Some(&id)).await;
    let third = ask(&mut client, "top 5 customers by sales in 2024", Some(&id)).await;
    let third_id = third.message()["id"].clone();
    let has = |results: &[Value], message: &Value| results.iter().any(|r| r["id"] == *message);
    search_until(&mut client, "top customers", |r| has(r, &third_id)).await;

    // Edit the first answer's query: only that message's document changes.
    let first_id = first.message()["id"].clone();
    let edited = "SELECT COUNT(DISTINCT order_id) AS zeppelin_orders FROM sales_summary";
    client
        .ok(
            "/threads/update",
            json!({"id": id, "message_id": first_id, "code": edited}),
        )
        .await;
    search_until(&mut client, "zeppelin_orders", |r| has(r, &first_id)).await;
    // The edited message's old document and vector were replaced, not kept beside the new.
    let health = caught_up(&server).await;
    assert_eq!(health["search"]["lag"], 0, "{health}");
    assert_eq!(health["search"]["documents"], 3, "{health}");
    assert_eq!(health["search"]["vectors"]["vectors"], 3, "{health}");
    let prompts = [
        "zeppelin_orders",
        "top customers 2024",
        "West region",
        "total sales by month",
    ];
    let before = found(&mut client, &prompts).await;
    assert!(before[0].contains(&first_id.as_str().unwrap().to_string()));
    assert!(before[1].contains(&third_id.as_str().unwrap().to_string()));

    let out = server.cli(&["reindex"]);
    assert!(out.contains("reindexed"), "{out}");
    assert_eq!(found(&mut client, &prompts).await, before);
}
