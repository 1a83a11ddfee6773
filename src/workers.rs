//! The runtime's workers: keeping an idle one listening while a read holds another.
//!
//! A read is answered without an await: a 100-answer thread's state takes 1–2 ms to load and
//! render, a search as long. A worker woken by the IO driver to run one task leaves the others
//! asleep, and an asleep worker does not poll the driver, so another client's request waited
//! for the read to end: 2 clients searching did 379–670 queries/s, with the wake 681–985; a
//! rename beside a client reading a 100-answer thread's state took p50 1.1–2.2 ms, with it
//! 0.8–1.0 (`skein bench thread`). So every face wakes an idle worker before a request that
//! only reads (the WebSocket routes of `ws::Route::only_reads`, HTTP GETs).
//!
//! Yielding would wake one too, but puts the read behind every task queued on its worker: p99
//! of 16 clients searching went from 25–41 ms to 42–62 ms. Writes do not wake one: they wait
//! for the disk, and a sync that leaves its worker is finished by a thread that wakes a worker
//! anyway; waking one before every request cost a lone renaming client 10–12 % of the
//! server's CPU per write.

/// Wakes an idle worker of the runtime, if there is one. tokio wakes one when a worker has
/// work another could take: a task spawned here goes to this worker's LIFO slot, which only it
/// runs, and a second moves the first to its queue, which others steal from. With no idle
/// worker this costs two empty tasks.
pub fn wake_an_idle_worker() {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|rt| rt.runtime_flavor() == RuntimeFlavor::MultiThread) {
        tokio::spawn(async {});
        tokio::spawn(async {});
    }
}
