//! Thread writes on PostgreSQL: a write's body runs against rows fetched in its transaction.
//!
//! A body is synchronous (it is the same body the embedded store runs), so it cannot wait for a
//! query. It runs against the rows fetched so far; when it asks for one not fetched yet it stops
//! (`Stop::Unread`), the row is fetched with `FOR UPDATE` (locked until commit), and the body
//! runs again from the start. Bodies are free of side effects, so running again is safe; most
//! writes need two or three rounds (the thread, then its latest message). Once a body finishes,
//! its writes are applied in order with the change log rows, and the transaction commits.
//!
//! Rows read are locked, so what the body decided on cannot change before commit; a row that
//! was absent and is inserted concurrently makes the insert fail on its key, and the whole
//! write runs again (as on a deadlock or serialization failure).

use super::{decode, execute, query, retryable, Error, PgStore};
use crate::model::{Message, Thread};
use crate::store::codec;
use crate::store::txn::{Backend, Stop, ThreadTxn, TxError, TxResult};
use deadpool_postgres::Transaction;
use std::cell::RefCell;
use std::collections::HashMap;
use uuid::Uuid;

/// How often a write runs again after conflicting with another before giving up.
const MAX_ATTEMPTS: u32 = 20;

/// What a body sees and does in one run.
pub struct PgTxn {
    /// Rows as fetched, then as this run's writes left them.
    view: RefCell<Rows>,
    writes: RefCell<Vec<Write>>,
    /// Rows the body asked for that are not fetched yet.
    unread: RefCell<Vec<Read>>,
    touched: RefCell<Vec<Uuid>>,
}

/// Rows fetched in a transaction; `None` records a row that does not exist.
#[derive(Clone, Default)]
struct Rows {
    threads: HashMap<Uuid, Option<Thread>>,
    /// Message id → (thread id, position).
    keys: HashMap<Uuid, Option<(Uuid, u32)>>,
    messages: HashMap<(Uuid, u32), Option<Message>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Read {
    Thread(Uuid),
    MessageKey(Uuid),
    MessageAt(Uuid, u32),
}

enum Write {
    Thread(Box<Thread>),
    Append(Box<Message>, u32),
    Replace(Box<Message>),
    Pending { message: Uuid, thread: Uuid },
    Done(Uuid),
}

impl PgTxn {
    fn unread<T, E>(&self, read: Read) -> TxResult<T, E> {
        let mut unread = self.unread.borrow_mut();
        if !unread.contains(&read) {
            unread.push(read);
        }
        Err(TxError(Stop::Unread))
    }

    fn touch(&self, thread_id: Uuid) {
        let mut touched = self.touched.borrow_mut();
        if !touched.contains(&thread_id) {
            touched.push(thread_id);
        }
    }

    pub fn thread<E>(&self, id: Uuid) -> TxResult<Option<Thread>, E> {
        match self.view.borrow().threads.get(&id) {
            Some(thread) => Ok(thread.clone()),
            None => self.unread(Read::Thread(id)),
        }
    }

    pub fn put_thread<E>(&self, thread: &Thread) -> TxResult<(), E> {
        self.view
            .borrow_mut()
            .threads
            .insert(thread.id, Some(thread.clone()));
        self.writes
            .borrow_mut()
            .push(Write::Thread(Box::new(thread.clone())));
        self.touch(thread.id);
        Ok(())
    }

    pub fn append_message<E>(&self, thread: &mut Thread, message: &Message) -> TxResult<(), E> {
        let position = thread.message_count;
        thread.message_count += 1;
        let mut view = self.view.borrow_mut();
        view.keys.insert(message.id, Some((thread.id, position)));
        view.messages
            .insert((thread.id, position), Some(message.clone()));
        self.writes
            .borrow_mut()
            .push(Write::Append(Box::new(message.clone()), position));
        self.touch(thread.id);
        Ok(())
    }

    /// Where a message is, `None` if nowhere.
    fn key<E>(&self, message_id: Uuid) -> TxResult<Option<(Uuid, u32)>, E> {
        match self.view.borrow().keys.get(&message_id) {
            Some(key) => Ok(*key),
            None => self.unread(Read::MessageKey(message_id)),
        }
    }

    pub fn message<E>(&self, thread_id: Uuid, message_id: Uuid) -> TxResult<Option<Message>, E> {
        match self.key(message_id)? {
            Some((thread, position)) if thread == thread_id => self.message_at(thread, position),
            _ => Ok(None),
        }
    }

    pub fn message_exists<E>(&self, message_id: Uuid) -> TxResult<bool, E> {
        Ok(self.key(message_id)?.is_some())
    }

    pub fn message_at<E>(&self, thread_id: Uuid, position: u32) -> TxResult<Option<Message>, E> {
        match self.view.borrow().messages.get(&(thread_id, position)) {
            Some(message) => Ok(message.clone()),
            None => self.unread(Read::MessageAt(thread_id, position)),
        }
    }

    pub fn replace_message<E>(&self, message: &Message) -> TxResult<(), E> {
        if let Some(key) = self.key(message.id)? {
            self.view
                .borrow_mut()
                .messages
                .insert(key, Some(message.clone()));
            self.writes
                .borrow_mut()
                .push(Write::Replace(Box::new(message.clone())));
            self.touch(message.thread_id);
        }
        Ok(())
    }

    pub fn analysis_pending<E>(&self, message: &Message) -> TxResult<(), E> {
        self.writes.borrow_mut().push(Write::Pending {
            message: message.id,
            thread: message.thread_id,
        });
        Ok(())
    }

    pub fn analysis_done<E>(&self, message_id: Uuid) -> TxResult<(), E> {
        self.writes.borrow_mut().push(Write::Done(message_id));
        Ok(())
    }
}

/// How one run of a body ended.
enum Run<T, E> {
    Done {
        value: T,
        writes: Vec<Write>,
        touched: Vec<Uuid>,
    },
    Unread(Vec<Read>),
    Abort(E),
    Failed(Error),
}

impl PgStore {
    /// See [`crate::store::Store::write_threads`] and the module comment.
    pub async fn write_threads<T, E>(
        &self,
        body: impl Fn(&ThreadTxn) -> TxResult<T, E>,
    ) -> Result<T, E>
    where
        E: From<Error>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_write(&body).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(abort)) => return Err(abort),
                Err(err) if retryable(&err) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(error = %err, attempt, "thread write conflicted; running it again");
                }
                Err(err) => return Err(E::from(err)),
            }
        }
    }

    /// One attempt: the caller's abort inside, a storage failure outside.
    async fn try_write<T, E>(
        &self,
        body: &impl Fn(&ThreadTxn) -> TxResult<T, E>,
    ) -> Result<Result<T, E>, Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut fetched = Rows::default();
        loop {
            match self.run(body, &fetched) {
                Run::Unread(reads) => {
                    for read in reads {
                        fetch(&tx, read, &mut fetched).await?;
                    }
                }
                Run::Abort(err) => {
                    tx.rollback().await?;
                    return Ok(Err(err));
                }
                Run::Failed(err) => return Err(err),
                Run::Done {
                    value,
                    writes,
                    touched,
                } => {
                    for write in &writes {
                        self.apply(&tx, write, &fetched).await?;
                    }
                    if !touched.is_empty() {
                        execute(
                            &tx,
                            "INSERT INTO changes (thread_id) SELECT unnest($1::uuid[])",
                            &[&touched],
                        )
                        .await?;
                    }
                    let started = std::time::Instant::now();
                    tx.commit().await?;
                    crate::metrics::METRICS
                        .store_flush_seconds
                        .observe(started.elapsed().as_secs_f64());
                    return Ok(Ok(value));
                }
            }
        }
    }

    /// Runs the body once over the rows fetched so far (synchronously: nothing of it is held
    /// across an await).
    fn run<T, E>(&self, body: &impl Fn(&ThreadTxn) -> TxResult<T, E>, fetched: &Rows) -> Run<T, E> {
        let txn = PgTxn {
            view: RefCell::new(fetched.clone()),
            writes: RefCell::default(),
            unread: RefCell::default(),
            touched: RefCell::default(),
        };
        match body(&ThreadTxn(Backend::Postgres(&txn))) {
            Ok(value) => Run::Done {
                value,
                writes: txn.writes.into_inner(),
                touched: txn.touched.into_inner(),
            },
            Err(TxError(Stop::Unread)) => Run::Unread(txn.unread.into_inner()),
            Err(TxError(Stop::Abort(err))) => Run::Abort(err),
            Err(TxError(Stop::Store(err))) => Run::Failed(err),
            Err(TxError(Stop::Sled(err))) => Run::Failed(Error::Corrupt(format!(
                "an embedded-store error in a PostgreSQL write: {err}"
            ))),
        }
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        write: &Write,
        fetched: &Rows,
    ) -> Result<(), Error> {
        match write {
            Write::Thread(thread) => {
                let expiring = thread.is_expiring();
                execute(
                    tx,
                    "INSERT INTO threads (id, org_id, expiring, record) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE
                     SET org_id = EXCLUDED.org_id, expiring = EXCLUDED.expiring, record = EXCLUDED.record",
                    &[&thread.id, &thread.org_id, &expiring, &codec::encode(thread)],
                )
                .await?;
                let mut members: Vec<Uuid> = thread.members().collect();
                members.sort();
                members.dedup();
                let before = fetched.threads.get(&thread.id).cloned().flatten();
                let unchanged = before.is_some_and(|old| {
                    let mut old: Vec<Uuid> = old.members().collect();
                    old.sort();
                    old.dedup();
                    old == members
                });
                if !unchanged {
                    execute(
                        tx,
                        "DELETE FROM thread_members WHERE thread_id = $1",
                        &[&thread.id],
                    )
                    .await?;
                    execute(
                        tx,
                        "INSERT INTO thread_members (user_id, thread_id) SELECT unnest($1::uuid[]), $2",
                        &[&members, &thread.id],
                    )
                    .await?;
                }
            }
            Write::Append(message, position) => {
                execute(
                    tx,
                    "INSERT INTO messages (id, thread_id, position, record) VALUES ($1, $2, $3, $4)",
                    &[
                        &message.id,
                        &message.thread_id,
                        &(*position as i32),
                        &codec::encode(message),
                    ],
                )
                .await?;
            }
            Write::Replace(message) => {
                execute(
                    tx,
                    "UPDATE messages SET record = $2 WHERE id = $1",
                    &[&message.id, &codec::encode(message)],
                )
                .await?;
            }
            Write::Pending { message, thread } => {
                execute(
                    tx,
                    "INSERT INTO pending_analyses (message_id, thread_id, node) VALUES ($1, $2, $3)
                     ON CONFLICT (message_id) DO UPDATE SET node = EXCLUDED.node",
                    &[message, thread, &self.node],
                )
                .await?;
            }
            Write::Done(message) => {
                execute(
                    tx,
                    "DELETE FROM pending_analyses WHERE message_id = $1",
                    &[message],
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Fetches (and locks) one row a body asked for.
async fn fetch(tx: &Transaction<'_>, read: Read, rows: &mut Rows) -> Result<(), Error> {
    match read {
        Read::Thread(id) => {
            let found = query(
                tx,
                "SELECT record FROM threads WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
            let thread = found.first().map(|row| decode(row, 0)).transpose()?;
            rows.threads.insert(id, thread);
        }
        Read::MessageKey(id) => {
            let found = query(
                tx,
                "SELECT thread_id, position, record FROM messages WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
            match found.first() {
                Some(row) => {
                    let key = (row.try_get(0)?, row.try_get::<_, i32>(1)? as u32);
                    rows.keys.insert(id, Some(key));
                    rows.messages.insert(key, Some(decode(row, 2)?));
                }
                None => {
                    rows.keys.insert(id, None);
                }
            }
        }
        Read::MessageAt(thread, position) => {
            let found = query(
                tx,
                "SELECT id, record FROM messages WHERE thread_id = $1 AND position = $2 FOR UPDATE",
                &[&thread, &(position as i32)],
            )
            .await?;
            match found.first() {
                Some(row) => {
                    rows.keys.insert(row.try_get(0)?, Some((thread, position)));
                    rows.messages
                        .insert((thread, position), Some(decode(row, 1)?));
                }
                None => {
                    rows.messages.insert((thread, position), None);
                }
            }
        }
    }
    Ok(())
}
