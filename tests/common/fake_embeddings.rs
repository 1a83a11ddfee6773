//! A fake OpenAI-compatible embeddings server on loopback (`POST /v1/embeddings`): real HTTP,
//! deterministic word-hash vectors, every request recorded, and a switch to make it fail or
//! hold requests until released.
#![allow(dead_code)]

use crate::fake_llm::{read_request, Seen};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Dimensions of the fake's vectors.
pub const DIM: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Answer with vectors.
    Serve,
    /// Answer every request with this HTTP status.
    Fail(u16),
    /// Keep requests waiting until the mode changes.
    Hold,
}

pub struct FakeEmbeddings {
    pub base_url: String,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeEmbeddings {
    pub async fn start(mode: Mode) -> FakeEmbeddings {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(mode));
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (current, log) = (mode.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (current, log) = (current.clone(), log.clone());
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(Seen {
                        head: head.clone(),
                        body: body.clone(),
                    });
                    let mode = loop {
                        let mode = *current.lock().unwrap();
                        if mode != Mode::Hold {
                            break mode;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    };
                    let (status, reply) = match mode {
                        Mode::Fail(status) => {
                            (status, json!({"error": {"message": "scripted failure"}}))
                        }
                        _ if !head.starts_with("POST /v1/embeddings ") => {
                            (404, json!({"error": {"message": "not found"}}))
                        }
                        _ => (200, embeddings(&body)),
                    };
                    let body = reply.to_string();
                    let head = format!("HTTP/1.1 {status} Fake\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        FakeEmbeddings {
            base_url,
            mode,
            seen,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Every text the server was asked to embed, in order.
    pub fn inputs(&self) -> Vec<String> {
        self.requests()
            .iter()
            .flat_map(|seen| {
                seen.body["input"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|text| text.as_str().unwrap_or_default().to_string())
            })
            .collect()
    }
}

/// The answer to an embeddings request: one vector per input, listed in reverse order (clients
/// must go by `index`).
fn embeddings(body: &Value) -> Value {
    let inputs: Vec<&str> = body["input"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": vector(text)}))
        .collect();
    json!({"object": "list", "data": data, "model": body["model"]})
}

/// Words hashed into [`DIM`] buckets, and the word's first four letters into others, so a
/// misspelled word still lands near its correct spelling.
pub fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        v[bucket(word)] += 1.0;
        let prefix: String = word.chars().take(4).collect();
        v[bucket(&format!("prefix:{prefix}"))] += 1.0;
    }
    v
}

fn bucket(feature: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in feature.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h as usize % DIM
}
