//! Rules every interface applies the same way: new thread ids, prompts, titles, what a locked
//! or archived thread takes, stamping.

use crate::error::{Code, Error, Result};
use crate::limits::{MAX_PROMPT_CHARS, MAX_TITLE_CHARS};
use crate::model::{Lifecycle, Thread, Timestamp, User};
use uuid::Uuid;

/// Length of a title derived from the first prompt, before the user renames the thread.
const DERIVED_TITLE_CHARS: usize = 80;

/// The id of a new thread, on every interface: UUID v7, so ids sort by creation time.
pub fn new_thread_id() -> Uuid {
    Uuid::now_v7()
}

/// A prompt without surrounding whitespace; refused when empty or over the limit.
pub fn prompt(raw: &str) -> Result<String> {
    let prompt = raw.trim();
    if prompt.is_empty() {
        return Err(Error::new(Code::InvalidPrompt, "prompt must not be empty"));
    }
    let length = prompt.chars().count();
    if length > MAX_PROMPT_CHARS {
        return Err(Error::new(
            Code::InvalidPrompt,
            format!("prompt is {length} characters; the limit is {MAX_PROMPT_CHARS}"),
        ));
    }
    Ok(prompt.to_string())
}

/// A title without surrounding whitespace; refused when empty or over the limit.
pub fn title(raw: &str) -> Result<String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(Error::new(Code::InvalidTitle, "title must not be empty"));
    }
    let length = title.chars().count();
    if length > MAX_TITLE_CHARS {
        return Err(Error::new(
            Code::InvalidTitle,
            format!("title is {length} characters; the limit is {MAX_TITLE_CHARS}"),
        ));
    }
    Ok(title.to_string())
}

/// A first title from the prompt: its first line, shortened.
pub fn derived_title(prompt: &str) -> String {
    let line = prompt.lines().next().unwrap_or(prompt).trim();
    let limit = DERIVED_TITLE_CHARS.min(MAX_TITLE_CHARS);
    if line.chars().count() <= limit {
        return line.to_string();
    }
    let mut title: String = line.chars().take(limit - 1).collect();
    title.push('…');
    title
}

/// What a change to a thread touches, for the lifecycle rule ([`allows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Messages (new ones, or their code, feedback, status, chart), the title, state values.
    Content,
    /// Metadata, UI visibility, time-to-live, shares.
    Settings,
}

/// A locked thread takes changes to its settings only; an archived one takes none (it can be
/// unarchived, and deleted).
pub fn allows(thread: &Thread, change: Change) -> Result<()> {
    match (thread.lifecycle, change) {
        (Lifecycle::Open, _) | (Lifecycle::Locked, Change::Settings) => Ok(()),
        (Lifecycle::Locked, Change::Content) => Err(Error::new(
            Code::ThreadLocked,
            format!(
                "thread {} is locked: it is read-only except its metadata and visibility; unlock it first",
                thread.id
            ),
        )),
        (Lifecycle::Archived, _) => Err(Error::new(
            Code::ThreadArchived,
            format!(
                "thread {} is archived and takes no changes; unarchive it first",
                thread.id
            ),
        )),
    }
}

/// Records that `user` changed `thread` at `now`.
pub fn stamp(thread: &mut Thread, user: &User, now: Timestamp) {
    thread.last_edited = now;
    thread.updated_at = Some(now);
    thread.updated_by = user.id;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_trimmed_and_must_say_something() {
        assert_eq!(prompt("  hi \n").unwrap(), "hi");
        assert_eq!(prompt(" \n\t").unwrap_err().code, Code::InvalidPrompt);
        let long = "x".repeat(MAX_PROMPT_CHARS + 1);
        assert_eq!(prompt(&long).unwrap_err().code, Code::InvalidPrompt);
    }

    #[test]
    fn derived_titles_take_the_first_line_shortened() {
        assert_eq!(
            derived_title("revenue by month\nand more"),
            "revenue by month"
        );
        let title = derived_title(&"word ".repeat(40));
        assert_eq!(title.chars().count(), DERIVED_TITLE_CHARS);
        assert!(title.ends_with('…'));
    }
}
