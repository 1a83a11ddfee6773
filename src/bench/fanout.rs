//! `skein bench fanout`: event deliveries per second from one thread to many watchers,
//! next to an anchor run the same way in the same command: a trivial broadcast server on its
//! own runtime (the same text encoded once, handed to every socket's writer task,
//! tokio-tungstenite like Skein), paced by its publisher's acknowledgements as Skein's is by
//! its renames', with the same clients.
//!
//! In Skein, one connection renames the thread `events` times; each rename reaches every
//! watcher as an `updateThreadState`. The clock runs from the first rename until every
//! watcher has every event.

use super::server::{micros_text, start_server};
use super::{client, trivial_server};
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
    let (skein_rate, frame_bytes, cpu_per_delivery) =
        skein(watchers, events, server_binary).await?;
    let (anchor_rate, anchor_cpu) = anchor(watchers, events, frame_bytes).await?;
    let ratio = skein_rate / anchor_rate;
    if as_json {
        return Ok(json!({
            "watchers": watchers,
            "events": events,
            "frame_bytes": frame_bytes,
            "deliveries_per_second": skein_rate,
            "server_cpu_us_per_delivery": cpu_per_delivery,
            "anchor_deliveries_per_second": anchor_rate,
            "anchor_cpu_us_per_delivery": anchor_cpu,
            "ratio": ratio,
        })
        .to_string());
    }
    let (cpu, anchor_cpu) = (micros_text(cpu_per_delivery, 1), micros_text(anchor_cpu, 1));
    Ok(format!(
        "1 thread × {watchers} watchers, {events} events of {frame_bytes} bytes\n\
         skein            {skein_rate:>10.0} deliveries/s ({cpu} µs of server CPU each)\n\
         trivial server   {anchor_rate:>10.0} deliveries/s ({anchor_cpu} µs of server CPU each)\n\
         ratio            {ratio:>10.2}"
    ))
}

/// A watcher: counts frames containing `marker` until it has `events` of them; returns the size
/// of the last one.
fn watch(
    mut socket: client::Socket,
    marker: &'static str,
    events: usize,
) -> tokio::task::JoinHandle<Result<usize, String>> {
    tokio::spawn(async move {
        let (mut seen, mut bytes) = (0, 0);
        while seen < events {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if text.contains(marker) => {
                    seen += 1;
                    bytes = text.len();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed before every event arrived".into()),
            }
        }
        Ok(bytes)
    })
}

/// Skein's deliveries per second, the size of one delivered frame, and the server's CPU time
/// per delivery (µs).
async fn skein(
    watchers: usize,
    events: usize,
    server_binary: Option<&Path>,
) -> Result<(f64, usize, Option<f64>), String> {
    let server = start_server(server_binary)?;
    let url = server.ws_url();
    let mut publisher = client::connect(&url).await?;
    let (thread, _) = client::ask(&mut publisher, "how many orders in 2023", &Value::Null).await?;
    let mut handles = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let mut socket = client::connect(&url).await?;
        let get = json!({"route": "/threads/get", "data": {"id": thread}, "request_id": "get"});
        client::send(&mut socket, &get).await?;
        while client::next_event(&mut socket).await?["event"] != "getThreadState" {}
        handles.push(watch(socket, "\"updateThreadState\"", events));
    }
    let started = Instant::now();
    let cpu_before = server.cpu_seconds();
    for n in 0..events {
        let rename = json!({"route": "/threads/update", "data": {"id": thread, "title": format!("title {n}")}, "request_id": n});
        client::send(&mut publisher, &rename).await?;
        while client::next_event(&mut publisher).await?["request_id"] != json!(n) {}
    }
    // The anchor's frames are as large as the renames' updates the watchers got.
    let mut frame_bytes = 0;
    for handle in handles {
        frame_bytes = handle.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed();
    let deliveries = watchers * events;
    let cpu_per_delivery = server.cpu_micros_per(cpu_before, deliveries);
    Ok((
        deliveries as f64 / elapsed.as_secs_f64(),
        frame_bytes,
        cpu_per_delivery,
    ))
}

/// The anchor, run like Skein: a trivial broadcast server on its own runtime (see
/// `trivial_server`) with the same clients. The first connection publishes: for each of its
/// messages the server hands one pre-encoded frame of `frame_bytes` to every other socket's
/// writer task, then acknowledges, and the publisher waits for that before the next event, as
/// Skein's waits for each rename's answer. Deliveries per second and the server's CPU time per
/// delivery (µs).
async fn anchor(
    watchers: usize,
    events: usize,
    frame_bytes: usize,
) -> Result<(f64, Option<f64>), String> {
    let (url, running) = trivial_server::start(|listener| broadcast_server(listener, frame_bytes))?;

    let mut publisher = client::connect(&url).await?;
    let mut handles = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let socket = client::connect(&url).await?;
        handles.push(watch(socket, "\"updateThreadState\"", events));
    }
    // Every watcher is registered once the server has answered a first "ready?".
    publisher
        .send(Message::text(format!("ready {watchers}")))
        .await
        .map_err(|e| e.to_string())?;
    next_text(&mut publisher).await?;
    let started = Instant::now();
    let cpu_before = running.cpu_seconds();
    for n in 0..events {
        publisher
            .send(Message::text(n.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        next_text(&mut publisher).await?;
    }
    for handle in handles {
        handle.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    let deliveries = watchers * events;
    let cpu = running.cpu_micros_per(cpu_before, deliveries);
    Ok((deliveries as f64 / elapsed.as_secs_f64(), cpu))
}

async fn next_text(socket: &mut client::Socket) -> Result<(), String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(_))) => return Ok(()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the anchor server closed".into()),
        }
    }
}

/// The anchor's server: accepts WebSockets; the first one publishes (see [`anchor`]).
async fn broadcast_server(listener: std::net::TcpListener, frame_bytes: usize) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    // A frame like Skein's: the same event name, padded to the same size, encoded once.
    let head = r#"{"event":"updateThreadState","payload":""#;
    let padding = "x".repeat(frame_bytes.saturating_sub(head.len() + 2));
    let frame = Utf8Bytes::from(format!("{head}{padding}\"}}"));
    let watchers: std::sync::Arc<std::sync::Mutex<Vec<mpsc::Sender<Utf8Bytes>>>> =
        Default::default();
    let mut publisher_taken = false;
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
            continue;
        };
        let (mut sink, mut source) = socket.split();
        let (queue, mut outbound) = mpsc::channel::<Utf8Bytes>(1024);
        tokio::spawn(async move {
            while let Some(text) = outbound.recv().await {
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
        });
        if publisher_taken {
            watchers.lock().unwrap().push(queue);
            continue;
        }
        publisher_taken = true;
        let (watchers, frame) = (watchers.clone(), frame.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = source.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if let Some(count) = text.strip_prefix("ready ") {
                    let count: usize = count.parse().unwrap_or(0);
                    while watchers.lock().unwrap().len() < count {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                } else {
                    let queues = watchers.lock().unwrap().clone();
                    for watcher in &queues {
                        let _ = watcher.send(frame.clone()).await;
                    }
                }
                if queue.send(Utf8Bytes::from_static("ack")).await.is_err() {
                    return;
                }
            }
        });
    }
}
