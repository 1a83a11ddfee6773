//! Channels, subscriptions, presence and fan-out to connections.
//!
//! Every WebSocket connection registers here and gets a bounded queue of outbound frames.
//! Delivery never waits: a connection whose queue is full is asked to close (see [`Outbox`]),
//! so one slow client cannot stall anybody else. Channels are one list channel per connection's
//! user (a flag on the connection) and one channel per thread. Presence is per user: a user is
//! present in a thread while at least one of their connections is subscribed to it.
//!
//! The hub knows nothing of the wire format; callers hand it frames already encoded
//! ([`Frame`]), one per message however many connections it goes to.

use crate::model::User;
use crate::outbox::{Frame, Outbox, Pushed, WriteHalf, Writer};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

pub type ConnId = u64;

/// Close code sent when a connection's send queue overflows (1008: policy violation).
pub const CLOSE_TOO_SLOW: u16 = 1008;
/// Close code for server shutdown and unanswered pings (1001: going away).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code when the connection's token is revoked or its user disabled (a private-use code
/// in the manner of HTTP 401: sign in again).
pub const CLOSE_SIGNED_OUT: u16 = 4401;

/// A registered connection as its own task sees it.
pub struct Registration {
    pub id: ConnId,
    pub outbox: Arc<Outbox>,
}

/// What subscribing a connection to a thread changed.
pub struct Joined {
    /// The user was not present in the thread before (others should be told).
    pub newly_present: bool,
    /// This connection was already subscribed, so it has the thread's state from before.
    pub was_subscribed: bool,
}

/// A user who is no longer present in a thread after a connection left it.
pub struct Departure {
    pub thread_id: Uuid,
    pub user: User,
}

struct Conn {
    user: User,
    /// The hash of the token the connection signed in with.
    token: [u8; 32],
    outbox: Arc<Outbox>,
    threads: HashSet<Uuid>,
    lists: bool,
}

#[derive(Default)]
struct Channels {
    conns: HashMap<ConnId, Conn>,
    /// Subscribers of each thread, in subscription order.
    threads: HashMap<Uuid, Vec<ConnId>>,
    /// How many connections watch their thread list.
    list_watchers: usize,
    /// Who is present on other nodes of a cluster: node → thread → users (see `cluster`).
    remote: HashMap<Uuid, HashMap<Uuid, Vec<User>>>,
}

/// Who became present in a thread, or stopped being present anywhere, when another node's
/// presence changed.
#[derive(Default)]
pub struct PresenceChange {
    pub joined: Vec<(Uuid, User)>,
    pub left: Vec<Departure>,
}

pub struct Hub {
    channels: Mutex<Channels>,
    next_id: AtomicU64,
    queue_capacity: usize,
}

impl Hub {
    pub fn new(queue_capacity: usize) -> Hub {
        Hub {
            channels: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue_capacity,
        }
    }

    /// Registers a connection that writes to `socket`.
    pub fn register(&self, user: User, token: [u8; 32], socket: WriteHalf) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let outbox = Outbox::new(self.queue_capacity, socket);
        let conn = Conn {
            user,
            token,
            outbox: outbox.clone(),
            threads: HashSet::new(),
            lists: false,
        };
        self.channels.lock().unwrap().conns.insert(id, conn);
        Registration { id, outbox }
    }

    /// Removes a connection and reports the users it leaves no longer present anywhere.
    pub fn unregister(&self, id: ConnId) -> Vec<Departure> {
        let mut channels = self.channels.lock().unwrap();
        let departures = channels.leave_threads(id, None);
        channels.watch_lists(id, false);
        channels.conns.remove(&id);
        departures
    }

    /// Sends to one connection: written at once if nothing waits before it (an answer, an
    /// analysis' step for its asker).
    pub fn send(&self, id: ConnId, frame: Frame) {
        let channels = self.channels.lock().unwrap();
        if let Some(conn) = channels.conns.get(&id) {
            deliver(conn, &frame, Writer::Deliverer);
        }
    }

    /// Connections subscribed to at least one thread, and to the lists (for metrics).
    pub fn subscription_counts(&self) -> (usize, usize) {
        let channels = self.channels.lock().unwrap();
        let threads = channels
            .conns
            .values()
            .filter(|c| !c.threads.is_empty())
            .count();
        let lists = channels.list_watchers;
        (threads, lists)
    }

    pub fn subscribe_lists(&self, id: ConnId) {
        self.channels.lock().unwrap().watch_lists(id, true);
    }

    /// Sends to every list subscriber whose user passes `may_see`.
    pub fn broadcast_lists(&self, frame: Frame, may_see: impl Fn(&User) -> bool) {
        let channels = self.channels.lock().unwrap();
        for conn in channels.conns.values() {
            if conn.lists && may_see(&conn.user) {
                deliver(conn, &frame, Writer::Task);
            }
        }
    }

    /// Subscribes a connection to a thread's channel.
    pub fn join_thread(&self, id: ConnId, thread_id: Uuid) -> Joined {
        let mut channels = self.channels.lock().unwrap();
        let Some(user_id) = channels.conns.get(&id).map(|conn| conn.user.id) else {
            return Joined {
                newly_present: false,
                was_subscribed: false,
            };
        };
        let newly_present = !channels.is_present(thread_id, user_id);
        let subscribers = channels.threads.entry(thread_id).or_default();
        let was_subscribed = subscribers.contains(&id);
        if !was_subscribed {
            subscribers.push(id);
        }
        if let Some(conn) = channels.conns.get_mut(&id) {
            conn.threads.insert(thread_id);
        }
        Joined {
            newly_present,
            was_subscribed,
        }
    }

    /// Everyone present in a thread, on this node (first, in joining order) or another, one
    /// entry per user. Apart from [`Hub::join_thread`]: posts and updates join their thread
    /// too, and need no copy of a crowded thread's roster.
    pub fn roster(&self, thread_id: Uuid) -> Vec<User> {
        self.channels.lock().unwrap().roster(thread_id)
    }

    /// Who is present in which thread on this node: (thread, user), once per user and thread.
    pub fn local_presence(&self) -> Vec<(Uuid, User)> {
        let channels = self.channels.lock().unwrap();
        let mut present = Vec::new();
        for (thread_id, subscribers) in &channels.threads {
            let mut seen = HashSet::new();
            for conn in subscribers.iter().filter_map(|id| channels.conns.get(id)) {
                if seen.insert(conn.user.id) {
                    present.push((*thread_id, conn.user.clone()));
                }
            }
        }
        present
    }

    /// Replaces what is known of who is present on another node (all of it: `present` empty
    /// when the node has gone); returns who became present, or absent everywhere, by it.
    pub fn set_remote_presence(&self, node: Uuid, present: Vec<(Uuid, User)>) -> PresenceChange {
        let mut channels = self.channels.lock().unwrap();
        let mut now: HashMap<Uuid, Vec<User>> = HashMap::new();
        for (thread_id, user) in present {
            now.entry(thread_id).or_default().push(user);
        }
        let before = channels.remote.remove(&node).unwrap_or_default();
        let mut change = PresenceChange::default();
        for (thread_id, users) in &before {
            for user in users {
                let stays = now
                    .get(thread_id)
                    .is_some_and(|now| now.iter().any(|u| u.id == user.id));
                if !stays && !channels.is_present(*thread_id, user.id) {
                    change.left.push(Departure {
                        thread_id: *thread_id,
                        user: user.clone(),
                    });
                }
            }
        }
        for (thread_id, users) in &now {
            for user in users {
                let was = before
                    .get(thread_id)
                    .is_some_and(|before| before.iter().any(|u| u.id == user.id));
                if !was && !channels.is_present(*thread_id, user.id) {
                    change.joined.push((*thread_id, user.clone()));
                }
            }
        }
        if !now.is_empty() {
            channels.remote.insert(node, now);
        }
        change
    }

    /// Unsubscribes a connection from one thread, or from every thread and the lists (`None`).
    pub fn leave(&self, id: ConnId, thread_id: Option<Uuid>) -> Vec<Departure> {
        let mut channels = self.channels.lock().unwrap();
        if thread_id.is_none() {
            channels.watch_lists(id, false);
        }
        channels.leave_threads(id, thread_id)
    }

    /// Whether any connection but `except` watches the thread.
    pub fn has_thread_watchers(&self, thread_id: Uuid, except: Option<ConnId>) -> bool {
        let channels = self.channels.lock().unwrap();
        channels
            .threads
            .get(&thread_id)
            .is_some_and(|subscribers| subscribers.iter().any(|id| Some(*id) != except))
    }

    /// Whether any connection watches its thread list.
    pub fn has_list_watchers(&self) -> bool {
        self.channels.lock().unwrap().list_watchers > 0
    }

    /// Sends to every subscriber of a thread except `except`.
    pub fn broadcast_thread(&self, thread_id: Uuid, frame: Frame, except: Option<ConnId>) {
        // Delivered under the lock, so every watcher gets a thread's events in one order. A
        // delivery never waits: a push onto the connection's queue, for its writer task.
        let channels = self.channels.lock().unwrap();
        for conn_id in channels.threads.get(&thread_id).into_iter().flatten() {
            if Some(*conn_id) != except {
                if let Some(conn) = channels.conns.get(conn_id) {
                    deliver(conn, &frame, Writer::Task);
                }
            }
        }
    }

    /// Unsubscribes the thread's subscribers whose user fails `keep` (access revoked or thread
    /// deleted); returns the connections it unsubscribed and who is no longer present.
    pub fn evict(
        &self,
        thread_id: Uuid,
        keep: impl Fn(&User) -> bool,
    ) -> (Vec<ConnId>, Vec<Departure>) {
        let mut channels = self.channels.lock().unwrap();
        let leaving: Vec<ConnId> = channels
            .threads
            .get(&thread_id)
            .into_iter()
            .flatten()
            .filter(|conn_id| {
                channels
                    .conns
                    .get(conn_id)
                    .is_some_and(|conn| !keep(&conn.user))
            })
            .copied()
            .collect();
        let departures = leaving
            .iter()
            .flat_map(|conn_id| channels.leave_threads(*conn_id, Some(thread_id)))
            .collect();
        (leaving, departures)
    }

    /// Asks the connections whose user and token hash match to close; returns how many.
    pub fn close_where(
        &self,
        matches: impl Fn(&User, &[u8; 32]) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let channels = self.channels.lock().unwrap();
        let mut closed = 0;
        for conn in channels.conns.values() {
            if matches(&conn.user, &conn.token) {
                conn.outbox.close(code, reason);
                closed += 1;
            }
        }
        closed
    }

    /// Asks every connection to close (server shutdown).
    pub fn close_all(&self, code: u16, reason: &str) {
        for conn in self.channels.lock().unwrap().conns.values() {
            conn.outbox.close(code, reason);
        }
    }
}

impl Channels {
    /// Subscribes a connection to its lists or unsubscribes it, keeping the count.
    fn watch_lists(&mut self, id: ConnId, watch: bool) {
        if let Some(conn) = self.conns.get_mut(&id) {
            if conn.lists != watch {
                conn.lists = watch;
                if watch {
                    self.list_watchers += 1;
                } else {
                    self.list_watchers -= 1;
                }
            }
        }
    }

    /// Whether a user is present in a thread, on this node or another.
    fn is_present(&self, thread_id: Uuid, user_id: Uuid) -> bool {
        self.threads
            .get(&thread_id)
            .into_iter()
            .flatten()
            .any(|conn_id| self.conns.get(conn_id).map(|c| c.user.id) == Some(user_id))
            || self.remote_users(thread_id).any(|user| user.id == user_id)
    }

    /// Everyone present in a thread, on this node (first, in joining order) or another.
    fn roster(&self, thread_id: Uuid) -> Vec<User> {
        let mut seen = HashSet::new();
        self.threads
            .get(&thread_id)
            .into_iter()
            .flatten()
            .filter_map(|conn_id| self.conns.get(conn_id))
            .map(|conn| &conn.user)
            .chain(self.remote_users(thread_id))
            .filter(|user| seen.insert(user.id))
            .cloned()
            .collect()
    }

    fn remote_users(&self, thread_id: Uuid) -> impl Iterator<Item = &User> {
        self.remote
            .values()
            .filter_map(move |threads| threads.get(&thread_id))
            .flatten()
    }

    /// Takes `id` out of one thread or all of its threads; reports users no longer present.
    fn leave_threads(&mut self, id: ConnId, only: Option<Uuid>) -> Vec<Departure> {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Vec::new();
        };
        let user = conn.user.clone();
        let left: Vec<Uuid> = match only {
            Some(thread_id) if conn.threads.remove(&thread_id) => vec![thread_id],
            Some(_) => Vec::new(),
            None => conn.threads.drain().collect(),
        };
        let mut departures = Vec::new();
        for thread_id in left {
            if let Some(subscribers) = self.threads.get_mut(&thread_id) {
                subscribers.retain(|conn_id| *conn_id != id);
                if subscribers.is_empty() {
                    self.threads.remove(&thread_id);
                }
            }
            if !self.is_present(thread_id, user.id) {
                departures.push(Departure {
                    thread_id,
                    user: user.clone(),
                });
            }
        }
        departures
    }
}

/// Writes or queues a frame without waiting; a full queue closes the connection instead of
/// blocking.
fn deliver(conn: &Conn, frame: &Frame, writer: Writer) {
    let metrics = &crate::metrics::METRICS;
    match conn.outbox.push(frame, writer) {
        Pushed::Accepted => metrics.frames_sent.inc(),
        Pushed::Closing => metrics.frames_dropped.inc(),
        Pushed::Full => {
            metrics.frames_dropped.inc();
            metrics.slow_client_closes.inc();
            tracing::warn!(user = %conn.user.email, "send queue full; closing the connection");
            conn.outbox.close(
                CLOSE_TOO_SLOW,
                "client too slow: send queue overflowed; reconnect and resubscribe",
            );
        }
    }
}
