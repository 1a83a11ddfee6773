//! A fake Slack Web API on loopback: records every call (method and JSON body) and answers as
//! Slack would, or as scripted (`ok: false` errors, 429 with `Retry-After`).

use crate::fake_llm::read_request;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// The bot's user id `auth.test` answers.
pub const BOT_USER: &str = "UBOT";

pub enum Scripted {
    /// This JSON with status 200.
    Json(Value),
    /// 429 with `Retry-After: secs`.
    RateLimited(u64),
}

/// One streamed answer: where it went, the `ts` Slack gave it and the `ts` each later call
/// named, its text and its step updates.
pub struct Stream {
    pub thread_ts: String,
    pub ts: String,
    pub used: Vec<String>,
    pub text: String,
    pub tasks: Vec<Value>,
    pub stopped: bool,
}

#[derive(Clone, Default)]
pub struct FakeSlack {
    pub base_url: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    answers: Arc<Mutex<Vec<Value>>>,
    /// Makes each message's ts unique.
    next_ts: Arc<std::sync::atomic::AtomicU64>,
    scripted: Arc<Mutex<HashMap<String, VecDeque<Scripted>>>>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeSlack {
            base_url: format!("http://{}/api", listener.local_addr().unwrap()),
            ..FakeSlack::default()
        };
        let serving = fake.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let fake = serving.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let method = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|path| path.strip_prefix("/api/"))
                        .unwrap_or_default()
                        .to_string();
                    let scripted = fake
                        .scripted
                        .lock()
                        .unwrap()
                        .get_mut(&method)
                        .and_then(VecDeque::pop_front);
                    let (status, extra, answer) = match scripted {
                        Some(Scripted::RateLimited(secs)) => (
                            "429 Too Many Requests",
                            format!("retry-after: {secs}\r\n"),
                            json!({"ok": false, "error": "ratelimited"}),
                        ),
                        Some(Scripted::Json(answer)) => ("200 OK", String::new(), answer),
                        None => ("200 OK", String::new(), fake.answer(&method, &body)),
                    };
                    {
                        // One lock order for both, so calls and answers stay paired.
                        let mut calls = fake.calls.lock().unwrap();
                        calls.push((method, body));
                        fake.answers.lock().unwrap().push(answer.clone());
                    }
                    let text = answer.to_string();
                    let reply = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        fake
    }

    /// What Slack answers when nothing is scripted.
    fn answer(&self, method: &str, body: &Value) -> Value {
        let n = self
            .next_ts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match method {
            "auth.test" => {
                json!({"ok": true, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1"})
            }
            "users.info" => {
                json!({"ok": true, "user": {"id": body["user"], "real_name": "Slack Person"}})
            }
            "chat.postMessage" | "chat.startStream" => {
                json!({"ok": true, "channel": body["channel"],
                "ts": format!("1800000000.{n:06}"), "message": {"text": body["markdown_text"]}})
            }
            "chat.appendStream" | "chat.stopStream" | "chat.update" => {
                json!({"ok": true, "channel": body["channel"], "ts": body["ts"]})
            }
            _ => json!({"ok": true}),
        }
    }

    /// Answers the next calls of `method` with these instead.
    pub fn script(&self, method: &str, answers: impl IntoIterator<Item = Scripted>) {
        self.scripted
            .lock()
            .unwrap()
            .entry(method.to_string())
            .or_default()
            .extend(answers);
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// The bodies of the calls of `method` so far.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(m, _)| m == method)
            .map(|(_, body)| body)
            .collect()
    }

    /// The answers streamed so far, in the order they started.
    pub fn streams(&self) -> Vec<Stream> {
        let mut streams: Vec<Stream> = Vec::new();
        let answers = self.answers.lock().unwrap().clone();
        for ((method, body), answer) in self.calls().into_iter().zip(answers) {
            let chunks = body["chunks"].as_array().cloned().unwrap_or_default();
            let text: String = chunks
                .iter()
                .filter(|c| c["type"] == "markdown_text")
                .filter_map(|c| c["text"].as_str())
                .collect();
            let tasks = chunks.into_iter().filter(|c| c["type"] == "task_update");
            match method.as_str() {
                "chat.startStream" => streams.push(Stream {
                    thread_ts: body["thread_ts"].as_str().unwrap_or_default().into(),
                    ts: answer["ts"].as_str().unwrap_or_default().into(),
                    used: Vec::new(),
                    text,
                    tasks: tasks.collect(),
                    stopped: false,
                }),
                "chat.appendStream" | "chat.stopStream" => {
                    // The stream Slack gave this ts, or (a wrong ts) the latest one.
                    let ts = body["ts"].as_str().unwrap_or_default();
                    let at = streams.iter().position(|s| s.ts == ts);
                    let at = at.unwrap_or(streams.len().saturating_sub(1));
                    let stream = streams.get_mut(at).expect("a started stream");
                    stream.used.push(ts.into());
                    stream.text.push_str(&text);
                    stream.tasks.extend(tasks);
                    stream.stopped |= method == "chat.stopStream";
                }
                _ => {}
            }
        }
        streams
    }

    /// Waits until `method` was called `count` times (within the tests' patience).
    pub async fn wait_for(&self, method: &str, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + crate::common::PATIENCE;
        loop {
            let calls = self.calls_of(method);
            if calls.len() >= count {
                return calls;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{method} was called {} times, not {count}: {:?}",
                calls.len(),
                self.calls()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
