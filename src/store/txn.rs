//! A write's body and what it works with, whichever backend runs it.
//!
//! A body is a plain function of a [`ThreadTxn`]: it reads threads and messages, decides, and
//! writes. The backend may run it more than once (PostgreSQL after fetching rows the body asked
//! for, see `postgres::txn`), so a body has no effects outside the
//! transaction and leaves errors it did not make to `?`.

use super::embedded::SledTxn;
use super::postgres::PgTxn;
use super::Error;
use crate::model::{Message, Thread};
use uuid::Uuid;

/// Result of a step of a write's body (see [`super::Store::write_threads`]).
pub type TxResult<T, E> = Result<T, TxError<E>>;

/// Why a write's body stopped: the caller's error ([`abort`]), which cancels the write, or the
/// backend's (an unread row makes PostgreSQL run the body again). Opaque outside `store`.
pub struct TxError<E>(pub(super) Stop<E>);

pub(super) enum Stop<E> {
    /// The caller cancelled the write.
    Abort(E),
    /// sled failed to read.
    Sled(sled::Error),
    /// A storage failure reading inside the body.
    Store(Error),
    /// The body asked for a row the PostgreSQL backend has not fetched yet: it fetches it and
    /// runs the body again.
    Unread,
}

/// Cancels the surrounding write with the caller's error.
pub fn abort<T, E>(err: E) -> TxResult<T, E> {
    Err(TxError(Stop::Abort(err)))
}

impl<E> From<sled::Error> for TxError<E> {
    fn from(err: sled::Error) -> Self {
        TxError(Stop::Sled(err))
    }
}

impl<E> From<Error> for TxError<E> {
    fn from(err: Error) -> Self {
        TxError(Stop::Store(err))
    }
}

/// The threads and messages a write's body reads and writes.
///
/// A thread's messages have positions 0, 1, … counted by `Thread::message_count`, so a body finds
/// a thread's latest message without a range scan.
pub struct ThreadTxn<'a>(pub(super) Backend<'a>);

pub(super) enum Backend<'a> {
    Sled(SledTxn<'a>),
    Postgres(&'a PgTxn),
}

/// Calls the same method on whichever backend runs the body.
macro_rules! on_backend {
    ($txn:expr, $b:ident => $call:expr) => {
        match &$txn.0 {
            Backend::Sled($b) => $call,
            Backend::Postgres($b) => $call,
        }
    };
}

impl ThreadTxn<'_> {
    pub fn thread<E>(&self, id: Uuid) -> TxResult<Option<Thread>, E> {
        on_backend!(self, b => b.thread(id))
    }

    /// Writes a thread and keeps the org and member indexes in step with its owner and shares.
    pub fn put_thread<E>(&self, thread: &Thread) -> TxResult<(), E> {
        on_backend!(self, b => b.put_thread(thread))
    }

    /// Appends a message at the end of `thread`; the caller writes the thread afterwards.
    pub fn append_message<E>(&self, thread: &mut Thread, message: &Message) -> TxResult<(), E> {
        on_backend!(self, b => b.append_message(thread, message))
    }

    /// A message of `thread_id` by id; `None` if it does not exist or belongs to another thread.
    pub fn message<E>(&self, thread_id: Uuid, message_id: Uuid) -> TxResult<Option<Message>, E> {
        on_backend!(self, b => b.message(thread_id, message_id))
    }

    /// Whether any thread has a message with this id.
    pub fn message_exists<E>(&self, message_id: Uuid) -> TxResult<bool, E> {
        on_backend!(self, b => b.message_exists(message_id))
    }

    /// The message at `position` (0 = first) of a thread.
    pub fn message_at<E>(&self, thread_id: Uuid, position: u32) -> TxResult<Option<Message>, E> {
        on_backend!(self, b => b.message_at(thread_id, position))
    }

    pub fn latest_message<E>(&self, thread: &Thread) -> TxResult<Option<Message>, E> {
        let Some(last) = thread.message_count.checked_sub(1) else {
            return Ok(None);
        };
        self.message_at(thread.id, last)
    }

    /// Overwrites an existing message in place.
    pub fn replace_message<E>(&self, message: &Message) -> TxResult<(), E> {
        on_backend!(self, b => b.replace_message(message))
    }

    /// Records that the analyst owes `message` an answer, so a stop before it is written can
    /// be found at the next start.
    pub fn analysis_pending<E>(&self, message: &Message) -> TxResult<(), E> {
        on_backend!(self, b => b.analysis_pending(message))
    }

    /// The analyst's outcome for `message_id` is written (an answer, a failure, an interruption).
    pub fn analysis_done<E>(&self, message_id: Uuid) -> TxResult<(), E> {
        on_backend!(self, b => b.analysis_done(message_id))
    }
}
