//! The end of a run: its outcome written into the message (and the thread's title), in one
//! transaction, unless the thread was deleted meanwhile.

use super::execute::data_metadata;
use super::steps::StepRecord;
use super::{chart, Answer, Failure, Job};
use crate::model::{Analysis, Dataset, Json, Thread, TitleSource};
use crate::store::{self, Store};
use chrono::Utc;

/// Writes the run's outcome into the message (if its thread still exists).
pub async fn persist(
    store: &Store,
    job: &Job,
    dataset: Option<&Dataset>,
    steps: Vec<StepRecord>,
    outcome: Result<Answer, Failure>,
) -> Result<Option<Thread>, store::Error> {
    let now = Utc::now();
    let analysis = Analysis::new(steps);
    let (thread_id, message_id) = (job.thread_id, job.message_id);
    let dataset_id = dataset.map(|d| d.id);
    store
        .write_threads(move |tx| {
            tx.analysis_done::<store::Error>(message_id)?;
            let Some(mut thread) = tx.thread::<store::Error>(thread_id)? else {
                return Ok(None);
            };
            if thread.deleted_at.is_some() {
                return Ok(None);
            }
            let Some(mut message) = tx.message::<store::Error>(thread_id, message_id)? else {
                return Ok(None);
            };
            message.dataset_id = dataset_id;
            message.analysis = Some(analysis.clone());
            message.updated_at = Some(now);
            match &outcome {
                Ok(answer) => {
                    let (chart, recommendations) = match &answer.plan {
                        Some(plan) => chart::chart(plan, &answer.result),
                        None => chart::chart_for_result(&answer.result),
                    };
                    message.code = Some(answer.sql.clone());
                    message.title = Some(answer.words.title.clone());
                    message.time_frame = Some(answer.words.time_frame.clone());
                    message.set_answer(
                        &answer.words.summary,
                        &answer.words.explanation,
                        &answer.interpretation,
                    );
                    message.data_metadata = Some(Json::new(data_metadata(&answer.result)));
                    message.chart_config = Some(Json::new(chart));
                    message.chart_recommendations = Some(Json::new(recommendations));
                    message.plan = answer
                        .plan
                        .as_ref()
                        .and_then(|p| serde_json::to_value(p).ok())
                        .map(Json::new);
                    if thread.titled_by == TitleSource::Prompt {
                        thread.title = answer.words.title.clone();
                        thread.titled_by = TitleSource::Analysis;
                    }
                }
                Err(failure) => {
                    message.set_responses(&[&failure.message]);
                }
            }
            tx.replace_message(&message)?;
            thread.last_edited = now;
            thread.updated_at = Some(now);
            tx.put_thread(&thread)?;
            Ok(Some(thread))
        })
        .await
}

/// Marks a message whose analysis never wrote its outcome (the server stopped) as interrupted.
/// Returns who asked it, if it was marked now (not answered, not gone).
pub async fn interrupted(
    store: &Store,
    thread_id: uuid::Uuid,
    message_id: uuid::Uuid,
) -> Result<Option<uuid::Uuid>, store::Error> {
    let now = Utc::now();
    store
        .write_threads(move |tx| {
            tx.analysis_done::<store::Error>(message_id)?;
            let Some(mut message) = tx.message::<store::Error>(thread_id, message_id)? else {
                return Ok(None);
            };
            if message.responses.is_some() {
                return Ok(None);
            }
            message.analysis = Some(Analysis::new(Vec::new()));
            message.set_responses(&[super::steps::INTERRUPTED]);
            message.updated_at = Some(now);
            tx.replace_message(&message)?;
            Ok(Some(message.sent_by))
        })
        .await
}
