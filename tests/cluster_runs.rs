//! The analyst's runs on a cluster: a question running on one node is busy on every node, can
//! be cancelled from any, and is marked interrupted by the others when its node dies.
//!
//! Like `tests/cluster.rs`, these need PostgreSQL and NATS (`scripts/with-postgres
//! scripts/with-nats`); without them each test returns at once.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;
#[path = "common/rest_api.rs"]
mod rest_api;

use common::cluster::Cluster;
use common::freddy_api::Freddy;
use common::{eventually, Client, PATIENCE};
use rest_api::Api;
use serde_json::json;

/// A question the model must answer, asked on `node`, running until cancelled (the model
/// stalls): the client that asked, and the thread's id.
async fn stalled_question(
    cluster: &Cluster,
    node: usize,
    fake: &fake_llm::FakeLlm,
) -> (Client, String) {
    let mut client = cluster.client(node, &cluster.admin).await;
    let reply = client
        .ok(
            "/threads/post",
            json!({"prompt": "what is the meaning of life", "thread_id": null}),
        )
        .await;
    while fake.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let id = reply["payload"]["id"].as_str().unwrap().to_string();
    (client, id)
}

#[tokio::test]
async fn a_run_on_one_node_is_busy_on_every_node_and_another_node_can_cancel_it() {
    let fake = fake_llm::FakeLlm::start().await;
    fake.script(std::iter::repeat_n(fake_llm::Reply::Stall, 5));
    let Some(cluster) = Cluster::start_with(2, &fake.server_args("600")) else {
        return;
    };
    let (mut on_b, id) = stalled_question(&cluster, 1, &fake).await;

    // On A, the REST faces see the thread busy and refuse state writes meanwhile.
    let rest_on_a = Api::new(&cluster.nodes[0], &cluster.admin);
    let path = format!("/threads/{id}");
    eventually(PATIENCE, || async {
        rest_on_a.expect(200, "GET", &path, None).await["status"] == "busy"
    })
    .await;
    let refused = rest_on_a
        .expect(
            409,
            "POST",
            &format!("{path}/state"),
            Some(json!({"values": {"x": 1}})),
        )
        .await;
    assert!(rest_api::detail(&refused).contains("busy"));
    let freddy_on_a = Freddy::new(&cluster.nodes[0], &cluster.admin);
    let freddy_id = format!("thread_{}", id.replace('-', ""));
    let viewed = freddy_on_a
        .expect(200, "GET", &format!("/threads/{freddy_id}"), None)
        .await;
    assert_eq!(viewed["status"], "streaming");

    // A cancels the run B is doing: B's run ends cancelled, and the watcher on B sees it.
    let cancel_path = format!("/model/response/{freddy_id}/cancel");
    let cancel = || freddy_on_a.expect(200, "POST", &cancel_path, None);
    let cancelled = cancel().await;
    assert_eq!(cancelled["cancelled"], true, "{cancelled}");
    let finished = common::answered(&mut on_b, &json!(id)).await;
    assert!(
        finished.to_string().contains("cancelled"),
        "the run on B ends cancelled: {finished}"
    );
    eventually(PATIENCE, || async {
        rest_on_a.expect(200, "GET", &path, None).await["status"] != "busy"
    })
    .await;
    let again = cancel().await;
    assert_eq!(again["cancelled"], false);
}

#[tokio::test]
async fn a_question_a_killed_node_was_answering_is_marked_interrupted_by_the_others() {
    let fake = fake_llm::FakeLlm::start().await;
    fake.script(std::iter::repeat_n(fake_llm::Reply::Stall, 5));
    let Some(mut cluster) = Cluster::start_with(2, &fake.server_args("600")) else {
        return;
    };
    let (_on_b, id) = stalled_question(&cluster, 1, &fake).await;
    let id = json!(id);
    let mut on_a = cluster.client(0, &cluster.admin).await;
    on_a.ok("/threads/get", json!({"id": id})).await;
    on_a.barrier().await;

    // B dies mid-answer. Once its database heartbeat is stale (30 s), A marks the question
    // interrupted and its watchers get the final state. (Reading in short turns keeps the
    // connection answering the server's pings meanwhile.)
    cluster.nodes[1].kill9();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30) + PATIENCE;
    let finished = loop {
        let read = tokio::time::timeout(std::time::Duration::from_millis(500), on_a.next());
        if let Ok(event) = read.await {
            if event["route"] == "/threads/post"
                && event["event"] == "updateThreadState"
                && event["payload"][0]["id"] == id
            {
                break event;
            }
        }
        assert!(std::time::Instant::now() < deadline, "not marked in time");
    };
    assert!(finished.to_string().contains(INTERRUPTED), "{finished}");
    let rest_on_a = Api::new(&cluster.nodes[0], &cluster.admin);
    let path = format!("/threads/{}", id.as_str().unwrap());
    assert_eq!(
        rest_on_a.expect(200, "GET", &path, None).await["status"],
        "error"
    );
}

/// What a question cut off by a stopped server reads.
const INTERRUPTED: &str = "interrupted because the server stopped";
