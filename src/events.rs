//! What happened to threads, as typed events on one in-process bus.
//!
//! The threads core publishes; faces subscribe and render (the WebSocket face turns events into the
//! seed's broadcasts). Delivery is synchronous and in order, so a subscriber sees a thread's
//! events in the order its writes committed. A later cluster bus forwards the same events.

use crate::hub::ConnId;
use crate::model::{Thread, User};
use crate::pipeline::StepUpdate;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum Event {
    /// A thread was created or changed. `origin` is the connection whose request did it; it
    /// got its own answer and is left out of the broadcast.
    ThreadChanged {
        thread: Thread,
        by: User,
        origin: Option<ConnId>,
    },
    /// A message was added to a thread (the thread as written).
    MessageAdded {
        thread: Thread,
        message_id: Uuid,
        by: User,
        origin: Option<ConnId>,
    },
    /// A step of the analyst working on a message.
    AnalysisStep { update: StepUpdate, by: User },
    /// The analyst finished (or gave up) on a message; everyone watching, the poster too,
    /// gets the thread's new state.
    AnalysisFinished { thread: Thread, by: User },
    /// A thread was deleted; `thread` is as it was before, so lists that showed it can drop it.
    ThreadDeleted {
        thread: Thread,
        by: Option<User>,
        origin: Option<ConnId>,
    },
    /// Who may see a thread changed; those who lost access must stop seeing it.
    AccessChanged { before: Thread, after: Thread },
    /// `user` is now present in a thread (was not before, on any connection). `origin` is the
    /// connection that joined; it gets the roster in its own answer.
    Joined {
        thread_id: Uuid,
        user: User,
        origin: Option<ConnId>,
    },
    /// `user` is no longer present in a thread (their last connection there left).
    Left { thread_id: Uuid, user: User },
}

/// A face that renders events for its clients.
pub trait Subscriber: Send + Sync {
    fn deliver(&self, event: &Event);
}

#[derive(Default)]
pub struct Bus {
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
}

impl Bus {
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.subscribers.write().unwrap().push(subscriber);
    }

    pub fn publish(&self, event: Event) {
        // Cloned out of the lock: a subscriber may publish in turn.
        let subscribers = self.subscribers.read().unwrap().clone();
        for subscriber in subscribers {
            subscriber.deliver(&event);
        }
    }
}
