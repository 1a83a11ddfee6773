//! What each thread's documents came to when last indexed, so that a change re-indexes only
//! what it changed: a new answer in a thread of a hundred is one document, not a hundred. A
//! change of the thread's access (or a thread first seen, or gone) re-indexes it whole.

use super::legs::ThreadAccess;
use super::IndexDoc;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use uuid::Uuid;

/// A thread's indexed state: its access, and each live message's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPrint {
    access: u64,
    /// (message id, hash of its document), sorted by id.
    messages: Vec<(Uuid, u64)>,
}

/// What to do for one thread to bring the index from one print to the next.
#[derive(Debug, PartialEq, Eq)]
pub enum Reindex {
    Nothing,
    /// Replace these messages' documents and drop those of `removed`; the access is unchanged.
    Messages {
        changed: Vec<Uuid>,
        removed: Vec<Uuid>,
    },
    /// Replace every document of the thread (or drop them all, if it is gone).
    Thread,
}

/// The prints of `threads` from their live documents and access; a deleted or missing thread
/// has none.
pub fn of(
    threads: &[Uuid],
    access: &[ThreadAccess],
    docs: &[IndexDoc],
) -> HashMap<Uuid, ThreadPrint> {
    let mut prints: HashMap<Uuid, ThreadPrint> = access
        .iter()
        .filter(|a| threads.contains(&a.0))
        .map(|a| {
            let print = ThreadPrint {
                access: hash(a),
                messages: Vec::new(),
            };
            (a.0, print)
        })
        .collect();
    for doc in docs {
        if let Some(print) = prints.get_mut(&doc.thread_id) {
            print.messages.push((doc.message_id, hash(&doc.text)));
        }
    }
    for print in prints.values_mut() {
        print.messages.sort_unstable();
    }
    prints
}

fn hash(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

impl Reindex {
    /// The work from what was indexed (`before`) to what is now (`now`).
    pub fn between(before: Option<&ThreadPrint>, now: Option<&ThreadPrint>) -> Reindex {
        let (Some(before), Some(now)) = (before, now) else {
            return match (before, now) {
                (None, None) => Reindex::Nothing,
                _ => Reindex::Thread,
            };
        };
        if before == now {
            return Reindex::Nothing;
        }
        if before.access != now.access {
            return Reindex::Thread;
        }
        let was: HashMap<Uuid, u64> = before.messages.iter().copied().collect();
        let changed: Vec<Uuid> = now
            .messages
            .iter()
            .filter(|(id, print)| was.get(id) != Some(print))
            .map(|(id, _)| *id)
            .collect();
        let removed: Vec<Uuid> = before
            .messages
            .iter()
            .filter(|(id, _)| now.messages.binary_search_by_key(id, |m| m.0).is_err())
            .map(|(id, _)| *id)
            .collect();
        Reindex::Messages { changed, removed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(thread: Uuid, message: Uuid, text: &str) -> IndexDoc {
        IndexDoc {
            message_id: message,
            thread_id: thread,
            org_id: Uuid::nil(),
            members: vec![],
            text: text.into(),
        }
    }

    #[test]
    fn only_what_changed_is_reindexed() {
        let thread = Uuid::new_v4();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let access = vec![(thread, Uuid::nil(), vec![])];
        let print = |docs: &[IndexDoc], access: &[ThreadAccess]| {
            of(&[thread], access, docs).remove(&thread)
        };
        let first = print(&[doc(thread, a, "x"), doc(thread, b, "y")], &access);
        assert_eq!(
            Reindex::between(None, first.as_ref()),
            Reindex::Thread,
            "a thread first seen"
        );
        assert_eq!(
            Reindex::between(first.as_ref(), first.as_ref()),
            Reindex::Nothing
        );
        // A new message, one edited, one gone.
        let second = print(&[doc(thread, b, "y2"), doc(thread, c, "z")], &access);
        let Reindex::Messages {
            mut changed,
            removed,
        } = Reindex::between(first.as_ref(), second.as_ref())
        else {
            panic!("the access is unchanged");
        };
        changed.sort();
        let mut want = vec![b, c];
        want.sort();
        assert_eq!(changed, want);
        assert_eq!(removed, vec![a]);
        // A share changes who may see every document.
        let shared = vec![(thread, Uuid::nil(), vec![Uuid::new_v4()])];
        let third = print(&[doc(thread, b, "y2"), doc(thread, c, "z")], &shared);
        assert_eq!(
            Reindex::between(second.as_ref(), third.as_ref()),
            Reindex::Thread
        );
        assert_eq!(
            Reindex::between(third.as_ref(), None),
            Reindex::Thread,
            "deleted"
        );
    }
}
