//! Threads and their messages: atomic writes, reads, and the change sequence.

use super::{Backend, Error, Store, ThreadTxn, TxResult};
use crate::model::{Message, Thread};
use std::sync::Arc;
use uuid::Uuid;

impl Store {
    /// Runs `body` as one atomic, durable write over threads and messages (see [`ThreadTxn`]).
    ///
    /// The body may run more than once, so it must not have side effects outside the
    /// transaction; it owns what it needs, as the embedded store may run it from another
    /// writer's task (writes that arrive together form one group). Returns once the write is
    /// durable, and wakes the indexer. All of it lands or none, crash or not; on the embedded
    /// store a read racing the write may see part of it while it is applied, never anything
    /// not yet durable.
    pub async fn write_threads<T, E>(
        &self,
        body: impl Fn(&ThreadTxn) -> TxResult<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let value = match &self.backend {
            Backend::Sled(b) => b.write_threads(body).await,
            Backend::Postgres(b) => b.write_threads(body).await,
        }?;
        self.changed.notify_one();
        Ok(value)
    }

    /// Messages the analyst owes an answer, (thread id, message id), that no running node is
    /// working on.
    pub async fn pending_analyses(&self) -> Result<Vec<(Uuid, Uuid)>, Error> {
        on_backend!(self, b => b.pending_analyses())
    }

    /// On a cluster, messages whose analysis was running on a node that is gone: nobody will
    /// finish them (none on the embedded store, whose one server marks its own at start).
    pub async fn orphaned_analyses(&self) -> Result<Vec<(Uuid, Uuid)>, Error> {
        match &self.backend {
            Backend::Sled(_) => Ok(Vec::new()),
            Backend::Postgres(b) => b.orphaned_analyses().await,
        }
    }

    /// Threads that have a TTL (deleted ones excluded).
    pub async fn expiring_threads(&self) -> Result<Vec<Uuid>, Error> {
        on_backend!(self, b => b.expiring_threads())
    }

    /// The position of the latest change: every change at or below it is final.
    pub async fn last_seq(&self) -> Result<u64, Error> {
        on_backend!(self, b => b.last_seq())
    }

    /// Threads changed after position `seq`: (position, thread id), oldest first, and the
    /// horizon they are complete to: no change at or below it can appear later, so an index
    /// that has these covers everything up to the horizon.
    pub async fn changes_since(&self, seq: u64) -> Result<(Vec<(u64, Uuid)>, u64), Error> {
        on_backend!(self, b => b.changes_since(seq))
    }

    /// How many thread changes after position `seq` there are (an index's lag behind them).
    pub async fn changes_after(&self, seq: u64) -> Result<u64, Error> {
        on_backend!(self, b => b.changes_after(seq))
    }

    /// This node's indexes have every change up to and including `seq`: forget those no node
    /// still needs, and remember how far the log was pruned (an index covering less must be
    /// rebuilt, not caught up).
    pub async fn prune_changes(&self, seq: u64) -> Result<(), Error> {
        on_backend!(self, b => b.prune_changes(seq))
    }

    /// The position up to which the change log was pruned (0 if never).
    pub async fn changes_pruned_to(&self) -> Result<u64, Error> {
        on_backend!(self, b => b.changes_pruned_to())
    }

    /// Whether any message was ever stored.
    pub async fn has_messages(&self) -> Result<bool, Error> {
        on_backend!(self, b => b.has_messages())
    }

    /// Every thread id, deleted threads included.
    pub async fn thread_ids(&self) -> Result<Vec<Uuid>, Error> {
        on_backend!(self, b => b.thread_ids())
    }

    /// A message by id, wherever it is.
    pub async fn message_by_id(&self, message_id: Uuid) -> Result<Option<Message>, Error> {
        on_backend!(self, b => b.message_by_id(message_id))
    }

    pub async fn thread(&self, id: Uuid) -> Result<Option<Thread>, Error> {
        on_backend!(self, b => b.thread(id))
    }

    /// All messages of a thread, oldest first (shared: the embedded store keeps them decoded
    /// for the next read).
    pub async fn messages(&self, thread_id: Uuid) -> Result<Arc<[Message]>, Error> {
        match &self.backend {
            Backend::Sled(b) => b.messages(thread_id, true),
            Backend::Postgres(b) => Ok(b.messages(thread_id).await?.into()),
        }
    }

    /// [`Store::messages`] for a reader going through many threads once (the indexer, an
    /// export): it keeps none of them decoded, not to push out the threads people are reading.
    pub async fn messages_in_bulk(&self, thread_id: Uuid) -> Result<Arc<[Message]>, Error> {
        match &self.backend {
            Backend::Sled(b) => b.messages(thread_id, false),
            Backend::Postgres(b) => Ok(b.messages(thread_id).await?.into()),
        }
    }

    pub async fn latest_message(&self, thread_id: Uuid) -> Result<Option<Message>, Error> {
        on_backend!(self, b => b.latest_message(thread_id))
    }

    /// Every thread ever created in an org, deleted ones included.
    pub async fn threads_in_org(&self, org_id: Uuid) -> Result<Vec<Thread>, Error> {
        on_backend!(self, b => b.threads_in_org(org_id))
    }

    /// Threads a user owns or has been shared, deleted ones included.
    pub async fn threads_of_member(&self, user_id: Uuid) -> Result<Vec<Thread>, Error> {
        on_backend!(self, b => b.threads_of_member(user_id))
    }
}
