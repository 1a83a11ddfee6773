//! Posting a question: a new thread or a message in one, stored durably, then answered by the
//! analyst in a tracked task.

use super::access::{self, Right};
use super::rules;
use crate::error::{Code, Error, Result};
use crate::events::Event;
use crate::hub::ConnId;
use crate::model::{Message, Thread, TitleSource, User};
use crate::pipeline::Job;
use crate::services::Services;
use crate::store::abort;
use chrono::Utc;
use std::sync::Arc;
use uuid::Uuid;

/// A question as any interface hands it over.
pub struct Question {
    /// As the user typed it; the prompt rule trims and checks it.
    pub prompt: String,
    /// The dataset to ask; `None` lets the analyst pick one.
    pub dataset_id: Option<Uuid>,
    /// The thread to continue; `None` starts a new one.
    pub thread_id: Option<Uuid>,
}

/// What a post stored.
pub struct Posted {
    pub thread: Thread,
    pub message: Message,
}

/// Stores the question (acknowledged only once it is on disk), calls `stored` so the face can
/// answer and subscribe its client before the analyst speaks, then starts the analyst.
///
/// Refused without storing anything when the prompt is invalid, the dataset or thread is not
/// the user's, they may not post there, or the analysis bounds are reached (`RATE_LIMITED`).
pub async fn post(
    services: &Arc<Services>,
    user: &User,
    question: Question,
    origin: Option<ConnId>,
    stored: impl AsyncFnOnce(&Posted) -> Result<()>,
) -> Result<Posted> {
    let prompt = rules::prompt(&question.prompt)?;
    if let Some(dataset_id) = question.dataset_id {
        if services.datasets.get_for(user, dataset_id).await?.is_none() {
            return Err(Error::new(
                Code::DatasetNotFound,
                format!("dataset {dataset_id} not found"),
            ));
        }
    }
    let slot = services.analyses.reserve(user)?;
    let now = Utc::now();
    let new_thread_id = rules::new_thread_id();
    let template = Message::new(new_thread_id, user.id, prompt.clone(), now);
    let (title, continued, writer) = (
        rules::derived_title(&prompt),
        question.thread_id,
        user.clone(),
    );
    let (thread, message) = services
        .store
        .write_threads(move |tx| {
            let mut message = template.clone();
            let mut thread = match continued {
                None => Thread::new(
                    new_thread_id,
                    writer.org_id,
                    writer.id,
                    title.clone(),
                    TitleSource::Prompt,
                    now,
                ),
                Some(id) => {
                    let (mut thread, _) = access::in_write(tx, &writer, id, Right::Edit)?;
                    rules::allows(&thread, rules::Change::Content).or_else(abort)?;
                    message.thread_id = id;
                    rules::stamp(&mut thread, &writer, now);
                    thread
                }
            };
            tx.append_message(&mut thread, &message)?;
            tx.analysis_pending(&message)?;
            tx.put_thread(&thread)?;
            Ok((thread, message))
        })
        .await?;
    let posted = Posted { thread, message };
    // Busy (for the REST API) from the moment the message is acknowledged.
    let run = services.runs.start(posted.thread.id);
    let answered = stored(&posted).await;
    services.publish(Event::MessageAdded {
        thread: posted.thread.clone(),
        message_id: posted.message.id,
        by: user.clone(),
        origin,
    });
    services.settled().await;
    let job = Job {
        thread_id: posted.thread.id,
        message_id: posted.message.id,
        prompt,
        dataset_id: question.dataset_id,
        user: user.clone(),
    };
    // The message is stored: it is answered even if the face could not tell its client (the
    // others watching, and the client's next read of the thread, see the answer).
    super::analyses::start(services.clone(), slot, run, job);
    answered?;
    Ok(posted)
}
