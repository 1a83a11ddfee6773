//! What happened to threads, as typed events on one in-process bus.
//!
//! The threads core publishes; faces subscribe and render (the WebSocket face turns events into the
//! seed's broadcasts). Delivery is synchronous and in order, so a subscriber sees a thread's
//! events in the order its writes committed. On a cluster, `cluster` forwards each node's events
//! to the others, which deliver them to their own subscribers.

use crate::hub::ConnId;
use crate::model::{Thread, User};
use crate::pipeline::StepUpdate;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// What a change to a thread touched, so that faces can send only what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Touched {
    /// The thread itself (its title, its shares), none of its messages.
    Thread,
    /// One message.
    Message(Uuid),
    /// Any of its messages.
    Messages,
}

/// Events cross nodes as JSON (see `cluster`); `origin`, a connection of the node where the
/// event happened, means nothing elsewhere and is not sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// A thread was created or changed. `origin` is the connection whose request did it; it
    /// got its own answer and is left out of the broadcast.
    ThreadChanged {
        thread: Thread,
        by: User,
        #[serde(skip)]
        origin: Option<ConnId>,
        touched: Touched,
    },
    /// A message was added to a thread (the thread as written).
    MessageAdded {
        thread: Thread,
        message_id: Uuid,
        by: User,
        #[serde(skip)]
        origin: Option<ConnId>,
    },
    /// A step of the analyst working on a message.
    AnalysisStep { update: StepUpdate, by: User },
    /// The analyst finished (or gave up) on a message; everyone watching, the poster too,
    /// gets the thread's new state.
    AnalysisFinished {
        thread: Thread,
        message_id: Uuid,
        by: User,
    },
    /// A thread was deleted; `thread` is as it was before, so lists that showed it can drop it.
    ThreadDeleted {
        thread: Thread,
        by: Option<User>,
        #[serde(skip)]
        origin: Option<ConnId>,
    },
    /// A user asked the analyst to stop working on a thread: every node cancels its runs there
    /// (each then finishes its message as cancelled, with its own events).
    RunsCancelled { thread_id: Uuid, by: User },
    /// Who may see a thread changed; those who lost access must stop seeing it.
    AccessChanged {
        before: Box<Thread>,
        after: Box<Thread>,
    },
    /// `user` is now present in a thread (was not before, on any connection). `origin` is the
    /// connection that joined; it gets the roster in its own answer.
    Joined {
        thread_id: Uuid,
        user: User,
        #[serde(skip)]
        origin: Option<ConnId>,
    },
    /// `user` is no longer present in a thread (their last connection there left).
    Left { thread_id: Uuid, user: User },
}

/// A face that renders events for its clients.
pub trait Subscriber: Send + Sync {
    fn deliver(&self, event: &Event);

    /// For a subscriber that handles events after `deliver` returns (in order, in a task of its
    /// own): resolves once it has handled every event delivered so far.
    fn settled(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        None
    }
}

/// The subscribers, each under the id its [`Watch`] removes it by.
type Subscribers = RwLock<Vec<(u64, Arc<dyn Subscriber>)>>;

#[derive(Default)]
pub struct Bus {
    subscribers: Arc<Subscribers>,
    next_id: std::sync::atomic::AtomicU64,
    /// Where this node's own events also go, on a cluster (see `cluster`).
    outbox: RwLock<Option<tokio::sync::mpsc::UnboundedSender<Event>>>,
}

/// A subscription for as long as it is kept (a request following one analysis, say).
pub struct Watch {
    subscribers: std::sync::Weak<Subscribers>,
    id: u64,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(subscribers) = self.subscribers.upgrade() {
            subscribers
                .write()
                .unwrap()
                .retain(|(id, _)| *id != self.id);
        }
    }
}

impl Bus {
    /// Subscribes for the life of the server.
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.add(subscriber);
    }

    /// Subscribes until the returned [`Watch`] is dropped.
    pub fn watch(&self, subscriber: Arc<dyn Subscriber>) -> Watch {
        Watch {
            id: self.add(subscriber),
            subscribers: Arc::downgrade(&self.subscribers),
        }
    }

    fn add(&self, subscriber: Arc<dyn Subscriber>) -> u64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.subscribers.write().unwrap().push((id, subscriber));
        id
    }

    /// Delivers an event of this node to its subscribers and, on a cluster, to the others.
    pub fn publish(&self, event: Event) {
        self.deliver_here(&event);
        if let Some(outbox) = &*self.outbox.read().unwrap() {
            // Fails only once the cluster's task has ended, at shutdown.
            let _ = outbox.send(event);
        }
    }

    /// Delivers an event another node published to this node's subscribers only.
    pub fn deliver_here(&self, event: &Event) {
        // Cloned out of the lock: a subscriber may publish in turn.
        let subscribers = self.subscribers.read().unwrap().clone();
        for (_, subscriber) in subscribers {
            subscriber.deliver(event);
        }
    }

    /// Sends every event this node publishes to `outbox` too (the cluster's forwarder).
    pub fn forward_to(&self, outbox: tokio::sync::mpsc::UnboundedSender<Event>) {
        *self.outbox.write().unwrap() = Some(outbox);
    }

    /// Resolves once every subscriber has handled every event published so far. An operation
    /// awaits it before answering its client, so what the operation did is queued for whoever
    /// else watches (ahead of anything later) by the time the client hears back. Never awaited
    /// by a subscriber itself.
    pub async fn settled(&self) {
        let waits: Vec<_> = self
            .subscribers
            .read()
            .unwrap()
            .iter()
            .filter_map(|(_, subscriber)| subscriber.settled())
            .collect();
        for wait in waits {
            // An error means the subscriber is gone (shutdown): nothing to wait for.
            let _ = wait.await;
        }
    }
}
