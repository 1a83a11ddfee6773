//! Naming a thread from what was asked and answered: 2 to 5 words, at most 50 characters. The
//! model names it when one is configured; otherwise, and when the model fails, the latest
//! answer's metric title does, or the first question's content words.

use super::access::{self, Right};
use super::rules;
use crate::error::{Error, Result};
use crate::llm::ChatMessage;
use crate::model::{Message, Thread, TitleSource, User};
use crate::services::Services;
use uuid::Uuid;

pub const MAX_NAME_WORDS: usize = 5;
pub const MAX_NAME_CHARS: usize = 50;
/// The latest turns the model reads.
const TURNS_READ: usize = 10;

/// Names thread `id` and makes the name its title (a change of content: refused on a locked
/// thread). Returns the thread.
pub async fn generate(services: &Services, user: &User, id: Uuid) -> Result<Thread> {
    let (thread, _) = access::thread(&services.store, user, id, Right::Edit).await?;
    rules::allows(&thread, rules::Change::Content)?;
    let messages: Vec<Message> = services
        .store
        .messages(id)
        .await?
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .cloned()
        .collect();
    if messages.is_empty() {
        return Err(Error::invalid(
            "the thread has no messages to name it from; ask a question first",
        ));
    }
    let from_model = match services.llm.as_deref() {
        Some(llm) => {
            let prompt = [
                ChatMessage::system(
                    "Name this data-analysis conversation in 2 to 5 words. Answer with the name only.",
                ),
                ChatMessage::user(transcript(&messages)),
            ];
            match llm.stream_chat(&prompt, &mut |_| {}, &|| false).await {
                Ok(text) => name(&text),
                Err(err) => {
                    tracing::warn!(error = %err, "the model could not name a thread; naming it from its answers");
                    None
                }
            }
        }
        None => None,
    };
    let name = from_model
        .or_else(|| {
            messages
                .iter()
                .rev()
                .find_map(|m| m.title.as_deref().and_then(name))
        })
        .or_else(|| messages.iter().find_map(|m| question_name(&m.message)))
        .unwrap_or_else(|| "Untitled question".to_string());
    super::edit(
        services,
        user,
        id,
        rules::Change::Content,
        move |_, thread, _| {
            thread.title = name.clone();
            thread.titled_by = TitleSource::User;
            Ok(())
        },
    )
    .await
}

/// The latest turns, oldest first, as the model reads them.
fn transcript(messages: &[Message]) -> String {
    let mut turns = Vec::new();
    for message in messages {
        if !message.message.is_empty() {
            turns.push(format!("User: {}", message.message));
        }
        if let Some(answer) = message.answer() {
            turns.push(format!("Analyst: {answer}"));
        }
    }
    let skip = turns.len().saturating_sub(TURNS_READ);
    turns[skip..].join("\n")
}

/// `text` cut to a name: words only (no quotes or trailing punctuation), at most
/// [`MAX_NAME_WORDS`] words and [`MAX_NAME_CHARS`] characters, at least two words.
fn name(text: &str) -> Option<String> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut words: Vec<&str> = Vec::new();
    for word in line.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '$' && c != '%');
        if word.is_empty() {
            continue;
        }
        let length: usize =
            words.iter().map(|w| w.chars().count() + 1).sum::<usize>() + word.chars().count();
        if words.len() == MAX_NAME_WORDS || length > MAX_NAME_CHARS {
            break;
        }
        words.push(word);
    }
    (words.len() >= 2).then(|| words.join(" "))
}

/// A name from a question: its content words, capitalized.
fn question_name(question: &str) -> Option<String> {
    const FILLER: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "did", "do", "does",
        "for", "from", "give", "how", "i", "in", "is", "it", "list", "me", "much", "many", "my",
        "of", "on", "or", "our", "please", "show", "tell", "that", "the", "their", "there", "to",
        "was", "we", "were", "what", "which", "who", "with", "you",
    ];
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.to_lowercase().as_str()))
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect();
    match words.len() {
        0 => None,
        1 => Some(format!("{} question", words[0])),
        _ => name(&words.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_two_to_five_words_within_fifty_characters() {
        assert_eq!(
            name("\"Quarterly Revenue by Region.\"").as_deref(),
            Some("Quarterly Revenue by Region")
        );
        assert_eq!(
            name("one two three four five six seven").as_deref(),
            Some("one two three four five")
        );
        assert_eq!(name("Revenue"), None);
        let long =
            name("Extraordinarily Comprehensive Multidimensional Revenue Decomposition").unwrap();
        assert!(long.chars().count() <= MAX_NAME_CHARS, "{long}");
        assert_eq!(
            question_name("what was the total revenue by region in 2024?").as_deref(),
            Some("Total Revenue Region 2024")
        );
        assert_eq!(
            question_name("revenue?").as_deref(),
            Some("Revenue question")
        );
    }
}
