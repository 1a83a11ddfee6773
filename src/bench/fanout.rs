//! `skein bench fanout`: event deliveries per second from one thread to many watchers, next to
//! an anchor run the same way in the same command: a trivial broadcast server (the same text
//! encoded once, handed to every socket's writer task, tokio-tungstenite like Skein), paced by
//! its publisher's acknowledgements as Skein's is by its renames', with the same clients.
//!
//! In Skein, one connection renames the thread; each rename reaches every watcher as an
//! `updateThreadState`. A round's clock runs from its first event until every watcher has
//! every event of the round. The two servers take turns, round after round, with their
//! connections kept open: this machine's speed drifts over tens of seconds (by 1.3× and more),
//! and one long run of each would compare two speeds of the machine as much as two servers.
//! The ratio is the median of the rounds'.

use super::client;
use super::server::{micros_per, micros_text, start_server, Process, Server};
use super::trivial_server::start_anchor;
use crate::config::AnchorKind;
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
    rounds: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    crate::listener::raise_open_files_limit();
    let mut skein = Side::skein(watchers, server_binary).await?;
    // The anchor's frames are as large as the updates Skein's watchers get.
    let first = skein.round(events).await?;
    let mut anchor = Side::anchor(watchers, first.frame_bytes).await?;
    let mut measured = vec![(first, anchor.round(events).await?)];
    while measured.len() < rounds {
        let ours = skein.round(events).await?;
        measured.push((ours, anchor.round(events).await?));
    }
    let mut ratios: Vec<f64> = measured.iter().map(|(s, a)| s.rate() / a.rate()).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let frame_bytes = first.frame_bytes;
    let ours = Round::overall(measured.iter().map(|(s, _)| s));
    let anchors = Round::overall(measured.iter().map(|(_, a)| a));
    if as_json {
        let rounds: Vec<Value> = measured
            .iter()
            .map(|(s, a)| {
                json!({
                    "deliveries_per_second": s.rate(),
                    "server_cpu_us_per_delivery": s.cpu,
                    "anchor_deliveries_per_second": a.rate(),
                    "anchor_cpu_us_per_delivery": a.cpu,
                    "ratio": s.rate() / a.rate(),
                })
            })
            .collect();
        return Ok(json!({
            "watchers": watchers,
            "events": events,
            "frame_bytes": frame_bytes,
            "deliveries_per_second": ours.rate(),
            "server_cpu_us_per_delivery": ours.cpu,
            "anchor_deliveries_per_second": anchors.rate(),
            "anchor_cpu_us_per_delivery": anchors.cpu,
            "ratio": ratio,
            "rounds": rounds,
        })
        .to_string());
    }
    let mut lines = vec![
        format!(
            "1 thread × {watchers} watchers, {} rounds of {events} events of {frame_bytes} bytes, \
             each server in turn",
            measured.len()
        ),
        "round  skein deliveries/s (µs CPU each)  trivial server deliveries/s (µs CPU each)  ratio"
            .to_string(),
    ];
    for (n, (s, a)) in measured.iter().enumerate() {
        lines.push(format!(
            "{:>5}  {:>18.0} ({:>5})             {:>18.0} ({:>5})                   {:>5.2}",
            n + 1,
            s.rate(),
            micros_text(s.cpu, 1),
            a.rate(),
            micros_text(a.cpu, 1),
            s.rate() / a.rate()
        ));
    }
    lines.push(format!("median ratio {ratio:.2}"));
    Ok(lines.join("\n"))
}

/// One round of one server: its deliveries and how long they took, the server's CPU time per
/// delivery (µs), and the size of the last frame a watcher got.
#[derive(Clone, Copy)]
struct Round {
    deliveries: usize,
    seconds: f64,
    cpu: Option<f64>,
    frame_bytes: usize,
}

impl Round {
    /// Deliveries per second.
    fn rate(&self) -> f64 {
        self.deliveries as f64 / self.seconds
    }

    /// All of one server's rounds as one (CPU time per delivery weighted by deliveries).
    fn overall<'a>(rounds: impl Iterator<Item = &'a Round>) -> Round {
        let mut all = Round {
            deliveries: 0,
            seconds: 0.0,
            cpu: Some(0.0),
            frame_bytes: 0,
        };
        for round in rounds {
            all.deliveries += round.deliveries;
            all.seconds += round.seconds;
            all.cpu = all
                .cpu
                .zip(round.cpu)
                .map(|(sum, us)| sum + us * round.deliveries as f64);
            all.frame_bytes = round.frame_bytes;
        }
        all.cpu = all.cpu.map(|sum| sum / all.deliveries.max(1) as f64);
        all
    }
}

/// One server under measurement with its clients: a publisher and the watchers' sockets, kept
/// open from round to round.
struct Side {
    publisher: client::Socket,
    watchers: Vec<client::Socket>,
    target: Target,
    /// Events published so far: the next one's number.
    published: usize,
}

enum Target {
    /// Skein, renaming `thread`.
    Skein { server: Server, thread: Value },
    /// The anchor, sent a number per event.
    Anchor(Process),
}

impl Side {
    /// Starts Skein (this binary, or `server_binary`): a thread asked one question, and
    /// `watchers` sockets that have opened it.
    async fn skein(watchers: usize, server_binary: Option<&Path>) -> Result<Side, String> {
        let server = start_server(server_binary)?;
        let url = server.ws_url();
        let mut publisher = client::connect(&url).await?;
        let (thread, _) =
            client::ask(&mut publisher, "how many orders in 2023", &Value::Null).await?;
        let mut sockets = Vec::with_capacity(watchers);
        for _ in 0..watchers {
            let mut socket = client::connect(&url).await?;
            let get = json!({"route": "/threads/get", "data": {"id": thread}, "request_id": "get"});
            client::send(&mut socket, &get).await?;
            while client::next_event(&mut socket).await?["event"] != "getThreadState" {}
            sockets.push(socket);
        }
        Ok(Side {
            publisher,
            watchers: sockets,
            target: Target::Skein { server, thread },
            published: 0,
        })
    }

    /// Starts the anchor (see [`broadcast_server`]) sending frames of `frame_bytes`: its first
    /// connection publishes, the next `watchers` watch.
    async fn anchor(watchers: usize, frame_bytes: usize) -> Result<Side, String> {
        let (url, anchor) = start_anchor(AnchorKind::Broadcast, frame_bytes, None)?;
        let mut publisher = client::connect(&url).await?;
        let mut sockets = Vec::with_capacity(watchers);
        for _ in 0..watchers {
            sockets.push(client::connect(&url).await?);
        }
        // Every watcher is registered once the server has answered a first "ready?".
        publisher
            .send(Message::text(format!("ready {watchers}")))
            .await
            .map_err(|e| e.to_string())?;
        next_text(&mut publisher).await?;
        Ok(Side {
            publisher,
            watchers: sockets,
            target: Target::Anchor(anchor),
            published: 0,
        })
    }

    /// Publishes `events` events, one after another's acknowledgement, and waits until every
    /// watcher has them all.
    async fn round(&mut self, events: usize) -> Result<Round, String> {
        let handles: Vec<_> = self
            .watchers
            .drain(..)
            .map(|socket| watch(socket, events))
            .collect();
        let started = Instant::now();
        let cpu_before = self.cpu_seconds();
        for _ in 0..events {
            self.publish().await?;
        }
        let mut frame_bytes = 0;
        for handle in handles {
            let (socket, bytes) = handle.await.map_err(|e| e.to_string())??;
            self.watchers.push(socket);
            frame_bytes = bytes;
        }
        let seconds = started
            .elapsed()
            .max(Duration::from_micros(1))
            .as_secs_f64();
        let deliveries = self.watchers.len() * events;
        Ok(Round {
            deliveries,
            seconds,
            cpu: micros_per(cpu_before, self.cpu_seconds(), deliveries),
            frame_bytes,
        })
    }

    /// One event, once the server has acknowledged it.
    async fn publish(&mut self) -> Result<(), String> {
        let n = self.published;
        self.published += 1;
        match &self.target {
            Target::Skein { thread, .. } => {
                let rename = json!({"route": "/threads/update", "data": {"id": thread, "title": format!("title {n}")}, "request_id": n});
                client::send(&mut self.publisher, &rename).await?;
                while client::next_event(&mut self.publisher).await?["request_id"] != json!(n) {}
            }
            Target::Anchor(_) => {
                self.publisher
                    .send(Message::text(n.to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
                next_text(&mut self.publisher).await?;
            }
        }
        Ok(())
    }

    /// The server's CPU time so far (user and system, Linux).
    fn cpu_seconds(&self) -> Option<f64> {
        match &self.target {
            Target::Skein { server, .. } => server.cpu_seconds(),
            Target::Anchor(anchor) => anchor.cpu_seconds(),
        }
    }
}

/// The marker of the frames a watcher counts (Skein's and the anchor's alike).
const MARKER: &str = "\"updateThreadState\"";

/// A watcher for one round: counts frames holding [`MARKER`] until it has `events` of them;
/// its socket back, and the size of the last one.
fn watch(
    mut socket: client::Socket,
    events: usize,
) -> tokio::task::JoinHandle<Result<(client::Socket, usize), String>> {
    tokio::spawn(async move {
        let (mut seen, mut bytes) = (0, 0);
        while seen < events {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if text.contains(MARKER) => {
                    seen += 1;
                    bytes = text.len();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed before every event arrived".into()),
            }
        }
        Ok((socket, bytes))
    })
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
/// The anchor's server (in its own process, see `trivial_server`): accepts WebSockets; the
/// first one publishes (see [`Side::anchor`]).
pub(super) async fn broadcast_server(listener: TcpListener, frame_bytes: usize) {
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
