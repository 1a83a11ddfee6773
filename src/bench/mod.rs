//! `skein bench`: search throughput and latency, in process and over WebSockets.
//!
//! - `search`: builds a corpus of N messages from a test collection in a temporary data dir,
//!   reports how long indexing took, then queries it from T threads for each leg.
//! - `seed`: adds such a corpus to a data dir (through a running server if one is up);
//!   `corpus` writes it out, for the peers of `benches/peers`.
//! - `ws`: the load generator, C WebSocket clients sending `/threads/search` to a server.
//! - `thread`: one thread growing to many answers through a real server: post latency and
//!   the state's size.
//! - `idle`: the server's memory per idle WebSocket.
//! - `writes`: acknowledged writes per second next to the disk's own fdatasync rate, a
//!   trivial durable server's (`durable_echo`) and the floor of a round trip
//!   (`blocking_echo`).
//! - `fanout`: deliveries per second from one thread to many watchers, next to a trivial
//!   broadcast server.
//! - `server`: the server those start (this binary or another build); `client`: their
//!   WebSocket client.

mod blocking_echo;
mod client;
mod durable_echo;
mod fanout;
mod idle;
mod server;
mod thread;
mod trivial_server;
mod writes;
pub use fanout::{fanout, FanoutShape};
pub use idle::idle;
pub use server::{start_server, Server};
pub use thread::thread;
pub use trivial_server::serve_anchor;
pub use writes::writes;

use crate::search::{corpus, eval, HashedNgrams, Legs, Scope, Search, CANDIDATES, MAX_RESULTS};
use crate::store::Store;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Latency percentiles and throughput of one run.
pub struct Measured {
    pub queries: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Measured {
    fn from(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Measured {
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Measured {
            queries: latencies.len(),
            errors,
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "queries_per_second": self.queries as f64 / self.elapsed.as_secs_f64(),
            "p50_ms": self.p50.as_secs_f64() * 1e3,
            "p99_ms": self.p99.as_secs_f64() * 1e3,
            "queries": self.queries,
            "errors": self.errors,
        })
    }

    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<8} {:>9.0} queries/s   p50 {:>7.3} ms   p99 {:>7.3} ms   ({} queries, {} errors)",
            self.queries as f64 / self.elapsed.as_secs_f64(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.queries,
            self.errors
        )
    }
}

/// The legs of the in-process benchmark, in the order they run.
const LEG_NAMES: [&str; 5] = ["tantivy", "bm25", "kernel", "vector", "hybrid"];

/// What one leg of the in-process benchmark runs.
#[derive(Clone, Copy)]
enum BenchLeg {
    Skein(Legs),
    RawTantivy,
    VectorKernel,
}

/// The size of an in-process search benchmark.
pub struct SearchRun {
    /// Generated messages in the index.
    pub messages: usize,
    /// Threads querying at once.
    pub threads: usize,
    /// Seconds each leg is queried.
    pub seconds: u64,
    /// Dimension of the built-in embedder's vectors.
    pub dim: usize,
    /// The legs to query by name; empty: all.
    pub legs: Vec<String>,
}

/// In-process search over `run.messages` generated messages, queried from `run.threads`
/// threads; lines for people, or one JSON object.
pub async fn search(corpus_dir: &Path, run: &SearchRun, as_json: bool) -> Result<String, String> {
    let &SearchRun {
        messages,
        threads,
        seconds,
        dim,
        ..
    } = run;
    let wanted = |leg: &str| run.legs.is_empty() || run.legs.iter().any(|name| name == leg);
    if let Some(unknown) = run
        .legs
        .iter()
        .find(|name| !LEG_NAMES.contains(&name.as_str()))
    {
        return Err(format!(
            "no leg named {unknown}; the legs are {}",
            LEG_NAMES.join(", ")
        ));
    }
    let collection = eval::load(corpus_dir)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open(dir.path()).map_err(|e| e.to_string())?;
    let org = Uuid::new_v4();
    let texts = corpus::messages(&collection, messages, 7);
    let started = Instant::now();
    corpus::store_messages(&store, &texts, org, Uuid::new_v4())
        .await
        .map_err(|e| e.to_string())?;
    let stored = started.elapsed();
    let search = Search::open(store, Some(dir.path()), Arc::new(HashedNgrams::new(dim)))
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let indexed = search.reindex().await.map_err(|e| e.to_string())?;
    let index_time = started.elapsed();
    let mut out = format!(
        "{indexed} messages (dim {dim}): stored in {:.1} s, indexed (BM25 + vectors) in {:.1} s\n{threads} threads, {seconds} s per leg\n",
        stored.as_secs_f64(),
        index_time.as_secs_f64()
    );
    let search = Arc::new(search);
    let mut legs_json = serde_json::Map::new();
    let prompts: Arc<Vec<String>> =
        Arc::new(collection.queries.iter().map(|(_, q)| q.clone()).collect());
    // What the vector leg's one-bit shortlist costs in quality, beside what it saves in time.
    let mut recalls = Vec::new();
    for prompt in prompts.iter() {
        if let Ok(recall) = search.vector_recall(prompt, Scope::Org(org)).await {
            recalls.push(recall);
        }
    }
    let mean = |pick: fn(&(f64, f64)) -> f64| {
        recalls.iter().map(pick).sum::<f64>() / recalls.len().max(1) as f64
    };
    let (recall, recall_top) = (mean(|r| r.0), mean(|r| r.1));
    out.push_str(&format!(
        "shortlist of the vector leg against the exact scan ({} hybrid queries): recall of the best {CANDIDATES} {recall:.4}, of the best {MAX_RESULTS} {recall_top:.4}\n",
        recalls.len()
    ));
    // The anchors: `tantivy`, the same index queried by tantivy's own top-docs collector;
    // `kernel`, the vector scan's kernel alone over every vector.
    for (name, leg) in [
        ("tantivy", BenchLeg::RawTantivy),
        ("bm25", BenchLeg::Skein(Legs::Text)),
        ("kernel", BenchLeg::VectorKernel),
        ("vector", BenchLeg::Skein(Legs::Vector)),
        ("hybrid", BenchLeg::Skein(Legs::Hybrid)),
    ] {
        if !wanted(name) {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let search = search.clone();
                let prompts = prompts.clone();
                std::thread::spawn(move || {
                    // Timers too: the vector leg waits for its query's embedding with a timeout.
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    let mut latencies = Vec::new();
                    let mut errors = 0;
                    let mut i = worker * 7919;
                    while Instant::now() < deadline {
                        let prompt = &prompts[i % prompts.len()];
                        i += 1;
                        let began = Instant::now();
                        let answer = match leg {
                            BenchLeg::Skein(legs) => runtime
                                .block_on(search.query_scoped(prompt, Scope::Org(org), legs, 10))
                                .map(drop),
                            BenchLeg::RawTantivy => {
                                search.query_unscoped_text(prompt, 10).map(drop)
                            }
                            BenchLeg::VectorKernel => runtime
                                .block_on(search.query_vector_kernel(prompt))
                                .map(drop),
                        };
                        match answer {
                            Ok(_) => latencies.push(began.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut errors = 0;
        for worker in workers {
            let (l, e) = worker
                .join()
                .map_err(|_| "a benchmark thread panicked".to_string())?;
            latencies.extend(l);
            errors += e;
        }
        let measured = Measured::from(latencies, errors, started.elapsed());
        out.push_str(&measured.line(name));
        out.push('\n');
        legs_json.insert(name.to_string(), measured.json());
    }
    if as_json {
        return Ok(json!({
            "messages": indexed,
            "dim": dim,
            "threads": threads,
            "seconds_per_leg": seconds,
            "stored_seconds": stored.as_secs_f64(),
            "indexed_seconds": index_time.as_secs_f64(),
            "vector_recall": { "candidates": recall, "top": recall_top },
            "legs": legs_json,
        })
        .to_string());
    }
    Ok(out)
}

/// The corpus `search` and `seed` make, as JSON Lines (`{"text": …}`: each message's document
/// text, the thread's title and the message), for peers benchmarked on the same texts.
pub fn write_corpus(
    corpus_dir: &Path,
    messages: usize,
    out: &mut impl std::io::Write,
) -> Result<(), String> {
    let collection = eval::load(corpus_dir)?;
    for (title, text) in corpus::messages(&collection, messages, 7) {
        let line = json!({ "text": format!("{title}\n{text}") });
        serde_json::to_writer(&mut *out, &line).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Generates `messages` messages from the collection in `corpus_dir` and stores them as threads
/// of the first admin of the "Local" organization.
pub async fn seed(store: &Store, corpus_dir: &Path, messages: usize) -> Result<String, String> {
    let org = store
        .org_by_name(crate::auth::DEFAULT_ORG)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no organization \"Local\"; start the server once first")?;
    let owner = store
        .users()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|u| u.org_id == org.id && u.admin)
        .ok_or("no admin in \"Local\"")?;
    let (org, owner) = (org.id, owner.id);
    let collection = eval::load(corpus_dir)?;
    let texts = corpus::messages(&collection, messages, 7);
    let started = Instant::now();
    corpus::store_messages(store, &texts, org, owner)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "stored {messages} messages in {:.1} s; the server indexes them in the background",
        started.elapsed().as_secs_f64()
    ))
}

/// A search request of `ws`'s clients, written from borrowed fields: building a `json!` value
/// per request cost them more user CPU per query (65 and 82 against 45 and 55 µs, 16 clients).
#[derive(Serialize)]
struct SearchRequest<'a> {
    route: &'static str,
    data: SearchData<'a>,
    request_id: usize,
}

#[derive(Serialize)]
struct SearchData<'a> {
    prompt: &'a str,
}

/// What `ws`'s clients read of a reply: which request it answers and whether it is an error.
/// The rest is skipped unread, so that the clients, which share the machine with the server,
/// take as little of it as they can: reading each reply into a `serde_json::Value` took them
/// twice the user CPU (16 clients: 72–76 against 34–36 µs per query).
#[derive(Deserialize, Default)]
struct ReplyHead {
    request_id: Option<usize>,
    error: Option<serde::de::IgnoredAny>,
}

/// `clients` WebSocket clients each sending `/threads/search` one after another for `seconds`.
pub async fn ws(
    addr: &str,
    token: &str,
    corpus_dir: &Path,
    clients: usize,
    seconds: u64,
) -> Result<String, String> {
    let collection = eval::load(corpus_dir)?;
    let prompts: Arc<Vec<String>> =
        Arc::new(collection.queries.iter().map(|(_, q)| q.clone()).collect());
    let url = format!("ws://{addr}/ws?token={token}");
    let mut sockets = Vec::new();
    for _ in 0..clients {
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        sockets.push(socket);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(client, mut socket)| {
            let prompts = prompts.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut i = client * 7919;
                while Instant::now() < deadline {
                    let prompt = &prompts[i % prompts.len()];
                    i += 1;
                    let request = SearchRequest {
                        route: "/threads/search",
                        data: SearchData { prompt },
                        request_id: i,
                    };
                    let request = serde_json::to_string(&request).expect("plain fields encode");
                    let began = Instant::now();
                    if socket.send(request.into()).await.is_err() {
                        errors += 1;
                        break;
                    }
                    loop {
                        match socket.next().await {
                            Some(Ok(message)) if message.is_text() => {
                                let reply: ReplyHead = message
                                    .to_text()
                                    .ok()
                                    .and_then(|text| serde_json::from_str(text).ok())
                                    .unwrap_or_default();
                                if reply.request_id == Some(i) {
                                    if reply.error.is_none() {
                                        latencies.push(began.elapsed());
                                    } else {
                                        errors += 1;
                                    }
                                    break;
                                }
                            }
                            Some(Ok(_)) => continue,
                            _ => return (latencies, errors + 1),
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
    }
    let measured = Measured::from(latencies, errors, started.elapsed());
    Ok(format!(
        "{clients} clients, {seconds} s\n{}",
        measured.line("search")
    ))
}
