//! An OpenAI-compatible model behind the analyst, through the real server: a fake provider on
//! loopback streams scripted answers (split at awkward byte boundaries) and failures, and the
//! tests check the exact events clients receive and what is stored.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;

use common::{Client, TestServer};
use fake_llm::{raw, status, streamed, FakeLlm, Reply};
use serde_json::{json, Value};

const KEY: &str = "sk-test-secret-123";
/// The built-in planner cannot plan this, so the model gets it.
const QUESTION: &str = "what is the meaning of life";

/// The server's `/metrics`, read with the admin's token.
async fn metrics(server: &TestServer) -> String {
    reqwest::Client::new()
        .get(format!("http://{}/metrics", server.addr))
        .bearer_auth(server.admin_token.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn setup() -> (FakeLlm, TestServer, Client) {
    let fake = FakeLlm::start().await;
    let server = TestServer::start_configured(
        &[
            "--llm-base-url",
            &fake.base_url,
            "--llm-model",
            "test-model",
            "--llm-first-token-timeout-secs",
            "2",
        ],
        &[("SKEIN_LLM_API_KEY", KEY)],
    );
    let client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
    (fake, server, client)
}

/// Posts a question and returns every event up to the final state (or the failed step).
async fn ask(client: &mut Client, prompt: &str) -> (Vec<Value>, Value) {
    let reply = client.ok("/threads/post", json!({"prompt": prompt})).await;
    let id = reply["payload"]["id"].clone();
    let mut events = Vec::new();
    loop {
        let event = client.next().await;
        if event["route"] == "/threads/post"
            && event["event"] == "updateThreadState"
            && event["payload"][0]["id"] == id
        {
            return (events, event);
        }
        events.push(event);
    }
}

fn chunks(events: &[Value], step: &str, field: &str) -> String {
    events
        .iter()
        .filter(|e| e["event"] == step && e["payload"]["progress"] == "inProgress")
        .filter_map(|e| e["payload"][format!("{field}_chunk")].as_str())
        .collect()
}

fn completed<'a>(events: &'a [Value], step: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == step && e["payload"]["progress"] == "completed")
        .unwrap_or_else(|| panic!("no completed {step}: {events:?}"))
}

fn failed(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["payload"]["progress"] == "failed")
        .unwrap_or_else(|| panic!("no failed step: {events:?}"))
}

/// The four narrative answers of a successful model run.
fn words() -> Vec<Reply> {
    vec![
        streamed("I counted every order in the sales table.", 5),
        streamed("All time", 3),
        streamed("Number of Orders", 4),
        streamed("There are 4,000 orders in all.", 6),
    ]
}

#[tokio::test]
async fn the_model_streams_sql_and_words_through_the_steps() {
    let (fake, server, mut client) = setup().await;
    let mut script = vec![streamed(
        "```sql\nSELECT COUNT(*) AS orders\nFROM sales_summary;\n```",
        7,
    )];
    script.extend(words());
    fake.script(script);

    let (events, state) = ask(&mut client, QUESTION).await;
    // The metrics count the calls and the tokens the provider reported.
    let text = metrics(&server).await;
    for series in [
        "skein_llm_calls_total{outcome=\"ok\"} ",
        "skein_llm_tokens_total{kind=\"prompt\"} ",
        "skein_llm_tokens_total{kind=\"completion\"} ",
    ] {
        assert!(text.contains(series), "{series}: {text}");
    }
    let sql = "SELECT COUNT(*) AS orders\nFROM sales_summary;\n";
    assert_eq!(
        chunks(&events, "generatingSql", "sql"),
        sql,
        "fences stripped, chunks add up"
    );
    let generated = completed(&events, "generatingSql");
    assert_eq!(generated["payload"]["sql"], sql);
    assert_eq!(generated["payload"]["engine"], "model test-model");
    // Why the model wrote it: the words the built-in planner could not place.
    let reason = generated["payload"]["engine_reason"].as_str().unwrap();
    assert!(reason.contains("did not understand"), "{reason}");
    assert!(generated["payload"]["interpretation"]
        .as_str()
        .unwrap()
        .contains("language model wrote the SQL"));
    assert_eq!(
        completed(&events, "fetchingData")["payload"]["data"],
        json!([{"orders": 4000}])
    );
    for (step, field, text) in [
        (
            "generatingDataExplanation",
            "data_explanation",
            "I counted every order in the sales table.",
        ),
        ("generatingTimeFrame", "time_frame", "All time"),
        ("generatingMetricTitle", "metric_title", "Number of Orders"),
        (
            "generatingDataSummary",
            "data_summary",
            "There are 4,000 orders in all.",
        ),
    ] {
        assert_eq!(chunks(&events, step, field), text, "{step}");
        assert_eq!(completed(&events, step)["payload"][field], text, "{step}");
    }
    let message = &state["payload"][0]["messages"][0];
    assert_eq!(message["code"], sql);
    assert_eq!(message["title"], "Number of Orders");
    assert_eq!(message["time_frame"], "All time");
    assert_eq!(
        message["responses"]["messages"],
        json!([
            "There are 4,000 orders in all.",
            "I counted every order in the sales table."
        ])
    );
    assert_eq!(message["chart_config"]["type"], "single_value");

    // What the provider was sent: the model, streaming, the schema with its notes, the key.
    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    let first = &requests[0];
    assert!(
        first.head.starts_with("POST /v1/chat/completions"),
        "{}",
        first.head
    );
    assert!(first
        .head
        .to_lowercase()
        .contains(&format!("authorization: bearer {KEY}").to_lowercase()));
    assert_eq!(first.body["model"], "test-model");
    assert_eq!(first.body["stream"], true);
    let system = first.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("total_sales_amount") && system.contains("Order total in US dollars"));
    assert!(system.contains("date_trunc"));

    // The key never shows up in what clients receive or in the server's log.
    assert!(!events.iter().any(|e| e.to_string().contains(KEY)));
    assert!(!state.to_string().contains(KEY));
    assert!(!server.log().contains(KEY));
}

#[tokio::test]
async fn failing_sql_is_fixed_by_the_model() {
    let (fake, _server, mut client) = setup().await;
    let mut script = vec![
        streamed("SELECT COUNT(*) AS orders FROM sales", 9),
        streamed(
            "```sql\nSELECT COUNT(*) AS orders FROM sales_summary\n```",
            11,
        ),
    ];
    script.extend(words());
    fake.script(script);

    let (events, state) = ask(&mut client, QUESTION).await;
    let fix = completed(&events, "fixingSql");
    assert_eq!(
        fix["payload"]["sql"],
        "SELECT COUNT(*) AS orders FROM sales_summary\n"
    );
    assert_eq!(
        chunks(&events, "fixingSql", "sql"),
        fix["payload"]["sql"].as_str().unwrap()
    );
    assert_eq!(
        state["payload"][0]["messages"][0]["code"],
        fix["payload"]["sql"]
    );
    // The fix request carried the failing SQL and SQLite's error.
    let asked = fake.requests()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        asked.contains("FROM sales\n") && asked.contains("no such table: sales"),
        "{asked}"
    );
}

#[tokio::test]
async fn three_failed_fixes_end_the_run_with_the_last_error() {
    let (fake, _server, mut client) = setup().await;
    fake.script([
        streamed("SELECT a FROM nowhere_1", 8),
        streamed("SELECT a FROM nowhere_2", 8),
        streamed("SELECT a FROM nowhere_3", 8),
        streamed("SELECT a FROM nowhere_4", 8),
    ]);
    let (events, state) = ask(&mut client, QUESTION).await;
    let failure = failed(&events);
    assert_eq!(failure["event"], "fixingSql");
    let message = failure["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("after 3 fixes") && message.contains("nowhere_4"),
        "{message}"
    );
    let fix_chunks = events
        .iter()
        .filter(|e| e["event"] == "fixingSql" && e["payload"]["progress"] == "inProgress")
        .count();
    assert!(fix_chunks > 3, "every fix attempt streamed");
    assert!(
        state["payload"][0]["messages"][0]["code"].is_null(),
        "nothing half-done looks complete"
    );
    assert!(events.iter().all(|e| e["event"] != "fetchingData"));
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_time_asked_and_errors_are_reported() {
    let (fake, _server, mut client) = setup().await;
    let mut script = vec![
        status(429, &[("Retry-After", "1")]),
        streamed("SELECT COUNT(*) AS orders FROM sales_summary", 10),
    ];
    script.extend(words());
    fake.script(script);
    let started = std::time::Instant::now();
    let (events, _) = ask(&mut client, QUESTION).await;
    completed(&events, "generatingDataSummary");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited as Retry-After asked"
    );
    assert_eq!(fake.requests().len(), 6, "one retry, then the five calls");

    // Server errors on every attempt: a clear failed step.
    fake.script([status(500, &[]), status(500, &[]), status(500, &[])]);
    let (events, state) = ask(&mut client, QUESTION).await;
    let failure = failed(&events);
    assert_eq!(failure["event"], "generatingSql");
    assert_eq!(failure["error"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(failure["error"]["message"]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));
    assert!(state["payload"][0]["messages"][0]["code"].is_null());
}

#[tokio::test]
async fn a_stalled_or_garbled_stream_fails_clearly() {
    let (fake, first_server, mut client) = setup().await;
    fake.script([Reply::Stall]);
    let (events, _) = ask(&mut client, QUESTION).await;
    let message = failed(&events)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("first token"), "{message}");

    fake.script([raw(
        "data: {\"choices\": [{\"delta\": {\"content\": \"SEL\"}}]}\n\ndata: {not json\n\n",
    )]);
    let (events, state) = ask(&mut client, QUESTION).await;
    let failure = failed(&events);
    assert_eq!(failure["event"], "generatingSql");
    assert!(failure["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a chat completion stream"));
    assert!(state["payload"][0]["messages"][0]["code"].is_null());
    // /metrics counts the model's calls by outcome.
    let metrics = metrics(&first_server).await;
    for outcome in ["timeout", "garbage"] {
        let series = format!("skein_llm_calls_total{{outcome=\"{outcome}\"}} ");
        assert!(metrics.contains(&series), "{series}: {metrics}");
    }

    // Unreachable provider.
    let (_, server, mut client) = {
        let fake = FakeLlm::start().await;
        let dead = "http://127.0.0.1:9/v1".to_string();
        drop(fake);
        let server = TestServer::start_with(&["--llm-base-url", &dead, "--llm-model", "m"]);
        let client = Client::connect(&server, server.admin_token.as_deref().unwrap()).await;
        ((), server, client)
    };
    let (events, _) = ask(&mut client, QUESTION).await;
    assert!(failed(&events)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("could not be reached"));
    drop(server);
}

#[tokio::test]
async fn deleting_the_thread_mid_stream_cancels_the_run() {
    let (fake, _server, mut client) = setup().await;
    let slow = match streamed(
        "SELECT COUNT(*) AS orders FROM sales_summary WHERE 1 = 1",
        4,
    ) {
        Reply::Stream { pieces, .. } => Reply::Stream {
            pieces,
            pause: std::time::Duration::from_millis(50),
        },
        other => other,
    };
    fake.script([slow]);
    let reply = client
        .ok("/threads/post", json!({"prompt": QUESTION}))
        .await;
    let id = reply["payload"]["id"].as_str().unwrap().to_string();
    client
        .take(|e| e["event"] == "generatingSql" && e["payload"]["progress"] == "inProgress")
        .await;
    client.ok("/threads/delete", json!({"id": [id]})).await;
    // The run stops: no further model calls, and the deleted thread stays deleted.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        fake.requests().len(),
        1,
        "no narrative calls after the deletion"
    );
    client
        .fails("/threads/get", json!({"id": id}), "NOT_FOUND")
        .await;
}

#[tokio::test]
async fn when_the_planner_can_plan_it_writes_the_sql_and_the_model_words_the_answer() {
    let (fake, _server, mut client) = setup().await;
    fake.script(words());
    let (events, state) = ask(&mut client, "how many orders in 2023").await;
    let generated = completed(&events, "generatingSql");
    assert_eq!(
        generated["payload"]["engine"], "built-in",
        "the step says who wrote the SQL"
    );
    assert!(generated["payload"]["sql"]
        .as_str()
        .unwrap()
        .contains("COUNT(DISTINCT order_id)"));
    assert_eq!(
        completed(&events, "generatingMetricTitle")["payload"]["metric_title"],
        "Number of Orders"
    );
    assert_eq!(
        completed(&events, "generatingDataSummary")["payload"]["data_summary"],
        "There are 4,000 orders in all."
    );
    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        4,
        "no model call for the SQL, four for the words"
    );
    // The model is handed the figures of the whole result, computed by SQL, to state.
    let prompt = requests[3].body.to_string();
    assert!(
        prompt.contains("Figures computed over the whole result")
            && prompt.contains("There were 1,472 orders in 2023."),
        "{prompt}"
    );
    // The plan is kept, so follow-ups still build on it.
    assert_eq!(
        state["payload"][0]["messages"][0]["title"],
        "Number of Orders"
    );
}

#[tokio::test]
async fn the_model_settles_an_ambiguous_dataset_choice() {
    let (fake, server, mut client) = setup().await;
    let csv = server.dir.parent().unwrap().join("weather.csv");
    std::fs::write(&csv, "city,temperature\nOslo,4.5\nLima,19.0\n").unwrap();
    server.cli(&["dataset", "add", "weather", "--csv", csv.to_str().unwrap()]);

    // Neither dataset's words are in the question: the built-in scores tie, the model picks.
    let mut script = vec![
        streamed("2", 1),
        streamed("SELECT COUNT(*) AS cities FROM weather", 6),
    ];
    script.extend(words());
    fake.script(script);
    let (events, _) = ask(&mut client, QUESTION).await;
    let chosen = completed(&events, "identifyingDataset");
    assert_eq!(chosen["payload"]["dataset"]["name"], "weather");
    assert_eq!(chosen["payload"]["chosen_by"], "model");
    let asked = fake.requests()[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        asked.contains("1. Sales Dataset") && asked.contains("2. weather"),
        "{asked}"
    );
    assert_eq!(
        completed(&events, "fetchingData")["payload"]["data"],
        json!([{"cities": 2}])
    );

    // A question whose words point at one dataset needs no model for the choice.
    fake.script(words());
    let (events, _) = ask(&mut client, "average temperature by city").await;
    let chosen = completed(&events, "identifyingDataset");
    assert_eq!(chosen["payload"]["dataset"]["name"], "weather");
    assert_eq!(chosen["payload"]["chosen_by"], "built-in");
}

#[tokio::test]
async fn a_question_with_words_the_planner_cannot_place_goes_to_the_model() {
    let (fake, _server, mut client) = setup().await;
    // The planner reads "sales by region" but not "weekend": the model writes the SQL instead.
    let mut script = vec![streamed(
        "SELECT region, SUM(total_sales_amount) AS sales FROM sales_summary \
         WHERE strftime('%w', order_date) IN ('0', '6') GROUP BY region ORDER BY region",
        9,
    )];
    script.extend(words());
    fake.script(script);
    let (events, _) = ask(&mut client, "sales by region on weekend days").await;
    let generated = completed(&events, "generatingSql");
    assert_eq!(generated["payload"]["engine"], "model test-model");
    assert!(generated["payload"]["sql"]
        .as_str()
        .unwrap()
        .contains("strftime('%w'"));
    let rows = completed(&events, "fetchingData")["payload"]["data"].clone();
    assert_eq!(
        rows.as_array().unwrap().len(),
        5,
        "the model's SQL ran: {rows}"
    );
    assert!(rows[0]["sales"].as_f64().unwrap() > 0.0);
}
