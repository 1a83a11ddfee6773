//! `skein bench fanout`: event deliveries per second from one thread to many watchers,
//! next to an anchor run the same way in the same command: a trivial broadcast server (the
//! same text encoded once, handed to every socket's writer task, tokio-tungstenite like
//! Skein) with the same clients.
//!
//! In Skein, one connection renames the thread `events` times; each rename reaches every
//! watcher as an `updateThreadState`. The clock runs from the first rename until every
//! watcher has every event.

use super::client;
use super::server::start_server;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

pub async fn fanout(
    watchers: usize,
    events: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    crate::listener::raise_open_files_limit();
    let (skein_rate, frame_bytes) = skein(watchers, events, server_binary).await?;
    let anchor_rate = anchor(watchers, events, frame_bytes).await?;
    let ratio = skein_rate / anchor_rate;
    if as_json {
        return Ok(json!({
            "watchers": watchers,
            "events": events,
            "frame_bytes": frame_bytes,
            "deliveries_per_second": skein_rate,
            "anchor_deliveries_per_second": anchor_rate,
            "ratio": ratio,
        })
        .to_string());
    }
    Ok(format!(
        "1 thread × {watchers} watchers, {events} events of {frame_bytes} bytes\n\
         skein            {skein_rate:>10.0} deliveries/s\n\
         trivial server   {anchor_rate:>10.0} deliveries/s\n\
         ratio            {ratio:>10.2}"
    ))
}

/// A watcher: counts frames containing `marker` until it has `events` of them.
fn watch(
    mut socket: client::Socket,
    marker: &'static str,
    events: usize,
) -> tokio::task::JoinHandle<Result<(), String>> {
    tokio::spawn(async move {
        let mut seen = 0;
        while seen < events {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if text.contains(marker) => seen += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed before every event arrived".into()),
            }
        }
        Ok(())
    })
}

/// Skein's deliveries per second, and the size of one delivered frame.
async fn skein(
    watchers: usize,
    events: usize,
    server_binary: Option<&Path>,
) -> Result<(f64, usize), String> {
    let server = start_server(server_binary)?;
    let url = format!("ws://{}/ws?token={}", server.addr, server.token);
    let mut publisher = client::connect(&url).await?;
    let (thread, frame_bytes) =
        client::ask(&mut publisher, "how many orders in 2023", &Value::Null).await?;
    let mut handles = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let mut socket = client::connect(&url).await?;
        let get = json!({"route": "/threads/get", "data": {"id": thread}, "request_id": "get"});
        client::send(&mut socket, &get).await?;
        while client::next_event(&mut socket).await?["event"] != "getThreadState" {}
        handles.push(watch(socket, "\"updateThreadState\"", events));
    }
    let started = Instant::now();
    for n in 0..events {
        let rename = json!({"route": "/threads/update", "data": {"id": thread, "title": format!("title {n}")}, "request_id": n});
        client::send(&mut publisher, &rename).await?;
        while client::next_event(&mut publisher).await?["request_id"] != json!(n) {}
    }
    for handle in handles {
        handle.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed();
    Ok((
        (watchers * events) as f64 / elapsed.as_secs_f64(),
        frame_bytes,
    ))
}

/// The anchor: an in-process broadcast of `events` frames of `frame_bytes` to `watchers`.
async fn anchor(watchers: usize, events: usize, frame_bytes: usize) -> Result<f64, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("ws://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (ready, mut writers) = mpsc::unbounded_channel::<mpsc::Sender<Utf8Bytes>>();
    let acceptor = tokio::spawn(async move {
        for _ in 0..watchers {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let mut socket = tokio_tungstenite::accept_async(stream)
                .await
                .map_err(std::io::Error::other)?;
            let (queue, mut outbound) = mpsc::channel::<Utf8Bytes>(events.max(1));
            tokio::spawn(async move {
                while let Some(text) = outbound.recv().await {
                    if socket.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
            });
            let _ = ready.send(queue);
        }
        Ok::<(), std::io::Error>(())
    });
    let mut handles = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        handles.push(watch(
            client::connect(&url).await?,
            "\"updateThreadState\"",
            events,
        ));
    }
    acceptor
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let mut queues = Vec::with_capacity(watchers);
    while let Ok(queue) = writers.try_recv() {
        queues.push(queue);
    }
    // A frame like Skein's: the same event name, padded to the same size.
    let head = r#"{"event":"updateThreadState","payload":""#;
    let padding = "x".repeat(frame_bytes.saturating_sub(head.len() + 2));
    let started = Instant::now();
    for _ in 0..events {
        let frame = Utf8Bytes::from(format!("{head}{padding}\"}}"));
        for queue in &queues {
            queue.send(frame.clone()).await.map_err(|e| e.to_string())?;
        }
        // Paced like Skein's publisher, which waits for each write's acknowledgement.
        tokio::task::yield_now().await;
    }
    for handle in handles {
        handle.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    Ok((watchers * events) as f64 / elapsed.as_secs_f64())
}
