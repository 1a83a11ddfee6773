//! What WebSocket clients see of the threads core's events, and the presence broadcasts
//! (joined, left) several routes share.

use super::envelope::event;
use super::views;
use crate::events::{Event, Subscriber, Touched};
use crate::hub::{ConnId, Departure, Joined};
use crate::model::{Thread, User};
use crate::services::Services;
use crate::threads::access;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use uuid::Uuid;

/// Renders the core's events as the seed's broadcasts, one at a time in the order they were
/// published: rendering a thread's state reads the store, so it happens in a task of its own
/// rather than in the publisher's call.
///
/// An event nobody would be sent is dropped at once when nothing is queued before it, and
/// `settled` has nothing to wait for while nothing is queued: a write nobody else watches
/// costs no hop through the task (two wakes, often across cores). An event queued behind
/// others always waits its turn: rendered late, an earlier event could otherwise reach a
/// watcher who joined meanwhile after the later state.
pub struct Renderer {
    queue: tokio::sync::mpsc::UnboundedSender<Queued>,
    services: Weak<Services>,
    /// Events queued and not yet rendered.
    pending: Arc<AtomicUsize>,
}

enum Queued {
    Event(Box<Event>),
    /// Answered once everything queued before it is rendered.
    Settle(tokio::sync::oneshot::Sender<()>),
}

impl Renderer {
    /// Starts the rendering task; it ends when the renderer is dropped.
    pub fn start(services: &Arc<Services>) -> Renderer {
        let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel();
        // Weak: the services hold the bus that holds this renderer.
        let services: Weak<Services> = Arc::downgrade(services);
        let pending = Arc::new(AtomicUsize::new(0));
        let (weak, rendered) = (services.clone(), pending.clone());
        tokio::spawn(async move {
            while let Some(item) = queued.recv().await {
                match item {
                    Queued::Event(happened) => {
                        // Gone only while the server shuts down, when nobody is left to tell.
                        let Some(services) = weak.upgrade() else {
                            return;
                        };
                        render(&services, &happened).await;
                        rendered.fetch_sub(1, Ordering::Release);
                    }
                    Queued::Settle(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Renderer {
            queue,
            services,
            pending,
        }
    }
}

impl Subscriber for Renderer {
    fn deliver(&self, happened: &Event) {
        if self.pending.load(Ordering::Acquire) == 0 {
            let Some(services) = self.services.upgrade() else {
                return;
            };
            if !reaches_anyone(&services, happened) {
                return;
            }
        }
        self.pending.fetch_add(1, Ordering::AcqRel);
        // Fails only once the task has ended, at shutdown.
        let _ = self.queue.send(Queued::Event(Box::new(happened.clone())));
    }

    fn settled(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if self.pending.load(Ordering::Acquire) == 0 {
            return None;
        }
        let (done, settled) = tokio::sync::oneshot::channel();
        let _ = self.queue.send(Queued::Settle(done));
        Some(settled)
    }
}

/// Whether rendering `happened` now would send anything: a thread's state goes to its watchers
/// but the one who changed it (see [`broadcast_state`]), and to the lists.
fn reaches_anyone(services: &Services, happened: &Event) -> bool {
    let (thread, except) = match happened {
        Event::ThreadChanged { thread, origin, .. }
        | Event::MessageAdded { thread, origin, .. } => (thread, *origin),
        Event::AnalysisFinished { thread, .. } => (thread, None),
        _ => return true,
    };
    services.hub.has_thread_watchers(thread.id, except) || services.hub.has_list_watchers()
}

async fn render(services: &Services, happened: &Event) {
    let rendered = match happened {
        Event::ThreadChanged {
            thread,
            by,
            origin,
            touched,
        } => broadcast_state(services, thread, "/threads/get", by, *origin, *touched).await,
        Event::MessageAdded {
            thread,
            message_id,
            by,
            origin,
        } => {
            let touched = Touched::Message(*message_id);
            broadcast_state(services, thread, "/threads/get", by, *origin, touched).await
        }
        Event::AnalysisStep { update, by } => {
            super::stream::broadcast_step(services, update, by);
            Ok(())
        }
        Event::AnalysisFinished {
            thread,
            message_id,
            by,
        } => analysis_finished(services, thread, *message_id, by).await,
        Event::ThreadDeleted { thread, by, origin } => {
            thread_deleted(services, thread, by.as_ref(), *origin);
            Ok(())
        }
        Event::AccessChanged { before, after } => {
            access_changed(services, before, after);
            Ok(())
        }
        Event::Joined {
            thread_id,
            user,
            origin,
        } => {
            presence(services, "joinedThread", *thread_id, user, *origin);
            Ok(())
        }
        Event::Left { thread_id, user } => {
            presence(services, "leftThread", *thread_id, user, None);
            Ok(())
        }
        // Watchers see the cancelled run finish, from the run itself.
        Event::RunsCancelled { .. } => Ok(()),
    };
    if let Err(err) = rendered {
        tracing::error!(error = %err, "could not render an event for WebSocket clients");
    }
}

/// `joinedThread` or `leftThread` to the others in the thread.
fn presence(services: &Services, name: &str, thread_id: Uuid, user: &User, except: Option<ConnId>) {
    let frame = event(
        "/threads/get",
        name,
        json!([views::presence(user, thread_id)]),
        Some(user),
    );
    services.hub.broadcast_thread(thread_id, frame, except);
}

/// Whoever lost access by a change leaves the thread and loses it from their list.
fn access_changed(services: &Services, before: &Thread, after: &Thread) {
    let still_allowed = |u: &User| access::can_see(u, after);
    let (evicted, departures) = services.hub.evict(after.id, still_allowed);
    // Their screens drop the thread as if it were deleted: for them, it is gone.
    for conn in evicted {
        let gone = event("/threads/get", "deleteThreadState", json!([after.id]), None);
        services.hub.send(conn, gone);
    }
    announce_departures(services, &departures);
    list_removed(services, before, |u| {
        access::can_see(u, before) && !still_allowed(u)
    });
}

/// Tells everyone watching a thread (the poster too) its state after an analysis, and the lists.
async fn analysis_finished(
    services: &Services,
    thread: &Thread,
    message_id: Uuid,
    sent_by: &User,
) -> Result<(), crate::store::Error> {
    let touched = Touched::Message(message_id);
    broadcast_state(services, thread, "/threads/post", sent_by, None, touched).await
}

/// `updateThreadState` under `route` to the thread's subscribers (but `except`), then the lists.
/// The state is read and rendered only if someone will receive it (a post's own answer has
/// rendered it already, and a long thread's state is costly).
async fn broadcast_state(
    services: &Services,
    thread: &Thread,
    route: &str,
    sent_by: &User,
    except: Option<ConnId>,
    touched: Touched,
) -> Result<(), crate::store::Error> {
    if services.hub.has_thread_watchers(thread.id, except) {
        let state = views::load_thread_update(&services.store, thread, touched).await?;
        let update = event(route, "updateThreadState", [state], Some(sent_by));
        services.hub.broadcast_thread(thread.id, update, except);
    }
    list_changed(services, thread, sent_by).await
}

/// Sends the thread's list item to every list subscriber who may see it, or, when it left the
/// list (archived, or hidden from the UI), tells them it is gone.
async fn list_changed(
    services: &Services,
    thread: &Thread,
    sent_by: &User,
) -> Result<(), crate::store::Error> {
    if !services.hub.has_list_watchers() {
        return Ok(());
    }
    if !super::list::in_list(thread, false) {
        list_removed(services, thread, |user| access::can_see(user, thread));
        return Ok(());
    }
    let item = views::load_list_item(&services.store, thread).await?;
    let update = event(
        "/threads/list",
        "updateThreadsList",
        json!([item]),
        Some(sent_by),
    );
    services
        .hub
        .broadcast_lists(update, |user| access::can_see(user, thread));
    Ok(())
}

/// Tells a deleted thread's watchers and everyone whose list showed it (`thread` as it was
/// before the deletion) that it is gone, and ends the watchers' subscriptions.
fn thread_deleted(
    services: &Services,
    thread: &Thread,
    deleted_by: Option<&User>,
    except: Option<ConnId>,
) {
    let gone = event(
        "/threads/get",
        "deleteThreadState",
        json!([thread.id]),
        deleted_by,
    );
    services.hub.broadcast_thread(thread.id, gone, except);
    // Everyone leaves a deleted thread; there is nobody left to tell.
    services.hub.evict(thread.id, |_| false);
    list_removed(services, thread, |u| access::can_see(u, thread));
}

/// Tells the list subscribers who could see `thread` (as it was) that it is gone for them.
fn list_removed(services: &Services, thread: &Thread, could_see: impl Fn(&User) -> bool) {
    let gone = event(
        "/threads/list",
        "deleteThreadState",
        json!([thread.id]),
        None,
    );
    services.hub.broadcast_lists(gone, could_see);
}

/// Tells the others in a thread that `user` arrived, if they were not there already.
pub fn announce_join(
    services: &Services,
    conn: ConnId,
    thread: &Thread,
    user: &User,
    joined: &Joined,
) {
    if joined.newly_present {
        services.publish(Event::Joined {
            thread_id: thread.id,
            user: user.clone(),
            origin: Some(conn),
        });
    }
}

/// Tells those still in each thread about users no longer present.
pub fn announce_departures(services: &Services, departures: &[Departure]) {
    for departure in departures {
        services.publish(Event::Left {
            thread_id: departure.thread_id,
            user: departure.user.clone(),
        });
    }
}
