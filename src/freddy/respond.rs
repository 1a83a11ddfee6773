//! `POST /v1/model/response {thread?, inputs: [{role: "user", texts: [{text}]}], stream?,
//! datasetId?}`: ask the analyst on a thread (a new one when `thread` is absent). With
//! `stream: true` the answer is server-sent events: `response.created`, `response.step` for
//! each step's progress, `response.output_text.delta` as the summary is written, then
//! `response.completed` (or `response.failed` with the reason). Without, the final response
//! object. `POST /v1/model/response/{thread}/cancel` stops the thread's run.

use super::body::Body;
use super::{ok, view, Request};
use crate::error::{Error, Result};
use crate::model::Message;
use crate::pipeline::StepUpdate;
use crate::threads::follow::{self, Progress};
use crate::threads::{analyses, post};
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;
use warp::Reply;

pub async fn handle(request: &Request<'_>) -> Result<warp::reply::Response> {
    let body = Body::parse(&request.body)?;
    let question =
        post::Question {
            prompt: prompt(&body)?,
            dataset_id: match body.string("datasetId")? {
                Some(text) => Some(Uuid::try_parse(text).map_err(|_| {
                    Error::invalid(format!("datasetId {text:?} is not a dataset id"))
                })?),
                None => None,
            },
            thread_id: thread(&body)?,
        };
    let stream = body.bool("stream")?.unwrap_or(false);
    let (posted, progress) = follow::post(request.services, &request.user, question).await?;
    let run = RunState {
        services: request.services.clone(),
        message: posted.message,
        progress,
    };
    if stream {
        Ok(events(run).into_response())
    } else {
        let (message, _) = run.finish().await?;
        ok(&response_json(&message))
    }
}

pub async fn cancel(request: &Request<'_>, thread_id: Uuid) -> Result<warp::reply::Response> {
    let cancelled = analyses::cancel(request.services, &request.user, thread_id).await?;
    ok(&json!({"success": true, "threadId": view::thread_id(thread_id), "cancelled": cancelled}))
}

/// The text of the one user input.
fn prompt(body: &Body) -> Result<String> {
    let inputs = body
        .array("inputs")?
        .ok_or_else(|| Error::invalid("inputs is required"))?;
    let [input] = inputs.as_slice() else {
        return Err(Error::invalid(format!(
            "inputs must hold exactly one user input (a question), got {}",
            inputs.len()
        )));
    };
    if input.get("role").and_then(Value::as_str) != Some("user") {
        return Err(Error::invalid("inputs[0].role must be user"));
    }
    let texts = input
        .get("texts")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid("inputs[0].texts must be an array of {text}"))?;
    let parts: Option<Vec<&str>> = texts.iter().map(|t| t.get("text")?.as_str()).collect();
    let parts = parts.ok_or_else(|| Error::invalid("inputs[0].texts[].text must be strings"))?;
    Ok(parts.join("\n"))
}

/// `thread`: absent or null (a new thread), a thread id, or `{id}`.
fn thread(body: &Body) -> Result<Option<Uuid>> {
    if let Some(id) = body.string("thread").ok().flatten() {
        return view::parse_thread_id(id).map(Some);
    }
    match body.object("thread")? {
        Some(object) => match object.get("id").and_then(Value::as_str) {
            Some(id) => view::parse_thread_id(id).map(Some),
            None => Err(Error::invalid("thread.id must be a thread id")),
        },
        None => Ok(None),
    }
}

/// A run being followed.
struct RunState {
    services: Arc<crate::services::Services>,
    message: Message,
    progress: follow::Following,
}

impl RunState {
    /// Waits for the end of the run; returns the message as stored and the steps seen.
    async fn finish(mut self) -> Result<(Message, Vec<StepUpdate>)> {
        let mut steps = Vec::new();
        while let Some(progress) = self.progress.next().await {
            match progress {
                Progress::Step(update) => steps.push(update),
                Progress::Finished => break,
            }
        }
        let message = self
            .services
            .store
            .message_by_id(self.message.id)
            .await?
            .unwrap_or(self.message);
        Ok((message, steps))
    }
}

/// The run as server-sent events.
fn events(run: RunState) -> impl Reply {
    use futures_util::StreamExt;
    let created = sse(
        "response.created",
        json!({
            "id": response_id(&run.message),
            "object": "response",
            "threadId": view::thread_id(run.message.thread_id),
            "status": "in_progress",
        }),
    );
    let first = futures_util::stream::once(async move { created });
    // One `response.step` per change of a step's progress (its chunks are not steps).
    let rest = futures_util::stream::unfold(Some((run, None)), |state| async move {
        let (mut run, mut last) = state?;
        loop {
            match run.progress.next().await {
                Some(Progress::Step(update)) => {
                    if let Some(delta) = update.summary_delta() {
                        let event = sse("response.output_text.delta", json!({"delta": delta}));
                        return Some((event, Some((run, last))));
                    }
                    if last == Some((update.step, update.progress)) {
                        continue;
                    }
                    last = Some((update.step, update.progress));
                    let event = sse(
                        "response.step",
                        json!({
                            "step": update.step.name(),
                            "progress": update.progress.name(),
                            "error": update.failure.as_ref().map(|f| &f.message),
                        }),
                    );
                    return Some((event, Some((run, last))));
                }
                Some(Progress::Finished) | None => {
                    // Read in a task of its own: warp wants a `Sync` stream, and a database
                    // client's futures are not.
                    let store = run.services.store.clone();
                    let id = run.message.id;
                    let stored = tokio::spawn(async move { store.message_by_id(id).await });
                    let message = stored
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                        .unwrap_or_else(|| run.message.clone());
                    let response = response_json(&message);
                    let name = if response["status"] == "completed" {
                        "response.completed"
                    } else {
                        "response.failed"
                    };
                    return Some((sse(name, response), None));
                }
            }
        }
    });
    warp::sse::reply(first.chain(rest).map(Ok::<_, std::convert::Infallible>))
}

fn sse(name: &str, data: Value) -> warp::sse::Event {
    warp::sse::Event::default()
        .event(name)
        .data(data.to_string())
}

fn response_id(message: &Message) -> String {
    format!("resp_{}", message.id.simple())
}

/// The final response object: the answer as an assistant message, and what was computed.
fn response_json(message: &Message) -> Value {
    let answer = message.answer().unwrap_or_default();
    let completed = message.data_metadata.is_some();
    let metadata = view::computed(message);
    json!({
        "id": response_id(message),
        "object": "response",
        "threadId": view::thread_id(message.thread_id),
        "status": if completed { "completed" } else { "failed" },
        "output": [{
            "type": "message",
            "id": view::message_id(crate::threads::turns::ai_turn_id(message.id)),
            "role": "assistant",
            "content": [{"type": "output_text", "text": answer}],
        }],
        "metadata": metadata,
        "error": if completed { Value::Null } else { json!({"message": answer}) },
    })
}
