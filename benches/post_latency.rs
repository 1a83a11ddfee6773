//! Time from `/threads/post` to `initializeThread` (the message is on disk and acknowledged) and
//! to the analyst's last step, over the sample dataset, through the real server binary and a
//! real WebSocket on loopback.
//!
//! Run: `cargo bench --bench post_latency`

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

const QUESTIONS: [&str; 4] = [
    "total sales by month",
    "top 5 customers by sales in 2024",
    "sales for QUICK-Stop by quarter",
    "how many orders in 2023",
];

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Posts one question; returns (time to initializeThread, time to the final state).
async fn post(ws: &mut Socket, prompt: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let request = json!({"route": "/threads/post", "data": {"prompt": prompt, "thread_id": null}});
    ws.send(Message::text(request.to_string())).await.unwrap();
    let mut initialized = None;
    loop {
        let Message::Text(text) = ws.next().await.unwrap().unwrap() else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        match event["event"].as_str() {
            Some("initializeThread") => initialized = Some(started.elapsed()),
            Some("updateThreadState") if event["route"] == "/threads/post" => {
                return (initialized.unwrap(), started.elapsed());
            }
            _ => {}
        }
    }
}

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let server = skein::bench::start_server(Some(Path::new(env!("CARGO_BIN_EXE_skein")))).unwrap();
    let url = server.ws_url();
    let mut ws = runtime.block_on(async { tokio_tungstenite::connect_async(url).await.unwrap().0 });
    let mut group = c.benchmark_group("post");
    group.sample_size(20);
    for (name, pick) in [("to_initialize_thread", 0), ("to_last_step", 1)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for i in 0..iterations {
                        let times = post(&mut ws, QUESTIONS[i as usize % QUESTIONS.len()]).await;
                        total += if pick == 0 { times.0 } else { times.1 };
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
