//! Several nodes as one server: what happens on one node reaches the clients of every other,
//! over NATS (`serve --database postgres://… --bus nats://…`).
//!
//! Subjects live under `skein.<cluster id>.` (the id is kept in the database), so deployments
//! sharing a NATS server do not hear each other:
//!
//! | subject      | carries                                                                  |
//! |--------------|--------------------------------------------------------------------------|
//! | `events`     | every event of a node's core but presence, as JSON `{node, event}`        |
//! | `presence`   | who watches which thread on a node and which threads it runs analyses    |
//! |              | on, all of it, on every change and every heartbeat (see `presence`)      |
//!
//! A node delivers the others' events to its own subscribers (the WebSocket renderer reads the
//! thread's state from the shared database, as it does for its own), never publishing them
//! again. Events are not kept: a node that was cut off from NATS misses live updates until it is
//! back, and its clients' next read of a thread is whole again (the database has it all).

mod presence;

use crate::config::BusFlags;
use crate::events::Event;
use crate::services::Services;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use presence::{HEARTBEAT_EVERY, NODE_SILENT_AFTER};

/// One event on the `events` subject.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: Uuid,
    event: Event,
}

/// The subjects of one cluster.
#[derive(Clone)]
struct Subjects {
    events: String,
    presence: String,
}

/// Connects this node to the bus and starts forwarding: this node's events out, the others'
/// in, presence both ways. Runs until `stop`.
pub async fn join(
    bus: &BusFlags,
    services: &Arc<Services>,
    stop: CancellationToken,
) -> Result<JoinHandle<()>, String> {
    let store = &services.store;
    let (Some(node), Some(cluster), Some(url)) = (
        store.node_id(),
        store.cluster_id().await.map_err(|e| e.to_string())?,
        &bus.url,
    ) else {
        return Err("a bus joins nodes that share a database: give --database too".into());
    };
    let client = connect_options(bus, url, node)
        .await?
        .connect(url.as_str())
        .await
        .map_err(|err| format!("cannot join the bus at {}: {err}", redacted(url)))?;
    let subjects = Subjects {
        events: format!("skein.{cluster:016x}.events"),
        presence: format!("skein.{cluster:016x}.presence"),
    };
    let events = client
        .subscribe(subjects.events.clone())
        .await
        .map_err(|err| format!("cannot subscribe on the bus: {err}"))?;
    let presence_in = client
        .subscribe(subjects.presence.clone())
        .await
        .map_err(|err| format!("cannot subscribe on the bus: {err}"))?;
    let (outbox, outgoing) = tokio::sync::mpsc::unbounded_channel();
    services.events.forward_to(outbox);
    tracing::info!(%node, %url, "joined the cluster's bus");
    let services = services.clone();
    Ok(tokio::spawn(async move {
        let presence = presence::Presence::new(node, &services);
        tokio::join!(
            send_events(&client, &subjects, node, outgoing, &presence, stop.clone()),
            receive_events(events, node, &services, stop.clone()),
            presence.run(&client, &subjects.presence, presence_in, stop.clone()),
            interrupt_orphans(&services, stop),
        );
        let _ = client.flush().await;
    }))
}

/// How this node connects to `url`: named after it, hearing only the others, authenticated
/// and over TLS as the flags and the URL say.
async fn connect_options(
    bus: &BusFlags,
    url: &str,
    node: Uuid,
) -> Result<async_nats::ConnectOptions, String> {
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("skein-{node}"))
        .no_echo();
    let address: async_nats::ServerAddr = url
        .parse()
        .map_err(|err| format!("--bus {}: {err}", redacted(url)))?;
    // The client does not read credentials from the URL by itself.
    options = match (address.username(), address.password()) {
        (Some(user), Some(password)) => options.user_and_password(user.into(), password.into()),
        (Some(token), None) => options.token(token.into()),
        _ => options,
    };
    if let Some(file) = &bus.creds {
        options = options
            .credentials_file(file)
            .await
            .map_err(|err| format!("--bus-creds {}: {err}", file.display()))?;
    }
    if let Some(file) = &bus.ca {
        options = options
            .add_root_certificates(file.clone())
            .require_tls(true);
    }
    Ok(options)
}

/// A bus URL fit for a message: without its password or token.
fn redacted(url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?.1)))
    {
        Some((scheme, host)) => format!("{scheme}://…@{host}"),
        None => url.to_string(),
    }
}

/// This node's events, out; a change of who is present here sends this node's presence.
async fn send_events(
    client: &async_nats::Client,
    subjects: &Subjects,
    node: Uuid,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Event>,
    presence: &presence::Presence,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            event = outgoing.recv() => match event {
                Some(event) => event,
                None => return,
            },
            // What was published before the stop still goes out.
            _ = stop.cancelled() => match outgoing.try_recv() {
                Ok(event) => event,
                Err(_) => return,
            },
        };
        if matches!(event, Event::Joined { .. } | Event::Left { .. }) {
            presence.changed();
            continue;
        }
        let body = match serde_json::to_vec(&Envelope { node, event }) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "an event could not be encoded for the bus");
                continue;
            }
        };
        if let Err(err) = client.publish(subjects.events.clone(), body.into()).await {
            tracing::warn!(error = %err, "an event could not be sent to the other nodes");
        }
    }
}

/// The other nodes' events, in, to this node's subscribers.
async fn receive_events(
    mut events: async_nats::Subscriber,
    node: Uuid,
    services: &Services,
    stop: CancellationToken,
) {
    use futures_util::StreamExt;
    loop {
        let message = tokio::select! {
            message = events.next() => match message {
                Some(message) => message,
                None => return,
            },
            _ = stop.cancelled() => return,
        };
        match serde_json::from_slice::<Envelope>(&message.payload) {
            Ok(envelope) if envelope.node != node => services.deliver_remote(envelope.event),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "an event from the bus could not be read"),
        }
    }
}

/// How often a node looks for analyses a dead node left unfinished.
const ORPHANS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Marks the analyses of nodes that died as interrupted, so their questions do not hang: a node
/// is dead once its database heartbeat is `store::NODE_GONE_AFTER_SECS` old, so a question
/// left by a killed node is marked within that and [`ORPHANS_EVERY`] more.
async fn interrupt_orphans(services: &Services, stop: CancellationToken) {
    let mut tick = tokio::time::interval(ORPHANS_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        match crate::threads::analyses::interrupt_orphans(services).await {
            Ok(0) => {}
            Ok(count) => {
                tracing::warn!(
                    count,
                    "marked analyses a dead node left unfinished as interrupted"
                )
            }
            Err(err) => tracing::warn!(error = %err, "could not look for analyses dead nodes left"),
        }
    }
}
