//! The rules of a thread, whatever interface asks: the one transport-neutral core.
//!
//! Every operation takes the services, the acting user and a typed request, checks access the
//! same way ([`access`]), applies the same rules ([`rules`]), writes through the store in one
//! transaction, and publishes what happened as typed [`crate::events::Event`]s on the services'
//! bus.
//! A face (WebSocket, REST, …) parses its wire format, calls an operation, and renders the
//! result or the [`crate::error::Error`]; it renders the events for its own subscribers.
//!
//! - `access`: who may see, change or manage a thread.
//! - `rules`: new thread ids, the prompt and title rules, what a locked or archived thread
//!   takes, stamping a change.
//! - `lifecycle`: locking, unlocking, archiving and unarchiving a thread.
//! - `naming`: a short name for a thread from its questions and answers.
//! - `post`: ask a question (a new thread or a follow-up); the analyst answers it.
//! - `create`: a thread without a question (empty or with turns), a copy, API settings.
//! - `turns`: writing chat turns and state values (LangGraph's `add_messages` merge).
//! - `update`: title, shares, a message's code, feedback, status and chart.
//! - `delete`: delete (all or none), prune (what may be), TTL expiry.
//! - `analyses`: the analyst's runs: bounded, tracked, cancelled on shutdown or on request.
//! - `rows`: an answer's result rows a page at a time (states carry a preview).
//! - `follow`: following one analysis's steps and end, for faces that answer in the request.

pub mod access;
pub mod analyses;
pub mod create;
pub mod delete;
pub mod follow;
pub mod lifecycle;
pub mod naming;
pub mod post;
pub mod rows;
pub mod rules;
pub mod turns;
pub mod update;

use crate::error::{Error, Result};
use crate::events::Event;
use crate::model::{Thread, Timestamp, User};
use crate::services::Services;
use crate::store::{ThreadTxn, TxResult};
use uuid::Uuid;

/// Changes thread `id`, which `user` must be allowed to edit and whose lifecycle must allow
/// this `kind` of change: `change` runs inside one write, then the thread is stamped, written
/// and announced. Returns the thread as written.
async fn edit(
    services: &Services,
    user: &User,
    id: Uuid,
    kind: rules::Change,
    change: impl Fn(&ThreadTxn, &mut Thread, Timestamp) -> TxResult<(), Error> + Send + 'static,
) -> Result<Thread> {
    let now = chrono::Utc::now();
    let writer = user.clone();
    let thread = services
        .store
        .write_threads(move |tx| {
            let (mut thread, _) = access::in_write(tx, &writer, id, access::Right::Edit)?;
            rules::allows(&thread, kind).or_else(crate::store::abort)?;
            change(tx, &mut thread, now)?;
            rules::stamp(&mut thread, &writer, now);
            tx.put_thread(&thread)?;
            Ok(thread)
        })
        .await?;
    thread_changed(services, &thread, user).await;
    Ok(thread)
}

/// Publishes that `by` created or changed `thread` through an interface with no connection to
/// leave out (REST and the like).
async fn thread_changed(services: &Services, thread: &Thread, by: &User) {
    services.publish(Event::ThreadChanged {
        thread: thread.clone(),
        by: by.clone(),
        origin: None,
        touched: crate::events::Touched::Messages,
    });
    services.settled().await;
}
