//! `skein bench thread`: one thread growing to many answers, through a real server (this
//! binary, started on a temporary data dir) and one WebSocket: the time from `/threads/post`
//! to the final `updateThreadState`, and the size of the thread's state, as answers pile up;
//! then how much a client reading that thread's state over and over delays another's renames.

use super::client;
use super::server::start_server;
use super::Measured;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    drop(ws); // done with: the phase below measures clients of its own
    let (alone, beside, reads_per_second) = renames_beside_reads(&url, &thread_id).await?;
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
            "rename_alone": alone.json(),
            "rename_beside_state_reads": beside.json(),
            "state_reads_per_second": reads_per_second,
        })
        .to_string());
    }
    Ok(format!(
        "{answers} answers in one thread: state {:.1} KB, last updateThreadState {:.1} KB\n\
         post → final state, new threads: p50 {:>7.2} ms   p99 {:>7.2} ms\n\
         post → final state, all:         p50 {:>7.2} ms   p99 {:>7.2} ms\n\
         post → final state, last tenth:  p50 {:>7.2} ms   p99 {:>7.2} ms\n\
         a rename of another thread, alone:                   p50 {:>5.2} ms   p99 {:>5.2} ms\n\
         the same beside a client reading this state ({:>4.0}/s): p50 {:>5.2} ms   p99 {:>5.2} ms",
        state_bytes as f64 / 1e3,
        update_bytes as f64 / 1e3,
        fresh.p50.as_secs_f64() * 1e3,
        fresh.p99.as_secs_f64() * 1e3,
        all.p50.as_secs_f64() * 1e3,
        all.p99.as_secs_f64() * 1e3,
        last.p50.as_secs_f64() * 1e3,
        last.p99.as_secs_f64() * 1e3,
        alone.p50.as_secs_f64() * 1e3,
        alone.p99.as_secs_f64() * 1e3,
        reads_per_second,
        beside.p50.as_secs_f64() * 1e3,
        beside.p99.as_secs_f64() * 1e3,
    ))
}

/// Renames measured in each phase of [`renames_beside_reads`].
const RENAMES: usize = 500;

/// A client renaming a thread of its own (a pause of 2 ms after each answer, as a person
/// working would), first alone, then while another client asks for `big`'s state again and
/// again: each phase's rename round trips, and the reads per second. A read that holds a
/// server worker without waking the other delays the renames behind it.
async fn renames_beside_reads(url: &str, big: &Value) -> Result<(Measured, Measured, f64), String> {
    let mut writer = client::connect(url).await?;
    let (own, _) = client::ask(&mut writer, QUESTIONS[3], &Value::Null).await?;
    let alone = renames(&mut writer, &own).await?;
    let reader = client::connect(url).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let reading = tokio::spawn(read_state_until(reader, big.clone(), stop.clone()));
    let beside = renames(&mut writer, &own).await;
    stop.store(true, Ordering::Relaxed);
    let reads_per_second = reading.await.map_err(|e| e.to_string())??;
    Ok((alone, beside?, reads_per_second))
}

/// [`RENAMES`] renames of `thread`, one after another; their round trips.
async fn renames(socket: &mut client::Socket, thread: &Value) -> Result<Measured, String> {
    let mut latencies = Vec::with_capacity(RENAMES);
    let started = Instant::now();
    for n in 0..RENAMES as u64 {
        let began = Instant::now();
        client::rename(socket, thread, n).await?;
        latencies.push(began.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(Measured::from(latencies, 0, started.elapsed()))
}

/// Asks for `thread`'s state, one request after another, until `stop`; reads per second.
/// Answers are found by their event's name, not parsed: parsing 200 KB would take the
/// machine's CPU from the server being measured.
async fn read_state_until(
    mut socket: client::Socket,
    thread: Value,
    stop: Arc<AtomicBool>,
) -> Result<f64, String> {
    let get = json!({"route": "/threads/get", "data": {"id": thread}});
    let (started, mut reads) = (Instant::now(), 0);
    while !stop.load(Ordering::Relaxed) {
        client::send(&mut socket, &get).await?;
        while !client::next_text(&mut socket)
            .await?
            .contains("\"event\":\"getThreadState\"")
        {}
        reads += 1;
    }
    Ok(reads as f64 / started.elapsed().as_secs_f64())
}
