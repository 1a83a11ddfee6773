//! Skein as the backend of a Slack AI app, against a fake Slack Web API on loopback: signed
//! events only, questions answered in the Slack thread while the status follows the analyst,
//! the same thread live over WebSocket and found by search, retries handled once (also across
//! a restart), echoes ignored, and an acknowledged event handled after `kill -9`.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;
#[path = "common/fake_slack.rs"]
mod fake_slack;

use common::searching::{has_thread, search_until};
use common::{Client, TestServer};
use fake_slack::{FakeSlack, BOT_USER};
use serde_json::{json, Value};

const SECRET: &str = "test-signing-secret";

fn slack_args(fake: &FakeSlack) -> Vec<String> {
    [
        "--slack-signing-secret",
        SECRET,
        "--slack-bot-token",
        "xoxb-test",
        "--slack-api-base-url",
        &fake.base_url,
    ]
    .map(String::from)
    .to_vec()
}

async fn slack_server(fake: &FakeSlack, extra: &[&str]) -> TestServer {
    let args = slack_args(fake);
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    let server = TestServer::start_with(&all);
    server.cli(&["slack", "link", "--team", "T1", "--org", "Local"]);
    fake.wait_for("auth.test", 1).await;
    server
}

/// Posts `body` to `/slack/events`, signed as Slack would `skew` seconds from now.
async fn deliver_at(server: &TestServer, body: &Value, skew: i64) -> (u16, Value) {
    let raw = body.to_string();
    let timestamp = (chrono::Utc::now().timestamp() + skew).to_string();
    let signature = skein::slack::signature::sign(SECRET, &timestamp, raw.as_bytes());
    let response = reqwest::Client::new()
        .post(format!("http://{}/slack/events", server.addr))
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn deliver(server: &TestServer, body: &Value) {
    let (status, reply) = deliver_at(server, body, 0).await;
    assert_eq!(status, 200, "{reply}");
}

/// Waits until the latest `setStatus` cleared the status.
async fn status_cleared(fake: &FakeSlack) {
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while fake
        .calls_of("assistant.threads.setStatus")
        .last()
        .map(|s| s["status"].clone())
        != Some(json!(""))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the status was never cleared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn envelope(event_id: &str, event: Value) -> Value {
    json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
           "event_time": 1_800_000_000, "event": event})
}

fn started(channel: &str, ts: &str) -> Value {
    json!({"type": "assistant_thread_started", "event_ts": ts,
           "assistant_thread": {"user_id": "U1", "channel_id": channel, "thread_ts": ts,
                                "context": {"channel_id": "C9", "team_id": "T1"}}})
}

fn question(channel: &str, thread_ts: &str, ts: &str, text: &str) -> Value {
    json!({"type": "message", "user": "U1", "text": text, "ts": ts, "thread_ts": thread_ts,
           "channel": channel, "channel_type": "im", "event_ts": ts})
}

#[tokio::test]
async fn only_signed_requests_are_taken() {
    let fake = FakeSlack::start().await;
    let server = slack_server(&fake, &[]).await;
    let challenge = json!({"type": "url_verification", "token": "t", "challenge": "3eZbrw1aBm2"});
    let (status, reply) = deliver_at(&server, &challenge, 0).await;
    assert_eq!((status, reply), (200, json!({"challenge": "3eZbrw1aBm2"})));

    let event = envelope("EvBad", question("D1", "1700.1", "1700.2", "total revenue"));
    for skew in [-301, 301] {
        assert_eq!(
            deliver_at(&server, &event, skew).await.0,
            401,
            "skew {skew}"
        );
    }
    // A body changed after signing.
    let raw = event.to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = skein::slack::signature::sign(SECRET, &timestamp, raw.as_bytes());
    let tampered = raw.replace("total revenue", "total refunds");
    let http = reqwest::Client::new();
    let url = format!("http://{}/slack/events", server.addr);
    let sent = http
        .post(&url)
        .header("x-slack-request-timestamp", &timestamp)
        .header("x-slack-signature", &signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 401);
    let unsigned = http.post(&url).body(raw).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    // Rate-limit notices and events of a workspace not linked to an org are acknowledged, and
    // change nothing.
    let limited = json!({"token": "t", "type": "app_rate_limited", "team_id": "T1",
                         "minute_rate_limited": 1_800_000_000, "api_app_id": "A1"});
    assert_eq!(deliver_at(&server, &limited, 0).await.0, 200);
    let mut elsewhere = envelope("EvT9", question("D9", "1700.1", "1700.2", "total revenue"));
    elsewhere["team_id"] = json!("T9");
    assert_eq!(deliver_at(&server, &elsewhere, 0).await.0, 200);
    // Nothing was handled: Slack heard nothing beyond the start-up auth.test.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !server.log().contains("not linked") {
        assert!(
            std::time::Instant::now() < deadline,
            "the unlinked team's event was not seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
    let log = server.log();
    assert!(log.contains("not linked"), "{log}");
    // The secrets appear in no log and no help text.
    assert!(!log.contains(SECRET) && !log.contains("xoxb-test"), "{log}");
    let help = std::process::Command::new(common::binary())
        .args(["serve", "--help"])
        .env("SKEIN_SLACK_SIGNING_SECRET", SECRET)
        .env("SKEIN_SLACK_BOT_TOKEN", "xoxb-test")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--slack-signing-secret"), "{help}");
    assert!(
        !help.contains(SECRET) && !help.contains("xoxb-test"),
        "{help}"
    );
    // Without a Slack configuration the endpoint does not exist.
    let plain = TestServer::start();
    let status = http
        .post(format!("http://{}/slack/events", plain.addr))
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_question_asked_in_slack_is_answered_there_and_is_a_skein_thread() {
    let fake = FakeSlack::start().await;
    let mut server = slack_server(&fake, &[]).await;
    let admin = server.admin_token.clone().unwrap();
    let mut watcher = Client::connect(&server, &admin).await;
    watcher.ok("/threads/list", json!({})).await;

    deliver(&server, &envelope("Ev1", started("D1", "1700.1"))).await;
    let greeting = fake.wait_for("chat.postMessage", 1).await;
    assert_eq!(greeting[0]["channel"], "D1");
    assert_eq!(greeting[0]["thread_ts"], "1700.1");
    let prompts = fake
        .wait_for("assistant.threads.setSuggestedPrompts", 1)
        .await;
    let prompts = prompts[0]["prompts"].as_array().unwrap();
    assert!((1..=4).contains(&prompts.len()), "{prompts:?}");
    assert!(
        prompts[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("What is the"),
        "{prompts:?}"
    );

    // A watcher of the Slack thread in Skein sees the question and the analyst's steps live.
    let listed = watcher.expect("/threads/list", "updateThreadsList").await;
    let thread_id = listed["payload"][0]["id"].as_str().unwrap().to_string();
    let mut thread_watcher = Client::connect(&server, &admin).await;
    thread_watcher
        .ok("/threads/get", json!({"id": thread_id}))
        .await;
    // Slack's context changes are kept with the thread.
    let mut context = started("D1", "1700.1");
    context["type"] = json!("assistant_thread_context_changed");
    context["assistant_thread"]["context"]["channel_id"] = json!("C42");
    deliver(&server, &envelope("EvCtx", context)).await;

    let asked = envelope(
        "Ev2",
        question("D1", "1700.1", "1700.2", "total revenue by region"),
    );
    deliver(&server, &asked).await;
    thread_watcher
        .take(|m| m.to_string().contains("total revenue by region"))
        .await;
    thread_watcher
        .take(|m| m["event"] == "fetchingData" || m.to_string().contains("fetchingData"))
        .await;
    fake.wait_for("chat.stopStream", 1).await;
    // Streamed into the thread: the steps as task updates, then the summary, the SQL and rows,
    // every call on the stream naming the ts Slack gave it.
    let streams = fake.streams();
    let stream = &streams[0];
    assert_eq!(stream.thread_ts, "1700.1");
    assert!(
        !stream.used.is_empty() && stream.used.iter().all(|ts| *ts == stream.ts),
        "{:?}",
        stream.used
    );
    assert!(stream.stopped);
    let steps: Vec<&str> = stream
        .tasks
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"fetchingData"), "{steps:?}");
    assert!(stream.tasks.iter().any(|t| t["status"] == "complete"));
    let text = &stream.text;
    assert!(
        text.contains("```") && text.to_lowercase().contains("select"),
        "{text}"
    );
    assert!(text.contains("| region"), "a table of the rows: {text}");
    assert_eq!(
        fake.calls_of("chat.postMessage").len(),
        1,
        "only the greeting is posted whole"
    );
    let title = fake.wait_for("assistant.threads.setTitle", 1).await;
    assert_eq!(title[0]["thread_ts"], "1700.1");

    // The call sequence: the status follows the steps, is cleared after the answer, then the
    // title is set.
    let methods: Vec<String> = fake.calls().into_iter().map(|(m, _)| m).collect();
    let answer_at = methods.iter().position(|m| m == "chat.stopStream").unwrap();
    let statuses = fake.calls_of("assistant.threads.setStatus");
    assert!(statuses.len() >= 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| s["thread_ts"] == "1700.1"));
    assert!(statuses[..statuses.len() - 1]
        .iter()
        .all(|s| s["status"] == "is thinking…"));
    assert_eq!(statuses.last().unwrap()["status"], "");
    assert_eq!(methods[answer_at + 1], "assistant.threads.setStatus");
    assert_eq!(methods[answer_at + 2], "assistant.threads.setTitle");

    // One Skein thread, owned by the Slack user (named from users.info), live and searchable.
    search_until(&mut watcher, "revenue region", |r| {
        has_thread(r, &thread_id)
    })
    .await;
    let state = watcher.ok("/threads/get", json!({"id": thread_id})).await;
    let thread = &state["payload"][0];
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
    assert_eq!(thread["messages"][0]["sent_by_name"], "Slack Person");
    let langgraph: Value = reqwest::Client::new()
        .get(format!("http://{}/threads/{thread_id}", server.addr))
        .header("x-api-key", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        langgraph["metadata"]["slack_context"]["channel_id"], "C42",
        "{langgraph}"
    );
    assert_eq!(
        langgraph["metadata"]["slack"]["thread_ts"], "1700.1",
        "{langgraph}"
    );

    // Echoes of the bot's own messages, other subtypes and retries change nothing.
    let calls = fake.calls().len();
    let mut echo = question("D1", "1700.1", "1700.3", "an answer");
    echo["bot_id"] = json!("BBOT");
    deliver(&server, &envelope("Ev3", echo)).await;
    let mut own = question("D1", "1700.1", "1700.4", "also ours");
    own["user"] = json!(BOT_USER);
    deliver(&server, &envelope("Ev4", own)).await;
    let mut joined = question("D1", "1700.1", "1700.5", "joined");
    joined["subtype"] = json!("channel_join");
    deliver(&server, &envelope("Ev5", joined)).await;
    deliver(&server, &asked).await;
    // Slack renames the thread: our title follows.
    let renamed = json!({"type": "message", "subtype": "message_changed", "channel": "D1",
        "channel_type": "im", "hidden": true, "ts": "1700.9", "event_ts": "1700.9",
        "message": {"subtype": "assistant_app_thread", "type": "message", "thread_ts": "1700.1",
                    "ts": "1700.1", "assistant_app_thread": {"title": "Revenue chat"}}});
    deliver(&server, &envelope("Ev6", renamed)).await;
    let retitled = watcher
        .take(|m| m["event"] == "updateThreadsList" && m["payload"][0]["title"] == "Revenue chat")
        .await;
    assert_eq!(retitled["payload"][0]["id"], thread_id);
    assert_eq!(fake.calls().len(), calls, "{:?}", &fake.calls()[calls..]);

    // A retry after a restart is still caught.
    assert!(server.stop());
    server.restart();
    fake.wait_for("auth.test", 2).await;
    deliver(&server, &asked).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(fake.streams().len(), 1);
}

#[tokio::test]
async fn acknowledged_at_once_and_handled_after_kill_9() {
    let fake = FakeSlack::start().await;
    let llm = fake_llm::FakeLlm::start().await;
    llm.script(std::iter::repeat_n(fake_llm::Reply::Stall, 5));
    let mut server = slack_server(&fake, &llm.server_args("600")).await;
    // The analyst hands this question to the model, which never answers: Slack still gets
    // its acknowledgement, and the status says the analyst is working.
    let asked = envelope(
        "Ev1",
        question("D2", "1700.1", "1700.2", "what is the meaning of life"),
    );
    deliver(&server, &asked).await;
    while llm.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(fake.calls_of("chat.postMessage").is_empty());
    assert!(!fake.calls_of("assistant.threads.setStatus").is_empty());
    // Another conversation goes ahead meanwhile (its query runs; the model writes its words):
    // one slow answer holds up no one else.
    let other = envelope(
        "EvOther",
        question("D5", "1700.1", "1700.2", "total revenue by region"),
    );
    deliver(&server, &other).await;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !fake.calls().iter().any(|(method, body)| {
        method == "chat.appendStream"
            && body["channel"] == "D5"
            && body.to_string().contains("fetchingData")
            && body.to_string().contains("complete")
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the other conversation waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Killed before it answered; after the restart (without the model) the event is handled
    // again: the analyst says what it cannot answer, and the status is cleared.
    server.kill9();
    let args = slack_args(&fake);
    server.reconfigure(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    server.restart();
    fake.wait_for("chat.stopStream", 2).await;
    // Both conversations are answered after the restart. The streams the killed server started
    // were never stopped (Slack expires them); the new ones were.
    let streams = fake.streams();
    assert_eq!(streams.iter().filter(|s| s.stopped).count(), 2);
    assert!(streams
        .iter()
        .filter(|s| s.stopped)
        .all(|s| s.thread_ts == "1700.1" && !s.text.is_empty()));
    status_cleared(&fake).await;
}

#[tokio::test]
async fn slack_refusals_and_rate_limits_are_survived() {
    let fake = FakeSlack::start().await;
    let server = slack_server(&fake, &[]).await;
    // Slack is busy at first (429 with Retry-After) and refuses the suggested prompts.
    fake.script("chat.postMessage", [fake_slack::Scripted::RateLimited(1)]);
    fake.script(
        "assistant.threads.setSuggestedPrompts",
        [fake_slack::Scripted::Json(
            json!({"ok": false, "error": "invalid_thread_ts"}),
        )],
    );
    deliver(&server, &envelope("Ev1", started("D3", "1700.1"))).await;
    let posted = fake.wait_for("chat.postMessage", 2).await;
    assert_eq!(
        posted[0], posted[1],
        "the greeting is sent again after Retry-After"
    );
    fake.wait_for("assistant.threads.setSuggestedPrompts", 1)
        .await;

    // A stream that broke off (expired) is rewritten whole with chat.update on its ts.
    fake.script(
        "chat.appendStream",
        [fake_slack::Scripted::Json(
            json!({"ok": false, "error": "message_not_in_streaming_state"}),
        )],
    );
    deliver(
        &server,
        &envelope(
            "Ev2",
            question("D3", "1700.1", "1700.2", "total revenue by region"),
        ),
    )
    .await;
    let updated = fake.wait_for("chat.update", 1).await;
    assert_eq!(updated[0]["ts"], fake.streams()[0].ts.as_str());
    let whole = updated[0]["markdown_text"].as_str().unwrap();
    assert!(
        whole.contains("```") && whole.contains("| region"),
        "{whole}"
    );
    assert!(fake.calls_of("chat.stopStream").is_empty());

    // Where Slack will not stream at all, the answer is posted whole.
    fake.script(
        "chat.startStream",
        [fake_slack::Scripted::Json(
            json!({"ok": false, "error": "channel_type_not_supported"}),
        )],
    );
    deliver(
        &server,
        &envelope(
            "Ev3",
            question("D3", "1700.1", "1700.3", "average revenue by region"),
        ),
    )
    .await;
    let posted = fake.wait_for("chat.postMessage", 3).await;
    let whole = posted[2]["markdown_text"].as_str().unwrap();
    assert!(whole.contains("```"), "{whole}");
    assert_eq!(posted[2]["thread_ts"], "1700.1");
    status_cleared(&fake).await;
    // Slack's refusals are logged with the method.
    let log = server.log();
    assert!(
        log.contains("invalid_thread_ts") && log.contains("setSuggestedPrompts"),
        "{log}"
    );
}
