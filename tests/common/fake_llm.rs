//! A fake OpenAI-compatible server on loopback: real HTTP/1.1 and real `text/event-stream`
//! framing, written piece by piece so chunks can split anywhere, with scripted replies.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted reply.
#[derive(Clone)]
pub enum Reply {
    /// 200 with these raw body pieces, written with a pause between them.
    Stream {
        pieces: Vec<Vec<u8>>,
        pause: Duration,
    },
    /// An error status with headers and a body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Headers, then nothing at all.
    Stall,
}

/// An SSE stream that sends `text` as content deltas, cut into `piece` bytes at a time, so that
/// events, JSON and even UTF-8 sequences are split at awkward places.
pub fn streamed(text: &str, piece: usize) -> Reply {
    let mut body = Vec::new();
    for token in text.split_inclusive(' ') {
        let event = serde_json::json!({"choices": [{"delta": {"content": token}}]});
        body.extend_from_slice(format!("data: {event}\n\n").as_bytes());
    }
    // What OpenAI sends last when asked for usage (`stream_options.include_usage`).
    let words = text.split_inclusive(' ').count();
    let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": words}});
    body.extend_from_slice(format!("data: {usage}\n\n").as_bytes());
    body.extend_from_slice(b"data: [DONE]\n\n");
    Reply::Stream {
        pieces: body.chunks(piece.max(1)).map(|c| c.to_vec()).collect(),
        pause: Duration::from_millis(1),
    }
}

/// Raw SSE text as the body (for malformed streams).
pub fn raw(text: &str) -> Reply {
    Reply::Stream {
        pieces: vec![text.as_bytes().to_vec()],
        pause: Duration::ZERO,
    }
}

pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
    Reply::Status {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: format!("{{\"error\": {{\"message\": \"scripted {status}\"}}}}"),
    }
}

/// A request the fake received: its head (request line and headers) and body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub head: String,
    pub body: serde_json::Value,
}

pub struct FakeLlm {
    pub base_url: String,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeLlm {
    /// The `serve` flags that make a server use this model, waiting at most `first_token_secs`
    /// for its first token.
    pub fn server_args<'a>(&'a self, first_token_secs: &'a str) -> [&'a str; 6] {
        [
            "--llm-base-url",
            &self.base_url,
            "--llm-model",
            "m",
            "--llm-first-token-timeout-secs",
            first_token_secs,
        ]
    }

    pub async fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (queue, log) = (replies.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (queue, log) = (queue.clone(), log.clone());
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    log.lock().unwrap().push(Seen { head, body });
                    let reply = queue
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or_else(|| status(500, &[]));
                    write_reply(&mut socket, reply).await;
                });
            }
        });
        FakeLlm {
            base_url,
            replies,
            seen,
        }
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.replies.lock().unwrap().extend(replies);
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(String, serde_json::Value)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        let body = serde_json::from_slice(&buffer[end + 4..end + 4 + length]).unwrap_or_default();
        return Some((head, body));
    }
}

async fn write_reply(socket: &mut tokio::net::TcpStream, reply: Reply) {
    match reply {
        Reply::Stream { pieces, pause } => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for piece in pieces {
                if socket.write_all(&piece).await.is_err() || socket.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        }
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        }
        Reply::Stall => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    let _ = socket.shutdown().await;
}
