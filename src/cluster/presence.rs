//! Who is present in which thread, and which threads the analyst is working on, across nodes.
//!
//! Each node sends who watches which thread on it and the threads it runs analyses on, all of
//! it, on the `presence` subject: at once when either changes, and every [`HEARTBEAT_EVERY`] as
//! its heartbeat. The others keep each node's latest (presence in the hub, which merges it into
//! rosters; runs in `runs`, which reports those threads busy) and tell their own watchers who
//! came and went. A node not heard from for [`NODE_SILENT_AFTER`] is gone: its users leave
//! every thread they were present in only there, and its threads are no longer busy. A node
//! that stops cleanly says so at once.

use crate::events::Event;
use crate::model::User;
use crate::services::Services;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often a node sends its presence, as a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// A node not heard from for this long is gone (three heartbeats missed).
pub const NODE_SILENT_AFTER: Duration = Duration::from_secs(6);

/// One node's presence on the bus.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    node: Uuid,
    /// (thread id, user) for everyone present on the node; empty when it stops.
    present: Vec<(Uuid, User)>,
    /// The threads the node's analyst is working on; empty when it stops.
    #[serde(default)]
    running: Vec<Uuid>,
    /// The node is stopping.
    leaving: bool,
}

pub struct Presence {
    node: Uuid,
    services: Arc<Services>,
    /// This node's presence changed and is not sent yet.
    changed: Notify,
    /// When each other node was last heard from.
    heard: Mutex<HashMap<Uuid, Instant>>,
}

impl Presence {
    pub fn new(node: Uuid, services: &Arc<Services>) -> Presence {
        Presence {
            node,
            services: services.clone(),
            changed: Notify::new(),
            heard: Mutex::default(),
        }
    }

    /// Sends this node's presence soon.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// Sends this node's presence (on change and as a heartbeat), takes the others', and
    /// forgets silent nodes; until `stop`, when it says this node is leaving.
    pub async fn run(
        &self,
        client: &async_nats::Client,
        subject: &str,
        mut incoming: async_nats::Subscriber,
        stop: CancellationToken,
    ) {
        use futures_util::StreamExt;
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    self.send(client, subject, false).await;
                    self.forget_silent();
                }
                _ = self.changed.notified() => self.send(client, subject, false).await,
                _ = self.services.runs.changed() => self.send(client, subject, false).await,
                message = incoming.next() => match message {
                    Some(message) => self.take(&message.payload),
                    None => break,
                },
                _ = stop.cancelled() => break,
            }
        }
        self.send(client, subject, true).await;
    }

    async fn send(&self, client: &async_nats::Client, subject: &str, leaving: bool) {
        let snapshot = if leaving {
            Snapshot {
                node: self.node,
                present: Vec::new(),
                running: Vec::new(),
                leaving,
            }
        } else {
            Snapshot {
                node: self.node,
                present: self.services.hub.local_presence(),
                running: self.services.runs.threads_here(),
                leaving,
            }
        };
        let body = serde_json::to_vec(&snapshot).expect("presence encodes");
        if let Err(err) = client.publish(subject.to_string(), body.into()).await {
            tracing::warn!(error = %err, "could not send this node's presence");
        }
    }

    /// Takes another node's presence and tells this node's watchers who came and went.
    fn take(&self, payload: &[u8]) {
        let snapshot: Snapshot = match serde_json::from_slice(payload) {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::warn!(error = %err, "a presence message from the bus could not be read");
                return;
            }
        };
        if snapshot.node == self.node {
            return;
        }
        {
            let mut heard = self.heard.lock().unwrap();
            if snapshot.leaving {
                heard.remove(&snapshot.node);
            } else {
                heard.insert(snapshot.node, Instant::now());
            }
        }
        self.apply(snapshot.node, snapshot.present, snapshot.running);
    }

    /// Nodes not heard from for [`NODE_SILENT_AFTER`] are gone, and so are their users.
    fn forget_silent(&self) {
        let silent: Vec<Uuid> = {
            let mut heard = self.heard.lock().unwrap();
            let silent = heard
                .iter()
                .filter(|(_, at)| at.elapsed() > NODE_SILENT_AFTER)
                .map(|(node, _)| *node)
                .collect::<Vec<_>>();
            for node in &silent {
                heard.remove(node);
            }
            silent
        };
        for node in silent {
            tracing::warn!(%node, "a node went silent; its users leave their threads");
            self.apply(node, Vec::new(), Vec::new());
        }
    }

    fn apply(&self, node: Uuid, present: Vec<(Uuid, User)>, running: Vec<Uuid>) {
        self.services.runs.set_elsewhere(node, running);
        let change = self.services.hub.set_remote_presence(node, present);
        for (thread_id, user) in change.joined {
            self.services.events.deliver_here(&Event::Joined {
                thread_id,
                user,
                origin: None,
            });
        }
        for departure in change.left {
            self.services.events.deliver_here(&Event::Left {
                thread_id: departure.thread_id,
                user: departure.user,
            });
        }
    }
}
