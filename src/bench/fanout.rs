//! `skein bench fanout`: event deliveries per second from one thread to many watchers, next to
//! an anchor run the same way in the same command: a trivial broadcast server (the same text
//! encoded once, handed to every socket's writer task, which writes what has queued in one go;
//! tokio-tungstenite like Skein), paced by its publishers' acknowledgements as Skein's is by
//! its renames', with the same clients.
//!
//! In Skein, a publisher renames the thread; each rename reaches every watcher as an
//! `updateThreadState`. Each publisher waits for its event's acknowledgement before its next,
//! and Skein acknowledges a rename once it is on disk and handed to every watcher: with one
//! publisher, each event's `fdatasync` runs while no other event is being delivered. Several
//! publishers (`--publishers`) overlap one event's sync with another's delivery, as several
//! people (or the analyst's steps and a person) writing to one thread do.
//!
//! A round's clock runs from its first event until every watcher has every event of the round.
//! The two servers take turns, round after round, with their connections kept open: this
//! machine's speed drifts over tens of seconds (by 1.3× and more), and one long run of each
//! would compare two speeds of the machine as much as two servers. The ratio is the median of
//! the rounds'.

use super::client;
use super::server::{median, micros_per, micros_text, start_server, Process, Server};
use super::trivial_server::start_anchor;
use crate::config::AnchorKind;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// What one `skein bench fanout` measures: `events` per round from `publishers` connections
/// to `watchers` sockets, `rounds` times for each server.
#[derive(Debug, Clone, Copy)]
pub struct FanoutShape {
    pub watchers: usize,
    pub events: usize,
    pub rounds: usize,
    pub publishers: usize,
}

pub async fn fanout(
    shape: FanoutShape,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    let FanoutShape {
        watchers,
        events,
        rounds,
        publishers,
    } = shape;
    crate::listener::raise_open_files_limit();
    let mut skein = Side::skein(shape, server_binary).await?;
    // The anchor's frames are as large as the updates Skein's watchers get.
    let first = skein.round(events).await?;
    let mut anchor = Side::anchor(shape, first.frame_bytes).await?;
    let mut measured = vec![(first, anchor.round(events).await?)];
    while measured.len() < rounds {
        let ours = skein.round(events).await?;
        measured.push((ours, anchor.round(events).await?));
    }
    let ratio = median(measured.iter().map(|(s, a)| s.rate() / a.rate()));
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
            "publishers": publishers,
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
            "1 thread × {watchers} watchers, {publishers} publisher{}, {} rounds of {events} events \
             of {frame_bytes} bytes, each server in turn",
            if publishers == 1 { "" } else { "s" },
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

/// One server under measurement with its clients: the publishers' and the watchers' sockets,
/// kept open from round to round.
struct Side {
    publishers: Vec<client::Socket>,
    watchers: Vec<client::Socket>,
    target: Target,
    /// How its publishers make an event happen.
    publish: Publish,
    /// Events published so far: the next one's number.
    published: usize,
}

enum Target {
    /// Skein.
    Skein(Server),
    /// The anchor, sent a number per event.
    Anchor(Process),
}

/// How a publisher makes an event happen.
#[derive(Clone)]
enum Publish {
    /// Renames the thread (Skein).
    Rename { thread: Value },
    /// Sends the event's number (the anchor).
    Number,
}

impl Side {
    /// Starts Skein (this binary, or `server_binary`): a thread asked one question, and
    /// publishers and watchers that have opened it.
    async fn skein(shape: FanoutShape, server_binary: Option<&Path>) -> Result<Side, String> {
        let server = start_server(server_binary)?;
        let url = server.ws_url();
        let mut asker = client::connect(&url).await?;
        let (thread, _) = client::ask(&mut asker, "how many orders in 2023", &Value::Null).await?;
        let mut publishers = vec![asker];
        let mut watchers = Vec::with_capacity(shape.watchers);
        for n in 1..shape.publishers + shape.watchers {
            let mut socket = client::connect(&url).await?;
            let get = json!({"route": "/threads/get", "data": {"id": thread}, "request_id": "get"});
            client::send(&mut socket, &get).await?;
            while client::next_event(&mut socket).await?["event"] != "getThreadState" {}
            if n < shape.publishers {
                publishers.push(socket);
            } else {
                watchers.push(socket);
            }
        }
        Ok(Side {
            publishers,
            watchers,
            target: Target::Skein(server),
            publish: Publish::Rename { thread },
            published: 0,
        })
    }

    /// Starts the anchor (see [`broadcast_server`]) sending frames of `frame_bytes`: its first
    /// connections publish, the next watch.
    async fn anchor(shape: FanoutShape, frame_bytes: usize) -> Result<Side, String> {
        let (url, anchor) = start_anchor(AnchorKind::Broadcast, frame_bytes, None)?;
        let mut publishers = Vec::with_capacity(shape.publishers);
        for _ in 0..shape.publishers {
            publishers.push(client::connect(&url).await?);
        }
        let mut watchers = Vec::with_capacity(shape.watchers);
        for _ in 0..shape.watchers {
            watchers.push(client::connect(&url).await?);
        }
        // Every connection is registered once the server has answered a first "ready?".
        let first = &mut publishers[0];
        let connections = shape.publishers + shape.watchers;
        first
            .send(Message::text(format!("ready {connections}")))
            .await
            .map_err(|e| e.to_string())?;
        acknowledged(first).await?;
        Ok(Side {
            publishers,
            watchers,
            target: Target::Anchor(anchor),
            publish: Publish::Number,
            published: 0,
        })
    }

    /// Publishes `events` events, dealt among the publishers (each one after its previous
    /// one's acknowledgement), and waits until every watcher has them all.
    async fn round(&mut self, events: usize) -> Result<Round, String> {
        let handles: Vec<_> = self
            .watchers
            .drain(..)
            .map(|socket| watch(socket, events))
            .collect();
        let (first, count) = (self.published, self.publishers.len());
        self.published += events;
        let started = Instant::now();
        let cpu_before = self.cpu_seconds();
        let publishing: Vec<_> = self
            .publishers
            .drain(..)
            .enumerate()
            .map(|(n, mut socket)| {
                let how = self.publish.clone();
                tokio::spawn(async move {
                    for event in (first + n..first + events).step_by(count) {
                        publish(&mut socket, &how, event).await?;
                    }
                    Ok::<_, String>(socket)
                })
            })
            .collect();
        for publisher in publishing {
            let socket = publisher.await.map_err(|e| e.to_string())??;
            self.publishers.push(socket);
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

    /// The server's CPU time so far (user and system, Linux).
    fn cpu_seconds(&self) -> Option<f64> {
        match &self.target {
            Target::Skein(server) => server.cpu_seconds(),
            Target::Anchor(anchor) => anchor.cpu_seconds(),
        }
    }
}

/// Event `n`, once the server has acknowledged it.
async fn publish(socket: &mut client::Socket, how: &Publish, n: usize) -> Result<(), String> {
    match how {
        Publish::Rename { thread } => {
            client::rename(socket, thread, n as u64).await?;
        }
        Publish::Number => {
            socket
                .send(Message::text(n.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            acknowledged(socket).await?;
        }
    }
    Ok(())
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

/// The anchor's acknowledgement (a publisher's own frames are not sent back to it, but the
/// other publishers' are).
const ACK: &str = "ack";

async fn acknowledged(socket: &mut client::Socket) -> Result<(), String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text == ACK => return Ok(()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the anchor server closed".into()),
        }
    }
}

/// The anchor's server (in its own process, see `trivial_server`): accepts WebSockets; a
/// connection that sends a message publishes: every other connection is sent the frame, and
/// it an [`ACK`]. (`ready N` instead waits until `N` connections are registered.)
pub(super) async fn broadcast_server(listener: TcpListener, frame_bytes: usize) {
    // A frame like Skein's: the same event name, padded to the same size, encoded once.
    let head = r#"{"event":"updateThreadState","payload":""#;
    let padding = "x".repeat(frame_bytes.saturating_sub(head.len() + 2));
    let frame = Utf8Bytes::from(format!("{head}{padding}\"}}"));
    type Queues = std::sync::Arc<std::sync::Mutex<Vec<(usize, mpsc::Sender<Utf8Bytes>)>>>;
    let connections: Queues = Default::default();
    let mut accepted = 0;
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
            continue;
        };
        let (mut sink, mut source) = socket.split();
        let (queue, mut outbound) = mpsc::channel::<Utf8Bytes>(1024);
        // What is queued goes out in one write, as Skein's outbox does.
        tokio::spawn(async move {
            while let Some(text) = outbound.recv().await {
                let mut sent = sink.feed(Message::Text(text)).await;
                while let (Ok(()), Ok(more)) = (&sent, outbound.try_recv()) {
                    sent = sink.feed(Message::Text(more)).await;
                }
                if sent.is_err() || sink.flush().await.is_err() {
                    return;
                }
            }
        });
        let id = accepted;
        accepted += 1;
        connections.lock().unwrap().push((id, queue.clone()));
        let (connections, frame) = (connections.clone(), frame.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = source.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if let Some(count) = text.strip_prefix("ready ") {
                    let count: usize = count.parse().unwrap_or(0);
                    while connections.lock().unwrap().len() < count {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                } else {
                    let queues = connections.lock().unwrap().clone();
                    for (_, other) in queues.iter().filter(|(other, _)| *other != id) {
                        let _ = other.send(frame.clone()).await;
                    }
                }
                if queue.send(Utf8Bytes::from_static(ACK)).await.is_err() {
                    return;
                }
            }
        });
    }
}
