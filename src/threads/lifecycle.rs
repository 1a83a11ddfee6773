//! Locking, unlocking, archiving and unarchiving a thread (Freddy's thread states; the rules
//! they imply are `rules::allows`, applied on every interface).

use super::access::{self, Right};
use super::rules;
use crate::error::{Code, Error, Result};
use crate::model::{Lifecycle, Thread, User};
use crate::services::Services;
use crate::store::abort;
use uuid::Uuid;

/// A move between lifecycle states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Lock,
    Unlock,
    Archive,
    Unarchive,
}

impl Transition {
    /// The state this move leads to from `from`; a move to where the thread already is
    /// changes nothing and is not an error.
    fn target(self, from: Lifecycle) -> Result<Lifecycle> {
        match (self, from) {
            (Transition::Lock, Lifecycle::Open | Lifecycle::Locked) => Ok(Lifecycle::Locked),
            (Transition::Unlock, Lifecycle::Open | Lifecycle::Locked) => Ok(Lifecycle::Open),
            (Transition::Archive, _) => Ok(Lifecycle::Archived),
            (Transition::Unarchive, Lifecycle::Archived | Lifecycle::Open) => Ok(Lifecycle::Open),
            (Transition::Unarchive, Lifecycle::Locked) => Ok(Lifecycle::Locked),
            (Transition::Lock | Transition::Unlock, Lifecycle::Archived) => Err(Error::new(
                Code::ThreadArchived,
                "the thread is archived; unarchive it before locking or unlocking it",
            )),
        }
    }
}

/// Moves thread `id` to the state `transition` leads to; owners, editors and org admins may.
pub async fn change(
    services: &Services,
    user: &User,
    id: Uuid,
    transition: Transition,
) -> Result<Thread> {
    let now = chrono::Utc::now();
    let writer = user.clone();
    let (thread, changed) = services
        .store
        .write_threads(move |tx| {
            let user = &writer;
            let (mut thread, _) = access::in_write(tx, user, id, Right::Edit)?;
            let target = transition.target(thread.lifecycle).or_else(abort)?;
            if target == thread.lifecycle {
                return Ok((thread, false));
            }
            thread.lifecycle = target;
            rules::stamp(&mut thread, user, now);
            tx.put_thread(&thread)?;
            Ok((thread, true))
        })
        .await?;
    if changed {
        super::thread_changed(services, &thread, user).await;
    }
    Ok(thread)
}

/// Whether `thread` belongs in a thread list: archived threads only when asked for.
pub fn listed(thread: &Thread, include_archived: bool) -> bool {
    include_archived || thread.lifecycle != Lifecycle::Archived
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_are_idempotent_and_archived_threads_only_unarchive() {
        use Lifecycle::*;
        use Transition::*;
        assert_eq!(Lock.target(Open), Ok(Locked));
        assert_eq!(Lock.target(Locked), Ok(Locked));
        assert_eq!(Unlock.target(Locked), Ok(Open));
        assert_eq!(Archive.target(Locked), Ok(Archived));
        assert_eq!(Unarchive.target(Archived), Ok(Open));
        assert_eq!(
            Lock.target(Archived).unwrap_err().code,
            Code::ThreadArchived
        );
    }
}
