//! `kill -9` in the middle of concurrent WebSocket and REST writers, several rounds: every
//! write the server acknowledged is there after the restarts, and search finds each
//! acknowledged message (the index catches up from the store's change log).

mod common;

use common::searching::{has_thread, search_until};
use common::{Client, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const ROUNDS: usize = 3;
const WS_WRITERS: usize = 3;
const REST_WRITERS: usize = 3;

/// An acknowledged write: the thread, and the word only its message contains.
#[derive(Debug, Clone)]
struct Acked {
    thread_id: String,
    marker: String,
}

type Log = Arc<Mutex<Vec<Acked>>>;

/// A word the analyzer keeps whole and no other message has.
fn marker(round: usize, face: &str, writer: usize, n: usize) -> String {
    format!("zq{face}{round}w{writer}n{n}")
}

/// Posts new threads over one WebSocket until the connection dies.
async fn ws_writer(server: String, token: String, round: usize, writer: usize, log: Log) {
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{server}/ws"
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(request).await else {
        return;
    };
    for n in 0.. {
        let marker = marker(round, "ws", writer, n);
        let request_id = format!("w{n}");
        let frame = json!({"route": "/threads/post", "request_id": request_id,
            "data": {"prompt": format!("crash note {marker}"), "thread_id": null}});
        if ws.send(Message::text(frame.to_string())).await.is_err() {
            return;
        }
        let reply = loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["request_id"] == request_id.as_str() {
                        break message;
                    }
                }
                Some(Ok(_)) => continue,
                _ => return,
            }
        };
        if let (true, Some(id)) = (reply["error"].is_null(), reply["payload"]["id"].as_str()) {
            log.lock().unwrap().push(Acked {
                thread_id: id.to_string(),
                marker,
            });
        }
    }
}

/// Creates threads and writes a message into each over REST until the server is gone.
async fn rest_writer(server: String, token: String, round: usize, writer: usize, log: Log) {
    let http = reqwest::Client::new();
    for n in 0.. {
        let created = http
            .post(format!("http://{server}/threads"))
            .header("x-api-key", &token)
            .json(&json!({"metadata": {"writer": writer}}))
            .send()
            .await;
        let Ok(created) = created else { return };
        let Ok(thread) = created.json::<Value>().await else {
            return;
        };
        let Some(id) = thread["thread_id"].as_str() else {
            continue;
        };
        let marker = marker(round, "rest", writer, n);
        let written = http
            .post(format!("http://{server}/threads/{id}/state"))
            .header("x-api-key", &token)
            .json(&json!({"values": {"messages": [
                {"type": "human", "content": format!("crash note {marker}")}]}}))
            .send()
            .await;
        match written {
            Ok(response) if response.status().is_success() => log.lock().unwrap().push(Acked {
                thread_id: id.to_string(),
                marker,
            }),
            Ok(_) => continue,
            Err(_) => return,
        }
    }
}

#[tokio::test]
async fn kill_9_under_concurrent_writers_loses_nothing_acknowledged() {
    let mut server = TestServer::start();
    let bob = server.add_user("Bob", "bob@example.com");
    let log: Log = Default::default();

    for round in 0..ROUNDS {
        let before = log.lock().unwrap().len();
        let mut writers = Vec::new();
        for writer in 0..WS_WRITERS {
            writers.push(tokio::spawn(ws_writer(
                server.addr.clone(),
                bob.token.clone(),
                round,
                writer,
                log.clone(),
            )));
        }
        for writer in 0..REST_WRITERS {
            writers.push(tokio::spawn(rest_writer(
                server.addr.clone(),
                bob.token.clone(),
                round,
                writer,
                log.clone(),
            )));
        }
        // Let the writers get going (and vary the moment of the kill between rounds).
        let deadline = std::time::Instant::now() + common::PATIENCE;
        while log.lock().unwrap().len() < before + 150 {
            assert!(
                std::time::Instant::now() < deadline,
                "writers made no progress"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100 * round as u64)).await;
        server.kill9();
        for writer in writers {
            writer.await.unwrap();
        }
        server.restart();
    }

    let acked = log.lock().unwrap().clone();
    let api = reqwest::Client::new();
    let mut client = Client::connect(&server, &bob.token).await;
    for write in &acked {
        // The stored message, read back over REST …
        let state: Value = api
            .get(format!(
                "http://{}/threads/{}/state",
                server.addr, write.thread_id
            ))
            .header("x-api-key", &bob.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            state["values"]["messages"]
                .to_string()
                .contains(&write.marker),
            "acknowledged {write:?} lost: {state}"
        );
        // … and found by search.
        search_until(&mut client, &write.marker, |r| {
            has_thread(r, &write.thread_id)
        })
        .await;
    }
    eprintln!(
        "{} acknowledged writes over {ROUNDS} kill -9 rounds, none lost",
        acked.len()
    );
}
