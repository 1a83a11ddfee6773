//! Who may do what to a thread, asked the same way by every operation.
//!
//! A thread the user may not see answers exactly like one that does not exist.

use crate::auth::{self, Access};
use crate::error::{Code, Error, Result};
use crate::model::{Message, Thread, User};
use crate::store::{abort, Store, ThreadTxn, TxResult};
use uuid::Uuid;

/// What an operation asks of the caller's access to a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Read it: anyone it is shared with, its owner, the org's admins.
    See,
    /// Post to it or change it: owners, editors, org admins.
    Edit,
    /// Delete it or change who it is shared with: owners and org admins.
    Manage,
}

/// Whether `access` grants `right`, as the error a client sees if not.
pub fn grants(access: Access, right: Right) -> Result<()> {
    match right {
        Right::Edit if !access.can_edit() => Err(Error::new(
            Code::ThreadReadOnly,
            "viewers cannot change a thread; ask its owner for editor access",
        )),
        Right::Manage if !access.can_manage() => Err(Error::new(
            Code::NotThreadManager,
            "only the thread's owner or an org admin can delete it or change who it is shared with",
        )),
        _ => Ok(()),
    }
}

/// `thread` (looked up as `id`) if `user` has `right` to it.
pub fn check(
    user: &User,
    id: Uuid,
    thread: Option<Thread>,
    right: Right,
) -> Result<(Thread, Access)> {
    let Some((thread, access)) =
        thread.and_then(|t| auth::access(user, &t).map(|access| (t, access)))
    else {
        return Err(Error::thread_not_found(id));
    };
    grants(access, right)?;
    Ok((thread, access))
}

/// Outside a write: the thread `id` if `user` has `right` to it.
pub async fn thread(
    store: &Store,
    user: &User,
    id: Uuid,
    right: Right,
) -> Result<(Thread, Access)> {
    check(user, id, store.thread(id).await?, right)
}

/// Inside a write: the thread `id` if `user` has `right` to it, else the write is abandoned.
pub fn in_write(
    tx: &ThreadTxn,
    user: &User,
    id: Uuid,
    right: Right,
) -> TxResult<(Thread, Access), Error> {
    match check(user, id, tx.thread(id)?, right) {
        Ok(found) => Ok(found),
        Err(err) => abort(err),
    }
}

/// Outside a write: the message `id` (not deleted) if `user` has `right` to its thread. A
/// message the user may not see answers like one that does not exist.
pub async fn message(store: &Store, user: &User, id: Uuid, right: Right) -> Result<Message> {
    let not_found = || {
        Error::new(
            Code::MessageNotFound,
            format!("Message with ID {id} not found"),
        )
    };
    let message = store
        .message_by_id(id)
        .await?
        .filter(|message| message.deleted_at.is_none())
        .ok_or_else(not_found)?;
    match thread(store, user, message.thread_id, right).await {
        Ok(_) => Ok(message),
        Err(err) if err.code == Code::ThreadNotFound => Err(not_found()),
        Err(err) => Err(err),
    }
}

/// Whether `user` may see `thread` (for filtering broadcasts and results).
pub fn can_see(user: &User, thread: &Thread) -> bool {
    auth::access(user, thread).is_some()
}

/// Every thread `user` may see.
pub async fn visible_threads(store: &Store, user: &User) -> Result<Vec<Thread>> {
    Ok(auth::visible_threads(store, user).await?)
}
