//! One threads core under every interface, through the real binary: the same refusal gets the
//! same machine code over WebSocket and REST, no client sees Debug text, the analyst's runs are
//! bounded (RATE_LIMITED) and owned by the server (interrupted, not lost, when it stops), and
//! a connection keeps answering pings while its request runs and answers a close in kind.

mod common;
#[path = "common/fake_llm.rs"]
mod fake_llm;

use common::{create_thread, share, Client, TestServer, TestUser};
use fake_llm::{FakeLlm, Reply};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// The built-in planner cannot plan this, so the model gets it (and the fake stalls).
const MODEL_QUESTION: &str = "what is the meaning of life";

struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    fn new(server: &TestServer) -> Rest {
        Rest {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.addr),
        }
    }

    /// Sends a request as `token` (none if empty); returns the status and the JSON body.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        common::json_reply(request).await
    }
}

/// The machine code of a WebSocket reply's error.
fn ws_code(reply: &Value) -> &str {
    reply["error"]["error_code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn the_same_refusal_has_the_same_machine_code_over_websocket_and_rest() {
    use reqwest::Method;
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let editor = server.add_user("Eve", "eve@example.com");
    let viewer = server.add_user("Vic", "vic@example.com");
    let stranger_org = "Elsewhere";
    server.cli(&["org", "add", stranger_org]);
    let stranger = server.add_user_with("Sam", "sam@example.com", &["--org", stranger_org]);
    let mut owner = Client::connect(&server, &admin).await;
    let thread = create_thread(&mut owner, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    share(&mut owner, &id, &editor, "editor").await;
    share(&mut owner, &id, &viewer, "viewer").await;
    let before = owner.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    let rest = Rest::new(&server);
    let path = format!("/threads/{id}");

    // A viewer changing the thread.
    let mut ws = Client::connect(&server, &viewer.token).await;
    let reply = ws
        .request("/threads/update", json!({"id": id, "title": "mine now"}))
        .await;
    let (status, body) = rest
        .call(
            Method::PATCH,
            &path,
            &viewer.token,
            Some(json!({"metadata": {"a": 1}})),
        )
        .await;
    assert_eq!(ws_code(&reply), "thread_read_only", "{reply}");
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("thread_read_only"))
    );

    // An editor deleting it.
    let mut ws = Client::connect(&server, &editor.token).await;
    let reply = ws.request("/threads/delete", json!({"id": [id]})).await;
    let (status, body) = rest.call(Method::DELETE, &path, &editor.token, None).await;
    assert_eq!(ws_code(&reply), "not_thread_manager", "{reply}");
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_thread_manager"))
    );

    // Someone of another org reading it: not found, exactly as for a thread that does not exist.
    let mut ws = Client::connect(&server, &stranger.token).await;
    let reply = ws.request("/threads/get", json!({"id": id})).await;
    let (status, body) = rest.call(Method::GET, &path, &stranger.token, None).await;
    assert_eq!(ws_code(&reply), "thread_not_found", "{reply}");
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("thread_not_found"))
    );
    assert_eq!(body["detail"], format!("Thread with ID {id} not found"));

    // An empty prompt: trimmed and refused by the one prompt rule on both interfaces.
    let mut ws = Client::connect(&server, &editor.token).await;
    let reply = ws
        .request("/threads/post", json!({"prompt": "  \n ", "thread_id": id}))
        .await;
    let state_write = json!({"values": {"messages": [{"type": "human", "content": "  \n "}]}});
    let (status, body) = rest
        .call(
            Method::POST,
            &format!("{path}/state"),
            &editor.token,
            Some(state_write),
        )
        .await;
    assert_eq!(ws_code(&reply), "invalid_prompt", "{reply}");
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_prompt"))
    );

    // No token at all, on the socket's upgrade and on REST.
    let (ws_status, ws_body) = rest.call(Method::GET, "/ws", "", None).await;
    let (status, body) = rest.call(Method::GET, &path, "", None).await;
    assert_eq!(
        (ws_status, ws_body["code"].as_str()),
        (401, Some("missing_token"))
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("missing_token"))
    );

    // None of it changed anything.
    owner.barrier().await;
    let after = owner.ok("/threads/get", json!({"id": id})).await["payload"].clone();
    assert_eq!(before, after);
}

/// Marks of Rust's Debug formatting that must never reach a client.
fn looks_like_debug(text: &str) -> bool {
    [
        "Rejection",
        "Some(",
        "None",
        "Err(",
        "Ok(",
        " { ",
        "Error {",
        "\\\"",
    ]
    .iter()
    .any(|mark| text.contains(mark))
}

#[tokio::test]
async fn no_client_sees_debug_text_and_every_error_has_a_code() {
    use reqwest::Method;
    let server = TestServer::start();
    let token = server.admin_token.clone().unwrap();
    let rest = Rest::new(&server);
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);

    let mut bodies = Vec::new();
    for (method, path, body) in [
        (Method::GET, "/threads/not-a-uuid", None),
        (Method::PUT, "/threads", None),
        (Method::POST, "/threads", Some(json!({"metadata": 7}))),
        (
            Method::POST,
            "/threads/search",
            Some(json!({"limit": "ten"})),
        ),
        (Method::POST, "/threads/prune", Some(json!({}))),
        (Method::GET, "/no/such/path", None),
        (Method::GET, "/assets/missing.js", None),
        (Method::DELETE, "/healthz", None),
    ] {
        let (status, reply) = rest.call(method.clone(), path, &token, body).await;
        assert!(status >= 400, "{method} {path}: {status}");
        bodies.push((format!("{method} {path}"), reply));
    }
    for (what, request) in [
        (
            "unreadable JSON",
            http.post(format!("{base}/threads"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{\"metadata\": "),
        ),
        (
            "plain GET on the socket",
            http.get(format!("{base}/ws?token={token}")),
        ),
        ("bad query", http.get(format!("{base}/ws?token=%ZZ"))),
    ] {
        let response = request.send().await.unwrap();
        assert!(response.status().as_u16() >= 400, "{what}");
        bodies.push((
            what.to_string(),
            response.json().await.unwrap_or(Value::Null),
        ));
    }
    for (what, body) in &bodies {
        let detail = body["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert!(!looks_like_debug(detail), "{what}: {detail}");
        assert!(
            body["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{what}: {body}"
        );
    }

    let mut client = Client::connect(&server, &token).await;
    for frame in [
        "not json",
        "[1, 2]",
        r#"{"route": 7}"#,
        r#"{"route": "/threads/nope", "data": {}}"#,
        r#"{"route": "/threads/get", "data": {"id": "x"}}"#,
        r#"{"route": "/threads/post", "data": {"prompt": 5}}"#,
        r#"{"route": "/threads/update", "data": {"id": "00000000-0000-0000-0000-000000000000", "status": "maybe"}}"#,
    ] {
        client.send_text(frame).await;
        let reply = client.next().await;
        let message = reply["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{frame}: {reply}"));
        assert!(!looks_like_debug(message), "{frame}: {message}");
        assert!(
            reply["error"]["error_code"].as_str().is_some(),
            "{frame}: {reply}"
        );
    }
}

/// A server whose model never answers, so analyses of [`MODEL_QUESTION`] keep running.
async fn stalled_model_server(extra: &[&str]) -> (FakeLlm, TestServer) {
    let fake = FakeLlm::start().await;
    fake.script(std::iter::repeat_n(Reply::Stall, 20));
    let mut args = fake.server_args("600").to_vec();
    args.extend_from_slice(extra);
    let server = TestServer::start_with(&args);
    (fake, server)
}

/// Waits until the fake model has been asked `n` times.
async fn model_asked(fake: &FakeLlm, n: usize) {
    while fake.requests().len() < n {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn analyses_past_the_bound_are_refused_rate_limited_and_change_nothing() {
    let (fake, server) =
        stalled_model_server(&["--max-analyses-per-user", "1", "--max-analyses", "2"]).await;
    let admin = server.admin_token.clone().unwrap();
    let other: TestUser = server.add_user("Ola", "ola@example.com");
    let third: TestUser = server.add_user("Tim", "tim@example.com");
    let mut first = Client::connect(&server, &admin).await;
    let reply = first
        .ok("/threads/post", json!({"prompt": MODEL_QUESTION}))
        .await;
    let id = reply["payload"]["id"].clone();
    model_asked(&fake, 1).await;

    // The same user again, on the same thread: over their own bound.
    let refused = first
        .request(
            "/threads/post",
            json!({"prompt": "and again", "thread_id": id}),
        )
        .await;
    assert_eq!(refused["error"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(ws_code(&refused), "rate_limited");
    let state = first.ok("/threads/get", json!({"id": id})).await;
    assert_eq!(state["payload"][0]["messages"].as_array().unwrap().len(), 1);

    // Another user fits in the total; a third does not.
    let mut second = Client::connect(&server, &other.token).await;
    second
        .ok("/threads/post", json!({"prompt": MODEL_QUESTION}))
        .await;
    model_asked(&fake, 2).await;
    let mut late = Client::connect(&server, &third.token).await;
    let refused = late
        .request("/threads/post", json!({"prompt": MODEL_QUESTION}))
        .await;
    assert_eq!(ws_code(&refused), "rate_limited", "{refused}");
    let list = late.ok("/threads/list", json!({})).await;
    assert_eq!(list["payload"].as_array().unwrap().len(), 0, "{list}");
}

/// Posts [`MODEL_QUESTION`] and waits until the model is working on it; returns the thread id.
async fn start_model_question(fake: &FakeLlm, client: &mut Client) -> Value {
    let reply = client
        .ok("/threads/post", json!({"prompt": MODEL_QUESTION}))
        .await;
    model_asked(fake, 1).await;
    reply["payload"]["id"].clone()
}

/// The thread's only message, read back after a restart, says its analysis was interrupted.
async fn assert_stored_as_interrupted(server: &TestServer, token: &str, id: &Value) {
    let mut client = Client::connect(server, token).await;
    let state = client.ok("/threads/get", json!({"id": id})).await;
    let answer = &state["payload"][0]["messages"][0]["responses"]["messages"][0];
    assert!(answer.as_str().unwrap().contains("interrupted"), "{state}");
}

#[tokio::test]
async fn sigterm_interrupts_a_running_analysis_and_the_message_says_so() {
    let (fake, mut server) = stalled_model_server(&[]).await;
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let id = start_model_question(&fake, &mut client).await;

    assert!(server.stop(), "the server exits cleanly on SIGTERM");
    // Before its socket closed, the watcher was told the run was interrupted.
    let told = client
        .take(|m| m["event"] == "updateThreadState" && m["payload"][0]["id"] == id)
        .await;
    let told = &told["payload"][0]["messages"][0]["responses"]["messages"][0];
    assert!(told.as_str().unwrap().contains("interrupted"), "{told}");

    server.restart();
    assert_stored_as_interrupted(&server, &admin, &id).await;
}

#[tokio::test]
async fn a_killed_server_marks_the_cut_off_analysis_interrupted_at_the_next_start() {
    let (fake, mut server) = stalled_model_server(&[]).await;
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let id = start_model_question(&fake, &mut client).await;
    server.kill9();
    server.restart();
    assert_stored_as_interrupted(&server, &admin, &id).await;
}

#[tokio::test]
async fn a_connection_answers_pings_while_a_slow_query_runs() {
    // A query time limit far beyond the slow query's time on a slow machine (SQLite built
    // without optimization, in a debug build, on a loaded CI runner took over 10 s).
    let server = TestServer::start_with(&[
        "--max-requests-per-connection",
        "1",
        "--query-timeout-secs",
        "300",
    ]);
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let thread = create_thread(&mut client, "total sales by region").await;
    let id = thread["id"].as_str().unwrap().to_string();
    // A second or more of SQLite work, well inside the query time limit.
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) \
                SELECT count(*) AS n FROM c";
    let update = json!({"route": "/threads/update", "request_id": "slow",
                        "data": {"id": id, "code": slow}});
    client.send_text(update.to_string()).await;
    // While it runs, a ping is answered...
    client
        .ws
        .send(Message::Ping(b"still there?".to_vec().into()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let frame = client.ws.next().await.unwrap().unwrap();
        match frame {
            Message::Pong(payload) => {
                assert_eq!(&payload[..], b"still there?");
                seen.push("pong".to_string());
                // ... one more request waits in the queue (its bound is 1), the next is
                // refused at once.
                for name in ["queued", "refused"] {
                    let frame = json!({"route": "/users/me", "request_id": name, "data": {}});
                    client.send_text(frame.to_string()).await;
                }
            }
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if let Some(name) = message["request_id"].as_str() {
                    seen.push(format!("{name}:{}", ws_code(&message)));
                }
            }
            _ => {}
        }
        if seen.iter().any(|s| s.starts_with("queued")) {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "pong",
            "refused:rate_limited",
            "slow:<none>",
            "queued:<none>"
        ],
        "answers in order, the slow one not blocking the pong"
    );
}

/// The server writes its own control frames (see `src/outbox.rs`): a client's close is
/// answered with a close echoing its code (RFC 6455 §5.5.1), after which the socket ends.
#[tokio::test]
async fn a_clients_close_is_answered_with_its_code() {
    let server = TestServer::start();
    let admin = server.admin_token.clone().unwrap();
    let mut client = Client::connect(&server, &admin).await;
    let close = CloseFrame {
        code: CloseCode::from(4000),
        reason: "done for today".into(),
    };
    client.ws.send(Message::Close(Some(close))).await.unwrap();
    let answer = loop {
        match client.ws.next().await {
            Some(Ok(Message::Close(answer))) => break answer,
            Some(Ok(_)) => continue,
            other => panic!("no close answered: {other:?}"),
        }
    };
    assert_eq!(answer.map(|close| u16::from(close.code)), Some(4000));
    assert!(
        client.ws.next().await.is_none(),
        "the socket ends after the close"
    );
}

#[tokio::test]
async fn the_cli_exits_with_the_documented_status_for_each_kind_of_error() {
    let mut server = TestServer::start();
    server.add_user("Ann", "ann@example.com");
    let status = |server: &TestServer, args: &[&str]| {
        let out = common::run_cli(&server.dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!looks_like_debug(&stderr), "{args:?}: {stderr}");
        out.status.code()
    };
    // Through the running server's admin socket.
    let bad_email = ["user", "add", "--name", "B", "--email", "not-an-email"];
    let unknown = ["user", "token", "--email", "nobody@example.com"];
    let taken = ["user", "add", "--name", "A", "--email", "ann@example.com"];
    assert_eq!(status(&server, &bad_email), Some(2), "invalid request");
    assert_eq!(status(&server, &unknown), Some(3), "not found");
    assert_eq!(status(&server, &taken), Some(4), "conflict");
    // A server holds the data dir but its admin socket is gone: unreachable. (On PostgreSQL
    // the command works on the shared database directly.)
    std::fs::remove_file(server.dir.join("admin.sock")).unwrap();
    let held = if common::on_postgres() { 0 } else { 5 };
    assert_eq!(
        status(&server, &["user", "list"]),
        Some(held),
        "unreachable"
    );
    // And on the data dir directly, with no server running.
    assert!(server.stop());
    assert_eq!(status(&server, &unknown), Some(3), "not found, offline");
    assert_eq!(status(&server, &taken), Some(4), "conflict, offline");
    if !common::on_postgres() {
        // (On PostgreSQL the data is in the database, not the data dir.)
        let nowhere = common::run_cli(&server.dir.join("missing"), &["user", "list"]);
        assert_eq!(nowhere.status.code(), Some(3), "no data dir");
    }
}
