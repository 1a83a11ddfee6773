//! Answering in Slack: `assistant.threads.setStatus` follows the analyst's steps while it works,
//! the answer is streamed into the thread (`stream`: the steps, the summary, then the SQL in a
//! code block and the first rows as a table) and the thread is titled after its first answer. The status is cleared however
//! the run ends: a stuck "is thinking…" is the most reported fault of Slack AI apps.

use super::stream::AnswerStream;
use super::Slack;
use crate::model::{Message, Progress as StepProgress, Step, User};
use crate::threads::follow::{self, Progress};
use crate::threads::post::Question;
use serde_json::{json, Value};
use uuid::Uuid;

/// Rows of a result shown in Slack.
const ROWS_SHOWN: usize = 10;

/// Calls a Slack method; a failure is logged (with the method and Slack's error) and skipped.
pub async fn call(slack: &Slack, method: &str, args: Value) -> Option<Value> {
    slack.web.call(method, &args).await.ok()
}

/// Asks the analyst `text` in `thread_id` as `user`, and answers in the Slack thread.
pub async fn ask(
    slack: &Slack,
    channel: &str,
    thread_ts: &str,
    user: &User,
    thread_id: Uuid,
    text: &str,
) {
    status(slack, channel, thread_ts, "Reading your question…").await;
    let question = Question {
        prompt: text.to_string(),
        dataset_id: None,
        thread_id: Some(thread_id),
    };
    let mut stream = AnswerStream::new(slack, channel, thread_ts);
    let reply = match follow::post(&slack.services, user, question).await {
        Err(refused) => refused.message,
        Ok((posted, mut following)) => {
            let mut last = None;
            while let Some(progress) = following.next().await {
                let Progress::Step(update) = progress else {
                    break;
                };
                if let Some(delta) = update.summary_delta() {
                    stream.text(delta).await;
                    continue;
                }
                if last == Some((update.step, update.progress)) {
                    continue;
                }
                last = Some((update.step, update.progress));
                let title = loading_message(update.step);
                if update.progress == StepProgress::InProgress {
                    status(slack, channel, thread_ts, title).await;
                }
                stream.step(update.step, update.progress, title).await;
            }
            match slack.services.store.message_by_id(posted.message.id).await {
                Ok(Some(message)) => render(&message),
                _ => "The answer could not be read back; it is in Skein's web UI.".to_string(),
            }
        }
    };
    let delivered = stream.finish(&reply).await;
    status(slack, channel, thread_ts, "").await;
    if delivered {
        title(slack, channel, thread_ts, thread_id).await;
    }
}

/// After the thread's first answer, Slack's title becomes ours.
async fn title(slack: &Slack, channel: &str, thread_ts: &str, thread_id: Uuid) {
    let store = &slack.services.store;
    let Ok(Some(thread)) = store.thread(thread_id).await else {
        return;
    };
    let answered = store
        .messages(thread_id)
        .await
        .map(|messages| messages.iter().filter(|m| m.answer().is_some()).count())
        .unwrap_or(0);
    if answered == 1 {
        call(
            slack,
            "assistant.threads.setTitle",
            json!({"channel_id": channel, "thread_ts": thread_ts, "title": thread.title}),
        )
        .await;
    }
}

/// Sets the "is thinking…" status with one loading message, or clears it (`loading` empty).
async fn status(slack: &Slack, channel: &str, thread_ts: &str, loading: &str) {
    let args = if loading.is_empty() {
        json!({"channel_id": channel, "thread_ts": thread_ts, "status": ""})
    } else {
        json!({"channel_id": channel, "thread_ts": thread_ts, "status": "is thinking…",
               "loading_messages": [loading]})
    };
    call(slack, "assistant.threads.setStatus", args).await;
}

fn loading_message(step: Step) -> &'static str {
    match step {
        Step::IdentifyingDataset => "Finding the right dataset…",
        Step::IdentifyingTerms => "Reading your question…",
        Step::GeneratingSql => "Writing the SQL…",
        Step::FixingSql => "Fixing the SQL…",
        Step::FetchingData => "Running the query…",
        Step::GeneratingDataExplanation
        | Step::GeneratingTimeFrame
        | Step::GeneratingMetricTitle => "Explaining the result…",
        Step::GeneratingDataSummary => "Writing the answer…",
    }
}

/// The answer as Markdown: the summary (which says what was computed), the SQL, the first rows.
fn render(message: &Message) -> String {
    let mut out = message
        .answer()
        .unwrap_or("The analysis ended without an answer.")
        .to_string();
    if let Some(sql) = &message.code {
        out.push_str(&format!("\n\n```\n{}\n```", sql.trim()));
    }
    if let Some(rows) = message
        .result_rows(ROWS_SHOWN)
        .filter(|rows| !rows.is_empty())
    {
        out.push_str("\n\n");
        out.push_str(&table(&rows));
        let total = message
            .data_metadata
            .as_ref()
            .and_then(|m| m.value()["row_count"].as_u64())
            .unwrap_or(rows.len() as u64);
        if total > rows.len() as u64 {
            out.push_str(&format!("\n_First {} of {total} rows._", rows.len()));
        }
    }
    out
}

/// Rows (objects keyed by column) as a Markdown table.
fn table(rows: &[Value]) -> String {
    let columns: Vec<&String> = rows[0]
        .as_object()
        .map(|r| r.keys().collect())
        .unwrap_or_default();
    let cell = |value: &Value| match value {
        Value::String(text) => text.replace('|', "\\|"),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = format!(
        "| {} |\n|{}|\n",
        columns
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        columns.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for row in rows {
        let cells: Vec<String> = columns.iter().map(|c| cell(&row[c.as_str()])).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.trim_end().to_string()
}
