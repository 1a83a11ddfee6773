//! The answer streamed into the Slack thread as the analyst works: `chat.startStream` at the
//! first step, `chat.appendStream` with the steps (`task_update` chunks) and the summary as it is
//! written (`markdown_text`, batched), `chat.stopStream` with the rest (the SQL and the rows).
//! When Slack will not stream, the whole answer is posted with `chat.postMessage`; when a stream
//! broke off (`message_not_in_streaming_state`, say), the whole answer is written over the
//! streamed message with `chat.update`.

use super::Slack;
use crate::model::{Progress, Step};
use serde_json::{json, Value};

/// Summary text held back until this much is waiting (fewer `appendStream` calls).
const BATCH_CHARS: usize = 256;

pub struct AnswerStream<'a> {
    slack: &'a Slack,
    channel: String,
    thread_ts: String,
    /// The streamed message, once Slack started the stream.
    ts: Option<String>,
    /// Slack refused to start, or a call on the stream failed: the end writes the whole answer.
    broken: bool,
    /// Summary text not sent yet.
    pending: String,
    /// Summary text sent.
    streamed: String,
}

impl<'a> AnswerStream<'a> {
    pub fn new(slack: &'a Slack, channel: &str, thread_ts: &str) -> AnswerStream<'a> {
        AnswerStream {
            slack,
            channel: channel.to_string(),
            thread_ts: thread_ts.to_string(),
            ts: None,
            broken: false,
            pending: String::new(),
            streamed: String::new(),
        }
    }

    /// A step started, finished or failed.
    pub async fn step(&mut self, step: Step, progress: Progress, title: &str) {
        let status = match progress {
            Progress::InProgress => "in_progress",
            Progress::Completed => "complete",
            Progress::Failed => "error",
        };
        let mut chunks = self.take_pending();
        chunks.push(
            json!({"type": "task_update", "id": step.name(), "title": title, "status": status}),
        );
        self.send(chunks).await;
    }

    /// A piece of the summary as it is written.
    pub async fn text(&mut self, delta: &str) {
        self.pending.push_str(delta);
        if self.pending.chars().count() >= BATCH_CHARS {
            let chunks = self.take_pending();
            self.send(chunks).await;
        }
    }

    /// Ends the answer with `whole` as its full text; returns whether it reached Slack.
    pub async fn finish(mut self, whole: &str) -> bool {
        let chunks = self.take_pending();
        if !chunks.is_empty() {
            self.send(chunks).await;
        }
        let Some(ts) = self.ts.clone() else {
            return self.post(whole).await;
        };
        if !self.broken {
            if let Some(rest) = whole.strip_prefix(self.streamed.as_str()) {
                let mut args = json!({"channel": self.channel, "ts": ts});
                if !rest.is_empty() {
                    args["chunks"] = json!([{"type": "markdown_text", "text": rest}]);
                }
                if self.slack.web.call("chat.stopStream", &args).await.is_ok() {
                    return true;
                }
            } else {
                // What was streamed is not how the answer begins: stop, then rewrite it whole.
                let args = json!({"channel": self.channel, "ts": ts});
                let _ = self.slack.web.call("chat.stopStream", &args).await;
            }
        }
        let update = json!({"channel": self.channel, "ts": ts, "markdown_text": whole});
        if self.slack.web.call("chat.update", &update).await.is_ok() {
            return true;
        }
        self.post(whole).await
    }

    async fn post(&self, whole: &str) -> bool {
        let args =
            json!({"channel": self.channel, "thread_ts": self.thread_ts, "markdown_text": whole});
        self.slack.web.call("chat.postMessage", &args).await.is_ok()
    }

    fn take_pending(&mut self) -> Vec<Value> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let text = std::mem::take(&mut self.pending);
        self.streamed.push_str(&text);
        vec![json!({"type": "markdown_text", "text": text})]
    }

    /// Starts the stream with `chunks`, or appends them to it.
    async fn send(&mut self, chunks: Vec<Value>) {
        if self.broken || chunks.is_empty() {
            return;
        }
        let web = &self.slack.web;
        match &self.ts {
            None => {
                let args = json!({"channel": self.channel, "thread_ts": self.thread_ts,
                                  "task_display_mode": "timeline", "chunks": chunks});
                let started = web.call("chat.startStream", &args).await;
                match started
                    .ok()
                    .and_then(|answer| answer["ts"].as_str().map(String::from))
                {
                    Some(ts) => self.ts = Some(ts),
                    None => self.broken = true,
                }
            }
            Some(ts) => {
                let args = json!({"channel": self.channel, "ts": ts, "chunks": chunks});
                if web.call("chat.appendStream", &args).await.is_err() {
                    self.broken = true;
                }
            }
        }
    }
}
