//! A connection's outbound queue: the frames to write, in order, and the pings and the close
//! asked for. Queuing never waits: a frame finding the queue full is refused, and the hub
//! closes that connection instead (one slow client cannot stall anybody else).
//!
//! Everything the writer does comes through one unbounded channel, so the writer, woken for
//! every frame it sends, waits on that alone. The bound on frames is counted here: a bounded
//! channel's receive takes a lock to give its permit back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Notify};

/// One encoded server message, shared by every connection it goes to: cloning it counts a
/// reference, and the socket writes it as is (a broadcast is encoded once, copied never).
pub type Frame = tokio_tungstenite::tungstenite::Utf8Bytes;

/// What the writer is to do next.
pub enum Item {
    Frame(Frame),
    Ping,
    /// Send the close frame ([`Outbound::close_reason`]) and stop.
    Close,
}

/// How [`Outbox::push`] went.
pub enum Pushed {
    Queued,
    /// The connection is closing; the frame would never be written.
    Closing,
    /// The queue holds its capacity of frames already.
    Full,
}

pub struct Outbox {
    items: mpsc::UnboundedSender<Item>,
    /// Frames queued and not yet taken by the writer, at most `capacity`.
    queued: AtomicUsize,
    capacity: usize,
    reason: Mutex<Option<(u16, String)>>,
    /// Whether `reason` is set: every delivery asks, so it reads a flag, not the lock.
    closing: AtomicBool,
    /// Wakes the reader (which stops reading) when the close is asked for.
    notify: Notify,
}

impl Outbox {
    /// An outbox for `capacity` frames (at least one), and the writer's end of it.
    pub fn new(capacity: usize) -> (Arc<Outbox>, Outbound) {
        let (items, receiver) = mpsc::unbounded_channel();
        let outbox = Arc::new(Outbox {
            items,
            queued: AtomicUsize::new(0),
            capacity: capacity.max(1),
            reason: Mutex::new(None),
            closing: AtomicBool::new(false),
            notify: Notify::new(),
        });
        let outbound = Outbound {
            items: receiver,
            outbox: outbox.clone(),
        };
        (outbox, outbound)
    }

    pub fn push(&self, frame: Frame) -> Pushed {
        if self.is_closing() {
            return Pushed::Closing;
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Pushed::Full;
        }
        // The writer's end lives as long as the connection's task; after it ends, nobody reads.
        let _ = self.items.send(Item::Frame(frame));
        Pushed::Queued
    }

    /// Asks the writer for a ping, after the frames queued before it.
    pub fn ping(&self) {
        let _ = self.items.send(Item::Ping);
    }

    /// Asks the connection to close with a code and a reason its client can read; the first
    /// request wins. What was queued before still goes out first.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let mut slot = self.reason.lock().unwrap();
        if slot.is_none() {
            *slot = Some((code, reason.into()));
            self.closing.store(true, Ordering::Release);
            self.notify.notify_waiters();
            let _ = self.items.send(Item::Close);
        }
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Resolves with the close code and reason once a close was requested.
    pub async fn closed(&self) -> (u16, String) {
        loop {
            let notified = self.notify.notified();
            if let Some(reason) = self.reason.lock().unwrap().clone() {
                return reason;
            }
            notified.await;
        }
    }
}

/// The writer's end of an [`Outbox`].
pub struct Outbound {
    items: mpsc::UnboundedReceiver<Item>,
    outbox: Arc<Outbox>,
}

impl Outbound {
    /// The next item, waiting for one.
    pub async fn recv(&mut self) -> Option<Item> {
        let item = self.items.recv().await;
        self.taken(item)
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<Item> {
        let item = self.items.try_recv().ok();
        self.taken(item)
    }

    /// The code and reason [`Item::Close`] asks for.
    pub fn close_reason(&self) -> (u16, String) {
        let reason = self.outbox.reason.lock().unwrap().clone();
        reason.expect("Item::Close is queued after the reason is set")
    }

    fn taken(&self, item: Option<Item>) -> Option<Item> {
        if let Some(Item::Frame(_)) = item {
            self.outbox.queued.fetch_sub(1, Ordering::AcqRel);
        }
        item
    }
}
