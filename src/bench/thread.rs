//! `skein bench thread`: one thread growing to many answers, through a real server (this
//! binary, started on a temporary data dir) and one WebSocket: the time from `/threads/post`
//! to the final `updateThreadState`, and the size of the thread's state, as answers pile up.

use super::client;
use super::server::start_server;
use super::Measured;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// Questions over the sample dataset, asked in turn: results of 36, 5, 12, 1 and 366 rows.
const QUESTIONS: [&str; 5] = [
    "total sales by month",
    "top 5 customers by sales in 2024",
    "sales for QUICK-Stop by quarter",
    "how many orders in 2023",
    "total sales by day in 2024",
];

/// Asks `answers` questions each in a new thread, then `answers` in one thread (of
/// `server_binary`, or this binary's server); reports post → final state latency (new threads;
/// one thread: all, and the last tenth) and the one thread's state size at the end.
pub async fn thread(
    answers: usize,
    server_binary: Option<&Path>,
    as_json: bool,
) -> Result<String, String> {
    let server = start_server(server_binary)?;
    let url = server.ws_url();
    let mut ws = client::connect(&url).await?;
    let mut fresh = Vec::with_capacity(answers);
    let started = Instant::now();
    for i in 0..answers {
        let began = Instant::now();
        client::ask(&mut ws, QUESTIONS[i % QUESTIONS.len()], &Value::Null).await?;
        fresh.push(began.elapsed());
    }
    let fresh = Measured::from(fresh, 0, started.elapsed());
    let mut thread_id = Value::Null;
    let mut latencies = Vec::with_capacity(answers);
    let mut update_bytes = 0;
    let started = Instant::now();
    for i in 0..answers {
        let began = Instant::now();
        let (id, bytes) = client::ask(&mut ws, QUESTIONS[i % QUESTIONS.len()], &thread_id).await?;
        latencies.push(began.elapsed());
        thread_id = id;
        update_bytes = bytes;
    }
    let elapsed = started.elapsed();
    let get = json!({"route": "/threads/get", "data": {"id": thread_id}, "request_id": "state"});
    client::send(&mut ws, &get).await?;
    let state_bytes = loop {
        let (event, bytes) = client::next_frame(&mut ws).await?;
        if event["event"] == "getThreadState" {
            break bytes;
        }
    };
    let tail = latencies[answers - answers.div_ceil(10)..].to_vec();
    let all = Measured::from(latencies, 0, elapsed);
    let last = Measured::from(tail, 0, elapsed);
    if as_json {
        return Ok(json!({
            "answers": answers,
            "state_bytes": state_bytes,
            "last_update_bytes": update_bytes,
            "post_to_final_state_new_thread": fresh.json(),
            "post_to_final_state": all.json(),
            "post_to_final_state_last_tenth": last.json(),
        })
        .to_string());
    }
    Ok(format!(
        "{answers} answers in one thread: state {:.1} KB, last updateThreadState {:.1} KB\n\
         post → final state, new threads: p50 {:>7.2} ms   p99 {:>7.2} ms\n\
         post → final state, all:         p50 {:>7.2} ms   p99 {:>7.2} ms\n\
         post → final state, last tenth:  p50 {:>7.2} ms   p99 {:>7.2} ms",
        state_bytes as f64 / 1e3,
        update_bytes as f64 / 1e3,
        fresh.p50.as_secs_f64() * 1e3,
        fresh.p99.as_secs_f64() * 1e3,
        all.p50.as_secs_f64() * 1e3,
        all.p99.as_secs_f64() * 1e3,
        last.p50.as_secs_f64() * 1e3,
        last.p99.as_secs_f64() * 1e3,
    ))
}
