//! The analyst's step stream through the real server: steps in order, chunks that add up to
//! the completed fields, `send_back_to_user` where seed 000 shows it, and everything persisted
//! as the watchers saw it.

mod common;

use common::answers::ask;
use common::{Client, TestServer};
use serde_json::{json, Value};

const STEPS: [&str; 8] = [
    "identifyingDataset",
    "identifyingTerms",
    "generatingSql",
    "fetchingData",
    "generatingDataExplanation",
    "generatingTimeFrame",
    "generatingMetricTitle",
    "generatingDataSummary",
];

#[tokio::test]
async fn steps_stream_in_order_chunks_add_up_and_everything_is_persisted() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &token).await;
    let answer = ask(&mut client, "total sales by month in 2024", None).await;

    // Order of events: each step starts in progress and completes before the next begins.
    let mut order: Vec<&str> = Vec::new();
    for event in &answer.events {
        let name = event["event"].as_str().unwrap();
        if order.last() != Some(&name) {
            order.push(name);
        }
    }
    let mut expected = vec!["initializeThread", "joinedThread"];
    expected.extend(STEPS);
    assert_eq!(order, expected);
    for step in STEPS {
        let progress: Vec<&str> = answer
            .events
            .iter()
            .filter(|e| e["event"] == step)
            .map(|e| e["payload"]["progress"].as_str().unwrap())
            .collect();
        assert_eq!(progress.last(), Some(&"completed"), "{step}");
        assert!(
            progress[..progress.len() - 1]
                .iter()
                .all(|p| *p == "inProgress"),
            "{step}: {progress:?}"
        );
        assert!(
            progress.len() >= 2,
            "{step} reports progress before completing"
        );
    }
    // Every step event names its thread and message.
    let message_id = answer.message()["id"].clone();
    for event in answer
        .events
        .iter()
        .filter(|e| STEPS.contains(&e["event"].as_str().unwrap()))
    {
        assert_eq!(event["payload"]["message_id"], message_id);
        assert_eq!(event["payload"]["thread_id"], answer.thread_id());
    }

    // Chunks concatenate to the final field.
    for (step, field) in [
        ("generatingSql", "sql"),
        ("generatingDataExplanation", "data_explanation"),
        ("generatingTimeFrame", "time_frame"),
        ("generatingMetricTitle", "metric_title"),
        ("generatingDataSummary", "data_summary"),
    ] {
        let chunk_field = format!("{field}_chunk");
        let chunks: String = answer
            .events
            .iter()
            .filter(|e| e["event"] == step && e["payload"]["progress"] == "inProgress")
            .filter_map(|e| e["payload"][&chunk_field].as_str())
            .collect();
        let last = answer.step(step, "completed").unwrap();
        assert!(!chunks.is_empty(), "{step} streamed no chunks");
        assert_eq!(chunks, last["payload"][field].as_str().unwrap(), "{step}");
        assert!(
            last["payload"][&chunk_field].is_null() || last["payload"].get(&chunk_field).is_none()
        );
    }
    let sql = answer.step("generatingSql", "completed").unwrap()["payload"]["sql"].clone();
    let title = answer.step("generatingMetricTitle", "completed").unwrap()["payload"]
        ["metric_title"]
        .clone();
    let summary = answer.step("generatingDataSummary", "completed").unwrap()["payload"]
        ["data_summary"]
        .clone();
    let explanation = answer
        .step("generatingDataExplanation", "completed")
        .unwrap()["payload"]["data_explanation"]
        .clone();
    assert_eq!(title, "Total Sales by Month");
    assert_eq!(
        answer.step("generatingTimeFrame", "completed").unwrap()["payload"]["time_frame"],
        "2024"
    );
    let metadata = &answer.step("fetchingData", "completed").unwrap()["payload"]["data_metadata"];
    assert_eq!(metadata["column_count"], 2);
    assert_eq!(metadata["row_count"], 12);
    assert_eq!(
        metadata["column_metadata"][1],
        json!({"name": "total_sales", "type": "float8"})
    );
    assert_eq!(metadata["row_cap"], 1000);

    // Persisted: a fresh connection reads the same answer, steps included.
    let id = answer.thread_id();
    let mut other = Client::connect(&server, &token).await;
    let state = other.ok("/threads/get", json!({"id": id})).await;
    let thread = &state["payload"][0];
    assert_eq!(
        thread["title"], "Total Sales by Month",
        "the untitled thread took the metric title"
    );
    let message = &thread["messages"][0];
    assert_eq!(message["code"], sql);
    assert_eq!(message["title"], title);
    assert_eq!(message["time_frame"], "2024");
    assert_eq!(
        message["responses"]["messages"],
        json!([summary, explanation])
    );
    assert_eq!(message["data_metadata"], *metadata);
    assert_eq!(message["chart_config"]["type"], "line");
    assert_eq!(message["chart_recommendations"]["recommended"], "line");
    assert!(message["dataset_id"].is_string());
    let steps = message["context"]["steps"].as_array().unwrap();
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(names, STEPS);
    assert_eq!(steps[2]["generatingSql"]["sql"], sql);
    assert!(steps[2]["generatingSql"]["sqlChunk"].is_null());
    assert_eq!(steps[2]["generatingSql"]["progress"], "completed");
    assert_eq!(steps[2]["generatingSql"]["threadId"], id.as_str());
    // The state carries a preview of the rows; `/threads/data` pages through all of them.
    let preview = steps[3]["fetchingData"]["data"].as_array().unwrap();
    assert_eq!(preview.len(), 10);
    assert_eq!(steps[3]["fetchingData"]["dataComplete"], false);
    let streamed = answer.step("fetchingData", "completed").unwrap()["payload"]["data"].clone();
    assert_eq!(preview[..], streamed.as_array().unwrap()[..10]);
    let message_id = message["id"].clone();
    let page = other
        .ok(
            "/threads/data",
            json!({"message_id": message_id, "offset": 8, "limit": 3}),
        )
        .await;
    assert_eq!(page["event"], "getThreadData");
    assert_eq!(page["payload"]["total"], 12);
    assert_eq!(page["payload"]["thread_id"], id.as_str());
    assert_eq!(
        page["payload"]["rows"],
        json!(streamed.as_array().unwrap()[8..11])
    );
    let all = other
        .ok("/threads/data", json!({"message_id": message_id}))
        .await;
    assert_eq!(all["payload"]["rows"], streamed);
    other
        .fails(
            "/threads/data",
            json!({"message_id": message_id, "limit": 0}),
            "BAD_REQUEST",
        )
        .await;
    other
        .fails(
            "/threads/data",
            json!({"message_id": message_id, "limit": 1001}),
            "BAD_REQUEST",
        )
        .await;
    // Someone the thread is not shared with learns nothing, not even that the message exists.
    let stranger = server.add_user("Stranger", "stranger@example.com");
    let mut stranger = Client::connect(&server, &stranger.token).await;
    let hidden = stranger
        .fails(
            "/threads/data",
            json!({"message_id": message_id}),
            "NOT_FOUND",
        )
        .await;
    assert_eq!(
        hidden,
        format!("Message with ID {} not found", message_id.as_str().unwrap())
    );
    let nobody = uuid::Uuid::new_v4();
    let missing = stranger
        .fails("/threads/data", json!({"message_id": nobody}), "NOT_FOUND")
        .await;
    assert_eq!(missing, format!("Message with ID {nobody} not found"));
    assert_eq!(
        steps[0]["identifyingDataset"]["dataset"]["name"],
        "Sales Dataset"
    );
}

#[tokio::test]
async fn generated_output_is_marked_send_back_to_user_as_the_seed_shows() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &token).await;
    let answer = ask(&mut client, "total sales by region", None).await;
    let steps: Vec<_> = answer
        .events
        .iter()
        .filter(|e| STEPS.contains(&e["event"].as_str().unwrap_or_default()))
        .collect();
    assert!(!steps.is_empty());
    for event in steps {
        let generating = event["event"].as_str().unwrap().starts_with("generating");
        // Beside sent_by, on every generating* event and on nothing else.
        assert_eq!(
            event["send_back_to_user"] == json!(true),
            generating,
            "{event}"
        );
        assert!(event["sent_by"]["id"].is_string(), "{event}");
    }
    assert!(answer.state.get("send_back_to_user").is_none());

    // The answer to /threads/update is marked too (seed 000's updateThreadState example).
    let id = answer.thread_id();
    let reply = client
        .ok("/threads/update", json!({"id": id, "title": "Regions"}))
        .await;
    assert_eq!(reply["send_back_to_user"], true, "{reply}");
}

/// Seed 000's `updateThreadState` carries `context: null`: watchers have a message's steps from
/// the state they were sent before, so an update sends the steps of what it changed only.
#[tokio::test]
async fn updates_carry_the_steps_of_changed_messages_only() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let mut asker = Client::connect(&server, &token).await;
    let first = ask(&mut asker, "total sales by month in 2024", None).await;
    let id = first.thread_id();
    let mut watcher = Client::connect(&server, &token).await;
    let state = watcher.ok("/threads/get", json!({"id": id})).await;
    assert!(state["payload"][0]["messages"][0]["context"]["steps"].is_array());

    // A follow-up: the final update has the new answer's steps, not the first one's.
    ask(&mut asker, "now only for the West region", Some(&id)).await;
    let update = watcher
        .take(|m| m["event"] == "updateThreadState" && m["route"] == "/threads/post")
        .await;
    let messages = update["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages[0]["context"].is_null(), "{}", messages[0]);
    assert!(messages[1]["context"]["steps"].as_array().unwrap().len() >= 8);
    assert_eq!(
        messages[0]["data_metadata"]["row_count"], 12,
        "the rest is all there"
    );

    // A rename touches no message; feedback touches one. The renamer watches the thread
    // too, so its own reply has the watchers' shape.
    let reply = asker
        .ok("/threads/update", json!({"id": id, "title": "Sales"}))
        .await;
    let renamed = watcher
        .take(|m| m["event"] == "updateThreadState" && m["payload"][0]["title"] == "Sales")
        .await;
    for update in [&renamed, &reply] {
        for message in update["payload"][0]["messages"].as_array().unwrap() {
            assert!(message["context"].is_null(), "{message}");
        }
    }
    // One new to the thread gets its whole state, the latest message's steps included.
    let mut newcomer = Client::connect(&server, &token).await;
    let reply = newcomer
        .ok(
            "/threads/update",
            json!({"id": id, "title": "Sales by region"}),
        )
        .await;
    let messages = reply["payload"][0]["messages"].as_array().unwrap();
    assert!(messages[0]["context"].is_null(), "{}", messages[0]);
    assert!(
        messages[1]["context"]["steps"].is_array(),
        "{}",
        messages[1]
    );
    let second = messages[1]["id"].clone();
    asker
        .ok(
            "/threads/update",
            json!({"id": id, "message_id": second, "feedback": "positive"}),
        )
        .await;
    let liked = watcher
        .take(|m| {
            m["event"] == "updateThreadState"
                && m["payload"][0]["messages"][1]["feedback"] == "positive"
        })
        .await;
    let messages = liked["payload"][0]["messages"].as_array().unwrap();
    assert!(messages[0]["context"].is_null());
    assert!(messages[1]["context"]["steps"].is_array());

    // Asked afresh, the state has the latest message's steps.
    let state = watcher.ok("/threads/get", json!({"id": id})).await;
    let messages = state["payload"][0]["messages"].as_array().unwrap();
    assert!(messages[0]["context"].is_null(), "{}", messages[0]);
    assert!(messages[1]["context"]["steps"].is_array());
}

/// A thread state carries the steps of its latest message and of any answer that failed (they
/// say why); a finished answer's steps repeat its own fields, so they come from
/// `/threads/message`, which only those who may see the thread can read.
#[tokio::test]
async fn a_thread_state_leaves_out_the_steps_of_finished_answers() {
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let mut asker = Client::connect(&server, &token).await;
    let refused = ask(&mut asker, "what is the meaning of life", None).await;
    let id = refused.thread_id();
    ask(&mut asker, "total sales by month in 2024", Some(&id)).await;
    ask(&mut asker, "now only for the West region", Some(&id)).await;
    let state = asker.ok("/threads/get", json!({"id": id})).await;
    let messages = state["payload"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    let refusal = messages[0]["context"]["steps"].as_array().unwrap();
    assert_eq!(
        refusal.last().unwrap()["generatingSql"]["progress"],
        "failed"
    );
    assert!(messages[1]["context"].is_null(), "{}", messages[1]);
    assert_eq!(messages[1]["data_metadata"]["row_count"], 12);
    assert!(messages[2]["context"]["steps"].is_array());

    let full = asker
        .ok("/threads/message", json!({"message_id": messages[1]["id"]}))
        .await;
    assert_eq!(full["event"], "getMessage");
    let steps = full["payload"]["context"]["steps"].as_array().unwrap();
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(names, STEPS);
    assert_eq!(steps[2]["generatingSql"]["sql"], messages[1]["code"]);
    // Each step says how long it took ("how this was computed").
    for step in steps {
        let body = step.as_object().unwrap().values().next().unwrap();
        assert!(
            body["elapsedMs"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{step}"
        );
    }
    let mut rest = full["payload"].clone();
    rest["context"] = Value::Null;
    assert_eq!(rest, messages[1], "the same message, steps added");

    let stranger = server.add_user("Stranger", "stranger@example.com");
    let mut stranger = Client::connect(&server, &stranger.token).await;
    let hidden = stranger
        .fails(
            "/threads/message",
            json!({"message_id": messages[1]["id"]}),
            "NOT_FOUND",
        )
        .await;
    let nobody = uuid::Uuid::new_v4();
    let missing = stranger
        .fails(
            "/threads/message",
            json!({"message_id": nobody}),
            "NOT_FOUND",
        )
        .await;
    assert_eq!(
        hidden.replace(messages[1]["id"].as_str().unwrap(), ""),
        missing.replace(&nobody.to_string(), ""),
        "a hidden message answers like a missing one"
    );
    asker
        .fails(
            "/threads/message",
            json!({"id": messages[1]["id"]}),
            "BAD_REQUEST",
        )
        .await;
}
