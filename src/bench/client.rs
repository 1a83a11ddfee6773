//! The benchmarks' WebSocket client: connect, send a request, read the next event, ask a
//! question and wait for its answer.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(url: &str) -> Result<Socket, String> {
    Ok(tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?
        .0)
}

pub async fn send(socket: &mut Socket, request: &Value) -> Result<(), String> {
    socket
        .send(Message::text(request.to_string()))
        .await
        .map_err(|e| e.to_string())
}

/// The next text frame, as JSON.
pub async fn next_event(socket: &mut Socket) -> Result<Value, String> {
    Ok(next_frame(socket).await?.0)
}

/// The next text frame, as JSON, and its size in bytes.
pub async fn next_frame(socket: &mut Socket) -> Result<(Value, usize), String> {
    let text = next_text(socket).await?;
    let event = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok((event, text.len()))
}

/// The next text frame, unparsed (for a client that must not spend the CPU parsing it).
pub async fn next_text(socket: &mut Socket) -> Result<Utf8Bytes, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the server closed the connection".into()),
        }
    }
}

/// Renames `thread` (request `n`) and waits for the acknowledgement; its size in bytes.
pub async fn rename(socket: &mut Socket, thread: &Value, n: u64) -> Result<usize, String> {
    let rename = json!({"route": "/threads/update",
        "data": {"id": thread, "title": format!("title {n}")}, "request_id": n});
    send(socket, &rename).await?;
    loop {
        let (event, bytes) = next_frame(socket).await?;
        if event["request_id"] == json!(n) {
            if !event["error"].is_null() {
                return Err(format!("a rename failed: {}", event["error"]));
            }
            return Ok(bytes);
        }
    }
}

/// Asks `prompt` in `thread_id` (null: a new thread); once answered, the thread's id and the
/// size in bytes of its final `updateThreadState`.
pub async fn ask(
    socket: &mut Socket,
    prompt: &str,
    thread_id: &Value,
) -> Result<(Value, usize), String> {
    let post =
        json!({"route": "/threads/post", "data": {"prompt": prompt, "thread_id": thread_id}});
    send(socket, &post).await?;
    let mut id = thread_id.clone();
    loop {
        let (event, bytes) = next_frame(socket).await?;
        if !event["error"].is_null() && event["request_id"].is_null() {
            return Err(format!("the question failed: {}", event["error"]));
        }
        match event["event"].as_str() {
            Some("initializeThread") => id = event["payload"]["id"].clone(),
            Some("updateThreadState") if event["route"] == "/threads/post" => {
                return Ok((id, bytes));
            }
            _ => {}
        }
    }
}
