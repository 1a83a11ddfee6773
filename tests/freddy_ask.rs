//! Asking over the Freddy API: `POST /v1/model/response` (the final object, or server-sent
//! events as the analyst works), its cancel, and `generateName`.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;

use common::freddy_api::{org_of, Freddy};
use common::TestServer;
use fake_llm::{FakeLlm, Reply};
use serde_json::{json, Value};

fn ask(text: &str) -> Value {
    json!({"inputs": [{"role": "user", "texts": [{"text": text}]}]})
}

/// The (event, data) pairs of a server-sent event stream.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event:") {
                    name = Some(rest.trim().to_string());
                }
                if let Some(rest) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str(rest.trim()).unwrap());
                }
            }
            Some((name?, data?))
        })
        .collect()
}

/// Asks with `stream: true`; checks the reply is an event stream and returns its events.
async fn streamed(api: &Freddy, body: &Value) -> Vec<(String, Value)> {
    let reply = api
        .http
        .post(format!("{}/model/response", api.base))
        .bearer_auth(&api.token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let kind = reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    sse_events(&reply.text().await.unwrap())
}

#[tokio::test]
async fn a_question_answered_whole_and_streamed() {
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let api = Freddy::new(&server, &admin);

    let response = api
        .expect(
            200,
            "POST",
            "/model/response",
            Some(ask("total revenue by region")),
        )
        .await;
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed", "{response}");
    assert!(response["id"].as_str().unwrap().starts_with("resp_"));
    let text = response["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(!text.is_empty());
    assert!(response["metadata"]["sql"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("select"));
    let thread_id = response["threadId"].as_str().unwrap().to_string();
    let thread = api
        .expect(200, "GET", &format!("/threads/{thread_id}"), None)
        .await;
    assert_eq!(thread["messageCount"], 2);
    assert_eq!(thread["status"], "inactive");

    // A follow-up on the same thread, streamed.
    let mut body = ask("average revenue by region");
    body["thread"] = json!(thread_id);
    body["stream"] = json!(true);
    let events = streamed(&api, &body).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"response.created"));
    assert_eq!(names.last(), Some(&"response.completed"), "{names:?}");
    let steps: Vec<(&str, &str)> = events
        .iter()
        .filter(|(n, _)| n == "response.step")
        .map(|(_, d)| (d["step"].as_str().unwrap(), d["progress"].as_str().unwrap()))
        .collect();
    assert!(steps.contains(&("fetchingData", "completed")), "{steps:?}");
    let mut deduped = steps.clone();
    deduped.dedup();
    assert_eq!(deduped, steps, "one event per change of a step's progress");
    let written: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    let (_, completed) = events.last().unwrap();
    assert_eq!(completed["threadId"], thread_id);
    let answer = completed["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(!written.is_empty());
    assert_eq!(written.trim(), answer.trim(), "the deltas spell the answer");
    let thread = api
        .expect(200, "GET", &format!("/threads/{thread_id}"), None)
        .await;
    assert_eq!(thread["messageCount"], 4);

    // A question the analyst cannot answer fails, saying why.
    let mut body = ask("what is the meaning of life");
    body["stream"] = json!(true);
    let (name, failed) = streamed(&api, &body).await.pop().unwrap();
    assert_eq!(name, "response.failed");
    assert_eq!(failed["status"], "failed");
    assert!(
        !failed["error"]["message"].as_str().unwrap().is_empty(),
        "{failed}"
    );

    // Bad requests change nothing.
    let (before, _) = api.ids("?limit=100").await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "POST",
        "/model/response",
        Some(json!({})),
    )
    .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "POST",
        "/model/response",
        Some(json!({"inputs": [{"role": "assistant", "texts": [{"text": "x"}]}]})),
    )
    .await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "POST",
        "/model/response",
        Some(ask("   ")),
    )
    .await;
    let mut elsewhere = ask("total revenue");
    elsewhere["thread"] = json!(format!("thread_{}", uuid::Uuid::new_v4().simple()));
    api.fails(
        404,
        "RESOURCE_NOT_FOUND",
        "POST",
        "/model/response",
        Some(elsewhere),
    )
    .await;
    let (after, _) = api.ids("?limit=100").await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_run_can_be_cancelled() {
    let fake = FakeLlm::start().await;
    fake.script(std::iter::repeat_n(Reply::Stall, 5));
    let server = TestServer::start_with(&fake.server_args("600"));
    let admin = server.admin_token.clone().unwrap();
    let api = Freddy::new(&server, &admin);
    let stranger = server.add_user("Stranger", "stranger@example.com");
    let asking = {
        let (base, token) = (api.base.clone(), admin.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{base}/model/response"))
                .bearer_auth(token)
                .json(&ask("what is the meaning of life"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    while fake.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (ids, _) = api.ids("").await;
    let thread = &ids[0];
    let busy = api
        .expect(200, "GET", &format!("/threads/{thread}"), None)
        .await;
    assert_eq!(busy["status"], "streaming");
    Freddy::new(&server, &stranger.token)
        .fails(
            404,
            "RESOURCE_NOT_FOUND",
            "POST",
            &format!("/model/response/{thread}/cancel"),
            None,
        )
        .await;
    let cancelled = api
        .expect(
            200,
            "POST",
            &format!("/model/response/{thread}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        cancelled,
        json!({"success": true, "threadId": thread, "cancelled": true})
    );
    let response = asking.await.unwrap();
    assert_eq!(response["status"], "failed", "{response}");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{response}"
    );
    let idle = api
        .expect(200, "GET", &format!("/threads/{thread}"), None)
        .await;
    assert_eq!(idle["status"], "inactive");
    let again = api
        .expect(
            200,
            "POST",
            &format!("/model/response/{thread}/cancel"),
            None,
        )
        .await;
    assert_eq!(again["cancelled"], false);
}

#[tokio::test]
async fn generate_name_from_the_answers_or_the_model() {
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let api = Freddy::new(&server, &admin);
    let response = api
        .expect(
            200,
            "POST",
            "/model/response",
            Some(ask("total revenue by region")),
        )
        .await;
    let thread = response["threadId"].as_str().unwrap();
    let named = api
        .expect(
            200,
            "POST",
            &format!("/threads/{thread}/generateName"),
            None,
        )
        .await;
    assert_eq!(named["success"], true);
    assert_eq!(named["threadId"], thread);
    assert_eq!(named["message"], "Thread name generated successfully");
    let name = named["name"].as_str().unwrap();
    let words = name.split_whitespace().count();
    assert!(
        (2..=5).contains(&words) && name.chars().count() <= 50,
        "{name}"
    );
    assert!(name.to_lowercase().contains("region"), "{name}");
    let thread_now = api
        .expect(200, "GET", &format!("/threads/{thread}"), None)
        .await;
    assert_eq!(thread_now["title"], name);
    // An empty thread has nothing to be named from.
    let org = thread_now["organizationId"].as_str().unwrap();
    let empty = api.create(org, json!({})).await;
    api.fails(
        422,
        "VALIDATION_ERROR",
        "POST",
        &format!("/threads/{}/generateName", empty["id"].as_str().unwrap()),
        None,
    )
    .await;

    // With a model, the model names it (cut to five words).
    let fake = FakeLlm::start().await;
    fake.script([fake_llm::streamed(
        "\"Regional Revenue Overview For Leadership Team Review\"",
        7,
    )]);
    let server = TestServer::start_with(&["--llm-base-url", &fake.base_url, "--llm-model", "m"]);
    let admin = server.admin_token.clone().unwrap();
    let api = Freddy::new(&server, &admin);
    let org = org_of(&server, &server.add_user("Ann", "ann@example.com")).await;
    let created = api
        .create(
            &org,
            json!({"messages": [{"role": "user", "content": "revenue by region"},
                                {"role": "assistant", "content": "North leads"}]}),
        )
        .await;
    let named = api
        .expect(
            200,
            "POST",
            &format!("/threads/{}/generateName", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(named["name"], "Regional Revenue Overview For Leadership");
    let asked = fake.requests();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].body.to_string().contains("North leads"));
}
